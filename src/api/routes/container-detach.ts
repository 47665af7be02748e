/**
 * Detach keys (`--detach-keys`, default ctrl-p,ctrl-q): a sequence typed
 * on an attached stdin that detaches the client instead of reaching the
 * process. Bytes that start the sequence are held until it is either
 * complete (detach, the held bytes dropped) or broken (they go through).
 */
import { invalidArgument } from '../../common/errors.js';

export const DEFAULT_DETACH_KEYS = 'ctrl-p,ctrl-q';

/** "ctrl-p,ctrl-q" → [0x10, 0x11]; Docker's grammar: single characters or ctrl-<a-z @ [ \ ] ^ _>. */
export function parseDetachKeys(spec: string): number[] {
  const out: number[] = [];
  for (const part of (spec === '' ? DEFAULT_DETACH_KEYS : spec).split(',')) {
    const key = part.trim();
    if (key.length === 1) { out.push(key.charCodeAt(0)); continue; }
    const m = /^ctrl-(.)$/i.exec(key);
    if (!m) throw invalidArgument(`Invalid detach keys (${spec}) provided`);
    const c = m[1]!;
    if (/[a-z]/i.test(c)) out.push(c.toLowerCase().charCodeAt(0) - 0x60);
    else if ('@[\\]^_'.includes(c)) out.push('@[\\]^_'.indexOf(c) === 0 ? 0 : 27 + '[\\]^_'.indexOf(c));
    else throw invalidArgument(`Invalid detach keys (${spec}) provided`);
  }
  return out;
}

/** Scans input for the sequence: feed() gives the bytes to pass on, and whether the sequence was typed. */
export class DetachScanner {
  private matched = 0;

  constructor(private readonly keys: number[]) {}

  feed(chunk: Buffer): { pass: Buffer; detach: boolean } {
    if (this.keys.length === 0) return { pass: chunk, detach: false };
    const out: number[] = [];
    for (const b of chunk) {
      if (b === this.keys[this.matched]) {
        this.matched++;
        if (this.matched === this.keys.length) return { pass: Buffer.from(out), detach: true };
        continue;
      }
      // broken: the held bytes go through, and this byte may start the sequence again
      for (let i = 0; i < this.matched; i++) out.push(this.keys[i]!);
      this.matched = 0;
      if (b === this.keys[0]) { this.matched = 1; if (this.keys.length === 1) return { pass: Buffer.from(out), detach: true }; continue; }
      out.push(b);
    }
    return { pass: Buffer.from(out), detach: false };
  }
}
