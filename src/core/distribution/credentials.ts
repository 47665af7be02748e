/**
 * Registry credentials kept where Docker keeps them, so `docker login` and
 * `berth login` share them: the config.json of src/common/docker-config.ts,
 * `auths.<registry>.auth` = base64("user:password"). docker.io's key is
 * Docker's legacy index URL; keys written by old clients as URLs match by
 * their host.
 */
import {
  authKeyHost, decodeAuthEntry, dockerConfigPath, readDockerConfig, removeAuths, storeAuth, type Credentials,
} from '../../common/docker-config.js';
import { invalidArgument } from '../../common/errors.js';
import { DOCKER_HUB_API_HOST, DOCKER_HUB_DOMAIN } from './reference.js';

export { dockerConfigPath, type Credentials };

/** The key Docker files docker.io's credentials under. */
export const DOCKER_HUB_AUTH_KEY = 'https://index.docker.io/v1/';

/** The `auths` key for a registry domain (as written by `docker login`). */
export function authKey(domain: string): string {
  return domain === DOCKER_HUB_DOMAIN ? DOCKER_HUB_AUTH_KEY : domain;
}

function hostsFor(domain: string): string[] {
  return domain === DOCKER_HUB_DOMAIN ? ['index.docker.io', DOCKER_HUB_DOMAIN, DOCKER_HUB_API_HOST] : [domain];
}

/** The stored credentials for a registry domain, or undefined. */
export function readCredentials(domain: string, path = dockerConfigPath()): Credentials | undefined {
  const auths = readDockerConfig(path).auths ?? {};
  const exact = auths[authKey(domain)];
  if (exact) return decodeAuthEntry(exact, authKey(domain), path);
  const hosts = hostsFor(domain);
  for (const [key, entry] of Object.entries(auths)) {
    if (hosts.includes(authKeyHost(key))) return decodeAuthEntry(entry, key, path);
  }
  return undefined;
}

/** Stores credentials as `docker login` does (base64 `auth`). */
export function storeCredentials(domain: string, creds: Credentials, path = dockerConfigPath()): void {
  if (creds.username.includes(':')) throw invalidArgument(`cannot store credentials for ${domain}: username contains ':'`);
  storeAuth(path, authKey(domain), creds);
}

/** Forgets a registry's credentials (`logout`); false when none were stored. */
export function removeCredentials(domain: string, path = dockerConfigPath()): boolean {
  const hosts = hostsFor(domain);
  return removeAuths(path, (k) => k === authKey(domain) || hosts.includes(authKeyHost(k)));
}
