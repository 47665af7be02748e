import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfigFile, resolveConfig, type Directives } from '../../src/daemon/config.js';
import { parseCommandLine } from '../../src/daemon/flags.js';

const BIN = '/opt/berth/bin';
const argv = (...args: string[]): string[] => ['node', 'berthd', ...args];

test('defaults: the unix socket, /var/lib/berth, /run/berth, berth-runtime, live-restore', () => {
  const c = resolveConfig({}, undefined, BIN);
  assert.deepEqual(c.hosts, ['unix:///run/berth/berth.sock']);
  assert.equal(c.dataRoot, '/var/lib/berth');
  assert.equal(c.execRoot, '/run/berth');
  assert.equal(c.pidfile, '/run/berth/berthd.pid');
  assert.equal(c.coreAddress, '/run/berth/core.sock');
  assert.equal(c.defaultRuntime, 'berth-runtime');
  assert.deepEqual(c.runtimes['berth-runtime'], { path: '/opt/berth/bin/berth-runtime', runtimeArgs: [] });
  assert.equal(c.liveRestore, true);
  assert.equal(c.logLevel, 'info');
});

test('flags are parsed as dockerd parses them; only given flags are directives', () => {
  const cl = parseCommandLine(argv('-H', 'unix:///tmp/a.sock', '--host', 'tcp://127.0.0.1:2376', '--data-root', '/d', '--exec-root', '/e',
    '--add-runtime', 'crun=/usr/bin/crun', '--add-runtime', 'other=/bin/other', '--default-runtime', 'crun', '--log-level', 'warn',
    '--insecure-registry', '127.0.0.1:5000', '--live-restore', '--config-file', '/etc/x.json', '--log-opt', 'max-size=10m'), '0.1.0');
  assert.deepEqual(cl.configFile, { path: '/etc/x.json', explicit: true });
  const d = cl.directives;
  assert.deepEqual(d.hosts, ['unix:///tmp/a.sock', 'tcp://127.0.0.1:2376']);
  assert.deepEqual(Object.keys(d.runtimes!), ['crun', 'other']);
  assert.deepEqual(d['log-opts'], { 'max-size': '10m' });
  const c = resolveConfig(d, undefined, BIN);
  assert.equal(c.defaultRuntime, 'crun');
  assert.equal(c.logLevel, 'warning');
  assert.equal(c.pidfile, '/e/berthd.pid');
  assert.equal(c.coreAddress, '/e/core.sock');
  assert.deepEqual(c.insecureRegistries, ['127.0.0.1:5000']);
  assert.deepEqual(parseCommandLine(argv(), '0.1.0'), { directives: {}, configFile: { path: '/etc/berth/daemon.json', explicit: false } });
});

test('the file is read over the defaults; flags add what the file does not set', () => {
  const file = parseConfigFile('/etc/berth/daemon.json', JSON.stringify({
    'data-root': '/srv/berth', runtimes: { crun: { path: '/usr/bin/crun', runtimeArgs: ['--debug'] } }, 'default-runtime': 'crun',
    'log-level': 'debug', 'log-opts': { 'max-size': '1m' }, 'insecure-registries': ['10.0.0.0/8'],
    'default-address-pools': [{ base: '10.10.0.0/16', size: 24 }], 'live-restore': true, hosts: ['unix:///tmp/f.sock'],
  }));
  const c = resolveConfig({ 'exec-root': '/run/x' }, { path: '/etc/berth/daemon.json', directives: file }, BIN);
  assert.equal(c.dataRoot, '/srv/berth');
  assert.equal(c.execRoot, '/run/x');
  assert.deepEqual(c.runtimes.crun, { path: '/usr/bin/crun', runtimeArgs: ['--debug'] });
  assert.ok(c.runtimes['berth-runtime']);
  assert.equal(c.logLevel, 'debug');
  assert.deepEqual(c.defaultAddressPools, [{ base: '10.10.0.0/16', size: 24 }]);
  assert.deepEqual(c.hosts, ['unix:///tmp/f.sock']);
});

test('a directive both as a flag and in the file is refused, naming both values', () => {
  const file: Directives = { hosts: ['tcp://127.0.0.1:2376'], 'log-level': 'debug' };
  assert.throws(() => resolveConfig({ hosts: ['unix:///a.sock'], 'log-level': 'info' }, { path: '/etc/berth/daemon.json', directives: file }, BIN), {
    kind: 'invalid-argument',
    message: 'cannot configure berthd with file /etc/berth/daemon.json: the following directives are specified both as a flag and in the configuration file: '
      + 'hosts: (from flag: [unix:///a.sock], from file: [tcp://127.0.0.1:2376]), log-level: (from flag: info, from file: debug)',
  });
});

test('bad files: not JSON, unknown keys, wrong types, bad pools', () => {
  assert.throws(() => parseConfigFile('f', '{'), /cannot configure berthd with file f: /);
  assert.throws(() => parseConfigFile('f', '{"debugg": true, "hostz": []}'), /the following directives don't match any configuration option: debugg, hostz/);
  assert.throws(() => parseConfigFile('f', '{"hosts": "unix:///a"}'), /hosts must be a list of strings/);
  assert.throws(() => parseConfigFile('f', '{"live-restore": "yes"}'), /live-restore must be true or false/);
  assert.throws(() => parseConfigFile('f', '{"runtimes": {"x": {}}}'), /runtimes.x.path must be a non-empty string/);
  assert.throws(() => parseConfigFile('f', '{"default-address-pools": [{"base": "10.0.0.0/33", "size": 24}]}'), /is not an IPv4 CIDR/);
  assert.throws(() => parseConfigFile('f', '{"default-address-pools": [{"base": "10.0.0.0/16", "size": 8}]}'), /size must be an integer between 16 and 32/);
});

test('bad values: unknown default runtime, reserved runtime name, --add-runtime syntax, log level, relative paths, tls', () => {
  assert.throws(() => resolveConfig({ 'default-runtime': 'nope' }, undefined, BIN), /default runtime nope is not a configured runtime/);
  assert.throws(() => resolveConfig({ runtimes: { 'berth-runtime': { path: '/x', runtimeArgs: [] } } }, undefined, BIN), /runtime name 'berth-runtime' is reserved/);
  assert.throws(() => parseCommandLine(argv('--add-runtime', 'noequals'), '0.1.0'), /invalid --add-runtime noequals: expected NAME=PATH/);
  assert.throws(() => resolveConfig({ 'log-level': 'loud' }, undefined, BIN), /invalid log level "loud"/);
  assert.throws(() => resolveConfig({ 'data-root': 'rel/dir' }, undefined, BIN), /invalid data-root rel\/dir: the path must be absolute/);
  assert.throws(() => resolveConfig({ tlsverify: true, tlscacert: '/ca.pem' }, undefined, BIN), /--tlsverify needs --tlscacert, --tlscert and --tlskey/);
});
