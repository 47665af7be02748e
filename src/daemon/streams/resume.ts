/**
 * An attach through the core that outlives a restart of the core. dockerd
 * holds an exec's FIFOs itself, so containerd dying under a `docker exec`
 * costs its client nothing; here an exec's output crosses the core, whose
 * death cut the stream (the client saw "the attached stream was cut"). The
 * process does not depend on the core (its shim holds it), so berthd
 * attaches again once the core is back, with the log replayed, and skips
 * per stream what the client already has: the replay and the live output
 * meet without loss or repeat (the core's own guarantee), so the bytes
 * after that count are exactly the ones not yet given.
 *
 * Input written while the core is away is refused like any write to an
 * ended attachment (the client's write fails, the process carries on).
 */
import { BerthError } from '../../common/errors.js';
import type { CoreAttachChunk, CoreAttachExit, CoreAttachment, CoreAttachOptions } from '../../core/attachment.js';
import type { CoreClient } from '../../core/client.js';

/** How long the core may stay away before the stream is given up (berthd restarts it within seconds). */
export const CORE_PATIENCE_MS = 60_000;

/** Errors that mean the core is away for now: its death under a call, or nothing listening yet. */
export function coreAway(err: unknown): boolean {
  return err instanceof BerthError && err.kind === 'unavailable';
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Retries `call` while the core is away, for up to `patienceMs` after the
 * first failure (backing off from 200 ms to 2 s); any other failure, or
 * running out of patience, is thrown.
 */
export async function whileCoreAway<T>(call: () => Promise<T>, patienceMs = CORE_PATIENCE_MS, stopped: () => boolean = () => false): Promise<T> {
  let deadline: number | undefined;
  let delay = 200;
  for (;;) {
    try {
      return await call();
    } catch (err) {
      deadline ??= Date.now() + patienceMs;
      if (!coreAway(err) || stopped() || Date.now() >= deadline) throw err;
      await sleep(delay);
      delay = Math.min(delay * 2, 2000);
    }
  }
}

type Counts = Record<CoreAttachChunk['stream'], number>;

class ResumingAttachment implements CoreAttachment {
  readonly exit: Promise<CoreAttachExit | undefined>;
  private settle!: (x: CoreAttachExit | undefined) => void;
  private fail!: (e: Error) => void;
  /** bytes given to the consumer, per stream: what a replay after a reattach skips */
  private readonly given: Counts = { stdout: 0, stderr: 0 };
  private closed = false;

  constructor(private current: CoreAttachment, private readonly reattach: () => Promise<CoreAttachment>) {
    this.exit = new Promise((resolve, reject) => { this.settle = resolve; this.fail = reject; });
    this.exit.catch(() => undefined);
  }

  async *[Symbol.asyncIterator](): AsyncIterator<CoreAttachChunk> {
    const skip: Counts = { stdout: 0, stderr: 0 };
    for (;;) {
      const a = this.current;
      try {
        for await (const c of a) {
          const n = Math.min(skip[c.stream], c.data.length);
          skip[c.stream] -= n;
          if (n === c.data.length) continue;
          const data = n === 0 ? c.data : c.data.subarray(n);
          this.given[c.stream] += data.length;
          yield { stream: c.stream, data };
        }
        this.settle(await a.exit);
        return;
      } catch (err) {
        if (this.closed || !coreAway(err)) { this.fail(err as Error); throw err; }
        try {
          this.current = await this.reattach();
        } catch (again) {
          this.fail(again as Error);
          throw again;
        }
        if (this.closed) { this.current.close(); this.settle(undefined); return; }
        skip.stdout = this.given.stdout;
        skip.stderr = this.given.stderr;
      }
    }
  }

  write(data: string | Uint8Array): Promise<void> {
    return this.current.write(data);
  }

  closeStdin(): Promise<void> {
    return this.current.closeStdin();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.current.close();
    this.settle(undefined);
  }
}

/**
 * Attaches through the core with the log replayed (`logs` is forced on:
 * the skip counts start at the process's first byte), attaching again
 * after the core comes back. Resolves once the first attach is in place.
 */
export async function attachResuming(core: CoreClient, opts: CoreAttachOptions, patienceMs = CORE_PATIENCE_MS): Promise<CoreAttachment> {
  const o = { ...opts, logs: true };
  const again = (): Promise<CoreAttachment> => whileCoreAway(async () => {
    try {
      return await core.attach(o);
    } catch (err) {
      // it ended while the core was away: its output and exit from its log (input has nowhere to go)
      if (o.stdin === true && err instanceof BerthError && err.kind === 'failed-precondition') return core.attach({ ...o, stdin: false });
      throw err;
    }
  }, patienceMs);
  return new ResumingAttachment(await again(), again);
}
