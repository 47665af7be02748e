// bench/lib/plot: PNG plots for bench/all — a Vega-Lite spec compiled to
// Vega, rendered headless to SVG (no canvas needed) and rasterised with resvg.
import { writeFileSync } from 'node:fs';
import * as vega from 'vega';
import { compile } from 'vega-lite';
import { Resvg } from '@resvg/resvg-js';

const ENGINE_COLORS = { domain: ['Berth', 'Docker', 'Podman'], range: ['#1b7837', '#2166ac', '#b2182b'] };

/** Renders a Vega-Lite spec to a PNG file. */
export async function writePng(file, spec) {
  const { spec: vg } = compile({ $schema: 'https://vega.github.io/schema/vega-lite/v5.json', ...spec });
  const view = new vega.View(vega.parse(vg), { renderer: 'none' });
  const svg = await view.toSVG(2);
  view.finalize();
  const png = new Resvg(svg, { background: 'white', font: { loadSystemFonts: true } }).render().asPng();
  writeFileSync(file, png);
}

/** Start latency per engine: every sample as a tick over a box plot (the table shows only the median). */
export function startLatencySpec(samples, title) {
  return {
    title,
    width: 520,
    height: 200,
    data: { values: samples.map(({ engine, ms }) => ({ engine, ms })) },
    layer: [
      { mark: { type: 'boxplot', extent: 'min-max', opacity: 0.35, size: 28 }, encoding: { y: { field: 'engine', type: 'nominal', title: null }, x: { field: 'ms', type: 'quantitative', title: 'wall time of run --rm busybox true (ms)', scale: { zero: true } }, color: { field: 'engine', type: 'nominal', scale: ENGINE_COLORS, legend: null } } },
      { mark: { type: 'tick', thickness: 1.5, size: 22 }, encoding: { y: { field: 'engine', type: 'nominal' }, x: { field: 'ms', type: 'quantitative' }, color: { field: 'engine', type: 'nominal', scale: ENGINE_COLORS, legend: null } } },
    ],
  };
}

/** Private memory of each engine's processes against the number of running containers. */
export function memorySpec(points, title) {
  return {
    title,
    width: 520,
    height: 300,
    data: { values: points.map(({ engine, count, mib }) => ({ engine, count, mib })) },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'count', type: 'quantitative', title: 'running sleep containers' },
      y: { field: 'mib', type: 'quantitative', title: 'USS of daemons + shims/conmons (MiB)' },
      color: { field: 'engine', type: 'nominal', scale: ENGINE_COLORS, title: 'engine' },
    },
  };
}
