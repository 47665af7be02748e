/** Labels are stored as a JSON object in a TEXT column. */
import type { Labels } from '../namespaces/store.js';

export function encodeLabels(labels: Labels): string {
  return JSON.stringify(Object.fromEntries(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))));
}

export function decodeLabels(text: string): Labels {
  const v: unknown = JSON.parse(text);
  const out: Labels = {};
  if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) if (typeof x === 'string') out[k] = x;
  return out;
}
