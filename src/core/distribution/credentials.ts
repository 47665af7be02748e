/**
 * Registry credentials kept where Docker keeps them, so `docker login` and
 * `berth login` share them: `$DOCKER_CONFIG/config.json` (default
 * `~/.docker/config.json`), `auths.<registry>.auth` = base64("user:password").
 * docker.io's key is Docker's legacy index URL. Other fields of the file are
 * kept as they are; it is written to a temp name, fsynced and renamed.
 * Credential helpers (`credsStore`, `credHelpers`) are not consulted.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { invalidArgument, wrap } from '../../common/errors.js';
import { DOCKER_HUB_API_HOST, DOCKER_HUB_DOMAIN } from './reference.js';

/** The key Docker files docker.io's credentials under. */
export const DOCKER_HUB_AUTH_KEY = 'https://index.docker.io/v1/';

export interface Credentials {
  username: string;
  password: string;
}

interface AuthEntry { auth?: string; username?: string; password?: string; identitytoken?: string; [k: string]: unknown }
interface DockerConfigFile { auths?: Record<string, AuthEntry>; [k: string]: unknown }

/** `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`. */
export function dockerConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  const dir = env.DOCKER_CONFIG && env.DOCKER_CONFIG !== '' ? env.DOCKER_CONFIG : join(env.HOME || homedir(), '.docker');
  return join(dir, 'config.json');
}

/** The `auths` key for a registry domain (as written by `docker login`). */
export function authKey(domain: string): string {
  return domain === DOCKER_HUB_DOMAIN ? DOCKER_HUB_AUTH_KEY : domain;
}

/** "https://host:5000/v1/" → "host:5000": how keys written by old clients are matched. */
function keyHost(key: string): string {
  return key.replace(/^[a-z]+:\/\//i, '').replace(/\/.*$/, '');
}

function hostsFor(domain: string): string[] {
  return domain === DOCKER_HUB_DOMAIN ? ['index.docker.io', DOCKER_HUB_DOMAIN, DOCKER_HUB_API_HOST] : [domain];
}

function readConfig(path: string): DockerConfigFile {
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

function decode(entry: AuthEntry, key: string, path: string): Credentials | undefined {
  if (typeof entry.auth === 'string' && entry.auth !== '') {
    const text = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = text.indexOf(':');
    if (colon < 0) throw invalidArgument(`cannot read credentials for ${key} in ${path}: auth is not base64 of user:password`);
    return { username: text.slice(0, colon), password: text.slice(colon + 1) };
  }
  if (typeof entry.username === 'string' && typeof entry.password === 'string') return { username: entry.username, password: entry.password };
  return undefined;
}

/** The stored credentials for a registry domain, or undefined. */
export function readCredentials(domain: string, path = dockerConfigPath()): Credentials | undefined {
  const auths = readConfig(path).auths ?? {};
  const exact = auths[authKey(domain)];
  if (exact) return decode(exact, authKey(domain), path);
  const hosts = hostsFor(domain);
  for (const [key, entry] of Object.entries(auths)) {
    if (hosts.includes(keyHost(key))) return decode(entry, key, path);
  }
  return undefined;
}

function writeConfig(path: string, config: DockerConfigFile): void {
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

/** Stores credentials as `docker login` does (base64 `auth`). */
export function storeCredentials(domain: string, creds: Credentials, path = dockerConfigPath()): void {
  if (creds.username.includes(':')) throw invalidArgument(`cannot store credentials for ${domain}: username contains ':'`);
  const config = readConfig(path);
  const auths = { ...(config.auths ?? {}) };
  auths[authKey(domain)] = { auth: Buffer.from(`${creds.username}:${creds.password}`).toString('base64') };
  writeConfig(path, { ...config, auths });
}

/** Forgets a registry's credentials (`logout`); false when none were stored. */
export function removeCredentials(domain: string, path = dockerConfigPath()): boolean {
  const config = readConfig(path);
  const auths = { ...(config.auths ?? {}) };
  const hosts = hostsFor(domain);
  const keys = Object.keys(auths).filter((k) => k === authKey(domain) || hosts.includes(keyHost(k)));
  if (keys.length === 0) return false;
  for (const k of keys) delete auths[k];
  writeConfig(path, { ...config, auths });
  return true;
}
