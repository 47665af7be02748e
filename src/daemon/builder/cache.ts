/**
 * The classic builder's cache: a step is reused when an image built here
 * before has the same parent and the same container config (dockerd
 * compares the config a step would commit with: its command, with the
 * `#(nop)` comment or the COPY sources' hash, env, labels, ports, volumes,
 * user, workdir, entrypoint …). Each built image's record carries its
 * parent and a digest of that config as labels, so a probe is one query.
 */
import { createHash } from 'node:crypto';
import type { CoreClient } from '../../core/client.js';
import { inspectRef } from '../images/catalog.js';
import type { RunConfig } from './state.js';

import { PARENT_LABEL } from '../images/parents.js';

/** Set on the records of images a build made (with their parent's, images/parents.ts). */
export const KEY_LABEL = 'berthd.build.key';

const FIELDS = ['Cmd', 'Env', 'Entrypoint', 'Labels', 'ExposedPorts', 'Volumes', 'User', 'WorkingDir', 'Healthcheck', 'OnBuild', 'StopSignal', 'Shell', 'OpenStdin', 'Tty'] as const;

/** Sorted keys, so equal configs give equal text. */
function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v !== null && typeof v === 'object') {
    return Object.fromEntries(Object.keys(v).sort().map((k) => [k, canonical((v as Record<string, unknown>)[k])]));
  }
  return v;
}

const empty = (v: unknown): boolean => v === undefined || v === null || v === '' || v === false
  || (Array.isArray(v) && v.length === 0) || (typeof v === 'object' && v !== null && Object.keys(v).length === 0);

/** The digest of what makes two steps the same. */
export function cacheKey(containerConfig: RunConfig): string {
  const picked: Record<string, unknown> = {};
  for (const f of FIELDS) if (!empty(containerConfig[f])) picked[f] = containerConfig[f];
  return createHash('sha256').update(JSON.stringify(canonical(picked))).digest('hex');
}

/** The image a step may reuse (its ID), if one was built from `parent` with this key. */
export async function probeCache(core: CoreClient, parent: string, key: string): Promise<string | undefined> {
  const { images } = await core.images.List({ filters: [`labels."${PARENT_LABEL}"==${parent},labels."${KEY_LABEL}"==${key}`] });
  for (const r of images) {
    const doc = await inspectRef(core, r.name).catch(() => undefined);
    if (doc) return doc.Id;
  }
  return undefined;
}
