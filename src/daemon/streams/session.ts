/**
 * ProcessSession over the core's attachment, possibly not there yet: an
 * attach to a container that has not started is answered at once (the
 * docker CLI starts the container only once its attach is in place), and
 * the core attachment joins when the task exists (a start hook). Log
 * records to replay can come first.
 */
import type { OutputChunk, OutputConnection, ProcessSession } from '../../api/index.js';
import { coalesce, type CoreAttachment } from '../../core/attachment.js';

export class CoreSession implements ProcessSession {
  private attachment: CoreAttachment | undefined;
  private closed = false;
  readonly exit: Promise<number | undefined>;
  private onExit: (code: number | undefined) => void = () => undefined;

  /**
   * @param pending resolves with the attachment (or undefined: no live part, the session is only `prefix`)
   * @param prefix output replayed before the live part (a stopped container's log)
   * @param recordExit runs with the exit code before `exit` resolves (exec's ExitCode)
   * @param takeOutput given the client's connection (offerOutput) while `pending` has not resolved:
   *   the attachment may have the shim write the output there
   */
  constructor(
    private readonly pending: Promise<CoreAttachment | undefined>,
    private readonly prefix: AsyncIterable<OutputChunk> | undefined = undefined,
    private readonly recordExit: (code: number | undefined) => Promise<void> | void = () => undefined,
    private readonly takeOutput: ((target: OutputConnection) => void) | undefined = undefined,
  ) {
    this.exit = new Promise((resolve) => { this.onExit = resolve; });
    pending.then((a) => {
      this.attachment = a;
      if (a && this.closed) a.close();
    }, () => undefined);
  }

  private async live(): Promise<CoreAttachment | undefined> {
    try { return await this.pending; } catch { return undefined; }
  }

  async *[Symbol.asyncIterator](): AsyncIterator<OutputChunk> {
    try {
      if (this.prefix) for await (const c of this.prefix) { if (this.closed) return; yield c; }
      const a = await this.pending;
      if (!a || this.closed) return;
      // chunks already waiting are merged: one framed write each to the client, not one per core message
      for await (const c of coalesce(a)) yield { stream: c.stream, data: c.data };
      const x = await a.exit.catch(() => undefined);
      await this.finish(this.closed ? undefined : x?.status);
    } finally {
      await this.finish(undefined);
    }
  }

  private finished = false;
  private async finish(code: number | undefined): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    try { await this.recordExit(code); } catch { /* recorded best effort */ }
    this.onExit(code);
  }

  offerOutput(target: OutputConnection): void {
    // a replayed log is written here first: the shim writing too would interleave with it
    if (!this.prefix && this.attachment === undefined) this.takeOutput?.(target);
  }

  async write(data: Buffer): Promise<void> {
    const a = await this.live();
    if (a && !this.closed) await a.write(data);
  }

  async closeStdin(): Promise<void> {
    const a = await this.live();
    if (a && !this.closed) await a.closeStdin();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.attachment?.close();
    // detached: nothing to record, the process carries on
    if (!this.finished) { this.finished = true; this.onExit(undefined); }
  }
}
