/**
 * docker's context store, shared with the docker CLI: a context's metadata
 * in `$DOCKER_CONFIG/contexts/meta/<sha256 of its name>/meta.json`, the
 * current one in config.json's `currentContext`. Only the docker endpoint's
 * host is used (no TLS material).
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dockerConfigDir, dockerConfigPath, readDockerConfig, writeDockerConfig } from '../common/docker-config.js';
import { crypto } from './builtins.js';
import { CliError } from './command.js';
import { DEFAULT_HOST } from './host.js';

export interface ContextMeta {
  Name: string;
  Metadata: { Description?: string };
  Endpoints: { docker?: { Host: string; SkipTLSVerify: boolean } };
}

const metaDir = (env: NodeJS.ProcessEnv): string => join(dockerConfigDir(env), 'contexts', 'meta');
export const contextDirName = (name: string): string => crypto().createHash('sha256').update(name).digest('hex');

export function listContexts(env: NodeJS.ProcessEnv): ContextMeta[] {
  let dirs: string[];
  try { dirs = readdirSync(metaDir(env)); } catch { return []; }
  const out: ContextMeta[] = [];
  for (const d of dirs) {
    try { out.push(JSON.parse(readFileSync(join(metaDir(env), d, 'meta.json'), 'utf8')) as ContextMeta); } catch { /* not a context */ }
  }
  return out.sort((a, b) => (a.Name < b.Name ? -1 : a.Name > b.Name ? 1 : 0));
}

/** The default context: what the environment (or Berth's socket) says. */
export function defaultContext(env: NodeJS.ProcessEnv): ContextMeta {
  return { Name: 'default', Metadata: { Description: 'Current DOCKER_HOST based configuration' },
    Endpoints: { docker: { Host: env.BERTH_HOST || env.DOCKER_HOST || DEFAULT_HOST, SkipTLSVerify: false } } };
}

export function readContext(env: NodeJS.ProcessEnv, name: string): ContextMeta {
  if (name === 'default') return defaultContext(env);
  try {
    return JSON.parse(readFileSync(join(metaDir(env), contextDirName(name), 'meta.json'), 'utf8')) as ContextMeta;
  } catch {
    throw new CliError(`context "${name}" does not exist`);
  }
}

export function writeContext(env: NodeJS.ProcessEnv, meta: ContextMeta): void {
  const dir = join(metaDir(env), contextDirName(meta.Name));
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  writeFileSync(join(dir, 'meta.json'), JSON.stringify(meta));
}

export function removeContext(env: NodeJS.ProcessEnv, name: string): void {
  rmSync(join(metaDir(env), contextDirName(name)), { recursive: true, force: true });
}

/** The context in use: DOCKER_CONTEXT, else config.json's currentContext, else "default". */
export function currentContextName(env: NodeJS.ProcessEnv): string {
  if (env.DOCKER_CONTEXT) return env.DOCKER_CONTEXT;
  try { return readDockerConfig(dockerConfigPath(env)).currentContext || 'default'; } catch { return 'default'; }
}

export function setCurrentContext(env: NodeJS.ProcessEnv, name: string): void {
  const path = dockerConfigPath(env);
  const config = readDockerConfig(path);
  if (name === 'default') delete config.currentContext; else config.currentContext = name;
  writeDockerConfig(path, config);
}

/**
 * The daemon to talk to: -H, else --context, else BERTH_HOST/DOCKER_HOST,
 * else the current context's endpoint, else Berth's socket.
 */
export function resolveHost(flagHost: string | undefined, flagContext: string | undefined, env: NodeJS.ProcessEnv): string {
  if (flagHost) return flagHost;
  if (flagContext) return readContext(env, flagContext).Endpoints.docker?.Host ?? DEFAULT_HOST;
  if (env.BERTH_HOST || env.DOCKER_HOST) return (env.BERTH_HOST || env.DOCKER_HOST)!;
  const current = currentContextName(env);
  return current === 'default' ? DEFAULT_HOST : readContext(env, current).Endpoints.docker?.Host ?? DEFAULT_HOST;
}
