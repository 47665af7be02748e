// The launcher of Berth's command lines: the build copies it to
// dist/<name>-launcher.cjs (with the shebang line) for berth and berth-ctr
// and links bin/<name> to it. It runs the bundle dist/<name>.cjs as Node's
// loader would, but compiled with V8's code cache kept beside it
// (dist/<name>.cjs.codecache), so a start does not parse and compile the
// bundle again. A missing, stale or rejected cache only costs
// that: the bundle is compiled from source and the cache is written anew
// when the command is done.
//
// The cache file is `<key>\n<V8 code cache>`; the key names the bundle's
// inode, size and mtime and Node's version. V8 itself checks only its own
// version, its flags and the source's length, so a rebuilt bundle of the
// same length must be told apart here.
'use strict';
const { closeSync, fstatSync, openSync, readFileSync, renameSync, unlinkSync, writeFileSync } = require('node:fs');
const Module = require('node:module');
const { dirname, join } = require('node:path');
const vm = require('node:vm');

const bundle = join(__dirname, require('node:path').basename(__filename).replace(/-launcher\.cjs$/, '.cjs'));
const cacheFile = `${bundle}.codecache`;

/** The bundle's text and the key its cache must carry (read and stat'ed on one fd). */
function readBundle() {
  const fd = openSync(bundle, 'r');
  try {
    const st = fstatSync(fd);
    return { source: readFileSync(fd, 'utf8'), key: `berth-codecache ${st.ino} ${st.size} ${st.mtimeMs} ${process.version} ${process.arch}` };
  } finally {
    closeSync(fd);
  }
}

/** The cache's V8 data when it was made for this bundle, else undefined. */
function readCache(key) {
  let buf;
  try { buf = readFileSync(cacheFile); } catch { return undefined; }
  const nl = buf.indexOf(10);
  return nl > 0 && buf.toString('latin1', 0, nl) === key ? buf.subarray(nl + 1) : undefined;
}

/** Writes the cache atomically; a read-only dist/ (another user) just goes without. */
function writeCache(key, data) {
  const tmp = `${cacheFile}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, Buffer.concat([Buffer.from(`${key}\n`, 'latin1'), data]));
    renameSync(tmp, cacheFile);
  } catch {
    try { unlinkSync(tmp); } catch { /* never written */ }
  }
}

/** Loads the bundle as Node's loader would (its own require, paths and __dirname); its exports. */
function loadBundle() {
  const { source, key } = readBundle();
  const cachedData = readCache(key);
  const script = new vm.Script(Module.wrap(source), { filename: bundle, cachedData });
  // After the command, the cache holds the functions it compiled as well as the top level.
  if (cachedData === undefined || script.cachedDataRejected) process.once('exit', () => writeCache(key, script.createCachedData()));
  const mod = new Module(bundle, module);
  mod.filename = bundle;
  mod.paths = Module._nodeModulePaths(dirname(bundle));
  script.runInThisContext()(mod.exports, Module.createRequire(bundle), mod, bundle, dirname(bundle));
  return mod.exports;
}

// The berth CLI's zygote (bin/berth, native/cli/, starts it with the socket's
// path in BERTH_CLI_ZYGOTE): the bundle loaded, no command run yet.
if (process.env.BERTH_CLI_ZYGOTE && require('node:path').basename(bundle) === 'berth.cjs') {
  require(join(__dirname, 'berth-zygote.cjs')).serve(process.env.BERTH_CLI_ZYGOTE, bundle, loadBundle);
} else {
  loadBundle();
}
