/**
 * The rest of berth's commands against a private Debian dockerd, side by
 * side with the docker CLI: volumes, networks, system df, history, diff,
 * port, stats --no-stream, prune, cp both ways (mode kept), save | load
 * back into dockerd, import/export, login (config.json as docker writes it)
 * then push to a real registry, contexts, and the bash completion script.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Engines, IMAGE, type Result } from '../helpers/engines.js';
import { registrySkip, startRegistry } from '../helpers/registry.js';
import { REPO } from '../helpers/runtime.js';

const BERTH = join(REPO, 'bin', 'berth');
let e: Engines;

function berthEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { ...e.dockerEnv(), BERTH_HOST: `unix://${e.dockerSock}`, DOCKER_HOST: 'unix:///nonexistent.sock', ...extra };
}

function berth(args: string[], opts: { input?: string | Buffer; env?: NodeJS.ProcessEnv } = {}): Result {
  const r = spawnSync(BERTH, args, { env: berthEnv(opts.env), input: opts.input, encoding: 'utf8', timeout: 60_000, maxBuffer: 64 << 20 });
  return { code: r.status ?? 1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/** Runs both CLIs; asserts equal stdout and exit code; returns berth's result. */
function same(args: string[], input?: string): Result {
  const d = e.docker(args, { input });
  const b = berth(args, { input });
  assert.equal(b.stdout, d.stdout, `${args.join(' ')}: stdout differs (berth stderr: ${b.stderr})`);
  assert.equal(b.code, d.code, `${args.join(' ')}: exit code differs (docker ${d.stderr} / berth ${b.stderr})`);
  return b;
}

/** Like same(), for outputs with a relative time: "N seconds ago" and column padding may differ by a tick. */
function sameButAgo(args: string[]): void {
  // relative times ("3 seconds ago", "Up 2 seconds") tick between the two runs
  const norm = (t: string): string => t.replace(/(\d+ \w+|Less than a second|About a minute|About an hour) ago/g, 'AGO')
    .replace(/Up (\d+ \w+|Less than a second|About a minute|About an hour)/g, 'Up SINCE').replace(/ {2,}/g, '  ');
  const d = e.docker(args);
  const b = berth(args);
  assert.equal(norm(b.stdout), norm(d.stdout), `${args.join(' ')}: stdout differs (berth stderr: ${b.stderr})`);
  assert.equal(b.code, d.code);
}

before(async () => {
  assert.ok(existsSync(BERTH), `${BERTH} is missing: run the build first`);
  e = await Engines.start({ runtimes: {}, dockerd: true });
  e.buildImage();
  e.dockerOk(['run', '-d', '--name', 'web', '-p', '127.0.0.1::80', '-p', '127.0.0.1:18999:81/udp', IMAGE, 'httpd', '-f', '-p', '80']);
  e.dockerOk(['exec', 'web', 'sh', '-c', 'echo changed > /tmp/new.txt']);
});

after(async () => {
  if (!e) return;
  await e.stop();
  assert.deepEqual(e.leftovers(), []);
});

test('volumes and networks: create, ls, inspect, rm, prune', () => {
  assert.equal(berth(['volume', 'create', '--label', 'a=b', '-o', 'type=tmpfs', '-o', 'device=tmpfs', 'v1']).stdout, 'v1\n');
  same(['volume', 'ls']);
  same(['volume', 'ls', '-q']);
  same(['volume', 'ls', '--format', '{{.Name}} {{.Driver}} {{.Labels}} {{.Mountpoint}} {{.Label "a"}} {{.Size}}']);
  same(['volume', 'ls', '--format', 'json']);
  same(['volume', 'inspect', 'v1']);
  same(['volume', 'inspect', 'nope']);
  same(['volume', 'rm', 'nope']);
  assert.equal(berth(['volume', 'rm', 'v1']).stdout, 'v1\n');
  e.dockerOk(['volume', 'create', 'v2']);
  const pruned = berth(['volume', 'prune', '-f']);
  assert.equal(pruned.stdout, 'Deleted Volumes:\nv2\n\nTotal reclaimed space: 0B\n', pruned.stderr);

  assert.match(berth(['network', 'create', '--subnet', '10.199.0.0/24', '--label', 'x=y', 'n1']).stdout, /^[0-9a-f]{64}\n$/);
  same(['network', 'ls']);
  same(['network', 'ls', '--no-trunc', '--format', 'table {{.ID}}\t{{.Name}}\t{{.Internal}}\t{{.Labels}}\t{{.CreatedAt}}']);
  same(['network', 'ls', '-q']);
  same(['network', 'inspect', '--format', '{{.Name}} {{range .IPAM.Config}}{{.Subnet}}{{end}}', 'n1']);
  assert.equal(berth(['network', 'connect', 'n1', 'web']).code, 0);
  assert.match(e.dockerOk(['inspect', '--format', '{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}', 'web']), /n1/);
  assert.equal(berth(['network', 'disconnect', 'n1', 'web']).code, 0);
  same(['network', 'rm', 'nope']);
  assert.equal(berth(['network', 'prune', '-f']).stdout, 'Deleted Networks:\nn1\n\n');
});

test('system df, history, diff, port, top, update, image inspect, stats --no-stream', () => {
  same(['system', 'df']);
  sameButAgo(['system', 'df', '-v']);
  sameButAgo(['history', IMAGE]);
  sameButAgo(['image', 'history', '--no-trunc', '--format', '{{json .}}', IMAGE]);
  same(['history', '-H=false', '--format', '{{.ID}} {{.CreatedSince}} {{.CreatedAt}} {{.Size}} {{.Comment}}', IMAGE]);
  same(['history', '-q', IMAGE]);
  same(['image', 'inspect', '--format', '{{.Id}} {{.Os}}', IMAGE]);
  same(['diff', 'web']);
  same(['port', 'web']);
  same(['port', 'web', '80']);
  same(['port', 'web', '81/udp']);
  same(['port', 'web', '82']);
  same(['system', 'info', '--format', '{{.Containers}} {{.Images}}']);
  assert.match(berth(['top', 'web']).stdout, /httpd -f -p 80/);
  assert.equal(berth(['update', '--cpu-shares', '512', '--pids-limit', '100', 'web']).stdout, 'web\n');
  assert.equal(e.dockerOk(['inspect', '--format', '{{.HostConfig.CpuShares}} {{.HostConfig.PidsLimit}}', 'web']), '512 100\n');
  same(['update', '--cpu-shares', '512', 'nope']);

  const stats = berth(['stats', '--no-stream']);
  assert.equal(stats.code, 0, stats.stderr);
  const lines = stats.stdout.trimEnd().split('\n');
  assert.match(lines[0]!, /^CONTAINER ID {3}NAME {6}CPU % {5}MEM USAGE \/ LIMIT {3}MEM % {5}NET I\/O {2,}BLOCK I\/O {2,}PIDS$/);
  assert.match(lines[1]!, /^[0-9a-f]{12} {3}web {7}\d+\.\d\d% +[\d.]+[KMG]?i?B \/ [\d.]+[KMGT]?i?B +\d+\.\d\d% +[\d.]+[kMG]?B \/ [\d.]+[kMG]?B +[\d.]+[kMG]?B \/ [\d.]+[kMG]?B +1$/);
  const json = JSON.parse(berth(['stats', '--no-stream', '--format', '{{json .}}', 'web']).stdout) as Record<string, string>;
  assert.deepEqual(Object.keys(json).sort(), ['BlockIO', 'CPUPerc', 'Container', 'ID', 'MemPerc', 'MemUsage', 'Name', 'NetIO', 'PIDs']);
  assert.equal(json.Container, 'web');
  assert.equal(json.PIDs, '1');
});

test('cp both ways keeps content and mode; errors as docker words them', () => {
  const src = join(e.dir, 'cp-src.txt');
  writeFileSync(src, 'copied by berth\n', { mode: 0o640 });
  const up = berth(['cp', src, 'web:/tmp/']);
  assert.equal(up.code, 0, up.stderr);
  assert.equal(e.dockerOk(['exec', 'web', 'stat', '-c', '%a %s', '/tmp/cp-src.txt']), '640 16\n');
  assert.equal(berth(['cp', src, 'web:/tmp/renamed.txt']).code, 0);
  assert.equal(e.dockerOk(['exec', 'web', 'cat', '/tmp/renamed.txt']), 'copied by berth\n');
  const back = join(e.dir, 'cp-back.txt');
  const down = berth(['cp', 'web:/tmp/cp-src.txt', back]);
  assert.equal(down.code, 0, down.stderr);
  assert.equal(readFileSync(back, 'utf8'), 'copied by berth\n');
  assert.equal(statSync(back).mode & 0o777, 0o640);
  const dir = join(e.dir, 'cp-dir');
  mkdirSync(dir);
  assert.equal(berth(['cp', 'web:/etc', dir]).code, 0);
  assert.ok(existsSync(join(dir, 'etc', 'passwd')));
  same(['cp', 'web:/nope', join(e.dir, 'x')]);
  same(['cp', 'a', 'b']);
  same(['cp', 'web:/a', 'web:/b']);
  const tar = spawnSync(BERTH, ['cp', 'web:/etc/hostname', '-'], { env: berthEnv() });
  assert.match(spawnSync('tar', ['t'], { input: tar.stdout }).stdout.toString(), /^hostname\n$/);
});

test('save | load into dockerd, export and import with --change', () => {
  const tarPath = join(e.dir, 'saved.tar');
  assert.equal(berth(['save', '-o', tarPath, IMAGE]).code, 0);
  e.dockerOk(['rmi', '-f', IMAGE]);
  const loaded = berth(['load', '-i', tarPath]);
  assert.equal(loaded.code, 0, loaded.stderr);
  assert.equal(loaded.stdout, `Loaded image: ${IMAGE}\n`);
  assert.match(e.dockerOk(['images', '--format', '{{.Repository}}:{{.Tag}}']), new RegExp(IMAGE));
  const piped = spawnSync('sh', ['-c', `"${BERTH}" save ${IMAGE} | "${BERTH}" load -q`], { env: berthEnv(), encoding: 'utf8' });
  assert.equal(piped.stdout, `Loaded image: ${IMAGE}\n`, piped.stderr);
  same(['load', '-i', join(e.dir, 'missing.tar')]);

  const exported = join(e.dir, 'web.tar');
  assert.equal(berth(['export', '-o', exported, 'web']).code, 0);
  assert.match(spawnSync('tar', ['tf', exported], { encoding: 'utf8' }).stdout, /tmp\/new\.txt/);
  const imported = berth(['import', '-c', 'CMD ["cat", "/tmp/new.txt"]', '-m', 'from berth', exported, 'berth-imported:1']);
  assert.equal(imported.code, 0, imported.stderr);
  assert.match(imported.stdout, /^sha256:[0-9a-f]{64}\n$/);
  assert.equal(e.dockerOk(['run', '--rm', 'berth-imported:1']), 'changed\n');
  same(['history', '--format', '{{.Comment}}', 'berth-imported:1']);
  const fromStdin = berth(['import', '-', 'berth-imported:2'], { input: readFileSync(exported) });
  assert.equal(fromStdin.code, 0, fromStdin.stderr);

  assert.equal(berth(['run', '--name', 'gone', IMAGE, 'true']).code, 0);
  const cp = berth(['container', 'prune', '-f']);
  assert.match(cp.stdout, /^Deleted Containers:\n[0-9a-f]{64}\n\nTotal reclaimed space: \d/);
  same(['image', 'prune', '-f']);
});

test('login stores credentials as docker does; push to a registry; logout', { skip: registrySkip }, async () => {
  const reg = await startRegistry('basic');
  try {
    const bConf = join(e.dir, 'berth-config');
    const dConf = join(e.dir, 'docker-config');
    const login = berth(['login', '-u', reg.username, '--password-stdin', reg.host], { input: `${reg.password}\n`, env: { DOCKER_CONFIG: bConf } });
    assert.equal(login.code, 0, login.stderr);
    assert.equal(login.stdout, 'Login Succeeded\n');
    const dLogin = spawnSync('/usr/local/bin/docker', ['login', '-u', reg.username, '--password-stdin', reg.host], {
      env: { ...e.dockerEnv(), DOCKER_CONFIG: dConf }, input: `${reg.password}\n`, encoding: 'utf8',
    });
    assert.equal(dLogin.status, 0, dLogin.stderr);
    assert.deepEqual(JSON.parse(readFileSync(join(bConf, 'config.json'), 'utf8')), JSON.parse(readFileSync(join(dConf, 'config.json'), 'utf8')));
    const bad = berth(['login', '-u', reg.username, '-p', 'wrong', reg.host], { env: { DOCKER_CONFIG: join(e.dir, 'bad-config') } });
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /Error response from daemon: .*(unauthorized|401)/i);

    const ref = `${reg.host}/berth/pushed:1`;
    e.dockerOk(['tag', IMAGE, ref]);
    const pushed = berth(['push', ref], { env: { DOCKER_CONFIG: bConf } });
    assert.equal(pushed.code, 0, pushed.stderr);
    assert.match(pushed.stdout, new RegExp(`^The push refers to repository \\[${reg.host}/berth/pushed\\]\\n[0-9a-f]{12}: Preparing\\n`));
    assert.match(pushed.stdout, /1: digest: sha256:[0-9a-f]{64} size: \d+\n$/);
    assert.equal(berth(['push', '-q', ref], { env: { DOCKER_CONFIG: bConf } }).stdout, `${ref}\n`);
    const anonymous = berth(['push', ref], { env: { DOCKER_CONFIG: join(e.dir, 'anon-config') } });
    assert.equal(anonymous.code, 1);
    assert.match(anonymous.stderr, /no basic auth credentials|unauthorized/);

    assert.equal(berth(['logout', reg.host], { env: { DOCKER_CONFIG: bConf } }).stdout, `Removing login credentials for ${reg.host}\n`);
    assert.deepEqual(JSON.parse(readFileSync(join(bConf, 'config.json'), 'utf8')).auths, {});
    assert.equal(berth(['logout', reg.host], { env: { DOCKER_CONFIG: bConf } }).stdout, `Not logged in to ${reg.host}\n`);
  } finally {
    await reg.stop();
  }
});

test('contexts: create, use, ls, --context, rm (docker reads them too)', () => {
  const conf = join(e.dir, 'ctx-config');
  const env = { DOCKER_CONFIG: conf, BERTH_HOST: '', DOCKER_HOST: '' };
  assert.equal(berth(['context', 'create', '--docker', `host=unix://${e.dockerSock}`, '--description', 'private dockerd', 'priv'], { env }).stdout, 'priv\n');
  assert.equal(berth(['--context', 'priv', 'ps', '--format', '{{.Names}}'], { env }).stdout, 'web\n');
  assert.equal(berth(['context', 'use', 'priv'], { env }).stdout, 'priv\n');
  assert.equal(berth(['ps', '--format', '{{.Names}}'], { env }).stdout, 'web\n');
  const dockerLs = spawnSync('/usr/local/bin/docker', ['context', 'ls', '--format', '{{.Name}} {{.Current}} {{.DockerEndpoint}}'], {
    env: { ...process.env, DOCKER_CONFIG: conf, DOCKER_HOST: '' }, encoding: 'utf8',
  });
  assert.match(dockerLs.stdout, new RegExp(`priv true unix://${e.dockerSock}`), dockerLs.stderr);
  assert.match(berth(['context', 'ls'], { env }).stdout, /^NAME +DESCRIPTION +DOCKER ENDPOINT +ERROR\ndefault +Current DOCKER_HOST based configuration +unix:\/\/\/run\/berth\/berth\.sock *\npriv \* +private dockerd +unix:\/\/.*docker\.sock *\n$/);
  assert.equal(berth(['context', 'rm', 'priv'], { env }).code, 1);
  assert.equal(berth(['context', 'rm', '-f', 'priv'], { env }).stdout, 'priv\n');
  assert.equal(berth(['--context', 'priv', 'ps'], { env }).stderr, 'context "priv" does not exist\n');
});

test('completion bash: sourced without errors, completes commands and flags', () => {
  const script = join(e.dir, 'berth-completion.bash');
  const gen = berth(['completion', 'bash']);
  assert.equal(gen.code, 0, gen.stderr);
  writeFileSync(script, gen.stdout);
  const complete = (words: string[]): string => {
    const r = spawnSync('bash', ['-c', `set -e; source "${script}"; COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _berth; echo "\${COMPREPLY[*]}"`], { encoding: 'utf8' });
    assert.equal(r.stderr, '');
    assert.equal(r.status, 0);
    return r.stdout.trim();
  };
  assert.equal(complete(['berth', 'ru']), 'run');
  assert.equal(complete(['berth', 'volume', 'p']), 'prune');
  assert.equal(complete(['berth', '-H', 'unix:///x', 'ima']), 'image images');
  assert.match(complete(['berth', 'run', '--rm', '--na']), /^--name$/);
  assert.match(complete(['berth', 'stats', '--no']), /--no-stream/);
});
