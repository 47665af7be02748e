/**
 * List filters for the image half's stores (content, leases), with the
 * containers' semantics: each filter a comma-separated conjunction of
 * conditions, an object listed when any filter matches. Conditions:
 * `FIELD==V`, `FIELD!=V`, `FIELD` (present); fields are the store's own
 * names plus `labels.KEY` (`labels."a.b"` quotes a key with dots).
 */
import { invalidArgument } from '../../common/errors.js';

export interface Condition { field: string; op: '==' | '!=' | 'exists'; value: string }
export type Filter = Condition[];

/** What a filter can ask of an object: a field's value, undefined when absent. */
export type FieldReader = (field: string) => string | undefined;

function parseField(text: string, fields: readonly string[], what: string, whole: string): string {
  if (fields.includes(text)) return text;
  if (text.startsWith('labels.') && text.length > 'labels.'.length) {
    let key = text.slice('labels.'.length);
    if (key.length >= 2 && key.startsWith('"') && key.endsWith('"')) key = key.slice(1, -1);
    return `labels.${key}`;
  }
  throw invalidArgument(`invalid ${what} filter ${JSON.stringify(whole)}: unknown field ${JSON.stringify(text)} (use ${[...fields, 'labels.KEY'].join(', ')})`);
}

function parseCondition(text: string, fields: readonly string[], what: string, whole: string): Condition {
  const m = /^(.*?)(==|!=)(.*)$/.exec(text);
  if (!m) return { field: parseField(text.trim(), fields, what, whole), op: 'exists', value: '' };
  return { field: parseField(m[1]!.trim(), fields, what, whole), op: m[2] as '==' | '!=', value: m[3]!.trim() };
}

/** Parses every filter up front, so a bad one fails the call before any work. */
export function parseFilters(texts: readonly string[] | undefined, fields: readonly string[], what: string): Filter[] {
  return (texts ?? []).map((text) => {
    const parts = text.split(',').map((p) => p.trim()).filter((p) => p !== '');
    if (parts.length === 0) throw invalidArgument(`invalid ${what} filter ${JSON.stringify(text)}: empty`);
    return parts.map((p) => parseCondition(p, fields, what, text));
  });
}

/** A reader over an object's plain fields and its labels. */
export function fieldReader(plain: Record<string, string>, labels: Record<string, string>): FieldReader {
  return (field) => {
    if (field.startsWith('labels.')) {
      const key = field.slice('labels.'.length);
      return Object.prototype.hasOwnProperty.call(labels, key) ? labels[key] : undefined;
    }
    return plain[field];
  };
}

export function matchesAny(read: FieldReader, filters: readonly Filter[]): boolean {
  return filters.length === 0 || filters.some((f) => f.every((c) => {
    const v = read(c.field);
    if (c.op === 'exists') return v !== undefined;
    return c.op === '==' ? v === c.value : v !== c.value;
  }));
}
