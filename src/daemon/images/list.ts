/**
 * GET /images/json: Docker's ImageSummary of each image and the filters
 * (dangling, label, before, since, reference, until).
 */
import type { Filters } from '../../api/index.js';
import { tagsOf, type ImageView } from './catalog.js';
import { familiarOf, familiarRepo, parseRef } from './reference.js';

/** Go's path.Match for reference filters: `*` and `?` within a path segment. */
export function globMatch(pattern: string, text: string): boolean {
  const re = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]');
  return new RegExp(`^${re}$`).test(text);
}

function referenceMatches(view: ImageView, patterns: string[]): boolean {
  const names = view.records.map((r) => familiarOf(r.name)).filter((n): n is string => n !== undefined);
  return patterns.some((p) => names.some((n) => {
    const repo = familiarRepo(parseRef(n));
    return globMatch(p, n) || globMatch(p, repo);
  }));
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
  if (!f.matchLabels('label', view.doc.Config.Labels ?? {})) return false;
  if (times.before !== undefined && !(created < times.before)) return false;
  if (times.since !== undefined && !(created > times.since)) return false;
  if (f.has('until') && !f.get('until').every((u) => created < untilTime(u))) return false;
  if (f.has('reference') && !referenceMatches(view, f.get('reference'))) return false;
  return true;
}

export function summary(view: ImageView, containers: number, sharedSize: boolean): Record<string, unknown> {
  const d = view.doc;
  return {
    Containers: sharedSize ? containers : -1,
    Created: Math.floor(Date.parse(d.Created) / 1000),
    Id: view.id,
    Labels: d.Config.Labels ?? {},
    ParentId: '',
    RepoDigests: d.RepoDigests ?? [],
    RepoTags: tagsOf(view),
    SharedSize: sharedSize ? 0 : -1,
    Size: d.Size,
    VirtualSize: d.Size,
  };
}
