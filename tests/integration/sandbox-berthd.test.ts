/**
 * berth-sandbox chosen per container in Berth itself: berthd lists it among
 * its runtimes (bin/berth-sandbox next to bin/berth-runtime), `docker run
 * --runtime berth-sandbox` runs under the supervisor (the sandbox's kernel
 * name, a refused mount in the container's audit log) while a container of
 * the default runtime beside it sees the host's kernel, inspect reports the
 * runtime, exec joins the sandbox, and no supervisor outlives its
 * container. Driven with the real docker CLI.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { release } from 'node:os';
import { join } from 'node:path';
import { busyboxTar, docker, DOCKER, layout, ready, skipBerthd, spawnBerthd, teardownBerthd, type Berthd, type Layout } from '../helpers/berthd.js';
import { REPO } from '../helpers/runtime.js';

const SANDBOX_RELEASE = '6.1.0-berth-sandbox';
const skip = skipBerthd || (!existsSync(DOCKER) ? 'needs the docker CLI' : false)
  || (!existsSync(join(REPO, 'bin', 'berth-sandbox')) ? 'needs bin/berth-sandbox (npm run build)' : false);

let dir = '';
let l: Layout;
let b: Berthd;

function ok(args: string[]): string {
  const r = docker(b.sock, args);
  assert.equal(r.status, 0, `docker ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** Supervisors holding a file under the test's directories (their audit logs live in the runtime's state). */
function supervisors(): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
    try {
      if (!readFileSync(`/proc/${d}/comm`, 'utf8').startsWith('berth-sandbox-s')) continue;
      const fds = readdirSync(`/proc/${d}/fd`).map((fd) => { try { return readlinkSync(`/proc/${d}/fd/${fd}`); } catch { return ''; } });
      if (fds.some((f) => f.startsWith(dir) || f.startsWith(l.execRoot))) out.push(Number(d));
    } catch { /* gone meanwhile */ }
  }
  return out;
}

/** The audit logs the running supervisors of this berthd write (found by their open files). */
function auditLogs(): string {
  const logs = new Set<string>();
  for (const pid of supervisors()) {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try { const f = readlinkSync(`/proc/${pid}/fd/${fd}`); if (f.endsWith('/sandbox-audit.log')) logs.add(f); } catch { /* gone */ }
    }
  }
  return [...logs].map((f) => readFileSync(f, 'utf8')).join('');
}

describe('berthd runs a container under berth-sandbox', { skip, timeout: 180_000 }, () => {
  before(async () => {
    dir = mkdtempSync('/tmp/sbx-');
    l = layout(dir);
    b = await ready(spawnBerthd(l));
    ok(['import', '--change', 'CMD ["sh"]', '--change', 'ENV PATH=/bin', busyboxTar(dir), 'busybox:latest']);
  });

  after(async () => {
    if (!b) return;
    assert.deepEqual(await teardownBerthd(b, l, dir), []);
    assert.deepEqual(supervisors(), [], 'no supervisor outlives berthd\'s containers');
  });

  test('docker info lists berth-sandbox among the runtimes', () => {
    const runtimes = JSON.parse(ok(['info', '--format', '{{json .Runtimes}}'])) as Record<string, unknown>;
    assert.ok('berth-sandbox' in runtimes, Object.keys(runtimes).join(', '));
  });

  test('run --rm --runtime berth-sandbox: the sandbox\'s view and refusals; the default runtime beside it is unchanged', () => {
    const script = 'uname -r; echo hi | tr a-z A-Z; mount -t tmpfs none /tmp 2>/dev/null; echo mount=$?';
    assert.match(ok(['run', '--rm', '--runtime', 'berth-sandbox', '--cap-add', 'SYS_ADMIN', '--security-opt', 'seccomp=unconfined', 'busybox', 'sh', '-c', script]),
      new RegExp(`^${SANDBOX_RELEASE}\\nHI\\nmount=[1-9]\\d*\\n$`));
    // the same with the default runtime: the host's kernel, and the mount works with CAP_SYS_ADMIN and no seccomp
    assert.equal(ok(['run', '--rm', '--cap-add', 'SYS_ADMIN', '--security-opt', 'seccomp=unconfined', '--security-opt', 'apparmor=unconfined', 'busybox', 'sh', '-c', script]),
      `${release()}\nHI\nmount=0\n`);
  });

  test('a detached sandboxed container: inspect names the runtime, exec joins the sandbox, its refusals are audited, rm -f ends its supervisors', async () => {
    const id = ok(['run', '-d', '--runtime', 'berth-sandbox', 'busybox', 'sleep', '300']).trim();
    assert.equal(ok(['inspect', '--format', '{{.HostConfig.Runtime}}', id]), 'berth-sandbox\n');
    assert.equal(ok(['exec', id, 'uname', '-r']), `${SANDBOX_RELEASE}\n`);
    // chroot: Docker's own profile and capabilities allow it, the sandbox's policy does not (and audits it)
    const refused = docker(b.sock, ['exec', id, 'chroot', '/', 'true']);
    assert.notEqual(refused.status, 0, 'chroot is refused');
    assert.ok(supervisors().length >= 1, 'the container runs under a supervisor');
    assert.match(auditLogs(), /"syscall":"chroot"/, 'the refusal is in the container\'s audit log');
    ok(['rm', '-f', id]);
    for (let i = 0; i < 100 && supervisors().length > 0; i++) await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(supervisors(), []);
  });
});
