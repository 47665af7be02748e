/**
 * `login`, `logout` and `push`: credentials checked by the daemon (`/auth`)
 * and kept in docker's config.json (src/common/docker-config.ts), sent
 * with a push as the X-Registry-Auth header.
 */
import { readFileSync } from 'node:fs';
import {
  authKeyHost, decodeAuthEntry, dockerConfigPath, readDockerConfig, removeAuths, storeAuth, type Credentials,
} from '../../common/docker-config.js';
import { CliError, help, type CliContext, type CommandSpec } from '../command.js';
import { ProgressDisplay, type JsonMessage } from '../progress.js';
import { splitReference } from './images.js';

/** Where docker files Docker Hub's credentials. */
export const HUB_AUTH_KEY = 'https://index.docker.io/v1/';

/** "http://host:5000/v2/" → "host:5000"; no server means Docker Hub. */
export function registryKey(server: string | undefined): string {
  if (!server) return HUB_AUTH_KEY;
  const host = authKeyHost(server);
  return ['docker.io', 'index.docker.io', 'registry-1.docker.io'].includes(host) ? HUB_AUTH_KEY : host;
}

/** The registry of an image reference (docker.io when its first part is no host). */
export function registryOf(ref: string): string | undefined {
  const slash = ref.indexOf('/');
  if (slash < 0) return undefined;
  const first = ref.slice(0, slash);
  return first.includes('.') || first.includes(':') || first === 'localhost' ? first : undefined;
}

/** The stored credentials for a registry key, or undefined. */
export function storedCredentials(env: NodeJS.ProcessEnv, key: string): Credentials | undefined {
  const path = dockerConfigPath(env);
  const auths = readDockerConfig(path).auths ?? {};
  for (const [k, entry] of Object.entries(auths)) {
    if (k === key || authKeyHost(k) === authKeyHost(key)) return decodeAuthEntry(entry, k, path);
  }
  return undefined;
}

/** The X-Registry-Auth header: docker's AuthConfig JSON in URL-safe base64 with padding (Go's base64.URLEncoding, which dockerd expects). */
export function registryAuthHeader(creds: Credentials | undefined, server: string): string {
  const body = creds ? { username: creds.username, password: creds.password, serveraddress: server } : {};
  return Buffer.from(JSON.stringify(body)).toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
}

function readStdinAll(): string {
  try { return readFileSync(0, 'utf8'); } catch { return ''; }
}

const login: CommandSpec = {
  names: ['login'], usage: 'login [OPTIONS] [SERVER]', summary: 'Authenticate to a registry', maxArgs: 1,
  flags: [{ name: 'username', short: 'u', type: 'string' }, { name: 'password', short: 'p', type: 'string' }, { name: 'password-stdin', type: 'bool' }, help()],
  async run(ctx, o) {
    let password = o.str('password');
    if (o.has('password') && o.bool('password-stdin')) throw new CliError('--password and --password-stdin are mutually exclusive');
    if (o.bool('password-stdin')) {
      if (!o.str('username')) throw new CliError('Must provide --username with --password-stdin');
      password = readStdinAll().replace(/\r?\n$/, '').replace(/\r$/, '');
    } else if (o.has('password')) {
      ctx.err('WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n');
    }
    const key = registryKey(o.args[0]);
    const username = o.str('username');
    if (!username || !password) {
      if (!process.stdin.isTTY) throw new CliError('Error: Cannot perform an interactive login from a non TTY device');
      throw new CliError('Error: interactive login is not supported by berth; use -u and --password-stdin');
    }
    const server = o.args[0] ? key : HUB_AUTH_KEY;
    const r = await ctx.client().json<{ Status?: string; IdentityToken?: string }>('POST', '/auth', { body: { username, password, serveraddress: server } });
    const path = dockerConfigPath(ctx.env);
    storeAuth(path, key, { username, password });
    ctx.err(`WARNING! Your credentials are stored unencrypted in '${path}'.\nConfigure a credential helper to remove this warning. See\nhttps://docs.docker.com/go/credential-store/\n\n`);
    ctx.out(`${r?.Status || 'Login Succeeded'}\n`);
    return 0;
  },
};

const logout: CommandSpec = {
  names: ['logout'], usage: 'logout [SERVER]', summary: 'Log out from a registry', maxArgs: 1, flags: [help()],
  async run(ctx, o) {
    const key = registryKey(o.args[0]);
    const shown = o.args[0] ?? key;
    const path = dockerConfigPath(ctx.env);
    const stored = Object.keys(readDockerConfig(path).auths ?? {}).some((k) => k === key || authKeyHost(k) === authKeyHost(key));
    if (!stored) { ctx.out(`Not logged in to ${shown}\n`); return 0; }
    ctx.out(`Removing login credentials for ${shown}\n`);
    removeAuths(path, (k) => k === key || authKeyHost(k) === authKeyHost(key));
    return 0;
  },
};

/** Pushes one reference with the JSON progress display; returns the pushed digest line. */
async function pushOne(ctx: CliContext, ref: string, opts: { quiet: boolean; allTags: boolean; platform?: string }): Promise<void> {
  const { name, tag } = opts.allTags ? { name: ref, tag: undefined } : splitReference(ref);
  const key = registryKey(registryOf(name));
  const auth = registryAuthHeader(storedCredentials(ctx.env, key), key);
  const display = new ProgressDisplay(opts.quiet ? () => {} : ctx.out.bind(ctx), process.stdout.isTTY === true);
  await ctx.client().jsonLines('POST', `/images/${encodeURIComponent(name)}/push`, {
    query: { tag, platform: opts.platform ? JSON.stringify(platformObject(opts.platform)) : undefined },
    headers: { 'X-Registry-Auth': auth },
  }, (m) => display.show(m as JsonMessage));
}

/** "linux/arm64/v8" → the OCI platform object the API takes. */
function platformObject(p: string): { os: string; architecture: string; variant?: string } {
  const [os, architecture, variant] = p.split('/');
  return { os: os ?? '', architecture: architecture ?? '', ...(variant ? { variant } : {}) };
}

const push: CommandSpec = {
  names: ['push', 'image push'], usage: 'push [OPTIONS] NAME[:TAG]', summary: 'Upload an image to a registry', minArgs: 1, maxArgs: 1,
  flags: [{ name: 'all-tags', short: 'a', type: 'bool' }, { name: 'quiet', short: 'q', type: 'bool' }, { name: 'platform', type: 'string' },
    { name: 'disable-content-trust', type: 'bool', def: true }, help()],
  async run(ctx, o) {
    const ref = o.args[0]!;
    if (o.bool('all-tags') && /:[^/]+$/.test(ref)) throw new CliError('tag can\'t be used with --all-tags/-a');
    await pushOne(ctx, ref, { quiet: o.bool('quiet'), allTags: o.bool('all-tags'), platform: o.str('platform') || undefined });
    if (o.bool('quiet')) ctx.out(`${o.bool('all-tags') ? ref : (() => { const { name, tag } = splitReference(ref); return `${name}:${tag}`; })()}\n`);
    return 0;
  },
};

export const registryCommands: CommandSpec[] = [login, logout, push];
