/**
 * berthd's frame, end to end: bin/berthd on a temp socket, data-root and
 * exec-root (its own berth-core, started by it), driven by the real docker
 * CLI and by plain HTTP: version negotiation, /info, /_ping headers, JSON
 * errors, /events with since/until (live and replayed), /system/df, /auth
 * against a real registry with htpasswd, the pid file, TLS on tcp, and the
 * daemon's restarts: kill -9 and SIGTERM leave the core running and the
 * next berthd uses it. Nothing is left behind.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { alive } from '../helpers/core.js';
import { call, corePids, docker, DOCKER, layout, leftovers, ready, skipBerthd, spawnBerthd, stop, type Berthd } from '../helpers/berthd.js';

const REGISTRY = '/usr/bin/docker-registry';
const skip = skipBerthd || (!existsSync(DOCKER) ? 'needs the docker CLI' : false);

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

function run(cmd: string, args: string[], cwd: string): void {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8' });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')}: ${r.stderr}`);
}

/** A CA, a server certificate for 127.0.0.1 and a client certificate, made with openssl. */
function makeCerts(dir: string): void {
  mkdirSync(dir, { recursive: true });
  const o = (...a: string[]): void => run('openssl', a, dir);
  o('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca-key.pem', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=berth-test-ca');
  o('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server-key.pem', '-out', 'server.csr', '-subj', '/CN=127.0.0.1');
  writeFileSync(join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  o('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca-key.pem', '-CAcreateserial', '-out', 'server-cert.pem', '-days', '1', '-extfile', 'server.ext');
  o('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'key.pem', '-out', 'client.csr', '-subj', '/CN=client');
  writeFileSync(join(dir, 'client.ext'), 'extendedKeyUsage=clientAuth\n');
  o('x509', '-req', '-in', 'client.csr', '-CA', 'ca.pem', '-CAkey', 'ca-key.pem', '-CAcreateserial', '-out', 'cert.pem', '-days', '1', '-extfile', 'client.ext');
}

const nowSeconds = (): number => Date.now() / 1000;

describe('berthd base', { skip, timeout: 120_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-berthd-'));
  const l = layout(dir);
  const configFile = join(dir, 'daemon.json');
  const dockerEnv = { DOCKER_CONFIG: join(dir, 'docker-config') };
  let b: Berthd;
  let daemonId = '';
  let registry: ChildProcess | undefined;

  before(async () => {
    writeFileSync(configFile, JSON.stringify({ 'log-level': 'info' }));
    b = await ready(spawnBerthd(l, ['--config-file', configFile]));
  });

  after(async () => {
    if (b) await stop(b, 'SIGKILL');
    registry?.kill('SIGKILL');
    for (const pid of corePids(l)) process.kill(pid, 'SIGKILL');
    // anything else still running under the test's directory is a leak: reported below, then killed
    const leaked = leftovers(l).filter((p) => !corePids(l).includes(p));
    for (const pid of leaked) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
    const deadline = Date.now() + 5000;
    while (leftovers(l).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const left = leftovers(l);
    rmSync(dir, { recursive: true, force: true });
    assert.deepEqual([...leaked, ...left], [], 'no process left running');
  });

  test('the docker CLI negotiates 1.47 and reads /version and /info', () => {
    const v = docker(l.sock, ['version'], dockerEnv);
    assert.equal(v.status, 0, v.stderr);
    assert.match(v.stdout, /Server: Berth Engine/);
    assert.match(v.stdout, /API version:\s+1\.47 \(minimum version 1\.41\)/);
    const i = docker(l.sock, ['info', '--format', '{{.ServerVersion}} {{.OSType}} {{.DefaultRuntime}} {{.LiveRestoreEnabled}} {{.DockerRootDir}}'], dockerEnv);
    assert.equal(i.status, 0, i.stderr);
    assert.equal(i.stdout.trim(), `0.1.0 linux berth-runtime true ${l.dataRoot}`);
    daemonId = docker(l.sock, ['info', '--format', '{{.ID}}'], dockerEnv).stdout.trim();
    assert.match(daemonId, /^[0-9a-f-]{36}$/);
  });

  test('/_ping answers GET and HEAD with the negotiation headers', async () => {
    for (const method of ['GET', 'HEAD']) {
      const a = await call(l.sock, method, '/_ping');
      assert.equal(a.status, 200);
      assert.equal(a.body, method === 'GET' ? 'OK' : '');
      assert.equal(a.headers['api-version'], '1.47');
      assert.equal(a.headers['docker-experimental'], 'false');
      assert.equal(a.headers['ostype'], 'linux');
      assert.equal(a.headers['cache-control'], 'no-cache, no-store, must-revalidate');
      assert.equal(a.headers['pragma'], 'no-cache');
      assert.ok(a.headers['builder-version']);
      assert.equal(a.headers['server'], 'Berth/0.1.0 (linux)');
    }
  });

  test('errors: a too new version, an unknown route, a malformed body, a bad filter', async () => {
    const v = await call(l.sock, 'GET', '/v1.99/version');
    assert.equal(v.status, 400);
    assert.deepEqual(JSON.parse(v.body), { message: 'client version 1.99 is too new. Maximum supported API version is 1.47' });
    const u = await call(l.sock, 'GET', '/v1.47/no/such/route');
    assert.equal(u.status, 404);
    assert.deepEqual(JSON.parse(u.body), { message: 'page not found' });
    const m = await call(l.sock, 'POST', '/v1.47/auth', '{"username": ', { 'Content-Type': 'application/json' });
    assert.equal(m.status, 400);
    assert.match(JSON.parse(m.body).message, /^invalid JSON: /);
    const f = await call(l.sock, 'GET', '/events?filters=' + encodeURIComponent('{"colour":{"red":true}}'));
    assert.equal(f.status, 400);
    assert.deepEqual(JSON.parse(f.body), { message: "invalid filter 'colour'" });
    assert.equal((await call(l.sock, 'GET', '/_ping')).status, 200, 'still serving');
  });

  test('/system/df has Docker\'s shape', async () => {
    const a = await call(l.sock, 'GET', '/v1.47/system/df');
    assert.equal(a.status, 200);
    assert.deepEqual(JSON.parse(a.body), { LayersSize: 0, Images: [], Containers: [], Volumes: [], BuildCache: [] });
    const d = docker(l.sock, ['system', 'df', '--format', '{{.Type}}'], dockerEnv);
    assert.equal(d.status, 0, d.stderr);
  });

  test('docker login checks the credentials with a real registry', { skip: !existsSync(REGISTRY) && 'needs docker-registry' }, async () => {
    const regDir = join(dir, 'registry');
    mkdirSync(regDir);
    const hp = spawnSync('htpasswd', ['-Bbn', 'alice', 's3cret'], { encoding: 'utf8' });
    assert.equal(hp.status, 0, 'htpasswd (apache2-utils) is needed');
    writeFileSync(join(regDir, 'htpasswd'), hp.stdout);
    const port = await freePort();
    writeFileSync(join(regDir, 'config.yml'), `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${regDir}/data\n`
      + `http:\n  addr: 127.0.0.1:${port}\nauth:\n  htpasswd:\n    realm: berth-test\n    path: ${regDir}/htpasswd\n`);
    registry = spawn(REGISTRY, ['serve', join(regDir, 'config.yml')], { stdio: 'ignore' });
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && spawnSync('curl', ['-s', '-o', '/dev/null', `http://127.0.0.1:${port}/v2/`]).status !== 0) await new Promise((r) => setTimeout(r, 50));
    const good = spawnSync(DOCKER, ['-H', `unix://${l.sock}`, 'login', `127.0.0.1:${port}`, '-u', 'alice', '--password-stdin'],
      { input: 's3cret\n', encoding: 'utf8', env: { ...process.env, ...dockerEnv } });
    assert.equal(good.status, 0, good.stderr);
    assert.match(good.stdout, /Login Succeeded/);
    const bad = spawnSync(DOCKER, ['-H', `unix://${l.sock}`, 'login', `127.0.0.1:${port}`, '-u', 'alice', '--password-stdin'],
      { input: 'wrong\n', encoding: 'utf8', env: { ...process.env, ...dockerEnv } });
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, new RegExp(`login attempt to http://127\\.0\\.0\\.1:${port}/v2/ failed with status: 401 Unauthorized`));
    const raw = await call(l.sock, 'POST', '/auth', JSON.stringify({ username: 'alice', password: 'nope', serveraddress: `127.0.0.1:${port}` }), { 'Content-Type': 'application/json' });
    assert.equal(raw.status, 401);
    registry.kill('SIGTERM');
    registry = undefined;
  });

  test('events stream live until `until`, and replay from `since` (SIGHUP: daemon reload)', async () => {
    const t0 = nowSeconds();
    const format = ['--format', '{{.Type}} {{.Action}} {{.Actor.ID}} {{index .Actor.Attributes "log-level"}}'];
    const live = spawn(DOCKER, ['-H', `unix://${l.sock}`, 'system', 'events', '--since', t0.toFixed(3), '--until', (t0 + 4).toFixed(3),
      '--filter', 'type=daemon', ...format], { env: { ...process.env, ...dockerEnv } });
    let out = '';
    live.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    const liveDone = new Promise<number | null>((resolve) => live.on('exit', (code) => resolve(code)));
    await new Promise((r) => setTimeout(r, 1000));
    writeFileSync(configFile, JSON.stringify({ 'log-level': 'debug' }));
    b.proc.kill('SIGHUP');
    assert.equal(await liveDone, 0);
    assert.equal(out.trim(), `daemon reload ${daemonId} debug`);
    const elapsed = nowSeconds() - t0;
    assert.ok(elapsed >= 3.5, `the stream ended at until (${elapsed.toFixed(1)} s)`);

    const replay = docker(l.sock, ['system', 'events', '--since', t0.toFixed(3), '--until', nowSeconds().toFixed(3), ...format], dockerEnv);
    assert.equal(replay.status, 0, replay.stderr);
    assert.equal(replay.stdout.trim(), `daemon reload ${daemonId} debug`);
    const none = docker(l.sock, ['system', 'events', '--since', t0.toFixed(3), '--until', nowSeconds().toFixed(3), '--filter', 'type=container'], dockerEnv);
    assert.equal(none.status, 0, none.stderr);
    assert.equal(none.stdout, '');
  });

  test('a second berthd on the same exec-root is refused by the pid file; tcp without TLS is refused', async () => {
    const second = spawnBerthd({ ...l, sock: join(dir, 'second.sock') });
    assert.equal(await second.exited, 1);
    assert.match(second.stderr(), /pid file found, ensure berthd is not running or delete .*berthd\.pid/);
    assert.equal(existsSync(join(dir, 'second.sock')), false);

    const other = layout(join(dir, 'plain-tcp'));
    const tcp = spawnBerthd(other, ['-H', 'tcp://127.0.0.1:2375']);
    assert.equal(await tcp.exited, 1);
    assert.match(tcp.stderr(), /cannot listen on tcp:\/\/127\.0\.0\.1:2375: a tcp address is only served with --tlsverify/);
    assert.deepEqual(corePids(other), [], 'nothing started');
  });

  test('kill -9 of berthd leaves the core running; the next berthd uses it', async () => {
    const cores = corePids(l);
    assert.equal(cores.length, 1);
    await stop(b, 'SIGKILL');
    assert.ok(alive(cores[0]!));
    b = await ready(spawnBerthd(l, ['--config-file', configFile]));
    assert.match(b.stderr(), /using running berth-core/);
    assert.deepEqual(corePids(l), cores);
    assert.equal(docker(l.sock, ['info', '--format', '{{.ID}}'], dockerEnv).stdout.trim(), daemonId, 'the daemon ID survives');
  });

  test('tcp with --tlsverify needs a client certificate; SIGTERM stops cleanly and leaves the core', async () => {
    await stop(b);
    const certs = join(dir, 'certs');
    makeCerts(certs);
    const port = await freePort();
    const c = (f: string): string => join(certs, f);
    b = await ready(spawnBerthd(l, ['-H', `tcp://127.0.0.1:${port}`, '--tlsverify', '--tlscacert', c('ca.pem'), '--tlscert', c('server-cert.pem'),
      '--tlskey', c('server-key.pem')]));
    const v = spawnSync(DOCKER, ['--tlsverify', '--tlscacert', c('ca.pem'), '--tlscert', c('cert.pem'), '--tlskey', c('key.pem'),
      '-H', `tcp://127.0.0.1:${port}`, 'version', '--format', '{{.Server.Version}}'], { encoding: 'utf8', env: { ...process.env, ...dockerEnv }, timeout: 30_000 });
    assert.equal(v.status, 0, v.stderr);
    assert.equal(v.stdout.trim(), '0.1.0');
    const refused = await new Promise<string>((resolve) => {
      const req = httpsRequest({ host: '127.0.0.1', port, path: '/_ping', ca: readFileSync(c('ca.pem')) }, (res) => resolve(`status ${res.statusCode}`));
      req.on('error', (err) => resolve(`error ${err.message}`));
      req.end();
    });
    assert.match(refused, /^error /, 'no client certificate, no answer');

    const cores = corePids(l);
    assert.equal(await stop(b, 'SIGTERM'), 0);
    assert.equal(existsSync(l.sock), false, 'socket removed');
    assert.equal(existsSync(join(l.execRoot, 'berthd.pid')), false, 'pid file removed');
    assert.deepEqual(corePids(l), cores, 'the core keeps running');
    assert.match(b.stderr(), /berthd stopped/);
  });
});
