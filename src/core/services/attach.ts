/**
 * Tasks.Attach: one bidirectional stream relayed to one ATTACH connection of
 * the task's shim. The first request names the process and its streams;
 * the shim's OK becomes a `ready` response (output from then on is not
 * missed), its output frames become data responses, its exit the last
 * response. Later requests carry stdin data or close stdin. Each call opens
 * its own shim connection, so it works the same after a restart of the
 * core. A caller that cancels detaches; the process carries on.
 */
import * as grpc from '@grpc/grpc-js';
import { BerthError, failedPrecondition, invalidArgument } from '../../common/errors.js';
import { ShimClient } from '../../shim/client.js';
import type { AttachRequest, AttachResponse } from '../api/types.js';
import { toStatus } from '../errors.js';
import { checkIdentifier } from '../identifiers.js';
import type { TaskManager } from '../tasks/manager.js';
import { namespaceOf } from './context.js';
import { timestampOfNs } from './tasks.js';

type Attachment = Awaited<ReturnType<ShimClient['attach']>>;
type AttachCall = grpc.ServerDuplexStream<AttachRequest, AttachResponse>;

const EMPTY: AttachResponse = { ready: false, stream: '', data: Buffer.alloc(0), exited: false, exitStatus: 0, exitedAt: null };

/** Input requests in order: each one waits for the one before, so bytes reach the process in order. */
class InputQueue {
  private tail: Promise<void> = Promise.resolve();
  constructor(private readonly fail: (err: unknown) => void) {}
  push(job: () => Promise<void>): void {
    this.tail = this.tail.then(job).catch((err: unknown) => { this.fail(err); });
  }
}

async function openFor(tasks: TaskManager, ns: string, req: AttachRequest): Promise<Attachment> {
  const id = checkIdentifier('container', req.containerId);
  if (req.execId !== '') checkIdentifier('container', req.execId);
  const t = tasks.get(ns, id);
  if (t.status === 'stopped' || t.status === 'creating') throw failedPrecondition(`cannot attach to task ${id}: it is ${t.status === 'stopped' ? 'stopped' : 'still being created'}`);
  if (req.execId !== '') {
    const e = tasks.execs.get(ns, id, req.execId);
    if (e.status !== 'running') throw failedPrecondition(`cannot attach to exec ${req.execId} in task ${id}: it is ${e.status}`);
  }
  if (!req.stdin && !req.stdout && !req.stderr) throw invalidArgument(`cannot attach to task ${id}: no stream asked for (stdin, stdout, stderr)`);
  let shim: ShimClient;
  try { shim = await ShimClient.connect(t.socket); } catch (err) {
    throw new BerthError('unavailable', `cannot attach to task ${id}: cannot reach its shim: ${(err as Error).message}`, { cause: err });
  }
  const opts = { stdin: req.stdin, stdout: req.stdout, stderr: req.stderr, ...(req.execId !== '' ? { execId: req.execId } : {}) };
  return shim.attach(opts);
}

export function attachHandler(tasks: TaskManager, log: { debug(msg: string, f?: Record<string, unknown>): void }): grpc.handleBidiStreamingCall<AttachRequest, AttachResponse> {
  return (call: AttachCall): void => {
    let attachment: Attachment | undefined;
    let finished = false;
    const finish = (err?: unknown): void => {
      if (finished) return;
      finished = true;
      attachment?.close();
      if (err === undefined) { call.end(); return; }
      const status = toStatus(err);
      log.debug('attach failed', { code: status.code, error: status.details });
      // grpc-js turns an 'error' on a server stream into the call's status (destroy would skip it)
      call.emit('error', Object.assign(new Error(status.details), status));
    };
    const input = new InputQueue(finish);
    let first = true;
    call.on('data', (req: AttachRequest) => {
      if (first) {
        first = false;
        input.push(async () => {
          attachment = await openFor(tasks, namespaceOf(call.metadata), req);
          if (finished) { attachment.close(); return; }
          call.write({ ...EMPTY, ready: true });
          void relay(call, attachment).then(() => finish(), finish);
        });
        return;
      }
      input.push(async () => {
        if (!attachment || finished) return;
        if (req.data.length > 0) await attachment.write(req.data);
        if (req.closeStdin) await attachment.closeStdin();
      });
    });
    // a client that half-closes still reads the output; only a cancel detaches
    call.on('cancelled', () => { finished = true; attachment?.close(); });
    call.on('error', () => { finished = true; attachment?.close(); });
  };
}

/** Output to the caller until the shim ends the attach; then the exit, when there is one. */
async function relay(call: AttachCall, attachment: Attachment): Promise<void> {
  for await (const chunk of attachment) {
    if (call.cancelled) return;
    if (!call.write({ ...EMPTY, stream: chunk.stream, data: chunk.data })) {
      // keep the shim's attach bounded: a slow caller waits here rather than growing a buffer
      await new Promise<void>((resolve) => { call.once('drain', resolve); call.once('close', resolve); });
    }
  }
  const exit = await attachment.exit;
  if (call.cancelled) return;
  if (!exit) throw new BerthError('unavailable', 'attach ended: the shim closed the connection before the process exited');
  call.write({ ...EMPTY, exited: true, exitStatus: exit.status, exitedAt: timestampOfNs(exit.exitedAt) });
}
