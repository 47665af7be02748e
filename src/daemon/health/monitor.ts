/**
 * Health checks: one probe loop per running container that has a
 * Healthcheck, started on its `start` event (and for those already running
 * when berthd starts), stopped on `die`/`destroy`. Each probe is an exec
 * in the container (the check's command, its output kept up to 4 KiB),
 * killed at its timeout. Status changes are published as Docker's
 * `health_status: healthy|unhealthy` events. State.Health is kept in the
 * container's row of the state DB, as dockerd keeps it in the container's
 * state: a restarted berthd shows the same health at once and probes on.
 * A container that stops is unhealthy, as in dockerd.
 */
import { randomBytes } from 'node:crypto';
import type { ContainersBackend, ContainerListArgs } from '../../api/index.js';
import { Filters } from '../../api/index.js';
import type { Logger } from '../../common/log.js';
import type { CoreClient } from '../../core/client.js';
import type { ContainerRecord, ContainerService } from '../containers/index.js';
import type { EventBus } from '../events.js';
import type { ExecService } from '../exec/service.js';
import { healthConfig, type HealthConfig } from './config.js';
import { applyResult, MAX_OUTPUT, newHealth, parseHealth, statusSuffix, type Health, type HealthResult } from './state.js';

interface Probe { cfg: HealthConfig; health: Health; startedMs: number; timer?: NodeJS.Timeout; stopped: boolean }

export class HealthMonitor {
  private readonly probes = new Map<string, Probe>();
  /** the last health of containers not probed now (stopped, or not yet begun after a restart) */
  private readonly last = new Map<string, Health>();
  private readonly stop = new AbortController();

  constructor(private readonly o: { core: CoreClient; containers: ContainerService; events: EventBus; exec: ExecService; log: Logger }) {}

  /** Follows container starts and stops; begins with the containers running now, from their stored health. */
  start(): void {
    for (const [id, raw] of this.o.containers.store.healths()) {
      const h = parseHealth(raw);
      if (h) this.last.set(id, h);
    }
    const filters = new Filters(new Map([['type', new Set(['container'])], ['event', new Set(['start', 'die', 'destroy'])]]));
    void (async () => {
      for await (const e of this.o.events.events({ filters }, this.stop.signal)) {
        if (e.Action === 'start') { try { this.begin(this.o.containers.get(e.Actor.ID)); } catch { /* gone already */ } } else if (e.Action === 'die') this.died(e.Actor.ID);
        else this.forget(e.Actor.ID);
      }
    })().catch((err: unknown) => this.o.log.warn('health monitor stopped', { error: (err as Error).message }));
    for (const c of this.o.containers.list()) {
      if (c.State.Status === 'running' || c.State.Status === 'paused') this.resume(c);
      else if (this.last.get(c.ID)?.Status !== 'unhealthy') this.died(c.ID); // stopped while berthd was away
    }
  }

  close(): void {
    this.stop.abort();
    for (const id of [...this.probes.keys()]) this.end(id);
  }

  /** State.Health of a container (undefined when it has no check or has not run one since it started). */
  health(id: string): Health | undefined {
    return this.probes.get(id)?.health ?? this.last.get(id);
  }

  /** A (re)started container: its checks begin again from `starting`. */
  private begin(c: ContainerRecord): void {
    this.probeFrom(c, newHealth(), Date.now());
  }

  /** A container running when berthd started: its stored health goes on (the start period from its start). */
  private resume(c: ContainerRecord): void {
    const started = Date.parse(c.State.StartedAt);
    const stored = this.last.get(c.ID);
    // probes from before the container's current start (it was restarted by restore) are not its health
    const lastEnd = Date.parse(stored?.Log.at(-1)?.End ?? '');
    const current = stored !== undefined && !(lastEnd < started);
    this.probeFrom(c, current ? stored : newHealth(), Number.isNaN(started) ? Date.now() : started);
  }

  private probeFrom(c: ContainerRecord, health: Health, startedMs: number): void {
    this.end(c.ID);
    const cfg = healthConfig(c.Config.Healthcheck);
    if (!cfg) return;
    this.last.delete(c.ID);
    const p: Probe = { cfg, health, startedMs, stopped: false };
    this.probes.set(c.ID, p);
    this.save(c.ID, health);
    this.schedule(c.ID, p);
  }

  /** Stops probing; the last health stays visible in inspect until the next start, as in Docker. */
  private end(id: string): void {
    const p = this.probes.get(id);
    if (!p) return;
    p.stopped = true;
    if (p.timer) clearTimeout(p.timer);
    this.probes.delete(id);
    this.last.set(id, p.health);
  }

  /** A stopped container is unhealthy (dockerd marks it so when it stops), its log kept. */
  private died(id: string): void {
    this.end(id);
    const h = this.last.get(id);
    if (!h || h.Status === 'unhealthy') return;
    h.Status = 'unhealthy';
    this.save(id, h);
  }

  private forget(id: string): void {
    this.end(id);
    this.last.delete(id);
  }

  private save(id: string, h: Health): void {
    try { this.o.containers.store.saveHealth(id, h); } catch (err) { this.o.log.warn('cannot store health', { id, error: (err as Error).message }); }
  }

  private inStartPeriod(p: Probe): boolean {
    return p.cfg.startPeriodMs > 0 && Date.now() - p.startedMs < p.cfg.startPeriodMs;
  }

  private schedule(id: string, p: Probe): void {
    if (p.stopped) return;
    const delay = p.health.Status === 'starting' && this.inStartPeriod(p) ? p.cfg.startIntervalMs : p.cfg.intervalMs;
    p.timer = setTimeout(() => { void this.probe(id, p).finally(() => this.schedule(id, p)); }, delay);
  }

  private async probe(id: string, p: Probe): Promise<void> {
    let c: ContainerRecord;
    try { c = this.o.containers.get(id); } catch { p.stopped = true; return; }
    if (c.State.Status !== 'running' || p.stopped) return;
    const result = await this.runCheck(c, p.cfg);
    if (p.stopped) return;
    const changed = applyResult(p.health, result, this.inStartPeriod(p), p.cfg.retries);
    this.save(id, p.health);
    if (changed && changed !== 'starting') this.o.containers.publish(c, `health_status: ${changed}`);
  }

  private async runCheck(c: ContainerRecord, cfg: HealthConfig): Promise<HealthResult> {
    const start = new Date().toISOString();
    const execId = `health-${randomBytes(8).toString('hex')}`;
    const done = (code: number, output: string): HealthResult => ({ Start: start, End: new Date().toISOString(), ExitCode: code, Output: output });
    let output = Buffer.alloc(0);
    let timer: NodeJS.Timeout | undefined;
    try {
      const run = await this.o.exec.run(c, execId, {
        Cmd: cfg.cmd, Env: [], User: '', WorkingDir: '', Tty: false, Privileged: false, AttachStdin: false, AttachStdout: true, AttachStderr: true, DetachKeys: '',
      }, true);
      const timedOut = new Promise<'timeout'>((resolve) => { timer = setTimeout(() => resolve('timeout'), cfg.timeoutMs); });
      const collect = (async () => {
        for await (const chunk of run.session!) if (output.length < MAX_OUTPUT) output = Buffer.concat([output, chunk.data]).subarray(0, MAX_OUTPUT);
        return run.wait;
      })();
      const first = await Promise.race([collect, timedOut]);
      if (first === 'timeout') {
        await this.o.core.tasks.Kill({ containerId: c.ID, execId, signal: 9, all: false }).catch(() => undefined);
        run.session!.close();
        return done(-1, `Health check exceeded timeout (${cfg.timeoutMs / 1000}s)`);
      }
      return done(first, output.toString('utf8'));
    } catch (err) {
      return done(-1, (err as Error).message);
    } finally {
      if (timer) clearTimeout(timer);
    }
  }

  /** The containers backend with State.Health in inspect, ps's "(healthy)" and the `health` filter. */
  decorate(inner: ContainersBackend): ContainersBackend {
    const monitor = this;
    const resolveHealth = (id: string): string => monitor.health(id)?.Status ?? 'none';
    return Object.assign(Object.create(inner) as ContainersBackend, {
      async inspect(ref: string, size: boolean): Promise<Record<string, unknown>> {
        const doc = await inner.inspect(ref, size);
        const h = monitor.health(String(doc.Id));
        if (h) (doc.State as Record<string, unknown>).Health = { Status: h.Status, FailingStreak: h.FailingStreak, Log: h.Log };
        return doc;
      },
      async list(args: ContainerListArgs): Promise<Record<string, unknown>[]> {
        const wanted = args.filters.get('health');
        let filters = args.filters;
        if (wanted.length > 0) {
          // validated by the inner list, then applied here, where health is known
          await inner.list({ ...args, limit: 0, filters: new Filters(new Map([['health', new Set(wanted)]])) });
          filters = new Filters(new Map(args.filters.keys().filter((k) => k !== 'health').map((k) => [k, new Set(args.filters.get(k))])));
        }
        const rows = await inner.list({ ...args, filters, limit: wanted.length > 0 ? -1 : args.limit });
        const out: Record<string, unknown>[] = [];
        for (const r of rows) {
          const id = String(r.Id);
          if (wanted.length > 0 && !wanted.includes(resolveHealth(id))) continue;
          const h = monitor.health(id);
          if (h && r.State === 'running' && typeof r.Status === 'string') r.Status += statusSuffix(h.Status);
          out.push(r);
        }
        return wanted.length > 0 && args.limit > 0 ? out.slice(0, args.limit) : out;
      },
    });
  }
}
