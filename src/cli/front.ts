/**
 * The C front (native/cli/) this process serves, when it runs as a zygote's
 * command: it can copy an attach connection to its own stdout and stderr,
 * at about half the CPU per byte of Node's reading. Set by
 * scripts/berth-zygote.cjs; absent when the CLI runs on its own.
 */
export interface FrontStreamer {
  /**
   * Hands the connection's descriptor to the front, which copies what comes
   * (demultiplexed, or raw with a TTY) until its end. Resolves then; with
   * the stream id when a frame header named no stream. Throws (nothing
   * handed) when the descriptor cannot be sent.
   */
  copy(fd: number, framing: 'stdcopy' | 'raw'): Promise<{ badStream?: number }>;
}

let front: FrontStreamer | undefined;

export function setFrontStreamer(f: FrontStreamer | undefined): void { front = f; }

export function frontStreamer(): FrontStreamer | undefined { return front; }
