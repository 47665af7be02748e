/**
 * Where a task's files live. Volatile (under the core's --state, gone at
 * reboot with the containers): the bundle, the shim's socket and state dir.
 * Persistent (under --root, read after the container exits): the json log.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CoreConfig } from '../config.js';

export interface TaskPaths {
  /** <state>/<ns>/<id>: the bundle (config.json) and the shim's state */
  dir: string;
  /**
   * <state>/s/<hash>.sock: a unix socket path must fit in 108 bytes, which
   * <state>/<ns>/<64-hex id>/shim.sock does not under a long --state
   */
  socket: string;
  shimState: string;
  /** <root>/<ns>/<id>: the logs */
  logDir: string;
  log: string;
}

export function taskPaths(config: CoreConfig, namespace: string, id: string): TaskPaths {
  const dir = join(config.state, namespace, id);
  const logDir = join(config.root, namespace, id);
  const hash = createHash('sha256').update(`${namespace}/${id}`).digest('hex').slice(0, 32);
  return { dir, socket: join(config.state, 's', `${hash}.sock`), shimState: join(dir, 'shim'), logDir, log: join(logDir, `${id}-json.log`) };
}

export function execLogPath(config: CoreConfig, namespace: string, id: string, execId: string): string {
  return join(config.root, namespace, id, `exec-${execId}-json.log`);
}

/** The shim's runtime root (the shim passes `--root <state-dir>/runtime` to the runtime). */
export const runtimeRoot = (shimState: string): string => join(shimState, 'runtime');

/** bin/berth-shim of this installation ($BERTH_SHIM overrides): walk up from this module. */
export function shimBinary(): string {
  if (process.env.BERTH_SHIM) return process.env.BERTH_SHIM;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'bin', 'berth-shim');
    if (existsSync(candidate)) return candidate;
    const up = dirname(dir);
    if (up === dir) return 'berth-shim';
    dir = up;
  }
}

/** A bare command name (`runc`) looked up in PATH; paths are returned as they are. */
export function resolveCommand(command: string): string {
  if (command.includes('/')) return command;
  for (const d of (process.env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin').split(':')) {
    const p = join(d, command);
    if (d !== '' && existsSync(p)) return p;
  }
  return command;
}
