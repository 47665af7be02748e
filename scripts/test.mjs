// Runs the test tiers with Node's test runner: unit (no root), integration
// (real kernel, as root), e2e (real engines: dockerd, containerd), chaos
// (kill -9 of every Berth process and a full disk under load; bounded by
// BERTH_CHAOS_SECONDS, 60 by default, longer by hand).
//   node scripts/test.mjs unit|integration|e2e|chaos|all [--only pattern]
import { readdirSync, statSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const tier = process.argv[2] ?? 'all';
const onlyAt = process.argv.indexOf('--only');
const only = onlyAt > 0 ? process.argv[onlyAt + 1] : undefined;
const tiers = tier === 'all' ? ['unit', 'integration', 'e2e', 'chaos'] : [tier];

function walk(dir) {
  let out = [];
  let names = [];
  try { names = readdirSync(dir); } catch { return out; }
  for (const n of names.sort()) {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) out = out.concat(walk(p));
    else if (n.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

let files = tiers.flatMap((t) => walk(join(root, 'tests', t)));
if (only) files = files.filter((f) => f.includes(only));
if (files.length === 0) {
  console.error(`no test files for ${tier}${only ? ` matching ${only}` : ''}`);
  process.exit(1);
}
// Integration and e2e suites share the kernel (cgroups, mounts, engines):
// they run one file at a time; unit files run in parallel.
const concurrency = tiers.every((t) => t === 'unit') ? 2 : 1;
const r = spawnSync(process.execPath, [
  '--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', ...files,
], { stdio: 'inherit', cwd: root });
process.exit(r.status ?? 1);
