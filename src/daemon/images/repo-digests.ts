/**
 * RepoDigests as Docker means them: `repo@sha256:…` names the manifest a
 * registry serves for that repository, so only an image pulled from it or
 * pushed to it has one. The core names a digest for every record; an image
 * made here (docker import) was never in a registry, so its record carries
 * a label that hides its digest until a push of that name clears it (a pull
 * replaces the record, labels included; a tag copies the label). An image
 * loaded from an archive (docker load) is marked too: dockerd's classic
 * store records no digest at load, whatever the archive holds.
 */
import type { CoreClient } from '../../core/client.js';
import type { Image } from '../../core/api/types.js';
import { familiarRepo, parseRef } from './reference.js';

/** Set on a core image record whose digest no registry has served. */
export const NO_REPO_DIGEST = 'berthd.no-repo-digest';

/** The `repo@digest` the core lists for a record (the repository's familiar name, as it writes it). */
function repoDigestOf(r: Image): string | undefined {
  try {
    const ref = parseRef(r.name);
    const digest = ref.digest ?? r.target?.digest;
    return digest ? `${familiarRepo(ref)}@${digest}` : undefined;
  } catch {
    return undefined; // an untagged record named by its ID has no repository
  }
}

/** The core's RepoDigests of one image without those only marked records give. */
export function registryDigests(digests: readonly string[], records: readonly Image[]): string[] {
  const hidden = new Set<string>();
  const shown = new Set<string>();
  for (const r of records) {
    const d = repoDigestOf(r);
    if (d !== undefined) (r.labels[NO_REPO_DIGEST] !== undefined ? hidden : shown).add(d);
  }
  return digests.filter((d) => !hidden.has(d) || shown.has(d));
}

/** Marks (or, after a push, unmarks) a record; a record gone meanwhile is left alone. */
export async function markNoRepoDigest(core: CoreClient, record: Image, marked: boolean): Promise<void> {
  if (!marked && record.labels[NO_REPO_DIGEST] === undefined) return;
  const labels = marked ? { ...record.labels, [NO_REPO_DIGEST]: 'imported' } : {};
  await core.images.Update({ image: { ...record, labels }, updateMask: [`labels.${NO_REPO_DIGEST}`] });
}

/**
 * Whether a record docker load just stored hides its digest: yes, unless the same name held the
 * same manifest, unmarked, before the load (a pulled image loaded again keeps its RepoDigest, as
 * dockerd keeps the digest reference of an image it already had).
 */
export function loadHidesDigest(before: Image | undefined, loaded: Image): boolean {
  return !(before !== undefined && before.labels[NO_REPO_DIGEST] === undefined
    && before.target?.digest !== undefined && before.target.digest === loaded.target?.digest);
}
