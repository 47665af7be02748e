/**
 * Labels of content and leases: checked on the way in (containerd's limit of
 * 4096 bytes per label, so a label stays a small piece of metadata), and
 * updated either wholesale or field by field (`labels.KEY`).
 */
import { invalidArgument } from '../../common/errors.js';

const MAX_LABEL_BYTES = 4096;

export function checkLabels(labels: Record<string, string>, what: string): Record<string, string> {
  for (const [k, v] of Object.entries(labels)) {
    if (k === '') throw invalidArgument(`invalid label on ${what}: empty key`);
    if (typeof v !== 'string') throw invalidArgument(`invalid label ${k} on ${what}: value is not a string`);
    if (Buffer.byteLength(k) + Buffer.byteLength(v) > MAX_LABEL_BYTES) {
      throw invalidArgument(`invalid label ${k} on ${what}: key and value exceed ${MAX_LABEL_BYTES} bytes`);
    }
  }
  return labels;
}

/**
 * The labels after an update: all of `set` when fields is empty (or names
 * `labels`), else only the keys named `labels.KEY` (set, or removed when
 * absent from `set`).
 */
export function updatedLabels(
  current: Record<string, string>, set: Record<string, string>, fields: readonly string[] | undefined, what: string,
): Record<string, string> {
  checkLabels(set, what);
  if (!fields || fields.length === 0 || fields.includes('labels')) return { ...set };
  const out = { ...current };
  for (const f of fields) {
    if (!f.startsWith('labels.') || f.length === 'labels.'.length) {
      throw invalidArgument(`cannot update ${what}: unknown field ${JSON.stringify(f)} (use labels or labels.KEY)`);
    }
    const key = f.slice('labels.'.length);
    if (Object.prototype.hasOwnProperty.call(set, key)) out[key] = set[key]!;
    else delete out[key];
  }
  return out;
}
