/**
 * Docker's JSON message stream display (pull, push, load, import): on a
 * terminal one line per layer id, rewritten in place with its progress bar;
 * elsewhere plain lines, without the progress updates. `aux` messages are
 * handed to the caller; an `error` ends the stream as a failure.
 */
import { CliError } from './command.js';

export interface JsonMessage {
  id?: string; status?: string; stream?: string; from?: string; progress?: string;
  progressDetail?: { current?: number; total?: number };
  error?: string; errorDetail?: { message?: string }; aux?: Record<string, unknown>;
}

export class ProgressDisplay {
  /** Line index of every layer id since the last id-less message. */
  private lines = new Map<string, number>();

  constructor(private readonly write: (text: string) => void, private readonly tty: boolean, private readonly onAux?: (aux: Record<string, unknown>) => void) {}

  /** Shows one message; throws its error. */
  show(m: JsonMessage): void {
    if (m.error !== undefined || m.errorDetail?.message !== undefined) throw new CliError(m.errorDetail?.message ?? m.error ?? 'unknown error');
    if (m.aux) { this.onAux?.(m.aux); return; }
    const hasProgress = m.progress !== undefined && m.progress !== '';
    let up = 0;
    if (m.id && (hasProgress || m.progressDetail !== undefined)) {
      let line = this.lines.get(m.id);
      if (line === undefined) {
        line = this.lines.size;
        this.lines.set(m.id, line);
        if (this.tty) this.write('\n');
      }
      up = this.lines.size - line;
    } else {
      this.lines = new Map();
    }
    if (!this.tty && hasProgress) return;
    const prefix = `${m.id ? `${m.id}: ` : ''}${m.from ? `(from ${m.from}) ` : ''}`;
    if (this.tty) {
      // cursor up to the layer's line, clear it, write, come back down
      if (up > 0) this.write(`\x1b[${up}A`);
      this.write(`\x1b[2K\r${prefix}${m.stream ?? `${m.status ?? ''}${hasProgress ? ` ${m.progress}` : ''}`}`);
      if (up > 0) this.write(`\x1b[${up}B`);
      else if (m.stream === undefined) this.write('\n');
      if (up > 0) this.write('\r');
      return;
    }
    this.write(m.stream !== undefined ? `${prefix}${m.stream}` : `${prefix}${m.status ?? ''}\n`);
  }
}
