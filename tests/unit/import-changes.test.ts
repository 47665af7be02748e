/** `--change` lines of import, read as Dockerfile instructions. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyChanges, words } from '../../src/core/images/import-changes.js';

test('CMD and ENTRYPOINT take the JSON and the shell form', () => {
  assert.deepEqual(applyChanges({}, ['CMD ["nginx", "-g", "daemon off;"]']).Cmd, ['nginx', '-g', 'daemon off;']);
  assert.deepEqual(applyChanges({}, ['CMD echo "a b"']).Cmd, ['/bin/sh', '-c', 'echo "a b"']);
  assert.deepEqual(applyChanges({}, ['ENTRYPOINT [not json']).Entrypoint, ['/bin/sh', '-c', '[not json']);
  assert.deepEqual(applyChanges({}, ['entrypoint ["/init"]']).Entrypoint, ['/init']);
});

test('ENV in both forms replaces a variable; LABEL pairs with quotes', () => {
  const c = applyChanges({ Env: ['PATH=/bin', 'A=0'] }, ['ENV A=1 B="x y"', 'ENV C some words', 'LABEL "a b"=c d=e\\ f']);
  assert.deepEqual(c.Env, ['PATH=/bin', 'A=1', 'B=x y', 'C=some words']);
  assert.deepEqual(c.Labels, { 'a b': 'c', d: 'e f' });
  assert.throws(() => applyChanges({}, ['LABEL novalue']), /expected key=value/);
  assert.throws(() => applyChanges({}, ['ENV A="open']), /unterminated/);
});

test('WORKDIR, EXPOSE, USER, VOLUME; STOPSIGNAL and unknown instructions refused, as dockerd 20.10 refuses them', () => {
  const c = applyChanges({}, ['WORKDIR /srv', 'WORKDIR app', 'EXPOSE 80 53/UDP 8000-8001', 'USER www-data', 'VOLUME /a /b', 'VOLUME ["/c"]']);
  assert.equal(c.WorkingDir, '/srv/app');
  assert.deepEqual(c.ExposedPorts, { '80/tcp': {}, '53/udp': {}, '8000-8001/tcp': {} });
  assert.equal(c.User, 'www-data');
  assert.deepEqual(c.Volumes, { '/a': {}, '/b': {}, '/c': {} });
  assert.throws(() => applyChanges({}, ['STOPSIGNAL SIGQUIT']), /stopsignal is not a valid change command/);
  assert.throws(() => applyChanges({}, ['EXPOSE http']), /Invalid containerPort: http/);
  assert.throws(() => applyChanges({}, ['RUN apt-get update']), /run is not a valid change command/);
  assert.throws(() => applyChanges({}, ['CMD']), /CMD requires at least one argument/);
});

test('HEALTHCHECK: flags, exec and shell forms, NONE, as dockerd writes them into the config', () => {
  assert.deepEqual(applyChanges({}, ['HEALTHCHECK --interval=5s CMD true']).Healthcheck, { Test: ['CMD-SHELL', 'true'], Interval: 5e9 });
  assert.deepEqual(applyChanges({}, ['HEALTHCHECK --interval=1m30s --timeout=3s --start-period=2s --retries=4 CMD ["wget", "-q", "localhost"]']).Healthcheck,
    { Test: ['CMD', 'wget', '-q', 'localhost'], Interval: 90e9, Timeout: 3e9, StartPeriod: 2e9, Retries: 4 });
  assert.deepEqual(applyChanges({ Healthcheck: { Test: ['CMD-SHELL', 'x'] } }, ['HEALTHCHECK NONE']).Healthcheck, { Test: ['NONE'] });
  assert.throws(() => applyChanges({}, ['HEALTHCHECK --every=5s CMD true']), /unknown flag: every/);
  assert.throws(() => applyChanges({}, ['HEALTHCHECK RUN true']), /Unknown type "RUN" in HEALTHCHECK/);
  assert.throws(() => applyChanges({}, ['HEALTHCHECK --interval=5 CMD true']), /invalid duration "5"/);
});

test('ONBUILD appends its instruction, as commit --change takes it', () => {
  assert.deepEqual(applyChanges({ OnBuild: ['RUN a'] }, ['onbuild RUN b c']).OnBuild, ['RUN a', 'RUN b c']);
});

test('words splits outside quotes only', () => {
  assert.deepEqual(words(`a "b c" 'd e' f\\ g ""`), ['a', 'b c', 'd e', 'f g', '']);
});
