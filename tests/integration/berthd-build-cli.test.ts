/**
 * `berth build` beside `docker build` (DOCKER_BUILDKIT=0) against one
 * berthd: the same lines and the same image for a multi-stage Dockerfile
 * whose context a .dockerignore (`**`, `!`) trims; -q; -f - and a
 * Dockerfile or a tar on stdin; a failing RUN's exit code; --iidfile.
 * And the builder under load and abuse: two docker builds at once, a
 * build whose client is killed mid-RUN (nothing left once berthd
 * notices: container, context directory, mount), contexts cut short or
 * with a hard link to nothing (a 400, berthd alive, nothing left),
 * docker-compose 1.29 building a service and serving it.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pack } from 'tar-stream';
import { call, DOCKER, dockerOk, layout, skipBerthd, teardownBerthd, type Berthd, type Layout } from '../helpers/berthd.js';
import { freePort } from '../helpers/registry.js';
import { REPO } from '../helpers/runtime.js';
import { berthdWithBase, writeContext } from '../helpers/build.js';

const COMPOSE = '/usr/bin/docker-compose';
const skip = skipBerthd;
let dir: string;
let l: Layout;
let b: Berthd;

const BERTH = join(REPO, 'bin', 'berth');
const run = (bin: string, args: string[], input?: string | Buffer, cwd?: string): SpawnSyncReturns<string> => spawnSync(bin, ['-H', `unix://${l.sock}`, ...args], {
  encoding: 'utf8', timeout: 60_000, input, cwd, env: { ...process.env, DOCKER_BUILDKIT: '0', BERTH_NO_ZYGOTE: '1', DOCKER_CONFIG: join(dir, 'config') },
});
const docker = (args: string[], input?: string | Buffer, cwd?: string): SpawnSyncReturns<string> => run(DOCKER, ['build', ...args], input, cwd);
const berth = (args: string[], input?: string | Buffer, cwd?: string): SpawnSyncReturns<string> => run(BERTH, ['build', ...args], input, cwd);
const ok = (args: string[]): string => dockerOk(b.sock, args).trim();
/** Output with image and container IDs made comparable. */
const norm = (s: string): string => s.replace(/[0-9a-f]{64}/g, 'ID64').replace(/[0-9a-f]{12}/g, 'ID12');

const context = (name: string, files: Record<string, string>): string => writeContext(dir, name, files);

const MULTI = `ARG BASE=bb:1
FROM \${BASE} AS build
WORKDIR /src
COPY . ./
RUN find . | sort > /list.txt && echo listed
FROM bb:1
COPY --from=build /list.txt /list.txt
COPY keep/ /keep/
CMD ["cat", "/list.txt"]
`;

/** A context whose .dockerignore uses `**`, a directory exclusion with an exception, and ignores itself and the Dockerfile. */
const MULTI_FILES = {
  Dockerfile: MULTI, '.dockerignore': '# comment\n**/*.log\nsecret\ndocs\n!docs/keep.md\n.dockerignore\nDockerfile\n',
  'a.txt': 'a\n', 'x.log': 'l\n', 'deep/er/y.log': 'l\n', 'deep/er/z.txt': 'z\n', secret: 's\n', 'docs/keep.md': 'k\n', 'docs/drop.md': 'd\n', 'keep/k.txt': 'k\n',
};

before(async () => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), 'berth-h68-build-'));
  l = { ...layout(dir), execRoot: mkdtempSync('/run/bh') };
  b = await berthdWithBase(l, dir);
});

after(async () => {
  if (skip) return;
  assert.deepEqual(await teardownBerthd(b, l, dir), []);
});

test('berth build prints docker build\'s lines and makes the same image (multi-stage, .dockerignore)', { skip }, () => {
  const c = context('multi', MULTI_FILES);
  const d = docker(['--no-cache', '-t', 'multi:docker', c]);
  assert.equal(d.status, 0, d.stderr + d.stdout);
  const r = berth(['--no-cache', '-t', 'multi:berth', c]);
  assert.equal(r.status, 0, r.stderr + r.stdout);
  assert.equal(r.stderr, '');
  assert.match(r.stdout, /^Sending build context to Docker daemon {2}\d/);
  assert.equal(norm(r.stdout), norm(d.stdout).replace('Successfully tagged multi:docker', 'Successfully tagged multi:berth'), 'the same lines, the context\'s size included');
  // what COPY . saw: .dockerignore applied, the Dockerfile and .dockerignore sent but dropped as dockerd drops them
  const list = ok(['run', '--rm', 'multi:berth']);
  assert.equal(list, ok(['run', '--rm', 'multi:docker']));
  assert.equal(list, ['.', './a.txt', './deep', './deep/er', './deep/er/z.txt', './docs', './docs/keep.md', './keep', './keep/k.txt'].join('\n'));
  assert.equal(ok(['run', '--rm', 'multi:berth', 'cat', '/keep/k.txt']), 'k');
  // the same context again: every step cached (the COPY's key is the context's content), so the image is one of the two
  const again = berth(['-t', 'multi:again', c]);
  assert.equal(again.status, 0, again.stderr);
  assert.equal(again.stdout.split('\n').filter((x) => x === ' ---> Using cache').length, 6, again.stdout);
  const id = (t: string): string => ok(['image', 'inspect', '-f', '{{.Id}}', t]);
  assert.ok([id('multi:docker'), id('multi:berth')].includes(id('multi:again')));
});

test('-q prints only the image ID; --iidfile gets it as the docker CLI writes it', { skip }, () => {
  const c = context('quiet', { Dockerfile: 'FROM bb:1\nRUN echo noisy > /n\n' });
  const q = berth(['-q', '--iidfile', join(dir, 'iid-bq'), c]);
  assert.equal(q.status, 0, q.stderr);
  assert.match(q.stdout, /^sha256:[0-9a-f]{64}\n$/);
  assert.equal(q.stderr, '');
  const dq = docker(['-q', '--iidfile', join(dir, 'iid-dq'), c]);
  assert.equal(dq.stdout, q.stdout, 'the same build, the same ID (cached)');
  assert.equal(readFileSync(join(dir, 'iid-bq'), 'utf8'), readFileSync(join(dir, 'iid-dq'), 'utf8'));
  const plain = berth(['--iidfile', join(dir, 'iid-b'), c]);
  assert.equal(plain.status, 0, plain.stderr);
  docker(['--iidfile', join(dir, 'iid-d'), c]);
  assert.equal(readFileSync(join(dir, 'iid-b'), 'utf8'), q.stdout.trim(), 'without -q: the ID alone, no newline');
  assert.equal(readFileSync(join(dir, 'iid-b'), 'utf8'), readFileSync(join(dir, 'iid-d'), 'utf8'));
  // a failed build leaves no stale ID file behind
  const bad = context('quiet-bad', { Dockerfile: 'FROM bb:1\nRUN exit 2\n' });
  const f = berth(['-q', '--iidfile', join(dir, 'iid-b'), bad]);
  assert.equal(f.status, 2);
  assert.equal(f.stdout, '');
  assert.ok(f.stderr.includes('Step 2/2 : RUN exit 2'), 'quiet: the held-back output goes to stderr on failure');
  assert.ok(!existsSync(join(dir, 'iid-b')));
  ok(['container', 'prune', '-f']);
});

test('stdin: -f - with a directory, a Dockerfile alone, a tar', { skip }, () => {
  const c = context('stdin', { 'f.txt': 'from the context\n', Dockerfile: 'FROM bb:1\nCMD ["echo", "the wrong one"]\n', '.dockerignore': 'Dockerfile\n' });
  const df = 'FROM bb:1\nCOPY . /ctx/\nCMD ["sh", "-c", "cat /ctx/f.txt; ls -a /ctx | tr \'\\\\n\' \' \'"]\n';
  const r = berth(['-f', '-', '-t', 'stdin:1', c], df);
  assert.equal(r.status, 0, r.stderr + r.stdout);
  // dockerd drops the Dockerfile under its random name (the .dockerignore the CLI extended lists it); .dockerignore stays, not listed
  assert.equal(ok(['run', '--rm', 'stdin:1']), 'from the context\n. .. .dockerignore f.txt');
  const d = docker(['-f', '-', '-t', 'stdin:d', c], df);
  assert.equal(d.status, 0, d.stderr + d.stdout);
  assert.equal(norm(r.stdout).replace(/Sending build context[^\n]*\n/, ''), norm(d.stdout).replace(/Sending build context[^\n]*\n/, '').replace('stdin:d', 'stdin:1'));
  const alone = berth(['-t', 'stdin:2', '-'], 'FROM bb:1\nCMD ["echo", "alone"]\n');
  assert.equal(alone.status, 0, alone.stderr);
  assert.ok(alone.stdout.startsWith('Sending build context to Docker daemon  2.048kB\r\r\n'), JSON.stringify(alone.stdout.slice(0, 60)));
  assert.equal(ok(['run', '--rm', 'stdin:2']), 'alone');
  const tar = spawnSync('tar', ['-C', c, '-cf', '-', '.'], { maxBuffer: 1 << 20 }).stdout;
  const t = berth(['-t', 'stdin:3', '-f', 'Dockerfile', '-'], tar);
  assert.equal(t.status, 0, t.stderr);
  assert.equal(ok(['run', '--rm', 'stdin:3']), 'the wrong one');
  const both = berth(['-f', '-', '-'], '');
  assert.equal(both.status, 1);
  assert.equal(both.stderr, "invalid argument: can't use stdin for both build context and dockerfile\n");
  const none = berth([join(dir, 'nowhere')]);
  assert.equal(none.status, 1);
  assert.equal(none.stderr, `unable to prepare context: path "${join(dir, 'nowhere')}" not found\n`);
});

test('a failing RUN: the docker CLI\'s exit code and message; daemon refusals exit 1', { skip }, () => {
  const c = context('fail', { Dockerfile: 'FROM bb:1\nRUN echo out; echo err >&2; exit 3\n', 'Dockerfile.bad': 'FROM bb:1\nFOO bar\n' });
  const r = berth(['--force-rm', c]);
  const d = docker(['--force-rm', c]);
  assert.equal(r.status, 3);
  assert.equal(d.status, 3);
  assert.ok(r.stdout.includes('out\n'), r.stdout);
  assert.equal(r.stderr, "The command '/bin/sh -c echo out; echo err >&2; exit 3' returned a non-zero code: 3\n");
  assert.equal(norm(r.stdout), norm(d.stdout));
  const bad = berth(['-f', join(c, 'Dockerfile.bad'), c]);
  assert.equal(bad.status, 1);
  assert.equal(bad.stderr, 'Error response from daemon: dockerfile parse error line 2: unknown instruction: FOO\n');
  assert.equal(ok(['ps', '-aq']), '');
});

/** A command run in the background: its output so far, and its end. */
function background(bin: string, args: string[]): { out: () => string; done: Promise<number | null>; pid: number } {
  const p = spawn(bin, ['-H', `unix://${l.sock}`, ...args], { env: { ...process.env, DOCKER_BUILDKIT: '0', BERTH_NO_ZYGOTE: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  p.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  p.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
  return { out: () => out, done: new Promise((res) => p.on('close', (code) => res(code))), pid: p.pid! };
}

async function until(what: string, cond: () => boolean, ms = 20_000, state: () => string = () => ''): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} ${state()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('two docker builds at once, of different Dockerfiles, are both right', { skip }, async () => {
  const one = context('par1', { Dockerfile: 'FROM bb:1\nRUN sleep 1; echo one > /id\nCMD ["cat", "/id"]\n' });
  const two = context('par2', { Dockerfile: 'FROM bb:1\nCOPY f /f\nRUN sleep 1; cat /f > /id\nCMD ["cat", "/id"]\n', f: 'two\n' });
  const a = background(DOCKER, ['build', '-t', 'par:1', one]);
  const c = background(BERTH, ['build', '-t', 'par:2', two]);
  assert.equal(await a.done, 0, a.out());
  assert.equal(await c.done, 0, c.out());
  assert.equal(ok(['run', '--rm', 'par:1']), 'one');
  assert.equal(ok(['run', '--rm', 'par:2']), 'two');
  assert.equal(ok(['ps', '-aq']), '');
});

/** Mounts that belong to this berthd (its data root and exec root). */
const ourMounts = (): string[] => readFileSync('/proc/self/mounts', 'utf8').split('\n').map((x) => x.split(' ')[1] ?? '')
  .filter((m) => m.startsWith(`${l.dataRoot}/`) || m.startsWith(`${l.execRoot}/`));

test('a build whose client is killed mid-RUN leaves no container, context or mount behind', { skip }, async () => {
  const before = ourMounts();
  const c = context('cancel', { Dockerfile: 'FROM bb:1\nRUN echo started; sleep 30\n', big: 'x'.repeat(1 << 16) });
  for (const bin of [DOCKER, BERTH]) {
    const p = background(bin, ['build', c]);
    await until('the RUN to start', () => p.out().includes('\nstarted\n'));
    assert.equal(ok(['ps', '-aq']).split('\n').length, 1, 'the RUN container exists');
    assert.equal(readdirSync(join(l.dataRoot, 'builder')).length, 1, 'the context is unpacked');
    process.kill(p.pid, 'SIGKILL');
    await p.done;
    await until('berthd to clean up', () => ok(['ps', '-aq']) === '' && readdirSync(join(l.dataRoot, 'builder')).length === 0
      && ourMounts().length === before.length, 15_000,
    () => JSON.stringify({ ps: ok(['ps', '-a']), ctx: readdirSync(join(l.dataRoot, 'builder')), before, mounts: ourMounts(), out: p.out() }));
    assert.deepEqual(ourMounts(), before);
  }
});

/** A tar of these entries (a `link` entry is a hard link to its text). */
async function tarOf(entries: [string, string, 'file' | 'link'][]): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  const read = (async () => { for await (const c of p) chunks.push(c as Buffer); })();
  for (const [name, text, type] of entries) {
    await new Promise<void>((res, rej) => { if (type === 'link') p.entry({ name, type, linkname: text }, (e) => (e ? rej(e) : res())); else p.entry({ name }, text, (e) => (e ? rej(e) : res())); });
  }
  p.finalize();
  await read;
  return Buffer.concat(chunks);
}

test('a context cut short or linking to nothing: a 400 at once, berthd alive, nothing left', { skip }, async () => {
  const df: [string, string, 'file'][] = [['Dockerfile', 'FROM bb:1\nCOPY . /x/\n', 'file']];
  const whole = await tarOf([...df, ['big', 'z'.repeat(5000), 'file']]);
  const bodies = {
    cut: whole.subarray(0, 1024 + 512 + 2000),
    link: await tarOf([...df, ['h', 'nothere', 'link']]),
  };
  for (const [what, body] of Object.entries(bodies)) {
    const r = await call(b.sock, 'POST', '/v1.47/build?dockerfile=Dockerfile', body as unknown as string, { 'Content-Type': 'application/x-tar' });
    assert.equal(r.status, 400, `${what}: ${r.body}`);
    assert.match(r.body, what === 'cut' ? /Unexpected end of data/ : /hard link h to nothere/);
  }
  assert.equal((await call(b.sock, 'GET', '/_ping')).status, 200);
  assert.deepEqual(readdirSync(join(l.dataRoot, 'builder')), []);
  // a file under a directory the archive leaves out, and a file where a directory comes later: built
  const odd = await tarOf([...df, ['docs/keep.md', 'k', 'file'], ['a', 'x', 'file'], ['a/b', 'y', 'file']]);
  const r = await call(b.sock, 'POST', '/v1.47/build?dockerfile=Dockerfile&t=odd:1', odd as unknown as string, { 'Content-Type': 'application/x-tar' });
  assert.equal(r.status, 200);
  assert.match(r.body, /Successfully tagged odd:1/);
  assert.equal(ok(['run', '--rm', 'odd:1', 'cat', '/x/docs/keep.md', '/x/a/b']), 'ky');
});

test('docker-compose 1.29 builds a service and brings it up serving', { skip: skip || (!existsSync(COMPOSE) ? `needs ${COMPOSE}` : false) }, async () => {
  const port = await freePort();
  const c = context('compose', {
    'docker-compose.yml': `version: "3.8"\nservices:\n  web:\n    build:\n      context: ./web\n      args:\n        PAGE: built by compose\n    image: berthbuild_web:latest\n    stop_grace_period: 1s\n    ports: ["127.0.0.1:${port}:80"]\n`,
    'web/Dockerfile': 'FROM bb:1\nARG PAGE\nRUN mkdir /www && echo "$PAGE" > /www/index.html\nCMD ["httpd", "-f", "-p", "80", "-h", "/www"]\n',
    'web/.dockerignore': 'junk\n', 'web/junk': 'j\n',
  });
  const compose = (args: string[]): SpawnSyncReturns<string> => spawnSync(COMPOSE, ['-p', 'berthbuild', ...args], {
    cwd: c, encoding: 'utf8', timeout: 120_000, env: { ...process.env, DOCKER_HOST: `unix://${l.sock}`, COMPOSE_INTERACTIVE_NO_CLI: '1' },
  });
  try {
    const built = compose(['build', 'web']);
    assert.equal(built.status, 0, built.stdout + built.stderr);
    assert.match(built.stdout + built.stderr, /Successfully tagged berthbuild_web:latest/);
    const up = compose(['up', '-d', 'web']);
    assert.equal(up.status, 0, up.stdout + up.stderr);
    let page = '';
    await until('the page', () => {
      get(`http://127.0.0.1:${port}/`, (res) => { let s = ''; res.on('data', (d: Buffer) => { s += d.toString(); }); res.on('end', () => { page = s; }); }).on('error', () => undefined);
      return page === 'built by compose\n';
    });
  } finally {
    const down = compose(['down', '-t', '1']);
    assert.equal(down.status, 0, down.stdout + down.stderr);
  }
  assert.equal(ok(['ps', '-aq']), '');
});
