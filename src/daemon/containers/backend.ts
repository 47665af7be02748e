/**
 * The API's ContainersBackend on the daemon's ContainerService: request
 * arguments in, Docker's documents out.
 */
import type { ContainerListArgs, ContainersBackend, ContainerStopOptions, ContainerWaitCondition, Filters } from '../../api/index.js';
import { invalidArgument } from '../../common/errors.js';
import { listPredicate } from './filters.js';
import type { ContainerService } from './service.js';
import type { ContainerRecord, DockerHostConfig } from './types.js';
import { inspectDocument, summaryDocument } from './view.js';

const PRUNE_FILTERS = ['until', 'label', 'label!'];

/** prune's `until`: a timestamp or a Go duration ("24h", "10m"). */
function untilMs(v: string): number {
  const d = /^([0-9]+)(ns|us|ms|s|m|h)$/.exec(v);
  if (d) {
    const unit = { ns: 1e-6, us: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[d[2] as 'ns'];
    return Date.now() - Number(d[1]) * unit;
  }
  if (/^[0-9]+(\.[0-9]+)?$/.test(v)) return Number(v) * 1000;
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw invalidArgument(`invalid filter 'until=${v}'`);
  return t;
}

export class EngineContainers implements ContainersBackend {
  constructor(private readonly svc: ContainerService) {}

  create(body: Record<string, unknown>, name: string | undefined, platform: string): Promise<{ Id: string; Warnings: string[] }> {
    if (platform !== '' && !platform.startsWith('linux')) throw invalidArgument(`platform ${platform} is not supported: this engine runs linux containers`);
    return this.svc.create(body, name);
  }

  async resolve(ref: string): Promise<string> { return this.svc.get(ref).ID; }
  start(ref: string): Promise<boolean> { return this.svc.start(ref); }
  stop(ref: string, opts: ContainerStopOptions): Promise<boolean> { return this.svc.stop(ref, opts); }
  restart(ref: string, opts: ContainerStopOptions): Promise<void> { return this.svc.restart(ref, opts); }
  kill(ref: string, signal: string): Promise<void> { return this.svc.kill(ref, signal); }
  pause(ref: string): Promise<void> { return this.svc.pause(ref); }
  unpause(ref: string): Promise<void> { return this.svc.unpause(ref); }
  wait(ref: string, condition: ContainerWaitCondition, signal: AbortSignal): Promise<{ StatusCode: number; Error: { Message: string } | null }> {
    return this.svc.wait(ref, condition, signal);
  }

  async inspect(ref: string, size: boolean): Promise<Record<string, unknown>> {
    const c = this.svc.get(ref);
    const doc = inspectDocument(c, size ? await this.svc.sizes(c).catch(() => ({ SizeRw: 0, SizeRootFs: 0 })) : undefined);
    const execs = this.svc.execIds(c.ID);
    if (execs.length > 0) doc.ExecIDs = execs;
    // a running container whose log cannot be written says so in State.Error (it keeps running)
    const fault = c.State.Status === 'running' ? await this.svc.logFault(c) : '';
    if (fault !== '') (doc.State as Record<string, unknown>).Error = fault;
    return doc;
  }

  async list(args: ContainerListArgs): Promise<Record<string, unknown>[]> {
    const all = this.svc.list();
    const pass = listPredicate(args.filters, all, (ref) => this.svc.get(ref));
    // like dockerd: without `all`, only running ones — unless a status filter asks for others
    const shown = all.filter((c) => (args.all || args.filters.has('status') || args.limit > 0 || c.State.Status === 'running' || c.State.Status === 'paused' || c.State.Status === 'restarting') && pass(c));
    const limited = args.limit > 0 ? shown.slice(0, args.limit) : shown;
    const out: Record<string, unknown>[] = [];
    for (const c of limited) out.push(summaryDocument(c, args.size ? await this.svc.sizes(c).catch(() => ({ SizeRw: 0, SizeRootFs: 0 })) : undefined));
    return out;
  }

  rename(ref: string, name: string): Promise<void> { return this.svc.rename(ref, name); }
  update(ref: string, body: Record<string, unknown>): Promise<{ Warnings: string[] }> { return this.svc.update(ref, body as Partial<DockerHostConfig>); }
  remove(ref: string, opts: { force: boolean; volumes: boolean }): Promise<void> { return this.svc.remove(ref, opts); }

  prune(filters: Filters): Promise<{ ContainersDeleted: string[] | null; SpaceReclaimed: number }> {
    filters.validate(PRUNE_FILTERS);
    const until = filters.has('until') ? untilMs(filters.get('until')[0]!) : undefined;
    return this.svc.prune((c: ContainerRecord) => {
      if (until !== undefined && c.CreatedMs >= until) return false;
      const labels = c.Config.Labels ?? {};
      if (!filters.matchLabels('label', labels)) return false;
      if (filters.has('label!') && filters.get('label!').some((l) => {
        const [k, v] = l.split('=', 2) as [string, string?];
        return v === undefined ? k in labels : labels[k] === v;
      })) return false;
      return true;
    });
  }
}
