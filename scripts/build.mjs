// Bundles every entry point into one file (fast start: one read, no module
// resolution at run time) and puts the native executables into bin/.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, existsSync, chmodSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const entries = {
  'berth-runtime-planner': 'src/runtime/planner/main.ts',
  'berth-core': 'src/core/main.ts',
  'berth-ctr': 'src/ctr/main.ts',
  'berthd': 'src/daemon/main.ts',
  'berth': 'src/cli/main.ts',
  'berth-vm': 'src/vm/main.ts',
};

mkdirSync(join(root, 'dist'), { recursive: true });
mkdirSync(join(root, 'bin'), { recursive: true });

await build({
  absWorkingDir: root,
  entryPoints: Object.fromEntries(Object.entries(entries).filter(([, p]) => existsSync(join(root, p)))),
  outdir: 'dist',
  outExtension: { '.js': '.cjs' },
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: 'linked',
  minifyWhitespace: true,
  minifySyntax: true,
  external: ['*.node'],
  // the bundles are CommonJS: give modules that ask for import.meta.url their file's URL
  define: { 'import.meta.url': '__berthImportMetaUrl' },
  banner: { js: 'const __berthImportMetaUrl = require("url").pathToFileURL(__filename).href;' },
  logLevel: 'warning',
});

// The API as JSON next to the bundles, so they need not parse proto/ at start.
await import('./gen-api-json.mjs');

// Native products of node-gyp: executables go to bin/, the addon next to the bundles.
const release = join(root, 'build', 'Release');
const natives = [
  ['berth-runtime', join(root, 'bin', 'berth-runtime')],
  ['berth-shim', join(root, 'bin', 'berth-shim')],
  // the berth CLI's front (native/cli/); see the launcher below
  ['berth', join(root, 'bin', 'berth')],
  ['berth-sandbox-supervisor', join(root, 'bin', 'berth-sandbox-supervisor')],
  // berth-sandbox is the same front: its name (argv[0]) selects the sandbox
  ['berth-runtime', join(root, 'bin', 'berth-sandbox')],
  ['berth_addon.node', join(root, 'dist', 'berth_addon.node')],
  // berth-vm: the static guest agent (the VM's /init) and the per-VM keeper
  ['berth-vm-agent', join(root, 'bin', 'berth-vm-agent')],
  ['berth-vm-keeper', join(root, 'bin', 'berth-vm-keeper')],
];
for (const [name, dest] of natives) {
  const src = join(release, name);
  if (!existsSync(src)) continue;
  copyFileSync(src, dest + '.tmp');
  chmodSync(dest + '.tmp', statSync(src).mode);
  // rename over the old file so a running binary is never rewritten in place
  (await import('node:fs')).renameSync(dest + '.tmp', dest);
}

// The command lines (berth, berth-ctr) start through the launcher
// (scripts/berth-launcher.cjs: the bundle compiled with V8's code cache),
// reached by a symlink so no shell runs first; env drops
// NODE_EXTRA_CA_CERTS, which makes Node parse every CA certificate at start
// (~30 ms) for TLS these clients never speak. A cache left from the old
// bundle goes: the first command writes the new one.
for (const name of ['berth', 'berth-ctr']) {
  if (!existsSync(join(root, 'dist', `${name}.cjs`))) continue;
  const fs = await import('node:fs');
  const launcher = join(root, 'dist', `${name}-launcher.cjs`);
  const text = fs.readFileSync(join(root, 'scripts', 'berth-launcher.cjs'), 'utf8');
  writeFileSync(launcher + '.tmp', `#!/usr/bin/env -S -u NODE_EXTRA_CA_CERTS node\n${text}`, { mode: 0o755 });
  fs.renameSync(launcher + '.tmp', launcher);
  fs.rmSync(join(root, 'dist', `${name}.cjs.codecache`), { force: true });
  // bin/berth is the C front (native/cli/: a warm zygote, else this
  // launcher), copied above with the other executables; the zygote's half
  // goes beside the launcher. Without the front (not built), the symlink.
  if (name === 'berth') {
    fs.copyFileSync(join(root, 'scripts', 'berth-zygote.cjs'), join(root, 'dist', 'berth-zygote.cjs.tmp'));
    fs.renameSync(join(root, 'dist', 'berth-zygote.cjs.tmp'), join(root, 'dist', 'berth-zygote.cjs'));
    if (existsSync(join(release, 'berth'))) continue;
  }
  fs.rmSync(join(root, 'bin', `${name}.tmp`), { force: true });
  fs.symlinkSync(`../dist/${name}-launcher.cjs`, join(root, 'bin', `${name}.tmp`));
  fs.renameSync(join(root, 'bin', `${name}.tmp`), join(root, 'bin', name));
}

// The daemons get a small executable in bin/ (bin/ is not in git).
for (const name of ['berth-core', 'berthd', 'berth-vm']) {
  if (!existsSync(join(root, 'dist', `${name}.cjs`))) continue;
  const dest = join(root, 'bin', name);
  // a shell script: the package is "type": "module", so an extensionless node file would be ESM
  writeFileSync(dest + '.tmp', `#!/bin/sh\nexec node "$(dirname "$(readlink -f "$0")")/../dist/${name}.cjs" "$@"\n`, { mode: 0o755 });
  (await import('node:fs')).renameSync(dest + '.tmp', dest);
}
