/**
 * The json-file log's rotation options of a container, from its runtime
 * options (JSON: `{"log-max-size": "10m", "log-max-file": 3}`) or, when
 * absent there, its labels (`berth.log.max-size`, `berth.log.max-file`),
 * in docker's units (k, m, g).
 */
import { invalidArgument } from '../../common/errors.js';
import type { ContainerRecord } from '../containers/store.js';

export interface LogOptions { maxSize?: number; maxFile?: number }

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, kb: 1024, m: 1024 ** 2, mb: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3 };

export function parseSize(id: string, v: unknown): number {
  const m = /^(\d+)\s*([a-z]*)$/i.exec(String(v).trim());
  const unit = m ? UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined || Number(m[1]) <= 0) throw invalidArgument(`cannot create task ${id}: log max-size ${JSON.stringify(v)} is not a size (e.g. 10m)`);
  return Number(m[1]) * unit;
}

function parseCount(id: string, v: unknown): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw invalidArgument(`cannot create task ${id}: log max-file ${JSON.stringify(v)} must be a positive integer`);
  return n;
}

function runtimeOptions(c: ContainerRecord): Record<string, unknown> {
  if (c.runtime.options.length === 0) return {};
  try {
    const v: unknown = JSON.parse(c.runtime.options.toString('utf8'));
    return v && typeof v === 'object' && !Array.isArray(v) ? v as Record<string, unknown> : {};
  } catch {
    // options that are not JSON carry nothing for the log
    return {};
  }
}

export function logOptions(c: ContainerRecord): LogOptions {
  const o = runtimeOptions(c);
  const size = o['log-max-size'] ?? c.labels['berth.log.max-size'];
  const file = o['log-max-file'] ?? c.labels['berth.log.max-file'];
  return {
    maxSize: size === undefined ? undefined : parseSize(c.id, size),
    maxFile: file === undefined ? undefined : parseCount(c.id, file),
  };
}
