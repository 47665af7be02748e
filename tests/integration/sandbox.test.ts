/**
 * berth-sandbox on the real kernel: the same programs give the same output
 * as under berth-runtime; the escape battery (tests/helpers/escapes.ts),
 * which works in a weakened berth-runtime container, is refused under
 * berth-sandbox with the same config and written to the audit log; uname
 * and /proc/meminfo show the sandbox's view; supervisors go away with
 * their containers.
 */
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, chmodSync, existsSync, mkdirSync, rmSync, readdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeBundle, removeBundle, type Bundle } from '../helpers/bundle.js';
import { REPO, RUNTIME, Runtime, type Result } from '../helpers/runtime.js';
import { escapeBattery, escapeBinary, removeEscapeBinary, weaken } from '../helpers/escapes.js';

const SANDBOX = join(REPO, 'bin', 'berth-sandbox');
const SANDBOX_RELEASE = '6.1.0-berth-sandbox';

const bundles: Bundle[] = [];
const runtimes: Runtime[] = [];
after(() => {
  for (const r of runtimes) r.cleanup();
  for (const b of bundles) removeBundle(b);
  removeEscapeBinary();
});

function bundle(args: string[]): Bundle {
  const b = makeBundle(args, 'berth-sandbox-');
  for (const a of ['tr', 'id', 'free', 'uptime', 'ip']) if (!existsSync(join(b.rootfs, 'bin', a))) symlinkSync('busybox', join(b.rootfs, 'bin', a));
  bundles.push(b);
  return b;
}

function runtime(binary: string): Runtime {
  const r = new Runtime(binary);
  runtimes.push(r);
  return r;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Supervisors whose audit log lies under root (their fds say where). */
function supervisorsUnder(root: string): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (!readFileSync(`/proc/${d}/comm`, 'utf8').startsWith('berth-sandbox-s')) continue;
      for (const fd of readdirSync(`/proc/${d}/fd`)) {
        if (readlinkSync(`/proc/${d}/fd/${fd}`).startsWith(root)) { out.push(Number(d)); break; }
      }
    } catch { /* gone meanwhile */ }
  }
  return out;
}

/** create + start, wait for the container to stop, read its audit log, delete. */
async function runToEnd(rt: Runtime, b: Bundle, id: string): Promise<{ stdout: string; audit: string }> {
  const out = join(b.dir, `${id}.out`);
  const args = b.config.process.args as string[];
  b.config.process.args = ['sh', '-c', `"$@" > ${'/tmp/' + id}.out 2>&1`, 'sh', ...args];
  b.write();
  b.config.process.args = args;
  rt.ok(['create', '--bundle', b.dir, id]);
  rt.ok(['start', id]);
  const deadline = Date.now() + 30_000;
  while (rt.state(id).status !== 'stopped') {
    if (Date.now() > deadline) throw new Error(`container ${id} did not stop`);
    await sleep(20);
  }
  const auditFile = join(rt.root, id, 'sandbox-audit.log');
  const audit = existsSync(auditFile) ? readFileSync(auditFile, 'utf8') : '';
  rt.ok(['delete', id]);
  const stdout = readFileSync(join(b.rootfs, 'tmp', `${id}.out`), 'utf8');
  void out;
  return { stdout, audit };
}

describe('real programs give the same output under both runtimes', () => {
  const commands = [
    'ls /; ls -l /etc/passwd | cut -c1-10',
    'cat /etc/passwd /etc/group',
    'echo a b c | tr a-z A-Z | wc -c; seq 1 1000 | awk "{ s += \\$1 } END { print s }"',
    'sh -c "sh -c \\"echo nested; id\\""; whoami',
    'for i in 1 2 3; do echo $i > /tmp/f$i; done; cat /tmp/f1 /tmp/f2 /tmp/f3; rm /tmp/f1 /tmp/f2 /tmp/f3; ls /tmp | wc -l',
    'mkdir -p /tmp/d/e && cd /tmp/d/e && pwd && cat ../../../etc/group | head -1 && cat ../../../../../../etc/group | head -1',
    'ln -sf /etc/passwd /tmp/link && head -1 /tmp/link; ln -sf ../../../../etc/group /tmp/rel && head -1 /tmp/rel',
    'exec 3</etc/passwd; head -1 /dev/fd/3; head -1 /proc/self/fd/3; head -1 < /etc/group',
    'dd if=/dev/zero bs=1k count=64 2>/dev/null | wc -c; cat /dev/null; echo $?',
    'ps -o pid,comm | head -2',
    'find /etc -type f | sort; test -r /etc/passwd && echo readable; cat /nonexistent; echo $?',
    'touch /tmp/new && chmod 600 /tmp/new && stat -c "%a %s" /tmp/new; echo data >> /tmp/new; cat /tmp/new; rm /tmp/new',
    // links through procfs's "self": /proc/mounts, /proc/net, and links elsewhere to them (/etc/mtab)
    'cut -d" " -f2-3 /proc/mounts | head -3; ln -sfn /proc/self/mounts /tmp/mtab && wc -l < /tmp/mtab; ln -sfn ../proc/self/net /tmp/net && head -1 /tmp/net/dev; head -1 /proc/net/dev; ls /proc/net | grep -c .; cat /proc/thread-self/comm',
  ];
  for (const [i, cmd] of commands.entries()) {
    test(cmd, () => {
      const b = bundle(['sh', '-c', cmd]);
      const plain = runtime(RUNTIME).run(['run', '--bundle', b.dir, `plain${i}`]);
      const sandboxed = runtime(SANDBOX).run(['run', '--bundle', b.dir, `sbx${i}`]);
      assert.equal(plain.code, 0, plain.stderr);
      assert.deepEqual({ code: sandboxed.code, stdout: sandboxed.stdout, stderr: sandboxed.stderr },
        { code: plain.code, stdout: plain.stdout, stderr: plain.stderr });
    });
  }

  test('a non-root user is refused the same files', () => {
    const b = bundle(['sh', '-c', 'id -u; cat /root/secret; echo $?; echo x > /root/other; echo $?; cat /etc/passwd | wc -l']);
    writeFileSync(join(b.rootfs, 'root', 'secret'), 'top\n', { mode: 0o600 });
    chmodSync(join(b.rootfs, 'root'), 0o755);
    b.config.process.user = { uid: 65534, gid: 65534 };
    b.write();
    const plain = runtime(RUNTIME).run(['run', '--bundle', b.dir, 'plainuser']);
    const sandboxed = runtime(SANDBOX).run(['run', '--bundle', b.dir, 'sbxuser']);
    assert.match(plain.stdout, /^65534\n1\n1\n/);
    assert.deepEqual(sandboxed, plain);
  });

  test('busybox httpd serves a file to wget (host network, so the host can fetch it too)', async () => {
    const port = 20000 + Math.floor(Math.random() * 20000);
    const cmd = `mkdir -p /tmp/www && echo served-by-berth > /tmp/www/index.html && httpd -f -p 127.0.0.1:${port} -h /tmp/www & sleep 0.5; `
      + `wget -q -O - http://127.0.0.1:${port}/index.html; wget -q -O - http://127.0.0.1:${port}/missing; echo $?; kill %1`;
    const results: Result[] = [];
    for (const bin of [RUNTIME, SANDBOX]) {
      const b = bundle(['sh', '-c', cmd]);
      b.config.linux.namespaces = b.config.linux.namespaces.filter((n: { type: string }) => n.type !== 'network');
      b.write();
      results.push(runtime(bin).run(['run', '--bundle', b.dir, `web${results.length}`]));
    }
    assert.equal(results[0]!.stdout, 'served-by-berth\n1\n');
    assert.deepEqual(results[1], results[0]);
  });
});

describe('the escape battery', () => {
  test('succeeds in a weakened berth-runtime container and is refused, audited, under berth-sandbox', async () => {
    // a host process whose /proc/<pid>/root leads to the host's /
    const host = spawn('sleep', ['120'], { stdio: 'ignore' });
    after(() => host.kill('SIGKILL'));
    const battery = escapeBattery(host.pid!);
    const seen: Record<string, { plain: string; sandbox: string; audit: string }> = {};
    for (const hostPid of [false, true]) {
      const set = battery.filter((e) => Boolean(e.hostPid) === hostPid);
      const script = set.map((e) => `/escape ${e.args.join(' ')}`).join('; ');
      for (const [name, bin] of [['plain', RUNTIME], ['sandbox', SANDBOX]] as const) {
        const b = bundle(['sh', '-c', script]);
        copyFileSync(escapeBinary(), join(b.rootfs, 'escape'));
        chmodSync(join(b.rootfs, 'escape'), 0o755);
        weaken(b.config, { hostPid, memoryLimit: 256 << 20 });
        b.write();
        const r = await runToEnd(runtime(bin), b, `esc${name}${hostPid ? 'pid' : ''}`);
        const lines = r.stdout.split('\n').filter((l) => /^(ESCAPED|REFUSED)/.test(l));
        assert.equal(lines.length, set.length, r.stdout);
        set.forEach((e, i) => {
          seen[e.name] ??= { plain: '', sandbox: '', audit: '' };
          seen[e.name]![name] = lines[i]!;
        });
        if (name === 'sandbox') for (const e of set) seen[e.name]!.audit = r.audit;
      }
    }
    for (const [escape, s] of Object.entries(seen)) {
      assert.match(s.plain, /^ESCAPED/, `${escape} should work under berth-runtime: ${s.plain}`);
      assert.match(s.sandbox, /^REFUSED/, `${escape} must be refused under berth-sandbox: ${s.sandbox}`);
    }
    const audit = Object.values(seen)[0]!.audit.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    const refusedCalls = new Set(audit.filter((a) => a.action === 'refuse').map((a) => a.syscall));
    for (const call of ['mount', 'unshare', 'ptrace', 'bpf', 'init_module', 'add_key', 'perf_event_open', 'name_to_handle_at', 'socket', 'chroot', 'openat']) {
      assert.ok(refusedCalls.has(call), `the audit log records ${call}: ${[...refusedCalls].join(', ')}`);
    }
    for (const a of audit) {
      assert.equal(typeof a.time, 'string');
      assert.equal(typeof a.pid, 'number');
    }
    assert.ok(audit.some((a) => a.path === '/proc/sys/kernel/core_pattern'), 'the refused sysctl write names its file');
    const pidAudit = Object.entries(seen).find(([n]) => n.startsWith('/proc/<host pid>'))![1].audit;
    assert.match(pidAudit, /outside the container's mounts/);
  });
});

describe('the sandbox view', () => {
  test('sharing the host\'s pid namespace, /proc lists and opens only the container\'s own processes', async () => {
    const me = process.pid;
    const script = `ls /proc | grep -c "^[0-9]"; ls /proc | grep -qx ${me} && echo listed; cat /proc/${me}/cmdline > /dev/null 2>&1 || echo hidden; ` +
      'ps -o pid | tail -n +2 | wc -l; ls /proc/$$/ > /dev/null && echo own; find /proc -maxdepth 1 -name "[0-9]*" | wc -l';
    const b = bundle(['sh', '-c', script]);
    b.config.linux.namespaces = (b.config.linux.namespaces as { type: string }[]).filter((n) => n.type !== 'pid');
    b.write();
    const plain = runtime(RUNTIME).run(['run', '--bundle', b.dir, 'hostpidplain']);
    const [plainCount, plainListed] = plain.stdout.split('\n');
    assert.ok(Number(plainCount) > 20, `berth-runtime: the host's processes are listed (${plainCount})`);
    assert.equal(plainListed, 'listed', plain.stdout);
    const r = await runToEnd(runtime(SANDBOX), b, 'hostpid');
    const [count, hidden, ps, own, found] = r.stdout.split('\n');
    // its shells (runToEnd adds one) and a pipeline: a handful, where the host has a hundred or more
    assert.ok(Number(count) >= 2 && Number(count) <= 8, `only the container's processes are listed: ${r.stdout}`);
    assert.equal(hidden, 'hidden', `a host pid is neither listed nor opened: ${r.stdout}`);
    assert.ok(Number(ps) >= 2 && Number(ps) <= 8, `ps sees the container only: ${r.stdout}`);
    assert.equal(own, 'own');
    assert.ok(Number(found) >= 2 && Number(found) <= 8, `find's listing too: ${r.stdout}`);
  });

  test('uname, sysinfo and /proc/meminfo, /proc/uptime show the container, not the host', async () => {
    const b = bundle(['sh', '-c', 'uname -r; uname -s; hostname; uname -n; grep MemTotal /proc/meminfo; free | grep Mem: | awk "{ print \\$2 }"; cut -d" " -f1 /proc/uptime; cat /proc/loadavg']);
    b.config.linux.resources = { ...b.config.linux.resources, memory: { limit: 128 << 20 } };
    b.write();
    const r = await runToEnd(runtime(SANDBOX), b, 'view');
    const [release, sysname, hostname, nodename, memTotal, free, uptime, loadavg] = r.stdout.split('\n');
    assert.equal(release, SANDBOX_RELEASE);
    assert.equal(sysname, 'Linux');
    assert.equal(hostname, 'berth-test');
    assert.equal(nodename, 'berth-test');
    assert.match(memTotal!, /^MemTotal:\s+131072 kB$/);
    assert.ok(Number(free) === 131072 || Number(free) === 134217728, `free reports the limit: ${free}`);
    assert.ok(Number(uptime) < 30, `uptime counts from the container's start: ${uptime}`);
    assert.match(loadavg!, /^0\.00 0\.00 0\.00 1\/\d+ \d+$/);
    const plain = runtime(RUNTIME).run(['run', '--bundle', b.dir, 'viewplain']);
    assert.notEqual(plain.stdout.split('\n')[0], SANDBOX_RELEASE);
  });

  test('exec joins under its own supervisor; supervisors leave with their containers', async () => {
    const rt = runtime(SANDBOX);
    const b = bundle(['sleep', '300']);
    rt.ok(['create', '--bundle', b.dir, 'long']);
    rt.ok(['start', 'long']);
    assert.equal(supervisorsUnder(rt.root).length, 1);
    assert.equal(rt.ok(['exec', 'long', 'uname', '-r']), `${SANDBOX_RELEASE}\n`);
    const refused = rt.run(['exec', 'long', 'mount', '-t', 'tmpfs', 'none', '/tmp']);
    assert.notEqual(refused.code, 0);
    assert.match(readFileSync(join(rt.root, 'long', 'sandbox-audit.log'), 'utf8'), /"syscall":"mount"/);
    // the exec's supervisor left with the exec'd process
    for (let i = 0; i < 100 && supervisorsUnder(rt.root).length > 1; i++) await sleep(20);
    assert.equal(supervisorsUnder(rt.root).length, 1);
    rt.ok(['delete', '--force', 'long']);
    for (let i = 0; i < 100 && supervisorsUnder(rt.root).length > 0; i++) await sleep(20);
    assert.deepEqual(supervisorsUnder(rt.root), []);
  });

  test('a create that fails leaves no supervisor', async () => {
    const rt = runtime(SANDBOX);
    const b = bundle(['/nonexistent']);
    const r = rt.run(['create', '--bundle', b.dir, 'broken']);
    assert.notEqual(r.code, 0);
    for (let i = 0; i < 100 && supervisorsUnder(rt.root).length > 0; i++) await sleep(20);
    assert.deepEqual(supervisorsUnder(rt.root), []);
  });
});

describe('the Debian nginx image', () => {
  const tar = '/var/cache/berth-tests';
  const cached = existsSync(tar) && readdirSync(tar).some((f) => /^nginx-rootfs-.*\.tar$/.test(f));
  test('serves its page under both runtimes', { skip: cached ? false : 'no cached nginx rootfs (tests/helpers/nginx-image.ts builds it)' }, async () => {
    const { nginxRootfsTar } = await import('../helpers/nginx-image.js');
    const pages: string[] = [];
    for (const bin of [RUNTIME, SANDBOX]) {
      const port = 20000 + Math.floor(Math.random() * 20000);
      const b = bundle(['nginx', '-g', 'daemon off;']);
      rmSync(b.rootfs, { recursive: true, force: true });
      mkdirSync(b.rootfs);
      const x = spawnSync('tar', ['-xf', nginxRootfsTar(), '-C', b.rootfs], { encoding: 'utf8' });
      assert.equal(x.status, 0, x.stderr);
      const site = join(b.rootfs, 'etc/nginx/sites-available/default');
      writeFileSync(site, readFileSync(site, 'utf8').replace(/listen \[::\]:80 default_server;/, '').replace(/listen 80 default_server;/, `listen 127.0.0.1:${port} default_server;`));
      b.config.linux.namespaces = b.config.linux.namespaces.filter((n: { type: string }) => n.type !== 'network');
      const caps = ['CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_SETGID', 'CAP_SETUID', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE'];
      b.config.process.capabilities = { bounding: caps, effective: caps, permitted: caps };
      b.write();
      const rt = runtime(bin);
      rt.ok(['create', '--bundle', b.dir, 'nginx']);
      rt.ok(['start', 'nginx']);
      let page = '';
      for (let i = 0; i < 100 && !page; i++) {
        await sleep(50);
        try { page = await (await fetch(`http://127.0.0.1:${port}/`)).text(); } catch { /* not listening yet */ }
      }
      rt.ok(['delete', '--force', 'nginx']);
      pages.push(page);
    }
    assert.match(pages[0]!, /Welcome to nginx/);
    assert.equal(pages[1], pages[0]);
  });
});
