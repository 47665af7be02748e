/**
 * Docker's client configuration file, read and written as the docker CLI
 * does, so docker and Berth share logins and the current context:
 * `$DOCKER_CONFIG/config.json` (default `~/.docker/config.json`), with
 * `auths.<key>.auth` = base64("user:password") and `currentContext`. Other
 * fields are kept as they are; writes go to a temp name, fsynced, renamed.
 * Credential helpers (`credsStore`, `credHelpers`) are not consulted.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { invalidArgument, wrap } from './errors.js';

export interface Credentials {
  username: string;
  password: string;
}

export interface AuthEntry { auth?: string; username?: string; password?: string; identitytoken?: string; [k: string]: unknown }
export interface DockerConfigFile { auths?: Record<string, AuthEntry>; currentContext?: string; [k: string]: unknown }

/** `$DOCKER_CONFIG`, else `~/.docker`. */
export function dockerConfigDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.DOCKER_CONFIG && env.DOCKER_CONFIG !== '' ? env.DOCKER_CONFIG : join(env.HOME || homedir(), '.docker');
}

/** `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`. */
export function dockerConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(dockerConfigDir(env), 'config.json');
}

/** The file's content; a missing file is an empty config. */
export function readDockerConfig(path: string): DockerConfigFile {
  let text: string;
  try { text = readFileSync(path, 'utf8'); } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw wrap(`cannot read ${path}`, err);
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
    return parsed as DockerConfigFile;
  } catch (err) {
    throw invalidArgument(`cannot read ${path}: invalid json: ${(err as Error).message}`, err);
  }
}

/** Writes the whole file atomically (tab-indented JSON, as docker writes it). */
export function writeDockerConfig(path: string, config: DockerConfigFile): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeSync(fd, JSON.stringify(config, null, '\t') + '\n');
      fsyncSync(fd);
    } finally { closeSync(fd); }
    renameSync(tmp, path);
  } catch (err) {
    throw wrap(`cannot write ${path}`, err);
  }
}

/** The credentials of one `auths` entry, or undefined when it holds none. */
export function decodeAuthEntry(entry: AuthEntry, key: string, path: string): Credentials | undefined {
  if (typeof entry.auth === 'string' && entry.auth !== '') {
    const text = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = text.indexOf(':');
    if (colon < 0) throw invalidArgument(`cannot read credentials for ${key} in ${path}: auth is not base64 of user:password`);
    return { username: text.slice(0, colon), password: text.slice(colon + 1) };
  }
  if (typeof entry.username === 'string' && typeof entry.password === 'string') return { username: entry.username, password: entry.password };
  return undefined;
}

/** Stores credentials under `key` as `docker login` does (base64 `auth` only). */
export function storeAuth(path: string, key: string, creds: Credentials): void {
  if (creds.username.includes(':')) throw invalidArgument(`cannot store credentials for ${key}: username contains ':'`);
  const config = readDockerConfig(path);
  const auths = { ...(config.auths ?? {}) };
  auths[key] = { auth: Buffer.from(`${creds.username}:${creds.password}`).toString('base64') };
  writeDockerConfig(path, { ...config, auths });
}

/** Removes the `auths` entries whose key `matches`; false when there were none. */
export function removeAuths(path: string, matches: (key: string) => boolean): boolean {
  const config = readDockerConfig(path);
  const auths = { ...(config.auths ?? {}) };
  const keys = Object.keys(auths).filter(matches);
  if (keys.length === 0) return false;
  for (const k of keys) delete auths[k];
  writeDockerConfig(path, { ...config, auths });
  return true;
}

/** "https://host:5000/v1/" → "host:5000": how keys written by old clients are matched. */
export function authKeyHost(key: string): string {
  return key.replace(/^[a-z]+:\/\//i, '').replace(/\/.*$/, '');
}
