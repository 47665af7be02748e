/**
 * A container's stdio read from its shim directly: the data path of an
 * attach, while control (create, start, kill, wait, resize) stays with the
 * core. dockerd reads the FIFOs containerd's shim serves in the same way,
 * not through containerd. Relayed by the core, every chunk of a `run`
 * attached to a chatty container crossed two Node processes (the core's
 * gRPC framing and berthd's); from the shim it crosses one.
 *
 * The core names the socket (Process.shimAddress, CreateTaskResponse's); a
 * shim that cannot be reached from here (another mount namespace, an older
 * core that does not say) leaves the attach to the core. Attaches that
 * replay the log first (`logs`) always go through the core, which joins
 * the log and the live output.
 */
import type { CoreAttachChunk, CoreAttachExit, CoreAttachment, CoreAttachOptions } from '../../core/attachment.js';
import type { OutputConnection } from '../../api/index.js';
import { ShimClient, type Attachment } from '../../shim/index.js';

class ShimAttachment implements CoreAttachment {
  readonly exit: Promise<CoreAttachExit | undefined>;

  constructor(private readonly a: Attachment) {
    this.exit = a.exit.then((x) => x && { status: x.status, exitedAt: timestampOf(x.exitedAt) });
    this.exit.catch(() => undefined);
  }

  [Symbol.asyncIterator](): AsyncIterator<CoreAttachChunk> {
    return this.a[Symbol.asyncIterator]();
  }

  write(data: string | Uint8Array): Promise<void> { return this.a.write(data); }
  closeStdin(): Promise<void> { return this.a.closeStdin(); }
  close(): void { this.a.close(); }
}

function timestampOf(ns: bigint): CoreAttachExit['exitedAt'] {
  if (ns === 0n) return null;
  return { seconds: String(ns / 1_000_000_000n), nanos: Number(ns % 1_000_000_000n) };
}

/**
 * Attaches at the shim's socket; resolves once the shim has taken the
 * attacher (output from then on is not missed), as the core's attach does.
 * With `output`, the shim writes the output to the client's connection
 * itself (the attachment then yields none): no byte of it crosses berthd.
 */
export async function attachAtShim(address: string, opts: CoreAttachOptions, output?: OutputConnection): Promise<CoreAttachment> {
  const a = await ShimClient.at(address).attach({
    stdin: opts.stdin === true, stdout: opts.stdout !== false, stderr: opts.stderr !== false,
    ...(opts.execId ? { execId: opts.execId } : {}),
    ...(output ? { output } : {}),
  });
  return new ShimAttachment(a);
}
