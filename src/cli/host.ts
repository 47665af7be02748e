/**
 * Where the daemon is: `-H/--host`, else BERTH_HOST (it wins over
 * DOCKER_HOST so one shell can hold both), else DOCKER_HOST, else Berth's
 * default socket. `unix://PATH`, `tcp://HOST:PORT` and `fd://` as docker.
 */
import { BerthError } from '../common/errors.js';

export const DEFAULT_HOST = 'unix:///run/berth/berth.sock';

export type EngineAddress = { kind: 'unix'; path: string; text: string } | { kind: 'tcp'; host: string; port: number; text: string };

/** The host string the CLI uses, by precedence. */
export function chooseHost(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return flag || env.BERTH_HOST || env.DOCKER_HOST || DEFAULT_HOST;
}

/** Parses a host string into an address. */
export function parseHost(text: string): EngineAddress {
  if (text.startsWith('unix://')) {
    const path = text.slice('unix://'.length);
    if (!path) throw new BerthError('invalid-argument', `invalid host ${text}: no socket path`);
    return { kind: 'unix', path, text };
  }
  if (text.startsWith('/')) return { kind: 'unix', path: text, text: `unix://${text}` };
  const m = /^(?:tcp|http):\/\/(\[[^\]]+\]|[^:/]*)(?::(\d+))?\/?$/.exec(text);
  if (m) {
    const host = (m[1] || '127.0.0.1').replace(/^\[|\]$/g, '');
    return { kind: 'tcp', host, port: m[2] ? Number(m[2]) : 2375, text };
  }
  throw new BerthError('invalid-argument', `invalid host ${text}: want unix:///path or tcp://host:port`);
}
