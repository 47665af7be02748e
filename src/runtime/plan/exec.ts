/** The plan of a process joining a running container (`exec`). */
import type { PlanEntry } from './wire.js';
import { PlanKind } from './format.js';
import { processRecords } from './process.js';
import type { Logger } from '../../common/log.js';
import { NAMESPACES } from '../spec/namespaces.js';
import { JOIN_ORDER } from './init.js';
import type { Process, Spec } from '../spec/types.js';

export interface ExecPlanOptions {
  spec: Spec;
  initPid: number;
  bundle: string;
  process: Process;
  consoleSocket: string | undefined;
  preserveFds: number;
  log: Logger;
  id: string;
}

export function buildExecPlan(o: ExecPlanOptions): PlanEntry[] {
  const plan: PlanEntry[] = [{ type: 'KIND', value: { kind: PlanKind.EXEC } }];
  const types = new Set((o.spec.linux?.namespaces ?? []).map((n) => n.type));
  for (const t of JOIN_ORDER) {
    if (types.has(t)) plan.push({ type: 'NS_JOIN', value: { nstype: NAMESPACES[t].flag, path: `/proc/${o.initPid}/ns/${NAMESPACES[t].procName}` } });
  }
  plan.push({ type: 'NS_NEW', value: { flags: 0 } });
  if (o.process.terminal) {
    plan.push({ type: 'TERMINAL', value: { rows: o.process.consoleSize?.height ?? 0, cols: o.process.consoleSize?.width ?? 0 } });
    if (o.consoleSocket) plan.push({ type: 'CONSOLE_SOCKET', value: { path: o.consoleSocket } });
  }
  plan.push(...processRecords({
    process: o.process, seccomp: o.spec.linux?.seccomp, personality: o.spec.linux?.personality,
    noNewKeyring: true, preserveFds: o.preserveFds, log: o.log, containerId: o.id,
    bundle: o.bundle, annotations: (o.spec.annotations ?? {}) as Record<string, string>, status: 'running',
  }));
  return plan;
}
