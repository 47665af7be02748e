// bench/lib/parse: reads the figures bench/all needs out of the tables that
// bench/sandbox.mjs and bench/vm.mjs print (they are run as child processes,
// unchanged), so a change of their output fails loudly here, not silently.

/** The two numbers after a row label of bench/sandbox.mjs's table: [berth-runtime, berth-sandbox]. */
export function sandboxFigure(out: string, label: string): [number, number] {
  const line = out.split('\n').find((l) => l.startsWith(label));
  const nums = line?.slice(label.length).trim().split(/\s+/).map(Number) ?? [];
  const [a, b] = nums;
  if (a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b)) throw new Error(`bench/sandbox.mjs printed no '${label}' row`);
  return [a, b];
}

/** berth-vm's and runc's boot-to-running (ms) from bench/vm.mjs's table, and the accelerator it ran on. */
export function vmFigures(out: string): { vm: number; runc: number; accel: string } {
  const m = /\| boot-to-running[^|]*\| (\d+) ms \| (\d+) ms \|/.exec(out);
  if (!m) throw new Error('bench/vm.mjs printed no boot-to-running row');
  const accel = /berth-vm \((\w+)/.exec(out)?.[1] ?? '?';
  return { vm: Number(m[1]), runc: Number(m[2]), accel };
}
