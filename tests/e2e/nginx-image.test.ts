/**
 * The issue's end to end: a Debian nginx image (tests/helpers/nginx-image.ts:
 * mmdebstrap rootfs, cached) imported into a berth-core, pushed to Debian's
 * docker-registry on 127.0.0.1 — anonymous, with basic auth, behind the
 * test token server —, deleted locally (gc: no blob left), pulled back with
 * Berth from each, run through the core with berth-runtime in the host's
 * network namespace (nginx's port rewritten to a free one by the container's
 * command, since networking is a later issue), and its page fetched over
 * HTTP. Needs root, `npm run build`, docker-registry and mmdebstrap.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Container } from '../../src/core/api/types.js';
import { CoreClient } from '../../src/core/client.js';
import { mountAll, unmountAll } from '../../src/core/snapshots/mount.js';
import { defaultConfig } from '../helpers/bundle.js';
import { kill9, liveMatching, ready, skip as coreSkip, spawnCore, type Core } from '../helpers/core.js';
import { importNginx, nginxSkip } from '../helpers/nginx-image.js';
import { freePort, registrySkip, startRegistry, type RegistryMode, type TestRegistry } from '../helpers/registry.js';
import { getWithRetry } from './http.js';

const skip = coreSkip || registrySkip || nginxSkip;

/** Docker's default capabilities: nginx's master switches its workers to www-data. */
const CAPS = ['CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID', 'CAP_SETUID',
  'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE'];

/** Runs nginx from the pulled image through the core, on the host network at port; returns the rootfs to unmount. */
async function runNginx(client: CoreClient, dir: string, id: string, chain: string, port: number): Promise<string> {
  const { mounts } = await client.snapshots.Prepare({ snapshotter: '', key: `${id}-rootfs`, parent: chain, labels: {} });
  const rootfs = join(dir, `${id}-rootfs`);
  mkdirSync(rootfs);
  mountAll(mounts.map((m) => ({ type: m.type, source: m.source, options: m.options })), rootfs);
  const spec = defaultConfig(['sh', '-c', `sed -i 's/80/${port}/' /etc/nginx/sites-enabled/default && exec nginx -g 'daemon off;'`]);
  spec.root.path = rootfs;
  spec.process.env = ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'];
  for (const k of ['bounding', 'effective', 'permitted']) spec.process.capabilities[k] = CAPS;
  spec.process.capabilities.ambient = [];
  spec.linux.namespaces = (spec.linux.namespaces as { type: string }[]).filter((n) => n.type !== 'network');
  await client.containers.Create({ container: { id, image: '', spec: Buffer.from(JSON.stringify(spec)), runtime: { name: '', options: Buffer.alloc(0) },
    rootfs, snapshotKey: '', snapshotter: '', labels: {} } as unknown as Container });
  await client.tasks.Create({ containerId: id });
  await client.tasks.Start({ containerId: id });
  return rootfs;
}

async function stopNginx(client: CoreClient, id: string, rootfs: string): Promise<void> {
  await client.tasks.Kill({ containerId: id, signal: 9, all: true }).catch(() => undefined);
  await client.tasks.Wait({ containerId: id });
  await client.tasks.Delete({ containerId: id });
  unmountAll(rootfs);
  await client.containers.Delete({ id });
  await client.snapshots.Remove({ snapshotter: '', key: `${id}-rootfs` });
}

const chainOf = (diffIds: string[]): string => {
  let chain = '';
  for (const d of diffIds) chain = chain === '' ? d : `sha256:${createHash('sha256').update(`${chain} ${d}`).digest('hex')}`;
  return chain;
};

test('nginx from Debian: push to a local registry (anonymous, basic, token), delete, pull back, run, GET the page', { skip, timeout: 900_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-nginx-e2e-'));
  writeFileSync(join(dir, 'config.json'), '{}');
  const address = join(dir, 'core.sock');
  const registries: TestRegistry[] = [];
  let core: Core | undefined;
  let client: CoreClient | undefined;
  try {
    for (const mode of ['anonymous', 'basic', 'token'] as RegistryMode[]) registries.push(await startRegistry(mode));
    core = await ready(spawnCore(dir, address), address);
    client = new CoreClient(address);
    const local = 'example.test/nginx:bookworm';
    const imported = await importNginx(client, local);
    const info = JSON.parse((await client.images.Inspect({ ref: local })).json.toString('utf8')) as { Config: { Cmd: string[]; ExposedPorts: Record<string, object> }; RootFS: { Layers: string[] } };
    assert.deepEqual(info.Config.Cmd, ['nginx', '-g', 'daemon off;']);
    assert.deepEqual(info.Config.ExposedPorts, { '80/tcp': {} });
    const creds = (r: TestRegistry): { username: string; password: string } => (r.mode === 'anonymous' ? { username: '', password: '' } : { username: r.username, password: r.password });
    const refs = registries.map((r) => `${r.host}/berth/nginx:bookworm`);
    for (const [i, r] of registries.entries()) {
      await client.images.Tag({ source: local, target: refs[i]! });
      await client.push({ name: refs[i]!, ...creds(r) });
    }
    // gone locally: every name, and after gc every blob and snapshot
    await client.images.Remove({ ref: imported.target!.digest, force: true }).catch(() => undefined);
    for (const name of (await client.images.List({ filters: [] })).images.map((i) => i.name)) await client.images.Delete({ name });
    await client.gc.Collect({});
    assert.deepEqual((await client.content.List({ filters: [] })).info, []);
    assert.deepEqual((await client.snapshots.List({ snapshotter: '', filters: [] })).info, []);

    for (const [i, r] of registries.entries()) {
      const pulled = await client.pull({ ref: refs[i]!, unpack: true, snapshotter: '', platform: '', ...creds(r) });
      assert.equal(pulled.target?.digest, imported.target?.digest, `${r.mode}: the same manifest comes back`);
      const port = await freePort();
      const rootfs = await runNginx(client, dir, `nginx-${r.mode}`, chainOf(info.RootFS.Layers), port);
      try {
        const page = await getWithRetry(`http://127.0.0.1:${port}/`, 20_000);
        assert.equal(page.status, 200, `${r.mode}: nginx answers`);
        assert.match(page.body, /Welcome to nginx/);
      } finally {
        await stopNginx(client, `nginx-${r.mode}`, rootfs);
      }
      // the next registry's pull downloads everything again
      await client.images.Delete({ name: (await client.images.List({ filters: [] })).images[0]!.name });
      await client.gc.Collect({});
      assert.deepEqual((await client.content.List({ filters: [] })).info, [], `${r.mode}: no blob left`);
    }
  } finally {
    client?.close();
    if (core) await kill9(core);
    for (const p of liveMatching(dir)) { try { process.kill(p, 'SIGKILL'); } catch { /* gone */ } }
    spawnSync('sh', ['-c', `grep -o " ${dir}[^ ]*" /proc/self/mounts | sort -r | xargs -r -n1 umount -l`]);
    for (const r of registries) await r.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
