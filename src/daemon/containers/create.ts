/**
 * POST /containers/create, the daemon's half: the image resolved through
 * the core (name, ID, short ID, digest), the body checked and merged with
 * the image's config, the container's snapshot prepared from the image's
 * top chain ID (key = container ID), a look into it for /etc/passwd,
 * /etc/group, WorkingDir and volume content, its files written under
 * <data-root>/containers/<id>/, the spec built and the core container made.
 * Anything made is undone when a later step fails.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { BerthError, invalidArgument, notFound } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import type { CoreClient } from '../../core/client.js';
import type { DaemonConfig } from '../config.js';
import { ENGINE_NAMESPACE } from '../namespace.js';
import {
  buildSpec, containerHostname, hostDevices, MASKED_PATHS, READONLY_PATHS, hostResolvConf, userDevices, mergeImageConfig, resolvConf, resolveUser, userMounts,
  type ImageRuntimeConfig, type OciSpec, type ResolveVolumes,
} from '../spec/index.js';
import type { NetworkAttacher } from './network.js';
import { emptySettings, expectedNetwork, networkMode } from './network.js';
import { ensureDir, existsInRoot, readInRoot, withRootfs } from './rootfs.js';
import type { ImageFilesCache } from './image-files.js';
import { writeInitLayer } from './init-layer.js';
import type { ImageLookup } from './image-lookup.js';
import { validatePolicy } from './restart.js';
import { validateCreate } from '../spec/validate.js';
import type { ContainerRecord, DockerConfig, DockerHostConfig } from './types.js';
import { ZERO_TIME } from './types.js';

export interface CreateDeps {
  core: CoreClient;
  config: DaemonConfig;
  log: Logger;
  network: NetworkAttacher;
  /** resolves a container's volumes (undefined: named and anonymous volumes are refused) */
  resolveVolumes?: (containerId: string, asks: Parameters<ResolveVolumes>[0], rootfs: string | undefined) => ReturnType<ResolveVolumes>;
  /** the static init for --init (undefined: none on this host) */
  initBinary?: string;
  /** containers' default nofile (soft = hard) */
  defaultNofile?: number;
  /** the capabilities berthd holds */
  hostCaps?: readonly string[];
  /** what earlier creates read in images' root filesystems (undefined: always look) */
  imageFiles?: ImageFilesCache;
  /** remembered image lookups (undefined: the core is asked at each create) */
  images?: ImageLookup;
}

export type CreatedContainer = ContainerRecord;

export interface ImageFacts { id: string; config: ImageRuntimeConfig; chainId: string; snapshotter: string; os: string }

/** The image config's parts the daemon reads from the core's inspect document. */
interface CoreImageInspect {
  Id: string;
  Config?: ImageRuntimeConfig;
  Os?: string;
  GraphDriver?: { Name?: string };
  RootFS?: { Layers?: string[] };
}

function chainId(diffIds: readonly string[]): string {
  let chain = '';
  for (const d of diffIds) chain = chain === '' ? d : `sha256:${createHash('sha256').update(`${chain} ${d}`).digest('hex')}`;
  return chain;
}

/** "busybox" → "busybox:latest", as dockerd names a missing image. */
export function familiarRef(ref: string): string {
  if (ref.includes('@') || /^(sha256:)?[0-9a-f]{12,64}$/.test(ref)) return ref;
  const slash = ref.lastIndexOf('/');
  return ref.lastIndexOf(':') > slash ? ref : `${ref}:latest`;
}

export async function resolveImage(core: CoreClient, ref: string): Promise<ImageFacts> {
  let doc: CoreImageInspect;
  try {
    const { json } = await core.images.Inspect({ ref });
    doc = JSON.parse(json.toString('utf8')) as CoreImageInspect;
  } catch (err) {
    if (err instanceof BerthError && err.kind === 'not-found') throw notFound(`No such image: ${familiarRef(ref)}`);
    throw err;
  }
  return { id: doc.Id, config: doc.Config ?? {}, chainId: chainId(doc.RootFS?.Layers ?? []), snapshotter: doc.GraphDriver?.Name ?? '', os: doc.Os ?? 'linux' };
}

function newId(): string {
  for (;;) {
    const id = randomBytes(32).toString('hex');
    // dockerd avoids IDs whose short form is all digits (it would read as a number)
    if (!/^[0-9]{12}/.test(id)) return id;
  }
}

/** HostConfig with dockerd's defaults filled, as inspect shows it. */
function normalizeHostConfig(h: DockerHostConfig, config: DaemonConfig): DockerHostConfig {
  const out: DockerHostConfig = { ...h };
  const mode = h.NetworkMode ?? '';
  out.NetworkMode = mode === '' || mode === 'default' ? 'bridge' : mode;
  out.RestartPolicy = { Name: h.RestartPolicy?.Name || 'no', MaximumRetryCount: h.RestartPolicy?.MaximumRetryCount ?? 0 };
  const runtime = h.Runtime || config.defaultRuntime;
  if (!(runtime in config.runtimes)) throw invalidArgument(`unknown or invalid runtime name: ${runtime}`);
  out.Runtime = runtime;
  const logType = h.LogConfig?.Type || config.logDriver || 'json-file';
  if (logType !== 'json-file' && logType !== 'none') throw invalidArgument(`logging driver ${logType} is not supported by berthd (json-file only)`);
  out.LogConfig = { Type: logType, Config: { ...(h.LogConfig?.Type ? {} : config.logOpts), ...(h.LogConfig?.Config ?? {}) } };
  for (const k of Object.keys(out.LogConfig.Config)) {
    if (k !== 'max-size' && k !== 'max-file' && k !== 'labels' && k !== 'env' && k !== 'compress' && k !== 'tag') throw invalidArgument(`unknown log opt '${k}' for json-file log driver`);
  }
  if (!h.ShmSize) out.ShmSize = 64 * 1024 * 1024;
  out.AutoRemove = h.AutoRemove === true;
  out.Privileged = h.Privileged === true;
  out.ReadonlyRootfs = h.ReadonlyRootfs === true;
  // as dockerd stores them: the paths the spec will mask, "unset" limits as null
  const unconfined = (h.SecurityOpt ?? []).includes('systempaths=unconfined');
  if (out.Privileged) { out.MaskedPaths = null; out.ReadonlyPaths = null; } else {
    if (!Array.isArray(h.MaskedPaths)) out.MaskedPaths = unconfined ? [] : [...MASKED_PATHS];
    if (!Array.isArray(h.ReadonlyPaths)) out.ReadonlyPaths = unconfined ? [] : [...READONLY_PATHS];
  }
  if (h.PidsLimit === undefined || h.PidsLimit === null || h.PidsLimit <= 0) out.PidsLimit = null;
  if (h.MemorySwappiness === undefined || h.MemorySwappiness === -1) out.MemorySwappiness = null;
  out.KernelMemory = h.KernelMemory ?? 0;
  out.KernelMemoryTCP = h.KernelMemoryTCP ?? 0;
  return out;
}

/** The core runtime's options: the json-file log's rotation. */
export function runtimeOptions(h: DockerHostConfig): Buffer {
  const c = h.LogConfig?.Config ?? {};
  const o: Record<string, unknown> = {};
  if (c['max-size']) o['log-max-size'] = c['max-size'];
  if (c['max-file']) o['log-max-file'] = Number(c['max-file']);
  return Buffer.from(JSON.stringify(o));
}

/** What the core holds for a container's run (spec, runtime and its options), as one digest to compare. */
export function coreSpecDigest(specJson: string, runtime: string, options: Buffer): string {
  return createHash('sha256').update(specJson).update('\0').update(runtime).update('\0').update(options).digest('hex');
}

/** The per-container files' paths (under <data-root>/containers/<id>/). */
export function containerDir(config: DaemonConfig, id: string): string {
  return join(config.dataRoot, 'containers', id);
}

/** Writes resolv.conf and hostname (hosts is written at each start, when the address is known). */
function writeFiles(dir: string, c: DockerConfig, h: DockerHostConfig, id: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o710 });
  const host = networkMode({ HostConfig: h }) === 'host';
  writeFileSync(join(dir, 'resolv.conf'), resolvConf({ host: hostResolvConf(), dns: h.Dns ?? [], search: h.DnsSearch ?? [], options: h.DnsOptions ?? [], hostNetwork: host }));
  writeFileSync(join(dir, 'hostname'), `${containerHostname(id, c)}\n`);
}

export interface CreateRequest { body: Record<string, unknown>; name: string }

/** Everything checked before anything is made: the same build with placeholder host facts. */
function dryRun(id: string, config: DockerConfig, host: DockerHostConfig): string[] {
  const { warnings } = buildSpec({ id, config, host: { ...host, Binds: [], Mounts: [], Tmpfs: {}, Devices: [] }, user: { uid: 0, gid: 0, additionalGids: [], home: '/' }, userMounts: [], network: { host: false }, initBinary: '/' });
  return warnings;
}

/** Thrown by the volume resolver of the no-mount path: volumes need the root filesystem. */
const NEEDS_ROOTFS = new Error('volumes need the root filesystem');

/**
 * The user and mounts from what is known of the image's files, without
 * mounting the root filesystem; undefined when a look is needed (an image
 * not seen yet, a WorkingDir it may lack, volumes to fill).
 */
async function knownRootfsFacts(deps: CreateDeps, image: ImageFacts, merged: DockerConfig, host: DockerHostConfig): Promise<{ user: ReturnType<typeof resolveUser>; userMountList: Awaited<ReturnType<typeof userMounts>> } | undefined> {
  const files = deps.imageFiles?.lookup(image.snapshotter, image.chainId, merged.WorkingDir);
  if (!files) return undefined;
  const user = resolveUser(merged.User ?? '', files.passwd, files.group, host.GroupAdd ?? []);
  try {
    return { user, userMountList: await userMounts(host, async () => { throw NEEDS_ROOTFS; }) };
  } catch (err) {
    if (err === NEEDS_ROOTFS) return undefined;
    throw err;
  }
}

export async function createContainer(deps: CreateDeps, req: CreateRequest): Promise<{ record: CreatedContainer; spec: OciSpec; coreSpec: string; warnings: string[] }> {
  const { core, config } = deps;
  const { HostConfig: rawHost, NetworkingConfig: _net, ...rawConfig } = req.body as { HostConfig?: DockerHostConfig; NetworkingConfig?: unknown } & DockerConfig;
  const imageRef = typeof rawConfig.Image === 'string' ? rawConfig.Image : '';
  if (imageRef === '') throw invalidArgument('Config.Image is empty: name the image to create the container from');
  const host = normalizeHostConfig(rawHost ?? {}, config);
  validatePolicy(host.RestartPolicy, host.AutoRemove === true);
  validateCreate(host, rawConfig);
  try { deps.network.validate(host.NetworkMode ?? 'bridge'); } catch (err) {
    // a 404 here would make the docker CLI pull the image and report that instead: dockerd refuses
    // a missing network with its message and without a 404 at create
    if (err instanceof BerthError && err.kind === 'not-found') throw invalidArgument(err.message);
    throw err;
  }
  let image = await (deps.images?.resolve(imageRef) ?? resolveImage(core, imageRef));
  const id = newId();
  const merged = mergeImageConfig({ ...rawConfig, Image: imageRef }, image.config);
  // with the host's network the container takes the host's name, as in dockerd
  merged.Hostname = merged.Hostname || (host.NetworkMode === 'host' ? hostname() : id.slice(0, 12));
  const warnings = dryRun(id, merged, host);
  const undo: (() => Promise<void> | void)[] = [];
  // the snapshot is prepared while the rest is worked out; with the image's files known (the usual
  // case) the core's container record is made at the same time, each commit waiting for its own disk
  let prepared: Promise<Awaited<ReturnType<CoreClient['snapshots']['Prepare']>>> | undefined;
  let recordAsked = false;
  let recordDone = false;
  try {
    const prepare = (): ReturnType<CoreClient['snapshots']['Prepare']> => core.snapshots.Prepare({ snapshotter: image.snapshotter, key: id, parent: image.chainId, labels: { 'berthd.container': id } });
    const preparing = prepare().catch(async (err: unknown) => {
      // a remembered image whose layers went away meanwhile (removed behind berthd's back): ask the core
      if (!deps.images || !(err instanceof BerthError && err.kind === 'not-found')) throw err;
      deps.images.forget();
      const now = await resolveImage(core, imageRef);
      if (now.id !== image.id) throw new BerthError('failed-precondition', `cannot create container: image ${imageRef} changed during the create, try again`);
      image = now;
      return prepare();
    }).then((r) => {
      undo.push(() => core.snapshots.Remove({ snapshotter: image.snapshotter, key: id }).then(() => undefined));
      return r;
    });
    prepared = preparing;
    preparing.catch(() => undefined); // awaited below; a failure meanwhile is not unhandled
    const { user, userMountList } = await knownRootfsFacts(deps, image, merged, host)
      ?? await withRootfs((await preparing).mounts, join(config.execRoot, 'containers', 'views'), async (root) => {
        const passwd = readInRoot(root, '/etc/passwd');
        const group = readInRoot(root, '/etc/group');
        const hadDir = merged.WorkingDir ? existsInRoot(root, merged.WorkingDir) : undefined;
        deps.imageFiles?.remember(image.snapshotter, image.chainId, { passwd, group }, merged.WorkingDir ? { path: merged.WorkingDir, exists: hadDir === true } : undefined);
        const u = resolveUser(merged.User ?? '', passwd, group, host.GroupAdd ?? []);
        if (merged.WorkingDir && hadDir !== true) ensureDir(root, merged.WorkingDir, u.uid, u.gid);
        const ask: ResolveVolumes = async (asks) => {
          if (!deps.resolveVolumes) throw invalidArgument(`cannot create container: volume ${asks[0]?.name || '(anonymous)'}: volumes are not available in this berthd yet`);
          return deps.resolveVolumes(id, asks, root);
        };
        return { user: u, userMountList: await userMounts(host, ask) };
      });
    const dir = containerDir(config, id);
    undo.push(() => rmSync(dir, { recursive: true, force: true }));
    writeFiles(dir, merged, host, id);
    const now = new Date();
    const created = preciseIso(now);
    const record: CreatedContainer = {
      ID: id, Name: req.name, Created: created, CreatedMs: now.getTime(), ImageName: imageRef, Image: image.id,
      Config: merged, HostConfig: host,
      State: { Status: 'created', Pid: 0, ExitCode: 0, Error: '', StartedAt: ZERO_TIME, FinishedAt: ZERO_TIME, OOMKilled: false, StoppedByUser: false, RemovalInProgress: false },
      RestartCount: 0, Driver: image.snapshotter || 'overlayfs', Snapshotter: image.snapshotter, Platform: image.os, Runtime: host.Runtime!,
      LogPath: host.LogConfig?.Type === 'none' ? '' : join(config.dataRoot, 'core', ENGINE_NAMESPACE, id, `${id}-json.log`),
      ResolvConfPath: join(dir, 'resolv.conf'), HostnamePath: join(dir, 'hostname'), HostsPath: join(dir, 'hosts'),
      Mounts: userMountList.map((m) => m.point), NetworkSettings: emptySettings([host.NetworkMode!]), NetnsPath: '', AppArmorProfile: '',
      SpecInputs: { user, mounts: userMountList },
    };
    // built with the namespace the start will most likely give it, so that start need not send it again
    const built = specFor(record, deps, expectedNetwork(record, config.execRoot));
    const specJson = JSON.stringify(built.spec);
    const options = runtimeOptions(host);
    recordAsked = true;
    const recorded = core.containers.Create({
      container: {
        id, image: imageRef, spec: Buffer.from(specJson), runtime: { name: record.Runtime, options },
        rootfs: '', snapshotKey: id, snapshotter: image.snapshotter, labels: { 'berthd.name': req.name.slice(1) }, createdAt: null, updatedAt: null,
      },
    }).then(() => { recordDone = true; undo.push(() => core.containers.Delete({ id }).then(() => undefined)); });
    for (const r of await Promise.allSettled([preparing, recorded])) if (r.status === 'rejected') throw r.reason;
    writeInitLayer((await preparing).mounts);
    return { record, spec: built.spec, coreSpec: coreSpecDigest(specJson, record.Runtime, options), warnings: [...warnings, ...built.warnings.filter((w) => !warnings.includes(w))] };
  } catch (err) {
    // a Prepare whose answer was lost (the core went away) may have been carried out: its snapshot
    // is removed all the same; a done one put its own undo in the list
    if (prepared && !(await prepared.then(() => true, () => false))) {
      undo.push(() => core.snapshots.Remove({ snapshotter: image.snapshotter, key: id }).then(() => undefined));
    }
    // the same for the core's container record (removed before the snapshot: the list runs backwards)
    if (recordAsked && !recordDone) undo.push(() => core.containers.Delete({ id }).then(() => undefined));
    for (const fn of undo.reverse()) await undoOrRetry(fn, id, deps.log);
    throw err;
  }
}

/**
 * One step of a failed create's undo. A step the core cannot take now (it is away: that is often
 * why the create failed) is tried again in the background until it answers, so nothing the create
 * made outlives it in a berthd that keeps running (one that restarts sweeps them: orphans.ts).
 * What is gone already counts as done.
 */
async function undoOrRetry(fn: () => Promise<void> | void, id: string, log: Logger): Promise<void> {
  const attempt = async (): Promise<boolean> => {
    try { await fn(); return true; } catch (e) {
      if (e instanceof BerthError && e.kind === 'not-found') return true;
      log.warn('create cleanup failed', { id, error: (e as Error).message });
      return false;
    }
  };
  if (await attempt()) return;
  void (async () => {
    for (let delay = 500; delay <= 60_000; delay *= 2) {
      await new Promise((r) => setTimeout(r, delay).unref());
      if (await attempt()) return;
    }
  })();
}

/** The spec of a container as its record says now (rebuilt at each start, after an update). */
export function specFor(c: CreatedContainer, deps: Pick<CreateDeps, 'initBinary' | 'defaultNofile' | 'hostCaps'>, network: { host: boolean; netnsPath?: string }): { spec: OciSpec; warnings: string[] } {
  return buildSpec({
    id: c.ID, config: c.Config, host: c.HostConfig, user: c.SpecInputs.user, userMounts: c.SpecInputs.mounts,
    files: { hosts: c.HostsPath, resolvConf: c.ResolvConfPath, hostname: c.HostnamePath },
    network, initBinary: deps.initBinary, devices: deviceInputs(c.HostConfig), defaultNofile: deps.defaultNofile, hostCaps: deps.hostCaps,
  });
}


function deviceInputs(h: DockerHostConfig): { nodes: ReturnType<typeof hostDevices>; rules: { allow: boolean; access: string }[] } {
  if (h.Privileged) return { nodes: hostDevices(), rules: [] };
  const { devices, rules } = userDevices(h.Devices ?? []);
  return { nodes: devices, rules };
}

/** An RFC 3339 time with nanoseconds, as dockerd writes its times. */
export function preciseIso(d = new Date()): string {
  const extra = String(process.hrtime.bigint() % 1_000_000n).padStart(6, '0');
  return `${d.toISOString().slice(0, -1)}${extra}Z`;
}
