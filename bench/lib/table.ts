// bench/lib/table: the pure part of bench/all — medians, per-round ratios,
// the one table and the generated block of bench/RESULTS.md between its
// markers. No I/O here, so tests/unit/bench-table.test.ts can check it.

export const BEGIN = '<!-- bench/all:begin -->';
export const END = '<!-- bench/all:end -->';

/** Median of finite numbers; NaN for none (a missing figure, shown as n/a). */
export function median(xs: readonly number[]): number {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** The q-quantile (0..1) by linear interpolation; NaN for none. */
export function quantile(xs: readonly number[], q: number): number {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const pos = (s.length - 1) * Math.min(1, Math.max(0, q));
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo]! + (s[hi]! - s[lo]!) * (pos - lo);
}

/**
 * Median of a[i] / b[i] over the rounds both have: rounds are interleaved, so
 * a round's ratio cancels the load of that moment, which the ratio of two
 * medians does not.
 */
export function medianRatio(a: readonly number[], b: readonly number[]): number {
  const r: number[] = [];
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (Number.isFinite(a[i]) && Number.isFinite(b[i]) && b[i] !== 0) r.push(a[i]! / b[i]!);
  }
  return median(r);
}

/** The order of round i: the engines rotated by i, so none is always first. */
export function rotation<T>(items: readonly T[], round: number): T[] {
  const n = items.length;
  return items.map((_, j) => items[(round + j) % n]!);
}

/** A figure with its unit; value NaN with a note when the engine lacks the feature. */
export interface Cell {
  value: number;
  /** what to print instead of the number (e.g. "n/a (no daemon)") */
  note?: string;
}

export interface Row {
  work: string;
  unit: string;
  /** true when more is better (throughput): the ratio is then reference / Berth so that < 1 always means Berth is better */
  higherIsBetter?: boolean;
  berth: Cell;
  docker: Cell;
  podman: Cell;
  /** per-round ratios Berth/Docker and Berth/Podman when measured interleaved; else the ratio of the figures */
  ratioDocker?: number;
  ratioPodman?: number;
  /** how it was measured, published reference figures */
  how: string;
}

export function fmtNum(x: number): string {
  if (!Number.isFinite(x)) return 'n/a';
  const a = Math.abs(x);
  const digits = a >= 100 ? 0 : a >= 10 ? 1 : a >= 1 ? 2 : 3;
  const s = x.toFixed(digits);
  // thousands with a thin space, as the rest of RESULTS.md writes them
  return digits === 0 ? s.replace(/\B(?=(\d{3})+(?!\d))/g, ' ') : s;
}

export function fmtCell(c: Cell): string {
  if (c.note !== undefined && !Number.isFinite(c.value)) return c.note;
  return c.note !== undefined ? `${fmtNum(c.value)} (${c.note})` : fmtNum(c.value);
}

function ratioOf(row: Row, ref: Cell, given: number | undefined): number {
  if (given !== undefined && Number.isFinite(given)) return given;
  if (!Number.isFinite(row.berth.value) || !Number.isFinite(ref.value) || ref.value === 0) return NaN;
  return row.higherIsBetter ? ref.value / row.berth.value : row.berth.value / ref.value;
}

export function fmtRatio(x: number): string {
  return Number.isFinite(x) ? `**${x.toFixed(2)}**` : 'n/a';
}

/** The table: one row per work, Berth / Docker / Podman and the two ratios. */
export function renderTable(rows: readonly Row[]): string {
  const head = '| work | unit | Berth | Docker | Podman | Berth/Docker | Berth/Podman | how |';
  const lines = [head, '|---|---|---|---|---|---|---|---|'];
  for (const r of rows) {
    lines.push(`| ${r.work} | ${r.unit} | ${fmtCell(r.berth)} | ${fmtCell(r.docker)} | ${fmtCell(r.podman)} | ${fmtRatio(ratioOf(r, r.docker, r.ratioDocker))} | ${fmtRatio(ratioOf(r, r.podman, r.ratioPodman))} | ${r.how} |`);
  }
  return lines.join('\n');
}

export interface Meta {
  date: string;
  mode: string;
  machine: string;
  versions: string;
  /** load averages read before and after each phase */
  loads: readonly string[];
  durationS: number;
  plots: readonly string[];
  notes: readonly string[];
}

/** The generated block, markers included. */
export function renderBlock(rows: readonly Row[], meta: Meta): string {
  const out = [
    BEGIN,
    `## All benchmarks in one run (\`bench/all${meta.mode === 'quick' ? ' --quick' : ''}\`, generated — do not edit by hand)`,
    '',
    `${meta.date}, ${meta.mode} mode, ${Math.round(meta.durationS)} s. Machine: ${meta.machine}. ${meta.versions}`,
    `Load average (1/5/15 min) around the phases: ${meta.loads.join('; ')}.`,
    'Ratios below 1 mean Berth is better (for throughput the ratio is turned: reference / Berth); each is the median of per-round ratios where the engines ran interleaved in rounds with rotating order.',
    '',
    renderTable(rows),
    '',
    ...meta.notes.map((n) => `- ${n}`),
    ...(meta.plots.length ? ['', ...meta.plots.map((p) => `![${p}](${p})`)] : []),
    END,
  ];
  return out.join('\n');
}

/**
 * RESULTS.md with the block replaced, or put right after the title (the
 * first line) when the markers are not there yet; everything else is kept.
 */
export function replaceBlock(text: string, block: string): string {
  const b = text.indexOf(BEGIN);
  const e = text.indexOf(END);
  if (b >= 0 && e > b) return text.slice(0, b) + block + text.slice(e + END.length);
  if (b >= 0 || e >= 0) throw new Error('bench/RESULTS.md has only one of the bench/all markers');
  const nl = text.indexOf('\n');
  if (nl < 0) return `${text}\n\n${block}\n`;
  return `${text.slice(0, nl + 1)}\n${block}\n${text.slice(nl + 1)}`;
}
