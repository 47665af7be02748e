/**
 * Tasks.Delete answers before the bundle's files are removed (the shim is
 * gone and the row deleted by then): a Tasks.Create of the same id right
 * after must still get a clean bundle, and a core killed before the removal
 * leaves a bundle without a row, which the restarted core sweeps away.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Container } from '../../src/core/api/types.js';
import { withCoreEnv, specOf, type CoreEnv } from '../helpers/core-env.js';
import { kill9, skip } from '../helpers/core.js';

const NS = 'default';

async function run(env: CoreEnv, id: string): Promise<number> {
  await env.client.tasks.Create({ containerId: id });
  await env.client.tasks.Start({ containerId: id });
  const w = await env.client.tasks.Wait({ containerId: id });
  await env.client.tasks.Delete({ containerId: id });
  return w.exitStatus;
}

test('a deleted task\'s id is reused at once; a bundle left without a row is swept at restart, a live task\'s is kept', { skip, timeout: 60_000 }, async () => {
  await withCoreEnv('task-finish', () => ({}), async (env) => {
    const state = join(env.dir, 'state');
    const add = (id: string, args: string[]): Promise<unknown> => env.client.containers.Create({ container: {
      id, image: '', spec: specOf(env, args), runtime: { name: 'berth-runtime', options: Buffer.alloc(0) }, rootfs: env.rootfs.rootfs, snapshotKey: '', labels: {},
    } as unknown as Container });
    await add('again', ['sh', '-c', 'echo round']);
    for (let i = 0; i < 5; i++) assert.equal(await run(env, 'again'), 0, `round ${i}`);
    const log = readFileSync(join(env.dir, 'root', NS, 'again', 'again-json.log'), 'utf8');
    assert.equal(log.split('\n').filter((l) => l.includes('round')).length, 5, 'every round ran and logged');
    for (let i = 0; i < 100 && existsSync(join(state, NS, 'again')); i++) await new Promise((r) => setTimeout(r, 20));
    assert.ok(!existsSync(join(state, NS, 'again')), 'the bundle of the deleted task is left');

    // a live task, and a bundle as a core killed between the answer and the removal leaves it
    await add('live', ['sleep', '30']);
    await env.client.tasks.Create({ containerId: 'live' });
    await env.client.tasks.Start({ containerId: 'live' });
    const ghost = join(state, NS, 'ghost');
    mkdirSync(join(ghost, 'shim'), { recursive: true });
    writeFileSync(join(ghost, 'config.json'), '{}');
    await kill9(env.core);
    await env.start();
    for (let i = 0; i < 100 && existsSync(ghost); i++) await new Promise((r) => setTimeout(r, 20));
    assert.ok(!existsSync(ghost), 'the orphan bundle survived the restart');
    assert.ok(existsSync(join(state, NS, 'live', 'config.json')), 'the live task\'s bundle was swept');
    const st = await env.client.tasks.State({ containerId: 'live', execId: '' });
    assert.equal(st.process?.status, 'RUNNING');
    await env.client.tasks.Delete({ containerId: 'live', force: true });
  });
});
