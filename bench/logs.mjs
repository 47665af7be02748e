#!/usr/bin/env node
// bench/logs: logs at speed (issue 9), Berth against Debian's docker in one run.
// A busybox container writes 100 MB in short lines
//   yes '<a line of 40 bytes>' | head -c 100000000
// and we time, per engine:
//   run      `run` attached (the CLI prints the whole stream; we count bytes);
//   logs     `logs` of the stopped container (bytes counted, must be 100 MB);
//   tail     `logs --tail 3` of it (exact last lines);
// and report the size of its json-file (+ rotated files). Ways: docker CLI →
// dockerd, docker CLI → berthd, berth CLI → berthd; interleaved rounds.
// Then a quick correctness pass on both engines (expected outputs, not only
// exit codes): `logs -f` from a container still writing (every line, in order,
// ends when it exits), `--tail N`, `--since <timestamp of a line>`, `--until`.
//   node --import tsx bench/logs.mjs [--rounds 1] [--mb 100] [--line-bytes 41]
// Needs root, a build, docker.io, /usr/local/bin/docker. Everything started is
// removed at the end (bench/engine-env.mjs).
import { existsSync, statSync } from 'node:fs';
import { Bench, median, fmt, IMAGE } from './engine-env.mjs';

const argv = process.argv.slice(2);
const opt = (name, dflt) => { const i = argv.indexOf(`--${name}`); return i >= 0 ? argv[i + 1] : dflt; };
const rounds = Number(opt('rounds', 1));
const bytes = Number(opt('mb', 100)) * 1_000_000;
// --line-bytes: each line's length with its newline. 41 by default; 17 gives Docker the json-file
// size the issue measured (511 MB for 100 MB: ~72 bytes of JSON around each line)
const lineBytes = Number(opt('line-bytes', 41));
if (!(lineBytes >= 2 && lineBytes <= 200)) throw new Error('--line-bytes: 2 to 200');
const LINE = 'a line of about forty bytes of text ....'.padEnd(lineBytes - 1, '.').slice(0, lineBytes - 1);
const log = (...a) => console.error(`[${new Date().toISOString().slice(11, 19)}]`, ...a);

function logSize(path) {
  let total = 0;
  for (let i = 0; ; i++) {
    const p = i === 0 ? path : `${path}.${i}`;
    if (!existsSync(p)) return total;
    total += statSync(p).size;
  }
}

async function oneRound(name, cli, round) {
  const c = `logs-${round}-${name.replace(/[^a-z]/g, '')}`;
  const run = await cli(['run', '--name', c, IMAGE, 'sh', '-c', `yes '${LINE}' | head -c ${bytes}`], { discard: true });
  // a short count is reported, not thrown: the time of a run that lost output is not comparable
  log(`${name}: run attached ${(run.ms / 1000).toFixed(2)} s, ${run.outBytes} bytes`);
  const logs = await cli(['logs', c], { discard: true });
  if (logs.outBytes !== bytes) throw new Error(`${name}: logs printed ${logs.outBytes} bytes, expected ${bytes}`);
  log(`${name}: logs ${(logs.ms / 1000).toFixed(2)} s`);
  const tail = await cli(['logs', '--tail', '3', c]);
  const full = Math.floor(bytes / (LINE.length + 1));
  const partial = bytes - full * (LINE.length + 1);
  // the last line is cut by head -c and has no newline: logs prints it as written
  const expect = partial > 0 ? `${LINE}\n${LINE}\n${LINE.slice(0, partial)}` : `${LINE}\n${LINE}\n${LINE}\n`;
  if (tail.stdout !== expect) throw new Error(`${name}: logs --tail 3 gave ${JSON.stringify(tail.stdout)}`);
  const path = (await cli(['inspect', '--format', '{{.LogPath}}', c])).stdout.trim();
  const size = logSize(path);
  await cli(['rm', '-f', c]);
  return { run: run.ms, runBytes: run.outBytes, logs: logs.ms, tail: tail.ms, size };
}

async function speed(b) {
  const ways = { 'berth → berthd': b.berth, 'docker → berthd': b.dockerB, 'docker → dockerd': b.docker };
  const names = Object.keys(ways);
  const res = Object.fromEntries(names.map((n) => [n, []]));
  for (let i = 0; i < rounds; i++) {
    const order = names.map((_, j) => names[(i + j) % names.length]);
    for (const n of order) res[n].push(await oneRound(n, ways[n], i));
  }
  const ref = res['docker → dockerd'];
  console.log(`\n## ${bytes / 1e6} MB in ${LINE.length + 1}-byte lines (${rounds} round(s), medians)`);
  console.log('| way | run attached (s) | bytes run printed | logs (s) | logs --tail 3 (ms) | json-file (MB) | run: docker / this | logs: docker / this |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const n of names) {
    const m = (k) => median(res[n].map((r) => r[k]));
    const speedup = (k) => median(res[n].map((r, i) => ref[i][k] / r[k]));
    console.log(`| ${n} | ${fmt(m('run') / 1000, 2)} | ${Math.min(...res[n].map((r) => r.runBytes))} | ${fmt(m('logs') / 1000, 2)} | ${fmt(m('tail'), 0)} | ${fmt(m('size') / 1e6, 0)} | ${fmt(speedup('run'), 1)}× | ${fmt(speedup('logs'), 1)}× |`);
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Lines of a string, without the final empty one. */
const lines = (s) => s.split('\n').slice(0, -1);

async function correctness(name, cli) {
  const fails = [];
  const check = (what, got, want) => { if (got !== want) fails.push(`${what}: got ${JSON.stringify(got).slice(0, 300)}, want ${JSON.stringify(want).slice(0, 300)}`); };
  // logs -f from the start of a container still writing: every line, in order, and it ends with the container.
  const n = 60;
  const script = `i=0; while [ $i -lt ${n} ]; do echo "f $i"; i=$((i+1)); usleep 20000; done; echo err >&2`;
  await cli(['run', '-d', '--name', 'lf', IMAGE, 'sh', '-c', script]);
  const f = await cli(['logs', '-f', 'lf']);
  check('logs -f stdout', f.stdout, Array.from({ length: n }, (_, i) => `f ${i}\n`).join(''));
  check('logs -f stderr', f.stderr, 'err\n');
  // --tail
  check('--tail 4', (await cli(['logs', '--tail', '4', 'lf'])).stdout, `f ${n - 3}\nf ${n - 2}\nf ${n - 1}\n`);
  check('--tail 0', (await cli(['logs', '--tail', '0', 'lf'])).stdout, '');
  check('--tail all', lines((await cli(['logs', '--tail', 'all', 'lf'])).stdout).length, n);
  // --since / --until at the exact timestamps of lines (both inclusive, as dockerd)
  await cli(['run', '--name', 'ls', IMAGE, 'sh', '-c', 'echo a1; echo a2; sleep 1.2; echo b1; echo b2; sleep 1.2; echo c1']);
  const stamped = lines((await cli(['logs', '-t', 'ls'])).stdout).map((l) => l.split(' '));
  check('-t lines', stamped.map((x) => x[1]).join(','), 'a1,a2,b1,b2,c1');
  const ts = Object.fromEntries(stamped.map(([t, v]) => [v, t]));
  check('--since b1', (await cli(['logs', '--since', ts.b1, 'ls'])).stdout, 'b1\nb2\nc1\n');
  check('--until b1', (await cli(['logs', '--until', ts.b1, 'ls'])).stdout, 'a1\na2\nb1\n');
  check('--since b1 --until c1', (await cli(['logs', '--since', ts.b1, '--until', ts.c1, 'ls'])).stdout, 'b1\nb2\nc1\n');
  check('--since a2 --until b2', (await cli(['logs', '--since', ts.a2, '--until', ts.b2, 'ls'])).stdout, 'a2\nb1\nb2\n');
  check('--since b1 --tail 1', (await cli(['logs', '--since', ts.b1, '--tail', '1', 'ls'])).stdout, 'c1\n');
  await cli(['rm', '-f', 'lf', 'ls']);
  console.log(`| ${name} | ${fails.length === 0 ? 'all exact' : fails.join('; ')} |`);
  return fails.length;
}

const b = await Bench.start({ log });
let failed = 0;
try {
  console.log(`# bench/logs ${new Date().toISOString()} — load ${(await import('node:os')).loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  console.log('\n## correctness (logs -f, --tail, --since, --until)');
  console.log('| way | result |');
  console.log('|---|---|');
  for (const [n, cli] of [['docker → dockerd', b.docker], ['docker → berthd', b.dockerB], ['berth → berthd', b.berth]]) failed += await correctness(n, cli);
  await sleep(10);
  await speed(b);
} finally {
  log('cleaning up …');
  await b.stop();
}
process.exitCode = failed ? 1 : 0;
