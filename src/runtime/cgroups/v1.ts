/**
 * The cgroup v1 driver, also used on hybrid hosts: limits go to the v1
 * controllers; the name=systemd hierarchy and the cgroup2 hierarchy (when
 * mounted) only get the directory and the process, as runc does, so tools
 * that read a process's place from either find the container.
 */
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { failedPrecondition, invalidArgument, unavailable, wrap } from '../../common/errors.js';
import type { CgroupManager, DestroyOptions, DriverOptions } from './manager.js';
import {
  hasFile, makeDir, readFile, readOptional, readProcs, removeDir, sleepMs, subtreeLeafFirst, writeFile,
} from './files.js';
import { killPids, waitUntilEmpty } from './signal.js';
import type { CgroupStats, LinuxResources } from './types.js';
import {
  pidsMax, setBlkio, setCpu, setCpuset, setDevices, setHugetlb, setMemory, setNetwork,
} from './v1-resources.js';
import { v1Stats } from './v1-stats.js';

export class V1Manager implements CgroupManager {
  readonly version = 1 as const;

  constructor(readonly paths: Record<string, string>, private readonly opts: DriverOptions) {}

  /** The distinct directories, in a stable order (joint mounts share one). */
  private dirs(): string[] {
    return [...new Set(Object.values(this.paths))];
  }

  private need(ctrl: string, what: string): string {
    const dir = this.paths[ctrl];
    if (dir === undefined) throw unavailable(`cannot set ${what}: the ${ctrl} cgroup controller is not mounted`);
    return dir;
  }

  create(): void {
    for (const d of this.dirs()) makeDir(d);
    if (this.paths.cpuset) seedCpuset(this.paths.cpuset);
  }

  apply(r: LinuxResources | undefined): void {
    if (r === undefined) return;
    const log = this.opts.log;
    if (r.unified && Object.keys(r.unified).length > 0) {
      throw invalidArgument('cannot set unified resources: the host uses cgroup v1');
    }
    if (r.rdma && Object.keys(r.rdma).length > 0) this.need('rdma', 'rdma limits');
    if (r.devices) setDevices(this.need('devices', 'device rules'), r.devices);
    if (r.memory) setMemory(this.need('memory', 'memory limits'), r.memory, log);
    if (r.cpu) {
      const c = r.cpu;
      const cpuKeys = [c.shares, c.quota, c.period, c.burst, c.realtimePeriod, c.realtimeRuntime, c.idle];
      if (cpuKeys.some((v) => v !== undefined)) setCpu(this.need('cpu', 'cpu limits'), c);
      if (c.cpus || c.mems) setCpuset(this.need('cpuset', 'cpuset'), c);
    }
    if (r.pids) writeFile(this.need('pids', 'the pids limit'), 'pids.max', pidsMax(r.pids.limit));
    if (r.blockIO) setBlkio(this.need('blkio', 'block io limits'), r.blockIO, log);
    if (r.hugepageLimits && r.hugepageLimits.length > 0) setHugetlb(this.paths.hugetlb, r.hugepageLimits, 'limit_in_bytes');
    if (r.network) setNetwork(this.paths.net_cls, this.paths.net_prio, r.network);
  }

  addProcess(pid: number): void {
    for (const d of this.dirs()) {
      try {
        writeFile(d, 'cgroup.procs', pid);
      } catch (err) {
        throw wrap(`cannot add process ${pid} to cgroup ${d}`, err);
      }
    }
  }

  private freezerDir(): string {
    return this.need('freezer', 'the freezer state');
  }

  freeze(): void {
    const dir = this.freezerDir();
    const deadline = Date.now() + 5000;
    let rewrite = Date.now();
    writeFile(dir, 'freezer.state', 'FROZEN');
    // FREEZING can stay while a task is in an uninterruptible sleep; writing
    // FROZEN again retries the tasks that were not frozen yet.
    for (let wait = 1; ; wait = Math.min(wait * 2, 20)) {
      if (readFile(dir, 'freezer.state').trim() === 'FROZEN') return;
      if (Date.now() >= deadline) {
        writeFile(dir, 'freezer.state', 'THAWED');
        throw failedPrecondition(`cannot freeze cgroup ${dir}: still freezing after 5s`);
      }
      if (Date.now() - rewrite > 100) {
        writeFile(dir, 'freezer.state', 'FROZEN');
        rewrite = Date.now();
      }
      sleepMs(wait);
    }
  }

  thaw(): void {
    writeFile(this.freezerDir(), 'freezer.state', 'THAWED');
  }

  isFrozen(): boolean {
    const dir = this.paths.freezer;
    if (dir === undefined) return false;
    return (readOptional(dir, 'freezer.state') ?? '').trim() === 'FROZEN';
  }

  /** The hierarchy that lists the container's processes: freezer, pids, or any. */
  private listingDir(): string {
    return this.paths.freezer ?? this.paths.pids ?? this.paths.memory ?? (this.dirs()[0] as string);
  }

  pids(): number[] {
    const all = new Set<number>();
    for (const d of subtreeLeafFirst(this.listingDir())) for (const p of readProcs(d)) all.add(p);
    return [...all].sort((a, b) => a - b);
  }

  stats(): CgroupStats {
    return v1Stats(this.paths);
  }

  killAll(signal: number): void {
    // Frozen, no process can fork a child that the signal would miss.
    const canFreeze = this.paths.freezer !== undefined && !this.isFrozen();
    if (canFreeze) this.freeze();
    try {
      killPids(this.pids(), signal);
    } finally {
      if (canFreeze) this.thaw();
    }
  }

  destroy(options: DestroyOptions = {}): void {
    if (!this.exists()) return;
    const left = this.pids();
    if (left.length > 0) {
      if (!options.killProcesses) {
        throw failedPrecondition(`cannot remove cgroup ${this.listingDir()}: processes ${left.join(', ')} are still in it`);
      }
      if (this.isFrozen()) this.thaw();
      this.killAll(9);
      waitUntilEmpty(() => this.pids(), this.listingDir());
    }
    for (const d of this.dirs()) for (const sub of subtreeLeafFirst(d)) removeDir(sub);
  }

  exists(): boolean {
    return this.dirs().some((d) => existsSync(d));
  }
}

/**
 * A new v1 cpuset cgroup starts with empty cpus and mems, and the kernel
 * refuses tasks until they are set: copy them down from the nearest
 * ancestor that has them, level by level.
 */
export function seedCpuset(dir: string): void {
  const chain: string[] = [];
  let d = dir;
  for (;;) {
    const cpus = readOptional(d, 'cpuset.cpus') ?? '';
    if (cpus.trim() !== '' && (readOptional(d, 'cpuset.mems') ?? '').trim() !== '') break;
    chain.push(d);
    const up = dirname(d);
    if (up === d) throw unavailable(`cannot seed cpuset of ${dir}: no ancestor has cpus and mems`);
    d = up;
  }
  for (const level of chain.reverse()) {
    const parent = dirname(level);
    for (const f of ['cpus', 'mems']) {
      if ((readOptional(level, `cpuset.${f}`) ?? '').trim() !== '') continue;
      const from = readOptional(parent, `cpuset.effective_${f}`) ?? readFile(parent, `cpuset.${f}`);
      writeFile(level, `cpuset.${f}`, from.trim() === '' ? readFile(parent, `cpuset.${f}`).trim() : from.trim());
    }
  }
}
