/**
 * The cgroup v2 driver: one directory in the unified hierarchy.
 *
 * Controllers: create() passes down, at each level between the hierarchy
 * root and the container, every controller that level has (its
 * cgroup.controllers) — levels Berth made or shares with its containers.
 * The hierarchy root's own subtree_control is host policy (systemd sets it)
 * and is only written when apply() needs a controller that is not enabled
 * yet; a controller that cannot be enabled is an 'unavailable' error.
 */
import { closeSync, existsSync, openSync } from 'node:fs';
import { dirname, relative, join } from 'node:path';
import { failedPrecondition, unavailable, wrap } from '../../common/errors.js';
import { cgroupBpfAddon } from './addon.js';
import { compileDeviceFilter, encodeInsns } from './devices-bpf.js';
import {
  hasFile, makeDir, readKeyValues, readOptional, readProcs, removeDir, sleepMs, subtreeLeafFirst, writeFile,
} from './files.js';
import type { CgroupManager, DestroyOptions, DriverOptions } from './manager.js';
import { killPids, waitUntilEmpty } from './signal.js';
import type { CgroupStats, LinuxDeviceCgroup, LinuxResources } from './types.js';
import {
  neededControllers, setCpuV2, setHugetlbV2, setIo, setMemoryV2, setPidsV2, setRdma, setUnified,
} from './v2-resources.js';
import { v2Stats } from './v2-stats.js';

/** The topmost directory above dir (or dir) that is a cgroup2 directory: the hierarchy root. */
export function hierarchyRoot(dir: string): string {
  let top: string | undefined;
  for (let d = dir; ; d = dirname(d)) {
    if (existsSync(join(d, 'cgroup.controllers'))) top = d;
    if (dirname(d) === d) break;
  }
  return top ?? dir;
}

function words(s: string | undefined): Set<string> {
  return new Set((s ?? '').trim().split(/\s+/).filter((w) => w !== ''));
}

export class V2Manager implements CgroupManager {
  readonly version = 2 as const;
  readonly paths: Record<string, string>;
  private readonly root: string;

  constructor(private readonly dir: string, private readonly opts: DriverOptions, root?: string) {
    this.paths = { '': dir };
    this.root = root ?? hierarchyRoot(dir);
  }

  /** Directories from the hierarchy root down to the container's parent. */
  private ancestors(): string[] {
    const rel = relative(this.root, this.dir).split('/').filter((p) => p !== '');
    const out = [this.root];
    for (let i = 1; i < rel.length; i++) out.push(join(this.root, ...rel.slice(0, i)));
    return out;
  }

  create(): void {
    makeDir(this.dir);
    for (const level of this.ancestors().slice(1)) {
      const available = words(readOptional(level, 'cgroup.controllers'));
      const enabled = words(readOptional(level, 'cgroup.subtree_control'));
      for (const c of available) {
        if (enabled.has(c)) continue;
        try {
          writeFile(level, 'cgroup.subtree_control', `+${c}`);
        } catch (err) {
          // e.g. EBUSY: a level that holds processes (a relative path under
          // the caller's own cgroup) cannot pass domain controllers down.
          this.opts.log.debug('cannot enable cgroup controller', { cgroup: level, controller: c, error: String(err) });
        }
      }
    }
  }

  /** Makes sure each controller is enabled for the container's directory. */
  private enable(controllers: string[]): Set<string> {
    let have = words(readOptional(this.dir, 'cgroup.controllers'));
    const missing = controllers.filter((c) => !have.has(c));
    if (missing.length === 0) return have;
    for (const c of missing) {
      for (const level of this.ancestors()) {
        if (words(readOptional(level, 'cgroup.subtree_control')).has(c)) continue;
        if (!words(readOptional(level, 'cgroup.controllers')).has(c)) break;
        try {
          writeFile(level, 'cgroup.subtree_control', `+${c}`);
        } catch {
          break;
        }
      }
    }
    have = words(readOptional(this.dir, 'cgroup.controllers'));
    const still = controllers.find((c) => !have.has(c));
    if (still !== undefined) throw unavailable(`cgroup v2 controller ${still} is not enabled in ${this.dir}`);
    return have;
  }

  apply(r: LinuxResources | undefined): void {
    if (r === undefined) return;
    const log = this.opts.log;
    const enabled = this.enable(neededControllers(r));
    if (r.devices) this.setDevices(r.devices);
    if (r.memory) setMemoryV2(this.dir, r.memory, log);
    if (r.cpu) setCpuV2(this.dir, r.cpu);
    if (r.pids) setPidsV2(this.dir, r.pids.limit);
    if (r.blockIO) setIo(this.dir, r.blockIO, log);
    setHugetlbV2(this.dir, r);
    if (r.rdma) setRdma(this.dir, r.rdma);
    if (r.network && (r.network.classID !== undefined || (r.network.priorities ?? []).length > 0)) {
      log.warn('network class ids and priorities do not exist in cgroup v2; ignoring linux.resources.network', { dir: this.dir });
    }
    if (r.unified) setUnified(this.dir, r.unified, enabled);
  }

  private setDevices(rules: LinuxDeviceCgroup[]): void {
    const program = encodeInsns(compileDeviceFilter(rules));
    const addon = cgroupBpfAddon();
    let fd: number;
    try {
      fd = openSync(this.dir, 'r');
    } catch (err) {
      throw wrap(`cannot open cgroup ${this.dir}`, err);
    }
    try {
      addon.cgroupDeviceFilterAttach(fd, program, 'Apache', true);
    } catch (err) {
      throw wrap(`cannot attach the device filter to cgroup ${this.dir}`, err);
    } finally {
      closeSync(fd);
    }
  }

  addProcess(pid: number): void {
    try {
      writeFile(this.dir, 'cgroup.procs', pid);
    } catch (err) {
      throw wrap(`cannot add process ${pid} to cgroup ${this.dir}`, err);
    }
  }

  freeze(): void {
    writeFile(this.dir, 'cgroup.freeze', '1');
    const deadline = Date.now() + 5000;
    for (let wait = 1; !this.isFrozen(); wait = Math.min(wait * 2, 20)) {
      if (Date.now() >= deadline) {
        writeFile(this.dir, 'cgroup.freeze', '0');
        throw failedPrecondition(`cannot freeze cgroup ${this.dir}: still freezing after 5s`);
      }
      sleepMs(wait);
    }
  }

  thaw(): void {
    writeFile(this.dir, 'cgroup.freeze', '0');
  }

  isFrozen(): boolean {
    return readKeyValues(this.dir, 'cgroup.events').frozen === 1;
  }

  pids(): number[] {
    const all = new Set<number>();
    for (const d of subtreeLeafFirst(this.dir)) for (const p of readProcs(d)) all.add(p);
    return [...all].sort((a, b) => a - b);
  }

  stats(): CgroupStats {
    return v2Stats(this.dir);
  }

  killAll(signal: number): void {
    // cgroup.kill kills the whole subtree atomically, forks included.
    if (signal === 9 && hasFile(this.dir, 'cgroup.kill')) {
      writeFile(this.dir, 'cgroup.kill', '1');
      return;
    }
    const wasFrozen = this.isFrozen();
    if (!wasFrozen) this.freeze();
    try {
      killPids(this.pids(), signal);
    } finally {
      if (!wasFrozen) this.thaw();
    }
  }

  destroy(options: DestroyOptions = {}): void {
    if (!this.exists()) return;
    const left = this.pids();
    if (left.length > 0) {
      if (!options.killProcesses) {
        throw failedPrecondition(`cannot remove cgroup ${this.dir}: processes ${left.join(', ')} are still in it`);
      }
      this.killAll(9);
      if (this.isFrozen()) this.thaw();
      waitUntilEmpty(() => this.pids(), this.dir);
    }
    for (const d of subtreeLeafFirst(this.dir)) removeDir(d);
  }

  exists(): boolean {
    return existsSync(this.dir);
  }
}
