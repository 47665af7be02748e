/**
 * The Tasks service, declared in full so callers are typed, answering
 * UNIMPLEMENTED until the core drives berth-shim. The next step replaces
 * each handler with a call through the shim client (src/shim/).
 */
import * as grpc from '@grpc/grpc-js';
import type { Api } from '../api/types.js';

export const TASKS_UNIMPLEMENTED = 'tasks need berth-shim (not wired yet)';

const METHODS: (keyof Api['Tasks'])[] = [
  'Create', 'Start', 'Delete', 'DeleteProcess', 'State', 'List', 'Kill', 'Exec', 'ResizePty', 'CloseIO',
  'Pause', 'Resume', 'Wait', 'Metrics', 'Update',
];

export function tasksService(): grpc.UntypedServiceImplementation {
  const out: grpc.UntypedServiceImplementation = {};
  for (const m of METHODS) {
    out[m] = (_call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>): void => {
      callback({ code: grpc.status.UNIMPLEMENTED, details: `cannot ${m.toLowerCase()} task: ${TASKS_UNIMPLEMENTED}` } as grpc.ServiceError, null);
    };
  }
  return out;
}
