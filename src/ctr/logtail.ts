/**
 * Follows a json-file log (the shim writes it on this host) and writes each
 * entry to stdout or stderr as it was written by the container.
 */
import { closeSync, existsSync, openSync, readSync } from 'node:fs';

export class LogTail {
  private offset = 0;
  private partial = '';

  constructor(private readonly path: string, private readonly out: (s: string) => void, private readonly err: (s: string) => void) {}

  /** Prints what was added since the last call. */
  drain(): void {
    if (!existsSync(this.path)) return;
    const fd = openSync(this.path, 'r');
    try {
      const buf = Buffer.alloc(64 * 1024);
      for (;;) {
        const n = readSync(fd, buf, 0, buf.length, this.offset);
        if (n <= 0) break;
        this.offset += n;
        this.partial += buf.subarray(0, n).toString('utf8');
      }
    } finally {
      closeSync(fd);
    }
    const lines = this.partial.split('\n');
    this.partial = lines.pop() ?? '';
    for (const line of lines) {
      if (line === '') continue;
      const e = JSON.parse(line) as { log: string; stream: string };
      (e.stream === 'stderr' ? this.err : this.out)(e.log);
    }
  }

  /** Drains every interval until stop() is called, then once more. */
  follow(intervalMs = 100): { stop(): void } {
    const timer = setInterval(() => this.drain(), intervalMs);
    return { stop: () => { clearInterval(timer); this.drain(); } };
  }
}
