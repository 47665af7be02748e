/**
 * Volumes: the routes driven by the real docker CLI against berthd
 * (create, ls with filters, inspect, rm, prune), and the resolver the
 * container half uses, at the daemon level against a real core: a new
 * volume filled from the image's content with owners and modes, an
 * option-mounted tmpfs, in-use refusals and release.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreClient } from '../../src/core/client.js';
import type { Container } from '../../src/core/api/types.js';
import { parseFilters } from '../../src/api/index.js';
import { EventBus } from '../../src/daemon/events.js';
import { openStateDb, type StateDb } from '../../src/daemon/state/db.js';
import { DaemonVolumes, ANONYMOUS_LABEL, imageVolumeRequests } from '../../src/daemon/volumes/index.js';
import { isMounted } from '../../src/daemon/volumes/local.js';
import { nullLogger } from '../../src/common/log.js';
import { call, corePids, docker, dockerOk, layout, leftovers, ready, skipBerthd, spawnBerthd, stop, type Berthd, type Layout } from '../helpers/berthd.js';

const skip = skipBerthd;

let dir: string;
let l: Layout;
let b: Berthd;

const ok = (args: string[]): string => dockerOk(b.sock, args);

function fails(args: string[]): string {
  const r = docker(b.sock, args);
  assert.notEqual(r.status, 0, `docker ${args.join(' ')} should fail: ${r.stdout}`);
  return r.stderr;
}

before(async () => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), 'berth-h32-vol-'));
  l = layout(dir);
  b = await ready(spawnBerthd(l));
});

after(async () => {
  if (skip) return;
  await stop(b);
  for (const pid of corePids(l)) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
  spawnSync('umount', ['-R', '-l', l.dataRoot]);
  rmSync(dir, { recursive: true, force: true });
  assert.deepEqual(leftovers(l), []);
});

test('volume create, ls with filters, inspect, rm', { skip }, async () => {
  assert.equal(ok(['volume', 'create', '--label', 'team=a', 'named1']).trim(), 'named1');
  ok(['volume', 'create', 'named2']);
  const anon = await call(b.sock, 'POST', '/v1.45/volumes/create', '{}', { 'Content-Type': 'application/json' });
  assert.equal(anon.status, 201);
  const anonName = JSON.parse(anon.body).Name as string;
  assert.match(anonName, /^[0-9a-f]{64}$/);
  assert.equal(ok(['volume', 'ls', '-q']).trim().split('\n').sort().join(' '), [anonName, 'named1', 'named2'].sort().join(' '));
  assert.equal(ok(['volume', 'ls', '-q', '--filter', 'label=team=a']).trim(), 'named1');
  assert.equal(ok(['volume', 'ls', '-q', '--filter', 'name=med2']).trim(), 'named2');
  assert.equal(ok(['volume', 'ls', '-q', '--filter', 'dangling=true']).trim().split('\n').length, 3);
  const table = ok(['volume', 'ls']).split('\n');
  assert.match(table[0]!, /^DRIVER\s+VOLUME NAME$/);
  const view = JSON.parse(ok(['volume', 'inspect', 'named1']))[0];
  assert.deepEqual(Object.keys(view).sort(), ['CreatedAt', 'Driver', 'Labels', 'Mountpoint', 'Name', 'Options', 'Scope']);
  assert.equal(view.Driver, 'local');
  assert.equal(view.Scope, 'local');
  assert.deepEqual(view.Labels, { team: 'a' });
  assert.equal(view.Mountpoint, join(l.dataRoot, 'volumes', 'named1', '_data'));
  assert.ok(statSync(view.Mountpoint).isDirectory());
  assert.match(view.CreatedAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  assert.match(ok(['volume', 'inspect', '--format', '{{json .Labels}}', anonName]), new RegExp(`"${ANONYMOUS_LABEL}":""`));
  assert.match(fails(['volume', 'inspect', 'nosuch']), /no such volume/);
  assert.match(fails(['volume', 'create', '--opt', 'bogus=1', 'bad1']), /invalid option key: "bogus"/);
  assert.match(fails(['volume', 'create', 'a/b']), /includes invalid characters for a local volume name/);
  ok(['volume', 'rm', 'named2']);
  assert.ok(!existsSync(join(l.dataRoot, 'volumes', 'named2')));
  assert.match(fails(['volume', 'rm', 'named2']), /no such volume/);
  ok(['volume', 'rm', '-f', 'named2']);
  // prune: anonymous volumes only, then every unused one with --all
  const pruned = ok(['volume', 'prune', '-f']);
  assert.match(pruned, new RegExp(anonName));
  assert.equal(ok(['volume', 'ls', '-q']).trim(), 'named1');
  assert.match(ok(['volume', 'prune', '-a', '-f']), /named1/);
  assert.equal(ok(['volume', 'ls', '-q']).trim(), '');
  assert.match(ok(['system', 'df', '--format', '{{.Type}} {{.TotalCount}}']), /^Local Volumes 0$/m);
});

test('the resolver fills a new volume from the image, mounts option volumes, refuses removal while in use', { skip }, async () => {
  const work = join(dir, 'resolver');
  const rootfs = join(work, 'rootfs');
  mkdirSync(join(rootfs, 'data', 'sub'), { recursive: true });
  writeFileSync(join(rootfs, 'data', 'greeting'), 'from the image\n');
  chmodSync(join(rootfs, 'data', 'greeting'), 0o640);
  chownSync(join(rootfs, 'data', 'greeting'), 1000, 1001);
  chownSync(join(rootfs, 'data'), 1000, 1000);
  chmodSync(join(rootfs, 'data'), 0o750);
  const db: StateDb = openStateDb(join(work, 'state.db'));
  const core = new CoreClient(join(l.execRoot, 'core.sock'), 'berthd');
  const events = new EventBus();
  const vols = new DaemonVolumes({ db, root: join(work, 'volumes'), core, events, log: nullLogger });
  const cid = 'feed'.padEnd(64, '1');
  try {
    const spec = Buffer.from(JSON.stringify({ ociVersion: '1.0.2', process: { args: ['true'], cwd: '/' }, root: { path: 'rootfs' } }));
    await core.containers.Create({ container: { id: cid, image: 'busybox', spec, runtime: { name: '', options: Buffer.alloc(0) }, rootfs: '/tmp', labels: {} } as unknown as Container });
    const requests = [
      { name: 'filled', target: '/data' },
      ...imageVolumeRequests({ '/data': {}, '/cache': {} }, ['/data']),
      { name: 'ram', target: '/ram', driverOpts: { type: 'tmpfs', device: 'tmpfs', o: 'size=1m,mode=0700' } },
    ];
    assert.equal(requests.length, 3); // /data is covered by the named volume: one anonymous for /cache
    const got = await vols.resolveVolumes(cid, requests, rootfs);
    const filled = got.find((v) => v.name === 'filled')!;
    assert.equal(readFileSync(join(filled.source, 'greeting'), 'utf8'), 'from the image\n');
    const st = statSync(join(filled.source, 'greeting'));
    assert.deepEqual([st.uid, st.gid, st.mode & 0o777], [1000, 1001, 0o640]);
    const top = statSync(filled.source);
    assert.deepEqual([top.uid, top.gid, top.mode & 0o777], [1000, 1000, 0o750]);
    assert.ok(statSync(join(filled.source, 'sub')).isDirectory());
    const anon = got.find((v) => v.target === '/cache')!;
    assert.match(anon.name, /^[0-9a-f]{64}$/);
    const ram = got.find((v) => v.name === 'ram')!;
    assert.ok(isMounted(ram.source), 'the tmpfs volume is mounted');
    assert.match(readFileSync('/proc/self/mountinfo', 'utf8'), new RegExp(`${ram.source} .* - tmpfs tmpfs .*size=1024k`));
    // a volume that is not empty is not filled again
    writeFileSync(join(filled.source, 'greeting'), 'changed\n');
    await vols.resolveVolumes(cid, [{ name: 'filled', target: '/data' }], rootfs);
    assert.equal(readFileSync(join(filled.source, 'greeting'), 'utf8'), 'changed\n');
    // in use while the container exists
    await assert.rejects(vols.remove('filled', false), /remove filled: volume is in use - \[feed1/);
    assert.equal((await vols.list(parseFilters('{"dangling":["false"]}'))).Volumes.length, 3);
    const df = await vols.usage();
    assert.equal(df.find((v) => v.Name === 'filled')!.UsageData!.RefCount, 1);
    assert.equal(df.find((v) => v.Name === 'filled')!.UsageData!.Size, 'changed\n'.length);
    // released: the anonymous volume goes, the option mount is undone, the named one stays
    await vols.releaseVolumes(cid, true);
    assert.ok(!isMounted(ram.source));
    await assert.rejects(vols.inspect(anon.name), /no such volume/);
    await vols.remove('filled', false);
    await vols.remove('ram', false);
    assert.deepEqual((await vols.list(parseFilters(null))).Volumes, []);
  } finally {
    await core.containers.Delete({ id: cid }).catch(() => undefined);
    for (const v of (await vols.list(parseFilters(null))).Volumes) await vols.remove(v.Name, true).catch(() => undefined);
    core.close();
    db.close();
  }
});
