/**
 * `docker ps` filters: id (prefix), name (a pattern over names), label,
 * status, ancestor (the image by name, name without tag, or ID), exited
 * (exit code), before/since (another container), health (no health checks
 * yet: every container is "none"), volume, network, is-task.
 */
import { invalidArgument } from '../../common/errors.js';
import type { Filters } from '../../api/index.js';
import type { ContainerRecord } from './types.js';

export const LIST_FILTERS = ['id', 'name', 'label', 'status', 'ancestor', 'exited', 'before', 'since', 'health', 'volume', 'network', 'is-task', 'publish', 'expose'] as const;

const STATUSES = ['created', 'restarting', 'running', 'removing', 'paused', 'exited', 'dead'];
const HEALTH = ['starting', 'healthy', 'unhealthy', 'none'];

function stripTag(ref: string): string {
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  return colon > slash ? ref.slice(0, colon) : ref;
}

function nameMatches(pattern: string, name: string): boolean {
  try { return new RegExp(pattern).test(name.slice(1)) || new RegExp(pattern).test(name); } catch { return name.includes(pattern); }
}

function ancestorMatches(want: string, c: ContainerRecord): boolean {
  const hex = want.startsWith('sha256:') ? want.slice(7) : want;
  if (/^[0-9a-f]{4,64}$/.test(hex) && c.Image.slice(7).startsWith(hex)) return true;
  const name = c.ImageName;
  return name === want || stripTag(name) === stripTag(want) && (!want.includes(':') || name === want || `${name}:latest` === want)
    || `${want}:latest` === name;
}

/**
 * The predicate for a list; `all` and the containers (newest first) are
 * needed for before/since, which name containers.
 */
export function listPredicate(filters: Filters, containers: ContainerRecord[], find: (ref: string) => ContainerRecord): (c: ContainerRecord) => boolean {
  filters.validate(LIST_FILTERS);
  for (const s of filters.get('status')) if (!STATUSES.includes(s)) throw invalidArgument(`invalid filter 'status=${s}'`);
  for (const h of filters.get('health')) if (!HEALTH.includes(h)) throw invalidArgument(`Unrecognised filter value for health: ${h}`);
  const exited = filters.get('exited').map((e) => {
    const n = Number(e);
    if (!Number.isInteger(n)) throw invalidArgument(`invalid filter 'exited=${e}'`);
    return n;
  });
  const before = filters.has('before') ? find(filters.get('before')[0]!) : undefined;
  const since = filters.has('since') ? find(filters.get('since')[0]!) : undefined;
  void containers;
  return (c) => {
    if (filters.has('id') && !filters.get('id').some((p) => c.ID.startsWith(p))) return false;
    if (filters.has('name') && !filters.get('name').some((p) => nameMatches(p, c.Name))) return false;
    if (!filters.matchLabels('label', c.Config.Labels ?? {})) return false;
    if (filters.has('status') && !filters.get('status').includes(c.State.Status)) return false;
    if (filters.has('ancestor') && !filters.get('ancestor').some((a) => ancestorMatches(a, c))) return false;
    if (exited.length > 0 && (c.State.Status !== 'exited' || !exited.includes(c.State.ExitCode))) return false;
    if (filters.has('health') && !filters.get('health').includes('none')) return false;
    if (before && !(c.CreatedMs < before.CreatedMs)) return false;
    if (since && !(c.CreatedMs > since.CreatedMs)) return false;
    if (filters.has('volume') && !filters.get('volume').some((v) => c.Mounts.some((m) => m.Name === v || m.Destination === v))) return false;
    if (filters.has('network') && !filters.get('network').some((n) => Object.keys((c.NetworkSettings.Networks as object | undefined) ?? {}).includes(n))) return false;
    if (filters.has('is-task') && filters.get('is-task').includes('true')) return false;
    return true;
  };
}
