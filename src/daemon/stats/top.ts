/**
 * docker top: the container's processes (its cgroup's members, found from
 * its init's cgroup) picked out of `ps`'s table, with ps's own titles —
 * the way dockerd does it.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { invalidArgument } from '../../common/errors.js';

const run = promisify(execFile);

/** The cgroup.procs file of pid's cgroup (v1: the pids or memory hierarchy; v2: the unified one). */
export function cgroupProcsPath(cgroupText: string): string | undefined {
  const lines = cgroupText.split('\n').filter((l) => l !== '');
  for (const ctl of ['pids', 'memory', 'cpu,cpuacct', 'cpuacct']) {
    const l = lines.find((x) => x.split(':')[1]?.split(',').includes(ctl.split(',')[0]!));
    if (l) return `/sys/fs/cgroup/${ctl}${l.split(':').slice(2).join(':')}/cgroup.procs`;
  }
  const unified = lines.find((l) => l.startsWith('0::'));
  if (unified) {
    const rel = unified.slice(3);
    try { readFileSync('/sys/fs/cgroup/unified/cgroup.procs'); return `/sys/fs/cgroup/unified${rel}/cgroup.procs`; } catch { return `/sys/fs/cgroup${rel}/cgroup.procs`; }
  }
  return undefined;
}

export function containerPids(initPid: number): Set<number> {
  const path = cgroupProcsPath(readFileSync(`/proc/${initPid}/cgroup`, 'utf8'));
  const pids = new Set<number>([initPid]);
  if (!path) return pids;
  try {
    for (const l of readFileSync(path, 'utf8').split('\n')) if (l !== '') pids.add(Number(l));
  } catch { /* only the init is known */ }
  return pids;
}

/** ps's table split into titles and rows of the chosen pids (the last column keeps its spaces). */
export function parsePs(output: string, pids: Set<number>): { Titles: string[]; Processes: string[][] } {
  const lines = output.split('\n').filter((l) => l.trim() !== '');
  const Titles = (lines[0] ?? '').trim().split(/\s+/);
  const pidCol = Titles.indexOf('PID');
  if (pidCol < 0) throw invalidArgument(`Couldn't find PID field in ps output`);
  const Processes: string[][] = [];
  for (const line of lines.slice(1)) {
    const f = line.trim().split(/\s+/);
    const row = [...f.slice(0, Titles.length - 1), f.slice(Titles.length - 1).join(' ')];
    if (pids.has(Number(row[pidCol]))) Processes.push(row);
  }
  return { Titles, Processes };
}

export async function top(initPid: number, psArgs: string): Promise<{ Titles: string[]; Processes: string[][] }> {
  const args = (psArgs.trim() === '' ? '-ef' : psArgs).split(/\s+/);
  let stdout: string;
  try {
    ({ stdout } = await run('ps', args, { maxBuffer: 64 << 20 }));
  } catch (err) {
    throw invalidArgument(`Error running ps: ${(err as Error).message}`);
  }
  return parsePs(stdout, containerPids(initPid));
}
