/**
 * Plan records for the process part of a config (shared by create and
 * exec): resources of the process, identity, capabilities, security labels,
 * seccomp, and what to exec.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { PlanEntry } from './wire.js';
import type { Logger } from '../../common/log.js';
import { invalidArgument } from '../../common/errors.js';
import { capabilityMask } from '../spec/capabilities.js';
import { parseRlimit } from '../spec/rlimits.js';
import { compileSeccomp } from '../seccomp/index.js';
import type { Spec } from '../spec/types.js';

type Process = NonNullable<Spec['process']>;
type Seccomp = NonNullable<NonNullable<Spec['linux']>['seccomp']>;

const SCHED_POLICIES: Record<string, number> = {
  SCHED_OTHER: 0, SCHED_FIFO: 1, SCHED_RR: 2, SCHED_BATCH: 3, SCHED_ISO: 4, SCHED_IDLE: 5, SCHED_DEADLINE: 6,
};
const SCHED_FLAGS: Record<string, number> = {
  SCHED_FLAG_RESET_ON_FORK: 0x1, SCHED_FLAG_RECLAIM: 0x2, SCHED_FLAG_DL_OVERRUN: 0x4, SCHED_FLAG_KEEP_POLICY: 0x8,
  SCHED_FLAG_KEEP_PARAMS: 0x10, SCHED_FLAG_UTIL_CLAMP_MIN: 0x20, SCHED_FLAG_UTIL_CLAMP_MAX: 0x40,
};
const IOPRIO_CLASSES: Record<string, number> = { IOPRIO_CLASS_RT: 1, IOPRIO_CLASS_BE: 2, IOPRIO_CLASS_IDLE: 3 };

let apparmorEnabled: boolean | undefined;
function hostHasApparmor(): boolean {
  if (apparmorEnabled === undefined) {
    try { apparmorEnabled = readFileSync('/sys/module/apparmor/parameters/enabled', 'utf8').trim() === 'Y'; } catch { apparmorEnabled = false; }
  }
  return apparmorEnabled;
}
const hostHasSelinux = (): boolean => existsSync('/sys/fs/selinux/enforce');

/** Parses "1,3-5" into cpu numbers. */
export function parseCpuList(list: string, field: string): number[] {
  const out: number[] = [];
  for (const part of list.split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw invalidArgument(`${field}: invalid cpu list "${list}"`);
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    for (let i = a; i <= b; i++) out.push(i);
  }
  return out;
}

export interface ProcessPlanOptions {
  process: Process;
  seccomp: Seccomp | undefined;
  personality: { domain: string } | undefined;
  noNewKeyring: boolean;
  preserveFds: number;
  log: Logger;
  containerId: string;
  /** what a seccomp agent is told about the container (runtime-spec "container process state") */
  bundle: string;
  annotations: Record<string, string>;
  status: 'creating' | 'running';
}

/**
 * The message sent with a seccomp listener fd, with @PID@ where the front
 * puts the container process's host pid (unknown when the plan is built).
 */
export function listenerMessage(o: ProcessPlanOptions, metadata: string): string {
  const state = { ociVersion: '1.2.0', id: o.containerId, status: o.status, pid: 0, bundle: o.bundle, annotations: o.annotations };
  return JSON.stringify({ ociVersion: '1.2.0', fds: ['seccompFd'], pid: 0, metadata, state }).replace(/"pid":0/g, '"pid":@PID@');
}

export function processRecords(o: ProcessPlanOptions): PlanEntry[] {
  const p = o.process;
  const out: PlanEntry[] = [];
  if (!o.noNewKeyring) out.push({ type: 'KEYRING', value: { name: `_ses.${o.containerId}` } });
  for (const r of p.rlimits ?? []) {
    out.push({ type: 'RLIMIT', value: { resource: parseRlimit(r.type), soft: BigInt(r.soft), hard: BigInt(r.hard) } });
  }
  if (p.oomScoreAdj !== undefined && p.oomScoreAdj !== null) out.push({ type: 'OOM_SCORE_ADJ', value: { value: p.oomScoreAdj } });
  if (p.scheduler) {
    const s = p.scheduler;
    const policy = SCHED_POLICIES[s.policy];
    if (policy === undefined) throw invalidArgument(`process.scheduler.policy: unknown policy "${s.policy}"`);
    let flags = 0n;
    for (const f of s.flags ?? []) {
      const bit = SCHED_FLAGS[f];
      if (bit === undefined) throw invalidArgument(`process.scheduler.flags: unknown flag "${f}"`);
      flags |= BigInt(bit);
    }
    out.push({ type: 'SCHEDULER', value: {
      policy, nice: s.nice ?? 0, priority: s.priority ?? 0, flags,
      runtime: BigInt(s.runtime ?? 0), deadline: BigInt(s.deadline ?? 0), period: BigInt(s.period ?? 0),
    } });
  }
  if (p.ioPriority) {
    const cls = IOPRIO_CLASSES[p.ioPriority.class];
    if (cls === undefined) throw invalidArgument(`process.ioPriority.class: unknown class "${p.ioPriority.class}"`);
    out.push({ type: 'IOPRIORITY', value: { class: cls, priority: p.ioPriority.priority ?? 0 } });
  }
  if (o.personality) {
    const domain = o.personality.domain === 'LINUX32' ? 0x0008 : o.personality.domain === 'LINUX' ? 0 : -1;
    if (domain < 0) throw invalidArgument(`linux.personality.domain: unknown domain "${o.personality.domain}"`);
    out.push({ type: 'PERSONALITY', value: { domain } });
  }
  if (p.apparmorProfile) {
    if (hostHasApparmor()) out.push({ type: 'APPARMOR', value: { profile: p.apparmorProfile } });
    else o.log.warn(`apparmor profile ${p.apparmorProfile} not applied: AppArmor is not enabled on this host`);
  }
  if (p.selinuxLabel) {
    if (hostHasSelinux()) out.push({ type: 'SELINUX', value: { label: p.selinuxLabel } });
    else o.log.warn(`selinux label ${p.selinuxLabel} not applied: SELinux is not enabled on this host`);
  }
  if (o.seccomp) {
    const c = compileSeccomp(o.seccomp as Parameters<typeof compileSeccomp>[0]);
    for (const w of c.warnings) o.log.debug(`seccomp: ${w}`);
    const message = c.listenerPath ? listenerMessage(o, c.listenerMetadata) : '';
    out.push({ type: 'SECCOMP', value: { flags: c.flags, filter: c.filter, listenerPath: c.listenerPath, listenerMessage: message } });
  }
  const user = p.user ?? { uid: 0, gid: 0 };
  out.push({ type: 'USER', value: { uid: user.uid ?? 0, gid: user.gid ?? 0, groups: user.additionalGids ?? [] } });
  const caps = p.capabilities ?? {};
  out.push({ type: 'CAPS', value: {
    bounding: capabilityMask(caps.bounding ?? []),
    effective: capabilityMask(caps.effective ?? []),
    permitted: capabilityMask(caps.permitted ?? []),
    inheritable: capabilityMask(caps.inheritable ?? []),
    ambient: capabilityMask(caps.ambient ?? []),
  } });
  if (p.noNewPrivileges) out.push({ type: 'NO_NEW_PRIVS', value: {} });
  out.push({ type: 'UMASK', value: { mask: user.umask ?? 0o022 } });
  out.push({ type: 'CWD', value: { path: p.cwd || '/' } });
  if (p.execCPUAffinity?.final) out.push({ type: 'CPU_AFFINITY', value: { cpus: parseCpuList(p.execCPUAffinity.final, 'process.execCPUAffinity.final') } });
  out.push({ type: 'ENV', value: { values: p.env ?? [] } });
  out.push({ type: 'ARGS', value: { values: p.args ?? [] } });
  out.push({ type: 'PRESERVE_FDS', value: { count: o.preserveFds } });
  return out;
}
