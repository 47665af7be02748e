/**
 * The one structured logger. Daemons log to stderr or a file, never stdout.
 * The JSON form matches what runc writes with --log-format json
 * ({"level","msg","time"}), which containerd's shim reads back to report a
 * runtime's last error. Each sink has its own format and threshold, so one
 * logger can write JSON to a file and text to stderr.
 */
import { appendFileSync } from 'node:fs';

export type Level = 'debug' | 'info' | 'warning' | 'error';
const order: Record<Level, number> = { debug: 0, info: 1, warning: 2, error: 3 };

export interface LogSink {
  format: 'text' | 'json';
  level: Level;
  write(line: string): void;
}

export type Fields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: Fields): void;
  info(msg: string, fields?: Fields): void;
  warn(msg: string, fields?: Fields): void;
  error(msg: string, fields?: Fields): void;
  with(fields: Fields): Logger;
}

function render(format: 'text' | 'json', level: Level, msg: string, fields: Fields): string {
  const time = new Date().toISOString();
  if (format === 'json') return JSON.stringify({ level, msg, ...fields, time }) + '\n';
  const extra = Object.entries(fields).map(([k, v]) => ` ${k}=${JSON.stringify(v)}`).join('');
  return `time="${time}" level=${level} msg=${JSON.stringify(msg)}${extra}\n`;
}

export function createLogger(sinks: LogSink[], fields: Fields = {}): Logger {
  const emit = (level: Level, msg: string, extra?: Fields): void => {
    for (const s of sinks) {
      if (order[level] >= order[s.level]) s.write(render(s.format, level, msg, { ...fields, ...extra }));
    }
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warning', m, f),
    error: (m, f) => emit('error', m, f),
    with: (more) => createLogger(sinks, { ...fields, ...more }),
  };
}

/** A sink appending to a file synchronously, so no line is lost on a crash. */
export function fileSink(path: string, format: 'text' | 'json', level: Level): LogSink {
  return {
    format, level,
    write: (line) => { try { appendFileSync(path, line); } catch { /* a log must never fail the work */ } },
  };
}

export const nullLogger: Logger = createLogger([]);
