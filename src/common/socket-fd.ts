/**
 * The descriptor under an open node socket (libuv's handle), for handing
 * the connection to another process (SCM_RIGHTS): berthd to a shim, the
 * CLI's zygote to its C front. Node has no public accessor for it; its
 * stream handles carry `fd` on Linux. Undefined once the socket is closed
 * or when it has none (a TLS socket wraps another).
 */
import type { Duplex } from 'node:stream';

export function socketFd(socket: Duplex): number | undefined {
  if (socket.destroyed) return undefined;
  const fd = (socket as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}
