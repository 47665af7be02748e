/**
 * Streaming JSON answers (`/events`, pull and push progress): the headers
 * go out at once, then one JSON document per line as things happen. A
 * write waits when the client reads slower than we produce.
 */
import type { ServerResponse } from 'node:http';

export interface JsonStream {
  write(value: unknown): Promise<void>;
  end(): void;
  readonly closed: boolean;
}

export function startJsonStream(res: ServerResponse, status = 200): JsonStream {
  res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache' });
  // the client learns the stream is open before the first document
  res.flushHeaders();
  let closed = false;
  res.on('close', () => { closed = true; });
  return {
    get closed() { return closed || res.writableEnded; },
    write(value) {
      if (closed || res.writableEnded) return Promise.resolve();
      const ok = res.write(JSON.stringify(value) + '\n');
      if (ok) return Promise.resolve();
      return new Promise((resolve) => {
        const done = (): void => { res.off('drain', done); res.off('close', done); resolve(); };
        res.on('drain', done);
        res.on('close', done);
      });
    },
    end() { if (!res.writableEnded) res.end(); },
  };
}
