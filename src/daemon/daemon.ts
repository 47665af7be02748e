/**
 * berthd assembled: the pid file, the daemon's store, the core (found or
 * started), the event bus, the backends, and the API server on its hosts.
 * Stopping ends the API and leaves the core and every container running:
 * Berth always behaves as dockerd's live-restore.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { checkTcpNeedsTls, createApiServer, readTlsFiles, engineRoutes, parseHost, type ApiServer, type TlsFiles } from '../api/index.js';
import type { Logger, LogSink } from '../common/log.js';
import type { CoreClient } from '../core/client.js';
import type { DaemonConfig } from './config.js';
import { connectCore, superviseCore } from './core.js';
import { EventBus } from './events.js';
import { ENGINE_NAMESPACE } from './namespace.js';
import { CoreInventory, type Inventory } from './inventory.js';
import { CredentialMemory, DaemonImages, rememberLogins } from './images/index.js';
import { DaemonCommit } from './images/commit.js';
import { DaemonBuild } from './builder/service.js';
import { DaemonVolumes } from './volumes/index.js';
import { ContainerService, EngineContainers, hostCapabilities, hostNofile, initBinary } from './containers/index.js';
import { EngineStreams } from './streams/backend.js';
import { HealthMonitor } from './health/monitor.js';
import { DaemonNetworking } from './network/index.js';
import { EmbeddedDns } from './dns/index.js';
import { removePidfile, writePidfile } from './pidfile.js';
import { openStateDb, type StateDb } from './state/db.js';
import { daemonId } from './state/meta.js';
import { DaemonSystem } from './system.js';

export interface DaemonOptions {
  config: DaemonConfig;
  log: Logger;
  /** the sinks of `log`, whose level a reload changes */
  sinks: LogSink[];
  binDir: string;
}

export class Daemon {
  private stopped = false;
  private unsuperviseCore?: () => void;
  /** the daemon's containers (set once started) */
  containers?: ContainerService;
  /** the daemon's networks (set once started) */
  networking?: DaemonNetworking;
  /** the embedded DNS server of user-defined networks (set once started) */
  dns?: EmbeddedDns;
  /** the health checks of running containers (set once started) */
  health?: HealthMonitor;

  private constructor(
    private readonly config: DaemonConfig,
    private readonly opts: DaemonOptions,
    readonly events: EventBus,
    readonly db: StateDb,
    readonly id: string,
    readonly core: CoreClient,
    readonly inventory: Inventory,
    private readonly api: ApiServer,
  ) {}

  static async start(opts: DaemonOptions): Promise<Daemon> {
    const { config, log } = opts;
    // addresses are checked before anything is created, so a bad -H leaves nothing behind
    const hosts = config.hosts.map(parseHost);
    const tls: TlsFiles | undefined = config.tls.verify ? { ca: config.tls.ca!, cert: config.tls.cert!, key: config.tls.key! } : undefined;
    for (const h of hosts) checkTcpNeedsTls(h, tls);
    if (tls !== undefined) readTlsFiles(tls); // unreadable certificates fail now, not after the core is up
    writePidfile(config.pidfile);
    const undo: (() => void)[] = [() => removePidfile(config.pidfile)];
    try {
      mkdirSync(config.dataRoot, { recursive: true, mode: 0o711 });
      mkdirSync(config.execRoot, { recursive: true, mode: 0o700 });
      const db = openStateDb(join(config.dataRoot, 'daemon', 'state.db'));
      undo.push(() => db.close());
      const id = daemonId(db);
      const plan = corePlan(config, opts.binDir);
      const core = (await connectCore(plan, log)).withNamespace(ENGINE_NAMESPACE);
      undo.push(() => core.close());
      // a core killed under berthd is started again, until berthd stops
      const unsupervise = superviseCore(plan, log.with({ component: 'core' }));
      undo.push(unsupervise);
      const events = new EventBus();
      const credentials = new CredentialMemory();
      // every change berthd makes to the images is an image event: the containers' remembered lookups go with it
      let forgetImages = (): void => undefined;
      const imageEvents = Object.assign(Object.create(events) as EventBus, {
        publish: (...a: Parameters<EventBus['publish']>) => { forgetImages(); return events.publish(...a); },
      });
      const images = new DaemonImages({ core, events: imageEvents, credentials, log: log.with({ component: 'images' }) });
      const volumes = new DaemonVolumes({ db, root: join(config.dataRoot, 'volumes'), core, events, log: log.with({ component: 'volumes' }) });
      const dns = new EmbeddedDns({ log: log.with({ component: 'dns' }) });
      undo.push(() => { void dns.close(); });
      const networking = new DaemonNetworking({ db, events, config, log: log.with({ component: 'network' }), dns });
      const containerService = new ContainerService({
        core, db, events, config, log: log.with({ component: 'containers' }), network: networking.endpoints, initBinary: initBinary(), defaultNofile: hostNofile(), hostCaps: hostCapabilities(),
        resolveVolumes: (cid, asks, rootfs) => volumes.resolveVolumes(cid, asks, rootfs),
        releaseVolumes: (cid, anonymous) => volumes.releaseVolumes(cid, anonymous),
      });
      undo.push(() => containerService.close());
      forgetImages = () => containerService.images.forget();
      networking.bind(containerService);
      const streams = new EngineStreams({ core, containers: containerService, config });
      const health = new HealthMonitor({ core, containers: containerService, events, exec: streams.exec, log: log.with({ component: 'health' }) });
      undo.push(() => health.close());
      const inventory = new CoreInventory(core, { images, volumes });
      const system = rememberLogins(new DaemonSystem({ config, daemonId: id, inventory, eventListeners: () => events.subscribers, containerStatuses: () => containerService.store.countByStatus() }), credentials);
      const containers = health.decorate(new EngineContainers(containerService));
      const commit = new DaemonCommit({ core, containers: containerService, log: log.with({ component: 'commit' }) });
      const build = new DaemonBuild({ core, containers, streams, images, commit, log: log.with({ component: 'build' }), workRoot: join(config.dataRoot, 'builder') });
      // contexts of builds a crash interrupted
      rmSync(join(config.dataRoot, 'builder'), { recursive: true, force: true });
      const api = createApiServer({
        routes: engineRoutes({ system, events, images, volumes, containers, streams, networks: networking.backend(), commit, build }), log: log.with({ component: 'api' }), engineVersion: system.engineVersion,
        socketGroup: config.group,
        tls,
      });
      undo.push(() => { void api.close(); });
      const daemon = new Daemon(config, opts, events, db, id, core, inventory, api);
      daemon.containers = containerService;
      daemon.unsuperviseCore = unsupervise;
      daemon.health = health;
      // the view is rebuilt (exits recorded, restart policies applied) before the API answers
      await containerService.restore().catch((err: unknown) => log.error('container restore failed', { error: (err as Error).message }));
      await networking.reconcile().catch((err: unknown) => log.error('network reconcile failed', { error: (err as Error).message }));
      daemon.networking = networking;
      daemon.dns = dns;
      health.start();
      await api.listen(hosts);
      log.info('berthd started', { id, core: config.coreAddress, hosts: config.hosts, dataRoot: config.dataRoot });
      return daemon;
    } catch (err) {
      for (const fn of undo.reverse()) { try { fn(); } catch { /* best effort */ } }
      throw err;
    }
  }

  /**
   * Applies a re-read configuration: what can change while running (log
   * level, insecure registries, runtimes) changes, and a `daemon reload`
   * event says so, as dockerd's SIGHUP does.
   */
  reload(next: DaemonConfig): void {
    this.config.logLevel = next.logLevel;
    this.config.insecureRegistries = next.insecureRegistries;
    this.config.runtimes = next.runtimes;
    this.config.defaultRuntime = next.defaultRuntime;
    for (const s of this.opts.sinks) s.level = next.logLevel;
    this.events.publish('daemon', 'reload', {
      ID: this.id,
      Attributes: {
        name: hostname(), 'default-runtime': next.defaultRuntime, 'insecure-registries': `[${next.insecureRegistries.join(' ')}]`,
        'live-restore': 'true', 'log-level': next.logLevel, runtimes: Object.keys(next.runtimes).sort().join(', '),
      },
    });
    this.opts.log.info('configuration reloaded', { logLevel: next.logLevel });
  }

  /** Stops serving; the core and the containers keep running. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.unsuperviseCore?.();
    this.containers?.close();
    await this.networking?.stop().catch(() => undefined);
    await this.dns?.close().catch(() => undefined);
    this.health?.close();
    await this.api.close();
    this.core.close();
    this.db.close();
    removePidfile(this.config.pidfile);
    this.opts.log.info('berthd stopped');
  }
}

/** Where a core berthd starts lives: state under data-root and exec-root, runtimes from berthd's table. */
function corePlan(config: DaemonConfig, binDir: string): Parameters<typeof connectCore>[0] {
  const state = join(config.execRoot, 'core');
  mkdirSync(state, { recursive: true });
  const coreConfig = join(state, 'config.json');
  writeFileSync(coreConfig, JSON.stringify({
    'default-runtime': config.defaultRuntime,
    runtimes: Object.fromEntries(Object.entries(config.runtimes).map(([n, r]) => [n, { path: r.path, args: r.runtimeArgs }])),
  }, null, 2));
  return {
    address: config.coreAddress, binDir, root: join(config.dataRoot, 'core'), state, configFile: coreConfig,
    logFile: join(config.execRoot, 'berth-core.log'), logLevel: config.logLevel,
  };
}
