/**
 * The one structured logger. Daemons log to stderr or a file, never stdout.
 * The JSON form matches what runc writes with --log-format json
 * ({"level","msg","time"}), which containerd's shim reads back to report a
 * runtime's last error.
 */
import { appendFileSync } from 'node:fs';

export type Level = 'debug' | 'info' | 'warning' | 'error';
const order: Record<Level, number> = { debug: 0, info: 1, warning: 2, error: 3 };

export interface LogSink {
  write(line: string): void;
}

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  with(fields: Record<string, unknown>): Logger;
}

export interface LoggerOptions {
  format: 'text' | 'json';
  level: Level;
  sinks: LogSink[];
  fields?: Record<string, unknown>;
}

function render(format: 'text' | 'json', level: Level, msg: string, fields: Record<string, unknown>): string {
  const time = new Date().toISOString();
  if (format === 'json') return JSON.stringify({ level, msg, ...fields, time }) + '\n';
  const extra = Object.entries(fields).map(([k, v]) => ` ${k}=${typeof v === 'string' ? JSON.stringify(v) : JSON.stringify(v)}`).join('');
  return `time="${time}" level=${level} msg=${JSON.stringify(msg)}${extra}\n`;
}

export function createLogger(opts: LoggerOptions): Logger {
  const base = opts.fields ?? {};
  const emit = (level: Level, msg: string, fields?: Record<string, unknown>): void => {
    if (order[level] < order[opts.level]) return;
    const line = render(opts.format, level, msg, { ...base, ...fields });
    for (const s of opts.sinks) s.write(line);
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warning', m, f),
    error: (m, f) => emit('error', m, f),
    with: (fields) => createLogger({ ...opts, fields: { ...base, ...fields } }),
  };
}

/** A sink appending to a file, synchronously, so no line is lost on a crash. */
export function fileSink(path: string): LogSink {
  return { write: (line) => { try { appendFileSync(path, line); } catch { /* a log must never fail the work */ } } };
}

export const nullLogger: Logger = createLogger({ format: 'text', level: 'error', sinks: [] });
