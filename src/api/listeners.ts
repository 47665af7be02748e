/**
 * Where the API listens, from dockerd's -H syntax: unix:///path (the
 * default, 0660 and owned by the socket group when it exists) and
 * tcp://host:port, which is only served with TLS and client certificates
 * (--tlsverify): a plain tcp listener would hand root to the network.
 */
import { chmodSync, chownSync, lstatSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import type { Server } from 'node:net';
import { dirname } from 'node:path';
import { invalidArgument, wrap } from '../common/errors.js';

export const DEFAULT_UNIX_SOCKET = '/run/berth/berth.sock';
export const DEFAULT_TLS_PORT = 2376;

export type ListenAddress =
  | { kind: 'unix'; path: string; spec: string }
  | { kind: 'tcp'; host: string; port: number; spec: string };

export interface TlsFiles { ca: string; cert: string; key: string }

/** Parses one -H value. */
export function parseHost(spec: string): ListenAddress {
  const s = spec.trim();
  if (s === '' || s === 'unix://') return { kind: 'unix', path: DEFAULT_UNIX_SOCKET, spec: `unix://${DEFAULT_UNIX_SOCKET}` };
  if (s.startsWith('unix://')) {
    const path = s.slice('unix://'.length);
    if (!path.startsWith('/')) throw invalidArgument(`invalid host ${spec}: a unix socket path must be absolute`);
    return { kind: 'unix', path, spec: s };
  }
  if (s.startsWith('/')) return { kind: 'unix', path: s, spec: `unix://${s}` };
  if (s.startsWith('tcp://')) {
    const rest = s.slice('tcp://'.length).replace(/\/$/, '');
    const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*))(?::([0-9]+))?$/.exec(rest);
    if (!m) throw invalidArgument(`invalid host ${spec}: expected tcp://host:port`);
    const host = m[1] ?? (m[2] === '' || m[2] === undefined ? '0.0.0.0' : m[2]);
    const port = m[3] === undefined ? DEFAULT_TLS_PORT : Number(m[3]);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw invalidArgument(`invalid host ${spec}: port ${m[3]} out of range`);
    return { kind: 'tcp', host, port, spec: s };
  }
  const scheme = /^([a-z]+):\/\//.exec(s)?.[1];
  throw invalidArgument(`invalid host ${spec}: ${scheme ? `unsupported protocol ${scheme}` : 'expected unix:///path or tcp://host:port'}`);
}

/** Refuses a tcp address without TLS verification, naming the flags it needs. */
export function checkTcpNeedsTls(addr: ListenAddress, tls: TlsFiles | undefined): void {
  if (addr.kind === 'tcp' && tls === undefined) {
    throw invalidArgument(`cannot listen on ${addr.spec}: a tcp address is only served with --tlsverify (and --tlscacert, --tlscert, --tlskey)`);
  }
}

export function readTlsFiles(files: TlsFiles): { ca: Buffer; cert: Buffer; key: Buffer } {
  const read = (what: string, path: string): Buffer => {
    try { return readFileSync(path); } catch (err) { throw wrap(`cannot read ${what} ${path}`, err); }
  };
  return { ca: read('--tlscacert', files.ca), cert: read('--tlscert', files.cert), key: read('--tlskey', files.key) };
}

/** The gid of a group in /etc/group (undefined when there is none). */
export function groupId(name: string): number | undefined {
  let text = '';
  try { text = readFileSync('/etc/group', 'utf8'); } catch { return undefined; }
  for (const line of text.split('\n')) {
    const [n, , gid] = line.split(':');
    if (n === name && gid !== undefined && /^[0-9]+$/.test(gid)) return Number(gid);
  }
  return undefined;
}

/** Removes a socket left by an earlier process (never a regular file). */
export function removeStaleSocket(path: string): void {
  let st;
  try { st = lstatSync(path); } catch { return; }
  if (!st.isSocket()) throw invalidArgument(`cannot listen on unix://${path}: the path exists and is not a socket`);
  rmSync(path, { force: true });
}

export function listenOn(server: Server, addr: ListenAddress, group: string | undefined): Promise<void> {
  if (addr.kind === 'unix') {
    mkdirSync(dirname(addr.path), { recursive: true });
    removeStaleSocket(addr.path);
  }
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(wrap(`cannot listen on ${addr.spec}`, err));
    server.once('error', onError);
    const done = (): void => {
      server.off('error', onError);
      if (addr.kind === 'unix') {
        try {
          chmodSync(addr.path, 0o660);
          const gid = group === undefined ? undefined : groupId(group);
          if (gid !== undefined) chownSync(addr.path, process.getuid?.() ?? 0, gid);
        } catch (err) { reject(wrap(`cannot set the permissions of ${addr.path}`, err)); return; }
      }
      resolve();
    };
    if (addr.kind === 'unix') server.listen(addr.path, done);
    else server.listen(addr.port, addr.host, done);
  });
}
