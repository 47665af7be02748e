/**
 * The docker CLI compatibility table: the commands docker users type, run
 * by the real docker CLI 28 against berthd, each row checking what the
 * command prints (not only its exit code). The same table then runs with
 * bin/berth in place of docker. Each CLI gets its own berthd (private
 * data-root, exec-root and core); one local docker-registry serves pull and
 * push. Web pages are fetched from 127.0.0.1 only.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { networkInstance } from '../../src/daemon/network/setup.js';
import { busyboxTar, corePids, DOCKER, layout, leftovers, ready, skipBerthd, spawnBerthd, stop, type Berthd, type Layout } from '../helpers/berthd.js';
import { freePort, registrySkip, startRegistry, type TestRegistry } from '../helpers/registry.js';
import { REPO } from '../helpers/runtime.js';

const BERTH = join(REPO, 'bin', 'berth');
const skip = skipBerthd || registrySkip;
/** BERTH_COMPAT_CLI=docker|berth runs one of the two tables */
const CLIS = [{ name: 'docker', bin: DOCKER }, { name: 'berth', bin: BERTH }].filter((c) => (process.env.BERTH_COMPAT_CLI ?? c.name) === c.name);

let registry: TestRegistry | undefined;
before(async () => { if (!skip) registry = await startRegistry('anonymous'); });
after(async () => { await registry?.stop(); });

/** The busybox image both engines get, with a nobody user. */
const busyboxImage = (dir: string): string => busyboxTar(dir, {
  'etc/passwd': 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/sh\n',
  'etc/group': 'root:x:0:\nnogroup:x:65534:\n',
});

/** Types into a command on a real pty once its prompt appears; its output and exit code. */
function onPty(dir: string, argv: string[], typed: string, expect: string): { out: string; status: number | null } {
  const script = join(dir, 'drive-tty.py');
  writeFileSync(script, [
    'import os, pty, sys, time, select',
    'pid, fd = pty.fork()',
    'if pid == 0:',
    '    os.execv(sys.argv[1], sys.argv[1:])',
    'out = b""',
    'def read_until(token, timeout):',
    '    global out',
    '    end = time.time() + timeout',
    '    while token not in out and time.time() < end:',
    '        r, _, _ = select.select([fd], [], [], 0.2)',
    '        if r:',
    '            try: out += os.read(fd, 4096)',
    '            except OSError: return',
    'read_until(b"#", 20)',
    `os.write(fd, ${JSON.stringify(typed)}.encode())`,
    `read_until(${JSON.stringify(expect)}.encode(), 20)`,
    'read_until(b"\\x00never", 3)',
    '_, status = os.waitpid(pid, 0)',
    'sys.stdout.write(out.decode(errors="replace"))',
    'sys.exit(os.waitstatus_to_exitcode(status))',
  ].join('\n'));
  const r = spawnSync('python3', [script, ...argv], { encoding: 'utf8', timeout: 60_000 });
  return { out: r.stdout + r.stderr, status: r.status };
}

async function fetchPage(url: string, timeoutMs = 10_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url);
      return await res.text();
    } catch (err) { last = err; }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not answer: ${String(last)}`);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

for (const cli of CLIS) {
  describe(`${cli.name} CLI against berthd`, { skip }, () => {
    let dir: string;
    let l: Layout;
    let b: Berthd;
    const run = (args: string[], input?: string): SpawnSyncReturns<string> =>
      spawnSync(cli.bin, ['-H', `unix://${l.sock}`, ...args], { encoding: 'utf8', input, timeout: 60_000 });
    const ok = (args: string[], input?: string): string => {
      const r = run(args, input);
      assert.equal(r.status, 0, `${cli.name} ${args.join(' ')}: ${r.stderr}`);
      return r.stdout;
    };
    const argv = (args: string[]): string[] => [cli.bin, '-H', `unix://${l.sock}`, ...args];

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), `compat-${cli.name}-`));
      // a short exec-root: console sockets under it must fit in sun_path
      l = { ...layout(dir), execRoot: mkdtempSync('/run/bc') };
      b = await ready(spawnBerthd(l));
      const out = ok(['import', '-c', 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', '-c', 'CMD ["sh"]', busyboxImage(dir), 'busybox:latest']);
      assert.match(out, /^sha256:[0-9a-f]{64}\n$/);
    });

    after(async () => {
      const ids = run(['ps', '-aq']).stdout.split('\n').filter((x) => x !== '');
      if (ids.length > 0) run(['rm', '-f', ...ids]);
      run(['network', 'prune', '-f']);
      await stop(b);
      for (const pid of corePids(l)) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
      await sleep(300);
      const inst = networkInstance(l.execRoot);
      for (const t of [`inet ${inst.table}`, `ip ${inst.table}-nat`, `bridge ${inst.table}`]) spawnSync('nft', ['delete', 'table', ...t.split(' ')]);
      spawnSync('ip', ['link', 'del', inst.bridge]);
      spawnSync('sh', ['-c', `grep -oE ' (${dir}|${l.execRoot})[^ ]*' /proc/mounts | sort -r | xargs -r -n1 umount -l`]);
      assert.deepEqual(leftovers(l), [], 'processes left behind');
      rmSync(dir, { recursive: true, force: true });
      rmSync(l.execRoot, { recursive: true, force: true });
    });

    test('run -d -p 127.0.0.1:P:80 a web server; its page answers on 127.0.0.1:P', async () => {
      const port = await freePort();
      const id = ok(['run', '-d', '--name', 'web', '-p', `127.0.0.1:${port}:80`, 'busybox',
        'sh', '-c', 'mkdir -p /www && echo "compat page" > /www/index.html && exec httpd -f -p 80 -h /www']).trim();
      assert.match(id, /^[0-9a-f]{64}$/);
      assert.equal(await fetchPage(`http://127.0.0.1:${port}/`), 'compat page\n');
      assert.equal(ok(['port', 'web', '80']).trim(), `127.0.0.1:${port}`);
      assert.match(ok(['ps', '--format', '{{.Names}} {{.Ports}}']), new RegExp(`^web 127\\.0\\.0\\.1:${port}->80/tcp$`, 'm'));
    });

    test('run --rm -it busybox sh through a pty: a typed command answers 42, exit 5 reaches the CLI', () => {
      const r = onPty(dir, argv(['run', '--rm', '-it', 'busybox', 'sh']), 'echo $((6*7))-answer; exit 5\r', '42-answer\r\n');
      assert.match(r.out, /42-answer\r\n/);
      assert.equal(r.status, 5, r.out);
    });

    test('logs -f streams lines written after it started', async () => {
      ok(['run', '-d', '--name', 'talker', 'busybox', 'sh', '-c', 'i=0; while true; do echo line $i; i=$((i+1)); sleep 0.1; done']);
      await sleep(500);
      const f = spawn(cli.bin, ['-H', `unix://${l.sock}`, 'logs', '-f', 'talker']);
      let seen = '';
      f.stdout.on('data', (c: Buffer) => { seen += c.toString(); });
      await sleep(1000);
      const early = seen.split('\n').filter((x) => x !== '').length;
      await sleep(1000);
      f.kill();
      const lines = seen.split('\n').filter((x) => x !== '');
      assert.ok(lines.length > early + 4, `new lines followed: ${early} then ${lines.length}`);
      assert.deepEqual(lines.slice(0, 3), ['line 0', 'line 1', 'line 2']);
      assert.ok(lines.every((x, i) => x === `line ${i}`), seen);
      ok(['rm', '-f', 'talker']);
    });

    test('exec -it through a pty; exec exit code', () => {
      ok(['run', '-d', '--name', 'box', 'busybox', 'sleep', '600']);
      const r = onPty(dir, argv(['exec', '-it', 'box', 'sh']), 'echo $((7*6))-inside; exit 3\r', '42-inside\r\n');
      assert.match(r.out, /42-inside\r\n/);
      assert.equal(r.status, 3, r.out);
      const e = run(['exec', 'box', 'sh', '-c', 'echo x; exit 7']);
      assert.equal(e.status, 7);
      assert.equal(e.stdout, 'x\n');
    });

    test('cp into and out of a container', () => {
      const src = join(dir, 'in.txt');
      writeFileSync(src, 'copied in\n');
      ok(['cp', src, 'box:/tmp/in.txt']);
      assert.equal(ok(['exec', 'box', 'cat', '/tmp/in.txt']), 'copied in\n');
      ok(['exec', 'box', 'sh', '-c', 'echo made inside > /tmp/out.txt']);
      const back = join(dir, 'out.txt');
      ok(['cp', 'box:/tmp/out.txt', back]);
      assert.equal(readFileSync(back, 'utf8'), 'made inside\n');
    });

    test('stats --no-stream prints the container with a memory usage', () => {
      const out = ok(['stats', '--no-stream', '--format', '{{.Name}}|{{.CPUPerc}}|{{.MemUsage}}|{{.PIDs}}', 'box']);
      assert.match(out, /^box\|\d+\.\d\d%\|[\d.]+[KMG]?i?B \/ [\d.]+[KMGT]?i?B\|\d+\n$/);
      const table = ok(['stats', '--no-stream', 'box']);
      assert.match(table.split('\n')[0]!, /^CONTAINER ID\s+NAME\s+CPU %\s+MEM USAGE \/ LIMIT\s+MEM %\s+NET I\/O\s+BLOCK I\/O\s+PIDS$/);
    });

    test('events shows a container being created, started and dying', async () => {
      const ev = spawn(cli.bin, ['-H', `unix://${l.sock}`, 'events', '--filter', 'container=evt', '--format', '{{.Type}} {{.Action}} {{.Actor.Attributes.name}}']);
      let seen = '';
      ev.stdout.on('data', (c: Buffer) => { seen += c.toString(); });
      await sleep(500);
      ok(['run', '--name', 'evt', 'busybox', 'true']);
      const deadline = Date.now() + 5000;
      while (!seen.includes('die') && Date.now() < deadline) await sleep(100);
      ev.kill();
      const actions = seen.split('\n').filter((x) => x !== '');
      for (const a of ['create', 'start', 'die']) assert.ok(actions.includes(`container ${a} evt`), `${a} in: ${seen}`);
      assert.ok(actions.indexOf('container create evt') < actions.indexOf('container start evt'));
      assert.ok(actions.indexOf('container start evt') < actions.indexOf('container die evt'));
    });

    test('inspect: State.Status, State.ExitCode, NetworkSettings.IPAddress, Mounts', () => {
      assert.equal(run(['run', '--name', 'ex3', 'busybox', 'sh', '-c', 'exit 3']).status, 3);
      assert.equal(ok(['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}}', 'ex3']), 'exited 3\n');
      ok(['run', '-d', '--name', 'mnt', '-v', 'compatvol:/data', '-v', `${dir}:/host:ro`, 'busybox', 'sleep', '600']);
      assert.equal(ok(['inspect', '-f', '{{.State.Status}} {{.State.Running}} {{.State.ExitCode}}', 'mnt']), 'running true 0\n');
      assert.match(ok(['inspect', '-f', '{{.NetworkSettings.IPAddress}}', 'mnt']), /^\d+\.\d+\.\d+\.\d+\n$/);
      const mounts = JSON.parse(ok(['inspect', '-f', '{{json .Mounts}}', 'mnt'])) as Array<Record<string, unknown>>;
      const byDest = new Map(mounts.map((m) => [m.Destination, m]));
      assert.equal(byDest.get('/data')?.Type, 'volume');
      assert.equal(byDest.get('/data')?.Name, 'compatvol');
      assert.equal(byDest.get('/data')?.RW, true);
      assert.equal(byDest.get('/host')?.Type, 'bind');
      assert.equal(byDest.get('/host')?.Source, dir);
      assert.equal(byDest.get('/host')?.RW, false);
      const full = JSON.parse(ok(['inspect', 'mnt'])) as Array<{ Name: string; Config: { Image: string } }>;
      assert.equal(full.length, 1);
      assert.equal(full[0]!.Name, '/mnt');
      assert.equal(full[0]!.Config.Image, 'busybox');
    });

    test('ps filters: name, status, label, ancestor; -q; -a', () => {
      ok(['run', '-d', '--name', 'lab', '-l', 'tier=front', 'busybox', 'sleep', '600']);
      assert.equal(ok(['ps', '--filter', 'name=lab', '--format', '{{.Names}} {{.Status}}']).replace(/Up .*$/m, 'Up'), 'lab Up\n');
      assert.equal(ok(['ps', '--filter', 'label=tier=front', '--format', '{{.Names}} {{.Label "tier"}}']), 'lab front\n');
      const exited = ok(['ps', '-a', '--filter', 'status=exited', '--format', '{{.Names}}']).split('\n').filter(Boolean).sort();
      assert.deepEqual(exited, ['evt', 'ex3']);
      assert.match(ok(['ps', '-a', '--filter', 'exited=3', '--format', '{{.Names}} {{.Status}}']), /^ex3 Exited \(3\) .+ ago\n$/);
      const running = ok(['ps', '--format', '{{.Names}}']).split('\n').filter(Boolean).sort();
      assert.deepEqual(running, ['box', 'lab', 'mnt', 'web']);
      assert.equal(ok(['ps', '-q', '--filter', 'ancestor=busybox']).split('\n').filter(Boolean).length, 4);
      assert.ok(ok(['ps', '-q']).split('\n').filter(Boolean).every((x) => /^[0-9a-f]{12}$/.test(x)));
    });

    test('rename, restart, pause and unpause', async () => {
      ok(['rename', 'lab', 'lab2']);
      assert.equal(ok(['ps', '--filter', 'name=lab2', '--format', '{{.Names}}']), 'lab2\n');
      assert.equal(run(['inspect', 'lab']).status, 1);
      const started = ok(['inspect', '-f', '{{.State.StartedAt}}', 'lab2']);
      const pid = ok(['inspect', '-f', '{{.State.Pid}}', 'lab2']);
      await sleep(50);
      assert.equal(ok(['restart', '-t', '1', 'lab2']), 'lab2\n');
      assert.equal(ok(['inspect', '-f', '{{.State.Status}}', 'lab2']), 'running\n');
      assert.notEqual(ok(['inspect', '-f', '{{.State.StartedAt}}', 'lab2']), started);
      assert.notEqual(ok(['inspect', '-f', '{{.State.Pid}}', 'lab2']), pid);
      assert.equal(ok(['pause', 'lab2']), 'lab2\n');
      assert.equal(ok(['inspect', '-f', '{{.State.Status}} {{.State.Paused}}', 'lab2']), 'paused true\n');
      assert.match(ok(['ps', '--filter', 'name=lab2', '--format', '{{.Status}}']), /\(Paused\)/);
      assert.equal(ok(['unpause', 'lab2']), 'lab2\n');
      assert.equal(ok(['inspect', '-f', '{{.State.Status}} {{.State.Paused}}', 'lab2']), 'running false\n');
    });

    test('volume create, ls, inspect, rm; a volume keeps data between containers', () => {
      assert.equal(ok(['volume', 'create', 'keep']), 'keep\n');
      assert.match(ok(['volume', 'ls', '--format', '{{.Driver}} {{.Name}}']), /^local keep$/m);
      assert.match(ok(['volume', 'ls', '-q']), /^compatvol$/m);
      const v = JSON.parse(ok(['volume', 'inspect', 'keep'])) as Array<{ Name: string; Driver: string; Mountpoint: string }>;
      assert.equal(v[0]!.Name, 'keep');
      assert.equal(v[0]!.Driver, 'local');
      assert.ok(v[0]!.Mountpoint.startsWith(l.dataRoot), v[0]!.Mountpoint);
      ok(['run', '--rm', '-v', 'keep:/k', 'busybox', 'sh', '-c', 'echo kept > /k/f']);
      assert.equal(ok(['run', '--rm', '-v', 'keep:/k', 'busybox', 'cat', '/k/f']), 'kept\n');
      assert.equal(ok(['volume', 'rm', 'keep']), 'keep\n');
      assert.doesNotMatch(ok(['volume', 'ls', '-q']), /^keep$/m);
      const inUse = run(['volume', 'rm', 'compatvol']);
      assert.notEqual(inUse.status, 0);
      assert.match(inUse.stderr, /in use/);
    });

    test('network create, ls, inspect, connect, rm; containers on it reach each other by name', () => {
      const id = ok(['network', 'create', '--subnet', '10.213.7.0/24', 'compatnet']).trim();
      assert.match(id, /^[0-9a-f]{64}$/);
      assert.match(ok(['network', 'ls', '--format', '{{.Name}} {{.Driver}}']), /^compatnet bridge$/m);
      assert.equal(ok(['network', 'inspect', '-f', '{{range .IPAM.Config}}{{.Subnet}}{{end}}', 'compatnet']), '10.213.7.0/24\n');
      ok(['network', 'connect', 'compatnet', 'web']);
      assert.match(ok(['inspect', '-f', '{{.NetworkSettings.Networks.compatnet.IPAddress}}', 'web']), /^10\.213\.7\.\d+\n$/);
      assert.equal(ok(['run', '--rm', '--network', 'compatnet', 'busybox', 'wget', '-q', '-O', '-', 'http://web/']), 'compat page\n');
      ok(['network', 'disconnect', 'compatnet', 'web']);
      assert.equal(ok(['network', 'rm', 'compatnet']), 'compatnet\n');
      assert.doesNotMatch(ok(['network', 'ls', '--format', '{{.Name}}']), /compatnet/);
    });

    test('images, tag, push to and pull from a local registry, rmi', () => {
      assert.match(ok(['images', '--format', '{{.Repository}}:{{.Tag}}']), /^busybox:latest$/m);
      const bbId = ok(['images', '-q', 'busybox']).trim();
      assert.match(bbId, /^[0-9a-f]{12}$/);
      const ref = `${registry!.host}/compat/${cli.name}:1`;
      ok(['tag', 'busybox', ref]);
      // one row: the digests of busybox's own repository are not shown under this reference
      assert.equal(ok(['images', '-q', ref]), `${bbId}\n`);
      const pushed = ok(['push', ref]);
      assert.match(pushed, /^1: digest: sha256:[0-9a-f]{64} size: \d+$/m);
      assert.match(ok(['rmi', ref]), new RegExp(`^Untagged: ${ref.replace(/[.]/g, '\\.')}$`, 'm'));
      assert.equal(ok(['images', '-q', ref]), '');
      const pulled = ok(['pull', ref]);
      assert.match(pulled, new RegExp(`Status: Downloaded newer image for ${ref.replace(/[.]/g, '\\.')}\n`));
      assert.match(pulled, new RegExp(`\n${ref.replace(/[.]/g, '\\.')}\n$`));
      assert.equal(ok(['run', '--rm', ref, 'echo', 'from the registry']), 'from the registry\n');
      assert.match(ok(['images', '--digests', '--format', '{{.Repository}}:{{.Tag}} {{.Digest}}', ref]), /:1 sha256:[0-9a-f]{64}\n$/);
      ok(['rmi', ref]);
      const gone = run(['rmi', 'no-such-image:9']);
      assert.equal(gone.status, 1);
      assert.match(gone.stderr, /No such image: no-such-image:9/);
    });

    test('save | load, import and export', () => {
      ok(['tag', 'busybox', 'saved:1']);
      const archive = join(dir, 'saved.tar');
      ok(['save', '-o', archive, 'saved:1']);
      const listing = spawnSync('tar', ['-tf', archive], { encoding: 'utf8' }).stdout;
      assert.match(listing, /^manifest\.json$/m);
      assert.match(listing, /^index\.json$/m);
      ok(['rmi', 'saved:1']);
      assert.equal(ok(['load', '-i', archive]), 'Loaded image: saved:1\n');
      assert.match(ok(['images', '--format', '{{.Repository}}:{{.Tag}}']), /^saved:1$/m);
      // the pipe form: save to stdout, load from stdin
      const piped = spawnSync('sh', ['-c', `'${cli.bin}' -H unix://${l.sock} save saved:1 | '${cli.bin}' -H unix://${l.sock} load`], { encoding: 'utf8', timeout: 60_000 });
      assert.equal(piped.status, 0, piped.stderr);
      assert.match(piped.stdout, /Loaded image: saved:1\n$/);
      // export a container's filesystem, import it as an image, run it
      ok(['run', '--name', 'marked', 'busybox', 'sh', '-c', 'echo exported > /marker']);
      const exported = join(dir, 'exported.tar');
      ok(['export', '-o', exported, 'marked']);
      assert.match(spawnSync('tar', ['-tf', exported], { encoding: 'utf8' }).stdout, /^(\.\/)?marker$/m);
      assert.match(ok(['import', exported, 'imported:1']), /^sha256:[0-9a-f]{64}\n$/);
      assert.equal(ok(['run', '--rm', 'imported:1', '/bin/cat', '/marker']), 'exported\n');
    });

    test('system df, version, info', () => {
      const df = ok(['system', 'df']).split('\n');
      assert.match(df[0]!, /^TYPE\s+TOTAL\s+ACTIVE\s+SIZE\s+RECLAIMABLE$/);
      assert.match(df[1]!, /^Images\s+\d+\s+\d+\s+[\d.]+k?[kMG]?B\s+/);
      assert.match(df[2]!, /^Containers\s+\d+\s+\d+\s+/);
      assert.match(df[3]!, /^Local Volumes\s+1\s+1\s+/);
      assert.match(df[4]!, /^Build Cache\s+0\s+0\s+0B\s+0B$/);
      const v = ok(['version', '--format', '{{.Server.APIVersion}} {{.Server.Os}}/{{.Server.Arch}}']);
      assert.match(v, /^1\.4[1-7] linux\/amd64\n$/);
      const info = ok(['info', '--format', '{{.Containers}} {{.ContainersRunning}} {{.ContainersPaused}} {{.Driver}} {{.OSType}}']);
      const [all, running, paused, driver, os] = info.trim().split(' ');
      assert.equal(Number(running), 4);
      assert.equal(Number(paused), 0);
      assert.ok(Number(all) >= 7, info);
      assert.ok(driver !== '', info);
      assert.equal(os, 'linux');
      const human = ok(['info']);
      assert.match(human, /^Server:$/m);
      assert.match(human, / Containers: \d+$/m);
    });
  });
}
