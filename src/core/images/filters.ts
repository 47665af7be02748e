/**
 * Image list filters, containerd's form: each filter a comma-separated
 * conjunction of `name==X`, `name!=X`, `target.digest==X`,
 * `target.mediatype==X`, `labels.KEY==V`, `labels.KEY!=V`, `labels.KEY`;
 * an image is listed when any filter matches.
 */
import { invalidArgument } from '../../common/errors.js';
import type { ImageRecord } from './types.js';

interface Condition { field: string; op: '==' | '!=' | 'exists'; value: string }
export type ImageFilter = Condition[];

const FIELDS = ['name', 'target.digest', 'target.mediatype'];

function parseCondition(text: string, whole: string): Condition {
  const m = /^(.*?)(==|!=)(.*)$/.exec(text);
  const field = (m ? m[1]! : text).trim();
  let key = field;
  if (field.startsWith('labels.') && field.length > 'labels.'.length) {
    key = field.slice('labels.'.length);
    if (key.length >= 2 && key.startsWith('"') && key.endsWith('"')) key = key.slice(1, -1);
    key = `labels.${key}`;
  } else if (!FIELDS.includes(field)) {
    throw invalidArgument(`invalid image filter ${JSON.stringify(whole)}: unknown field ${JSON.stringify(field)} (use name, target.digest, target.mediatype or labels.KEY)`);
  }
  if (!m) return { field: key, op: 'exists', value: '' };
  return { field: key, op: m[2] as '==' | '!=', value: m[3]!.trim() };
}

export function parseImageFilter(text: string): ImageFilter {
  const parts = text.split(',').map((p) => p.trim()).filter((p) => p !== '');
  if (parts.length === 0) throw invalidArgument(`invalid image filter ${JSON.stringify(text)}: empty`);
  return parts.map((p) => parseCondition(p, text));
}

function valueOf(r: ImageRecord, field: string): string | undefined {
  if (field === 'name') return r.name;
  if (field === 'target.digest') return r.target.digest;
  if (field === 'target.mediatype') return r.target.mediaType;
  const key = field.slice('labels.'.length);
  return Object.prototype.hasOwnProperty.call(r.labels, key) ? r.labels[key] : undefined;
}

export function imageMatches(r: ImageRecord, filters: ImageFilter[]): boolean {
  return filters.length === 0 || filters.some((f) => f.every((c) => {
    const v = valueOf(r, c.field);
    if (c.op === 'exists') return v !== undefined;
    return c.op === '==' ? v === c.value : v !== c.value;
  }));
}

/** The one condition SQL can answer with an index (target digest or exact name), when a single filter says so. */
export function indexedCondition(filters: ImageFilter[]): { field: 'name' | 'target.digest'; value: string } | undefined {
  if (filters.length !== 1) return undefined;
  const c = filters[0]!.find((x) => x.op === '==' && (x.field === 'name' || x.field === 'target.digest'));
  return c ? { field: c.field as 'name' | 'target.digest', value: c.value } : undefined;
}
