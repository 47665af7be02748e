/**
 * The container's Config merged with its image's, at create, as dockerd
 * does (the merged Config is what inspect shows): Env by key (the
 * container's win), Cmd/Entrypoint (an Entrypoint given drops the image's
 * Cmd; Entrypoint [""] resets it), WorkingDir, User, Labels, StopSignal,
 * ExposedPorts, Volumes; then the process's argv and environment.
 */
import { invalidArgument } from '../../common/errors.js';
import type { DockerConfig } from '../containers/types.js';

/** The part of an image's config the container inherits. */
export interface ImageRuntimeConfig {
  Env?: string[] | null;
  Cmd?: string[] | null;
  Entrypoint?: string[] | null;
  WorkingDir?: string;
  User?: string;
  Labels?: Record<string, string> | null;
  StopSignal?: string;
  ExposedPorts?: Record<string, object> | null;
  Volumes?: Record<string, object> | null;
  Healthcheck?: unknown;
}

export const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

const keyOf = (kv: string): string => kv.split('=', 1)[0]!;

/** `base` with each of `over` replacing the entry of the same key, or appended. */
export function mergeEnv(base: readonly string[], over: readonly string[]): string[] {
  const out = [...base];
  for (const kv of over) {
    const k = keyOf(kv);
    const i = out.findIndex((e) => keyOf(e) === k);
    if (!kv.includes('=')) {
      // "FOO" alone removes FOO (docker run -e FOO with FOO unset in the client)
      if (i >= 0) out.splice(i, 1);
      continue;
    }
    if (i >= 0) out[i] = kv; else out.push(kv);
  }
  return out;
}

export function mergeImageConfig(config: DockerConfig, image: ImageRuntimeConfig): DockerConfig {
  const out: DockerConfig = { ...config };
  // the user's first, then the image's not overridden (dockerd's order)
  const mine = config.Env ?? [];
  out.Env = [...mine, ...(image.Env ?? []).filter((kv) => !mine.some((m) => keyOf(m) === keyOf(kv)))];
  const entrypointGiven = config.Entrypoint !== undefined && config.Entrypoint !== null;
  if (entrypointGiven && config.Entrypoint!.length === 1 && config.Entrypoint![0] === '') {
    out.Entrypoint = null; // [""]: run without the image's entrypoint
  } else if (!entrypointGiven) {
    out.Entrypoint = image.Entrypoint ?? null;
  }
  const cmdGiven = config.Cmd !== undefined && config.Cmd !== null && config.Cmd.length > 0;
  if (!cmdGiven) out.Cmd = entrypointGiven ? (config.Cmd ?? null) : (image.Cmd ?? null);
  if (!config.WorkingDir) out.WorkingDir = image.WorkingDir ?? '';
  if (!config.User) out.User = image.User ?? '';
  out.Labels = { ...(image.Labels ?? {}), ...(config.Labels ?? {}) };
  if (!config.StopSignal && image.StopSignal) out.StopSignal = image.StopSignal;
  if (image.ExposedPorts) out.ExposedPorts = { ...image.ExposedPorts, ...(config.ExposedPorts ?? {}) };
  const volumes = { ...(image.Volumes ?? {}), ...(config.Volumes ?? {}) };
  out.Volumes = Object.keys(volumes).length > 0 ? volumes : null;
  if (config.Healthcheck === undefined && image.Healthcheck !== undefined) out.Healthcheck = image.Healthcheck;
  return out;
}

/** The init's argv; none is Docker's 400. */
export function processArgs(config: DockerConfig): string[] {
  const args = [...(config.Entrypoint ?? []), ...(config.Cmd ?? [])];
  if (args.length === 0) throw invalidArgument('No command specified');
  return args;
}

/** The init's environment: PATH and HOSTNAME first (TERM with a tty), then the merged Env. */
export function processEnv(config: DockerConfig, hostname: string, home: string): string[] {
  const base = [DEFAULT_PATH, `HOSTNAME=${hostname}`];
  if (config.Tty) base.push('TERM=xterm');
  const env = mergeEnv(base, config.Env ?? []);
  if (!env.some((e) => keyOf(e) === 'HOME')) env.push(`HOME=${home}`);
  return env;
}
