/** berth-ctr's table and JSON output. */
import type { Labels, Timestamp } from '../core/api/types.js';
import { timestampMs } from '../core/api/types.js';

export function table(rows: string[][]): string {
  if (rows.length === 0) return '';
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]! + 4))).join('').trimEnd()).join('\n') + '\n';
}

export const labelText = (labels: Labels): string => Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(',');

export const timeText = (t: Timestamp | null): string => (t ? new Date(timestampMs(t)).toISOString() : '');

/** k=v arguments; `k=` (or `k`) means "remove k" where removal is meaningful. */
export function parseLabels(items: string[]): { set: Labels; remove: string[] } {
  const set: Labels = {};
  const remove: string[] = [];
  for (const item of items) {
    const at = item.indexOf('=');
    const key = at < 0 ? item : item.slice(0, at);
    const value = at < 0 ? '' : item.slice(at + 1);
    if (key === '') throw new Error(`invalid label ${JSON.stringify(item)}: empty key`);
    if (value === '') remove.push(key); else set[key] = value;
  }
  return { set, remove };
}
