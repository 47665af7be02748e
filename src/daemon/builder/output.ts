/**
 * The build's JSON stream as dockerd writes it: `{"stream": text}` lines,
 * a RUN's standard error in red (`\u001b[91m … \u001b[0m`), pull progress
 * and `aux` documents as they are. Quiet builds hold it all back and show
 * it only when the build fails (then the error follows).
 */
export type Sink = (message: Record<string, unknown>) => Promise<void>;

export class BuildOutput {
  private readonly held: Record<string, unknown>[] = [];

  constructor(private readonly sink: Sink, readonly quiet: boolean) {}

  private emit(m: Record<string, unknown>): Promise<void> {
    if (this.quiet) { this.held.push(m); return Promise.resolve(); }
    return this.sink(m);
  }

  text(s: string): Promise<void> { return this.emit({ stream: s }); }

  stderr(s: string): Promise<void> { return this.emit({ stream: `\u001b[91m${s}\u001b[0m` }); }

  /** Pull progress and other documents, unchanged. */
  message(m: Record<string, unknown>): Promise<void> { return this.emit(m); }

  aux(value: Record<string, unknown>): Promise<void> { return this.emit({ aux: value }); }

  /** What a quiet build held back (written before its error). */
  async flushHeld(): Promise<void> {
    for (const m of this.held.splice(0)) await this.sink(m);
  }

  /** Written even when quiet (the image ID of `-q`). */
  always(m: Record<string, unknown>): Promise<void> { return this.sink(m); }
}
