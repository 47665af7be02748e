/**
 * The image config a `commit` makes: the given runtime config with the
 * `--change` lines applied, then filled from the container's config where
 * it leaves things empty (dockerd's merge: its user's config wins, Env and
 * Labels and ports and volumes are unions), over the parent image's config
 * with the new layer's diff ID and a history entry appended.
 */
import type { ContainerConfig, ImageConfig } from '../oci/types.js';
import { applyChanges } from './import-changes.js';

/** Docker's container config: the OCI runtime part plus its own fields, kept as given. */
export type DockerConfig = ContainerConfig & Record<string, unknown>;

const keyOf = (env: string): string => env.split('=')[0]!;
const empty = (v: unknown): boolean => v === undefined || v === null || v === '' || (Array.isArray(v) && v.length === 0)
  || (typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length === 0);

/** dockerd's merge(user, container): fills user (in place) from the container's config. */
export function mergeDefaults(user: DockerConfig, from: DockerConfig): DockerConfig {
  if (empty(user.User)) user.User = from.User;
  if (empty(user.ExposedPorts)) user.ExposedPorts = from.ExposedPorts;
  else user.ExposedPorts = { ...(from.ExposedPorts ?? {}), ...user.ExposedPorts };
  if (empty(user.Env)) user.Env = from.Env;
  else user.Env = [...user.Env!, ...(from.Env ?? []).filter((e) => !user.Env!.some((u) => keyOf(u) === keyOf(e)))];
  user.Labels = { ...(from.Labels ?? {}), ...(user.Labels ?? {}) };
  if (empty(user.Entrypoint)) {
    if (empty(user.Cmd)) user.Cmd = from.Cmd;
    if (user.Entrypoint === undefined || user.Entrypoint === null) user.Entrypoint = from.Entrypoint;
  }
  if (from.Healthcheck && !user.Healthcheck) user.Healthcheck = from.Healthcheck;
  if (empty(user.WorkingDir)) user.WorkingDir = from.WorkingDir;
  user.Volumes = empty(user.Volumes) ? from.Volumes : { ...user.Volumes, ...(from.Volumes ?? {}) };
  if (empty(user.StopSignal)) user.StopSignal = from.StopSignal;
  for (const k of Object.keys(user) as (keyof DockerConfig)[]) if (user[k] === undefined) delete user[k];
  return user;
}

/** The runtime config of the committed image: config, the changes, then the defaults (none: as given). */
export function commitRuntimeConfig(config: DockerConfig, changes: readonly string[], defaults: DockerConfig | undefined): DockerConfig {
  const c = applyChanges(config, changes) as DockerConfig;
  return defaults ? mergeDefaults(c, defaults) : c;
}

export interface CommitHistory { created: string; author: string; comment: string; createdBy: string; container: string; containerConfig: DockerConfig | undefined }

/**
 * The parent's config with the new layer (undefined: no change, no layer,
 * an empty_layer history entry), the runtime config and the history entry
 * (empty fields left out, as dockerd writes them).
 */
export function commitImageConfig(parent: ImageConfig, runtime: DockerConfig, diffId: string | undefined, h: CommitHistory): ImageConfig & Record<string, unknown> {
  const entry: Record<string, string | boolean> = { created: h.created };
  if (h.author !== '') entry.author = h.author;
  entry.created_by = h.createdBy;
  if (h.comment !== '') entry.comment = h.comment;
  if (diffId === undefined) entry.empty_layer = true;
  const out: ImageConfig & Record<string, unknown> = {
    ...parent, created: h.created, config: runtime,
    rootfs: { type: 'layers', diff_ids: [...(parent.rootfs?.diff_ids ?? []), ...(diffId !== undefined ? [diffId] : [])] },
    history: [...(parent.history ?? []), entry as NonNullable<ImageConfig['history']>[number]],
  };
  delete out.author;
  if (h.author !== '') out.author = h.author;
  if (h.container !== '') out.container = h.container; else delete out.container;
  if (h.containerConfig) out.container_config = h.containerConfig; else delete out.container_config;
  return out;
}
