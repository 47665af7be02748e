/**
 * Go's text/tabwriter as Docker configures it (minwidth 10, padding 3,
 * spaces): a cell is text ended by a tab, a column is aligned over each run
 * of consecutive lines that have a cell there, and the text after a line's
 * last tab is not padded.
 */
export interface TabOptions { minWidth: number; padding: number }

export const DOCKER_TABLE: TabOptions = { minWidth: 10, padding: 3 };

const width = (s: string): number => [...s].length;

/** Aligns tab-separated `text` (lines ending in "\n") the way tabwriter.Flush does. */
export function tabwrite(text: string, opts: TabOptions = DOCKER_TABLE): string {
  const trailingNewline = text.endsWith('\n');
  const lines = (trailingNewline ? text.slice(0, -1) : text).split('\n').map((l) => l.split('\t'));
  const widths: number[] = [];
  let out = '';
  const writeLines = (from: number, to: number): void => {
    for (let i = from; i < to; i++) {
      const cells = lines[i]!;
      cells.forEach((c, j) => {
        out += j < cells.length - 1 && j < widths.length ? c.padEnd(widths[j]! - width(c) + c.length) : c;
      });
      if (i < lines.length - 1 || trailingNewline) out += '\n';
    }
  };
  const format = (start: number, end: number): void => {
    const column = widths.length;
    let line0 = start;
    for (let i = start; i < end; i++) {
      if (column >= lines[i]!.length - 1) continue;
      writeLines(line0, i);
      line0 = i;
      let w = opts.minWidth;
      for (; i < end && column < lines[i]!.length - 1; i++) w = Math.max(w, width(lines[i]![column]!) + opts.padding);
      widths.push(w);
      format(line0, i);
      widths.pop();
      line0 = i;
      i--;
    }
    writeLines(line0, end);
  };
  format(0, lines.length);
  return out;
}
