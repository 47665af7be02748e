/**
 * berth-core's server: opens the metadata store, serves the API on a unix
 * socket (mode 0600, in a directory made 0700), refuses to start when another
 * core answers on that socket, and stops cleanly (streams ended, calls
 * finished, database closed, socket removed).
 */
import { chmodSync, existsSync, lstatSync, mkdirSync, unlinkSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { BerthError, failedPrecondition, wrap } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import { loadServices } from './api/proto.js';
import type { CoreConfig } from './config.js';
import { EventBus } from './events.js';
import { acquireCoreLock } from './lock.js';
import { openMetadataStore, type MetadataStore } from './metadata/store.js';
import { attachHandler } from './services/attach.js';
import { containersService } from './services/containers.js';
import { unaryHandlers, type ServiceContext } from './services/context.js';
import { eventsService } from './services/events.js';
import { namespacesService } from './services/namespaces.js';
import { tasksService } from './services/tasks.js';
import { TaskManager } from './tasks/manager.js';
import { openContentStore } from './content/store.js';
import { collectGarbage } from './gc/collect.js';
import { openLayerSizes } from './images/layer-sizes.js';
import { openImageStore } from './images/store.js';
import { openLeaseManager } from './leases/manager.js';
import { contentService } from './services/content.js';
import { gcService } from './services/gc.js';
import { imagesService, type ImageContext } from './services/images.js';
import { leasesService } from './services/leases.js';
import { snapshotsService } from './services/snapshots.js';
import { openSnapshotter } from './snapshots/index.js';
import type { Snapshotter } from './snapshots/types.js';

export interface CoreServer {
  readonly address: string;
  readonly store: MetadataStore;
  readonly bus: EventBus;
  stop(): Promise<void>;
}

/** Whether something accepts connections on the unix socket at path. */
export function socketAnswers(path: string, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    const finish = (v: boolean): void => { clearTimeout(timer); s.destroy(); resolve(v); };
    const timer = setTimeout(() => finish(false), timeoutMs);
    s.once('connect', () => finish(true));
    s.once('error', () => finish(false));
  });
}

async function claimSocket(address: string): Promise<void> {
  const dir = dirname(address);
  if (!existsSync(dir)) mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (!existsSync(address)) return;
  if (!lstatSync(address).isSocket()) throw failedPrecondition(`cannot start berth-core: ${address} exists and is not a socket`);
  if (await socketAnswers(address)) throw failedPrecondition(`cannot start berth-core: another berth-core is serving ${address}`);
  // a socket nobody answers on was left by a core that died: take it over
  unlinkSync(address);
}

function bind(server: grpc.Server, address: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.bindAsync(`unix://${address}`, grpc.ServerCredentials.createInsecure(), (err) => {
      if (err) reject(wrap(`cannot listen on ${address}`, err)); else resolve();
    });
  });
}

/** Both snapshotters when overlay works here, else native alone; the default is the config's when available. */
function openSnapshotters(ctx: ServiceContext): { snapshotters: Map<string, Snapshotter>; defaultSnapshotter: string } {
  const snapshotters = new Map<string, Snapshotter>();
  try {
    snapshotters.set('overlayfs', openSnapshotter(ctx.store.db, ctx.config.root, 'overlayfs'));
  } catch (err) {
    if (!(err instanceof BerthError) || err.kind !== 'unavailable') throw err;
    ctx.log.warn('overlayfs snapshotter unavailable: using native', { error: err.message });
  }
  snapshotters.set('native', openSnapshotter(ctx.store.db, ctx.config.root, 'native'));
  const defaultSnapshotter = snapshotters.has(ctx.config.snapshotter) ? ctx.config.snapshotter : 'native';
  return { snapshotters, defaultSnapshotter };
}

/** The image half: content, leases, images, snapshotters and garbage collection over the one database. */
export function openImageContext(ctx: ServiceContext): ImageContext {
  const content = openContentStore(ctx.store.db, ctx.config.root);
  const { snapshotters, defaultSnapshotter } = openSnapshotters(ctx);
  return {
    ctx, content, leases: openLeaseManager(ctx.store.db), images: openImageStore(ctx.store.db), layerSizes: openLayerSizes(ctx.store.db),
    snapshotters, defaultSnapshotter,
    collect: () => collectGarbage({ db: ctx.store.db, content, snapshotters, log: ctx.log }),
  };
}

export async function startCore(config: CoreConfig, log: Logger): Promise<CoreServer> {
  try {
    mkdirSync(config.root, { recursive: true, mode: 0o700 });
    mkdirSync(config.state, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw wrap('cannot start berth-core: cannot make its directories', err);
  }
  // the lock first: of two cores starting at once, only one goes on
  const lock = await acquireCoreLock(config.state);
  let store: MetadataStore;
  try {
    await claimSocket(config.address);
    store = openMetadataStore(join(config.root, 'meta.db'));
  } catch (err) {
    lock.release();
    throw err;
  }
  const bus = new EventBus();
  const ctx: ServiceContext = { store, bus, config, log };
  let images: ImageContext;
  try {
    images = openImageContext(ctx);
  } catch (err) {
    store.close();
    lock.release();
    throw err;
  }
  // a container's snapshot is mounted as its task's root filesystem
  const tasks = new TaskManager(ctx, { snapshotters: (name) => images.snapshotters.get(name === '' ? images.defaultSnapshotter : name) });
  // before serving: every task is found again with its true state
  await tasks.recover();
  const services = loadServices();
  // channelz keeps per-call statistics nobody reads here: about a tenth of a unary call's server time
  const server = new grpc.Server({ 'grpc.enable_channelz': 0 });
  server.addService(services.Namespaces.service, unaryHandlers('Namespaces', namespacesService(ctx), log));
  server.addService(services.Containers.service, unaryHandlers('Containers', containersService(ctx), log));
  server.addService(services.Events.service, eventsService(ctx));
  server.addService(services.Tasks.service, {
    ...unaryHandlers('Tasks', tasksService(tasks), log),
    Attach: attachHandler(tasks, log) as grpc.handleBidiStreamingCall<unknown, unknown>,
  });
  server.addService(services.Images.service, imagesService(images));
  server.addService(services.Content.service, contentService(images));
  server.addService(services.Snapshots.service, unaryHandlers('Snapshots', snapshotsService(images), log));
  server.addService(services.Leases.service, unaryHandlers('Leases', leasesService(images), log));
  server.addService(services.Gc.service, unaryHandlers('Gc', gcService(images), log));
  try {
    await bind(server, config.address);
    chmodSync(config.address, 0o600);
  } catch (err) {
    server.forceShutdown();
    store.close();
    lock.release();
    throw err instanceof BerthError ? err : wrap(`cannot start berth-core on ${config.address}`, err);
  }
  log.info('berth-core serving', { address: config.address, root: config.root, state: config.state, runtimes: Object.keys(config.runtimes) });

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      tasks.close();
      bus.close();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => { server.forceShutdown(); resolve(); }, 5000);
        server.tryShutdown(() => { clearTimeout(timer); resolve(); });
      });
      store.close();
      try { unlinkSync(config.address); } catch { /* already gone */ }
      lock.release();
      log.info('berth-core stopped', { address: config.address });
    })();
    return stopping;
  };
  return { address: config.address, store, bus, stop };
}
