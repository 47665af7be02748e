/**
 * GET /images/json: Docker's ImageSummary of each image and the filters
 * (dangling, label, before, since, reference, until).
 */
import { Filters } from '../../api/index.js';
import { tagsOf, type ImageView } from './catalog.js';
import { familiarOf, familiarRepo, parseRef } from './reference.js';

/** Go's path.Match for reference filters: `*` and `?` within a path segment. */
export function globMatch(pattern: string, text: string): boolean {
  const re = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]');
  return new RegExp(`^${re}$`).test(text);
}

/** The familiar tags of a view a `reference` filter lets through (all of them without one). */
export function matchingTags(view: ImageView, f: Filters): string[] {
  const tags = tagsOf(view);
  if (!f.has('reference')) return tags;
  return tags.filter((n) => f.get('reference').some((p) => globMatch(p, n) || globMatch(p, familiarRepo(parseRef(n)))));
}

/**
 * The repo digests shown under a `reference` filter: those it matches and
 * those of the repositories of the tags it let through. Others would make
 * the docker CLI print an extra `<none>` row for the same image.
 */
export function matchingDigests(digests: string[], tags: string[], f: Filters): string[] {
  if (!f.has('reference')) return digests;
  const repos = new Set(tags.map((t) => familiarRepo(parseRef(t))));
  return digests.filter((n) => repos.has(familiarRepo(parseRef(n))) || f.get('reference').some((p) => globMatch(p, n) || globMatch(p, familiarRepo(parseRef(n)))));
}

function referenceMatches(view: ImageView, f: Filters): boolean {
  if (matchingTags(view, f).length > 0) return true;
  // digest references (repo@sha256:…) match by their repository
  const names = view.records.map((r) => familiarOf(r.name)).filter((n): n is string => n !== undefined && n.includes('@'));
  return names.some((n) => f.get('reference').some((p) => globMatch(p, n) || globMatch(p, familiarRepo(parseRef(n)))));
}

function untilTime(value: string): number {
  if (/^[0-9]+(\.[0-9]+)?$/.test(value)) return Number(value) * 1000;
  const d = /^([0-9]+)(s|m|h)$/.exec(value);
  if (d) return Date.now() - Number(d[1]) * { s: 1000, m: 60_000, h: 3_600_000 }[d[2] as 's' | 'm' | 'h'];
  return Date.parse(value);
}

/** Whether a view passes the filters; `skip` names keys the caller applied itself. */
export function imageMatches(view: ImageView, f: Filters, times: { before?: number; since?: number }, skip: string[] = []): boolean {
  const created = Date.parse(view.doc.Created);
  const dangling = tagsOf(view).length === 0;
  if (!skip.includes('dangling') && f.has('dangling')) {
    const want = f.get('dangling').some((v) => ['true', '1'].includes(v));
    if (want !== dangling) return false;
  }
  const labels = view.doc.Config.Labels ?? {};
  if (!f.matchLabels('label', labels)) return false;
  // prune's negation: `label!=k` or `label!=k=v` keeps the images carrying that label
  if (f.get('label!').some((want) => new Filters(new Map([['l', new Set([want])]])).matchLabels('l', labels))) return false;
  if (times.before !== undefined && !(created < times.before)) return false;
  if (times.since !== undefined && !(created > times.since)) return false;
  if (f.has('until') && !f.get('until').every((u) => created < untilTime(u))) return false;
  if (f.has('reference') && !referenceMatches(view, f)) return false;
  return true;
}

/** With `sharedSize` (shared-size=1): the Containers count and `shared` as SharedSize; without: -1 for both, as dockerd. */
export function summary(view: ImageView, containers: number, sharedSize: boolean, tags: string[] = tagsOf(view), f?: Filters, shared = 0): Record<string, unknown> {
  const d = view.doc;
  return {
    Containers: sharedSize ? containers : -1,
    Created: Math.floor(Date.parse(d.Created) / 1000),
    Id: view.id,
    Labels: d.Config.Labels ?? {},
    ParentId: '',
    RepoDigests: f ? matchingDigests(d.RepoDigests ?? [], tags, f) : d.RepoDigests ?? [],
    RepoTags: tags,
    SharedSize: sharedSize ? shared : -1,
    Size: d.Size,
    VirtualSize: d.Size,
  };
}
