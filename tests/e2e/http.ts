/** Host-side network helpers for published ports: a free port and a patient GET. */
import { createServer } from 'node:net';

/** A TCP port on 127.0.0.1 that nothing listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * GETs `url` until it answers with a status (the server in the container may
 * still be starting) or `timeoutMs` passes; returns the last status and body,
 * or the last error's message as the body with status 0.
 */
export async function getWithRetry(url: string, timeoutMs: number): Promise<{ status: number; body: string }> {
  const deadline = Date.now() + timeoutMs;
  let last = { status: 0, body: '' };
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      last = { status: res.status, body: await res.text() };
      if (res.status === 200) return last;
    } catch (err) {
      last = { status: 0, body: String((err as Error).cause ?? err) };
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return last;
}
