/**
 * Container list filters: each filter a comma-separated conjunction of
 * conditions, a container listed when any filter matches (containerd's
 * semantics). Conditions: `id==X`, `image==X`, `runtime==X`,
 * `labels.KEY==VALUE`, `labels.KEY!=VALUE`, `labels.KEY` (present).
 */
import { invalidArgument } from '../../common/errors.js';
import type { ContainerRecord } from './store.js';

type Field = { kind: 'id' | 'image' | 'runtime' } | { kind: 'label'; key: string };
export interface Condition { field: Field; op: '==' | '!=' | 'exists'; value: string }
export type Filter = Condition[];

function parseField(text: string, whole: string): Field {
  if (text === 'id' || text === 'image' || text === 'runtime') return { kind: text };
  if (text.startsWith('labels.') && text.length > 'labels.'.length) {
    let key = text.slice('labels.'.length);
    // containerd quotes keys with dots: labels."a.b"
    if (key.length >= 2 && key.startsWith('"') && key.endsWith('"')) key = key.slice(1, -1);
    return { kind: 'label', key };
  }
  throw invalidArgument(`invalid container filter ${JSON.stringify(whole)}: unknown field ${JSON.stringify(text)} (use id, image, runtime or labels.KEY)`);
}

function parseCondition(text: string, whole: string): Condition {
  const m = /^(.*?)(==|!=)(.*)$/.exec(text);
  if (!m) return { field: parseField(text.trim(), whole), op: 'exists', value: '' };
  const field = parseField(m[1]!.trim(), whole);
  return { field, op: m[2] as '==' | '!=', value: m[3]!.trim() };
}

export function parseFilter(text: string): Filter {
  const parts = text.split(',').map((p) => p.trim()).filter((p) => p !== '');
  if (parts.length === 0) throw invalidArgument(`invalid container filter ${JSON.stringify(text)}: empty`);
  return parts.map((p) => parseCondition(p, text));
}

function valueOf(c: ContainerRecord, field: Field): string | undefined {
  switch (field.kind) {
    case 'id': return c.id;
    case 'image': return c.image;
    case 'runtime': return c.runtime.name;
    case 'label': return Object.prototype.hasOwnProperty.call(c.labels, field.key) ? c.labels[field.key] : undefined;
  }
}

function matchCondition(c: ContainerRecord, cond: Condition): boolean {
  const v = valueOf(c, cond.field);
  if (cond.op === 'exists') return v !== undefined;
  if (cond.op === '==') return v === cond.value;
  return v !== cond.value;
}

export function matchesAny(c: ContainerRecord, filters: Filter[]): boolean {
  return filters.length === 0 || filters.some((f) => f.every((cond) => matchCondition(c, cond)));
}
