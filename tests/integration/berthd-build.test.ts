/**
 * docker build (the classic builder, POST /build) against berthd, driven by
 * the real docker CLI with DOCKER_BUILDKIT=0, checked against what dockerd
 * 20.10 prints and stores: a two-stage build (ARG before FROM, --build-arg,
 * ENV, WORKDIR, COPY with --from and --chown, RUN, LABEL, EXPOSE, USER,
 * ENTRYPOINT/CMD, .dockerignore) whose image runs, its history and config,
 * a failing RUN, a missing COPY source, the cache, ONBUILD, FROM scratch.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { docker, dockerOk, layout, skipBerthd, teardownBerthd, type Berthd, type Layout } from '../helpers/berthd.js';
import { berthdWithBase, writeContext } from '../helpers/build.js';

const skip = skipBerthd;
let dir: string;
let l: Layout;
let b: Berthd;

const env = { DOCKER_BUILDKIT: '0' };
const build = (args: string[]): ReturnType<typeof docker> => docker(b.sock, ['build', ...args], env);
const ok = (args: string[]): string => dockerOk(b.sock, args).trim();

const context = (name: string, files: Record<string, string>): string => writeContext(dir, name, files);

const MULTI = `# a comment
ARG BASE=bb:1
FROM \${BASE} AS build
ARG WHO=world
ENV GREETING="hello \${WHO}" OTHER=x
WORKDIR /src
COPY a.txt sub/ ./
RUN echo "$GREETING" > out.txt && \\
    ls > list.txt && echo built
FROM bb:1
LABEL org.x=1 y="two words"
EXPOSE 8080 9090/udp
COPY --from=build --chown=nobody /src/out.txt /src/list.txt /app/
USER nobody
WORKDIR /app
ENTRYPOINT ["cat"]
CMD ["/app/out.txt"]
`;

before(async () => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), 'berth-h66-build-'));
  l = layout(dir);
  b = await berthdWithBase(l, dir);
});

after(async () => {
  if (skip) return;
  assert.deepEqual(await teardownBerthd(b, l, dir), []);
});

test('a two-stage build: dockerd\'s lines, the image runs, its config and history', { skip }, () => {
  const c = context('multi', { Dockerfile: MULTI, 'a.txt': 'a\n', 'sub/b.txt': 'b\n', 'secret.txt': 's\n', '.dockerignore': 'secret.txt\n' });
  const r = build(['-t', 'multi:1', '--build-arg', 'WHO=you', '--build-arg', 'UNUSED=1', c]);
  assert.equal(r.status, 0, r.stderr + r.stdout);
  const lines = r.stdout.split('\n');
  assert.ok(lines.includes('Step 1/15 : ARG BASE=bb:1'), r.stdout);
  assert.ok(lines.includes('Step 7/15 : RUN echo "$GREETING" > out.txt &&     ls > list.txt && echo built'), r.stdout);
  assert.ok(lines.includes('built'), r.stdout);
  assert.equal(lines.filter((x) => /^ ---> Running in [0-9a-f]{12}$/.test(x)).length, 10, r.stdout);
  assert.equal(lines.filter((x) => /^Removing intermediate container [0-9a-f]{12}$/.test(x)).length, 10);
  assert.ok(lines.includes('[Warning] One or more build-args [UNUSED] were not consumed'), r.stdout);
  const id = /Successfully built ([0-9a-f]{12})/.exec(r.stdout)?.[1];
  assert.ok(id, r.stdout);
  assert.ok(lines.includes('Successfully tagged multi:1'));
  // the result runs: the RUN's output, copied from the first stage, owned by nobody
  assert.equal(ok(['run', '--rm', 'multi:1']), 'hello you');
  assert.equal(ok(['run', '--rm', 'multi:1', '/app/list.txt']), 'a.txt\nb.txt\nlist.txt\nout.txt', '.dockerignore kept secret.txt out, sub/ copied its contents');
  assert.equal(ok(['run', '--rm', '--entrypoint', 'stat', 'multi:1', '-c', '%u:%g %a', '/app/out.txt', '/app']), '65534:65534 644\n65534:65534 755', 'a directory COPY --chown creates is the owner\'s, as dockerd makes it');
  assert.equal(ok(['image', 'inspect', '-f', '{{.Id}}', 'multi:1']).slice(7, 19), id);
  assert.equal(ok(['image', 'inspect', '-f', '{{json .Config.Entrypoint}} {{json .Config.Cmd}} {{.Config.User}} {{.Config.WorkingDir}} {{json .Config.Labels}} {{json .Config.ExposedPorts}} {{json .Config.Env}}', 'multi:1']),
    '["cat"] ["/app/out.txt"] nobody /app {"org.x":"1","y":"two words"} {"8080/tcp":{},"9090/udp":{}} ["PATH=/bin"]');
  assert.match(ok(['image', 'inspect', '-f', '{{.Parent}}', 'multi:1']), /^sha256:[0-9a-f]{64}$/);
  const history = ok(['history', '--no-trunc', '--format', '{{.CreatedBy}}|{{.Size}}', 'multi:1']).split('\n');
  assert.deepEqual(history.slice(0, 4), ['/bin/sh -c #(nop)  CMD ["/app/out.txt"]|0B', '/bin/sh -c #(nop)  ENTRYPOINT ["cat"]|0B', '/bin/sh -c #(nop) WORKDIR /app|0B', '/bin/sh -c #(nop)  USER nobody|0B']);
  assert.match(history[4]!, /^\/bin\/sh -c #\(nop\) COPY --chown=nobodymulti:[0-9a-f]{64} in \/app\/ \|/);
  assert.deepEqual(history.slice(5, 7), ['/bin/sh -c #(nop)  EXPOSE 8080 9090/udp|0B', '/bin/sh -c #(nop)  LABEL org.x=1 y=two words|0B']);
  assert.equal(history.length, 8, history.join('\n'));
  // intermediate images: shown with -a only, and named in the history
  const ids = ok(['history', '-q', 'multi:1']).split('\n');
  assert.ok(ids.slice(0, 7).every((x) => /^[0-9a-f]{12}$/.test(x)), ids.join(' '));
  assert.equal(ids[7], ok(['image', 'inspect', '-f', '{{.Id}}', 'bb:1']).slice(7, 19));
  const shown = ok(['images', '-q']).split('\n');
  const all = ok(['images', '-aq']).split('\n');
  assert.ok(all.length >= shown.length + 10, `${shown.length} shown, ${all.length} with -a`);
  assert.equal(ok(['ps', '-aq']), '', 'no build container left');
});

test('the cache: a second build reuses every step; --no-cache reuses none', { skip }, () => {
  const c = context('multi', {});
  const again = build(['-t', 'multi:1', '--build-arg', 'WHO=you', c]);
  assert.equal(again.status, 0, again.stderr);
  assert.equal(again.stdout.split('\n').filter((x) => x === ' ---> Using cache').length, 12, again.stdout);
  assert.ok(!again.stdout.includes('Running in'));
  const other = build(['--build-arg', 'WHO=me', '-q', c]);
  assert.equal(other.status, 0, other.stderr);
  assert.match(other.stdout.trim(), /^sha256:[0-9a-f]{64}$/);
  assert.notEqual(other.stdout.trim(), ok(['image', 'inspect', '-f', '{{.Id}}', 'multi:1']), 'another build arg: another RUN');
  const none = build(['--no-cache', '--target', 'build', '--build-arg', 'WHO=you', c]);
  assert.equal(none.status, 0, none.stderr);
  assert.ok(!none.stdout.includes('Using cache'));
  assert.ok(none.stdout.includes('Step 7/7 : RUN'), none.stdout);
});

test('a failing RUN: dockerd\'s message, the CLI exits with its code, its container left (removed with --force-rm)', { skip }, () => {
  const c = context('fail', { Dockerfile: 'FROM bb:1\nRUN echo out; echo err >&2; exit 3\n' });
  const r = build([c]);
  assert.equal(r.status, 3, 'the docker CLI exits with the errorDetail code, as against dockerd');
  assert.ok(r.stdout.includes('out\n'), r.stdout);
  assert.ok(r.stderr.includes("The command '/bin/sh -c echo out; echo err >&2; exit 3' returned a non-zero code: 3"), r.stderr);
  // dockerd keeps a failed step's container unless --force-rm
  const left = ok(['ps', '-aq']);
  assert.match(left, /^[0-9a-f]{12}$/);
  ok(['rm', left]);
  const forced = build(['--force-rm', c]);
  assert.equal(forced.status, 3);
  assert.ok(forced.stdout.includes('Removing intermediate container'));
  assert.equal(ok(['ps', '-aq']), '');
});

test('refusals: a missing COPY source, an unknown instruction', { skip }, () => {
  const c = context('missing', { Dockerfile: 'FROM bb:1\nCOPY nothere /x\n', 'Dockerfile.bad': 'FROM bb:1\nFOO bar\n' });
  const r = build([c]);
  assert.equal(r.status, 1);
  assert.ok(r.stderr.includes('COPY failed: file not found in build context or excluded by .dockerignore: stat nothere: file does not exist'), r.stderr);
  const bad = build(['-f', join(c, 'Dockerfile.bad'), c]);
  assert.equal(bad.status, 1);
  assert.ok(bad.stderr.includes('Error response from daemon: dockerfile parse error line 2: unknown instruction: FOO'), bad.stderr);
  assert.equal(ok(['ps', '-aq']), '');
});

test('ONBUILD triggers run in the child build; FROM scratch has only its own layers', { skip }, () => {
  const parent = context('onbuild', { Dockerfile: 'FROM bb:1\nONBUILD RUN echo trig > /trig\n' });
  assert.equal(build(['-t', 'ob:1', parent]).status, 0);
  const child = context('child', { Dockerfile: 'FROM ob:1\nCMD ["cat", "/trig"]\n' });
  const r = build(['-t', 'ob:child', child]);
  assert.equal(r.status, 0, r.stderr);
  assert.ok(r.stdout.includes('# Executing 1 build trigger\n ---> Running in '), r.stdout);
  assert.equal(ok(['run', '--rm', 'ob:child']), 'trig');
  const s = context('scratch', { Dockerfile: 'FROM scratch\nCOPY f /f\nCMD ["/f"]\n', f: 'x\n' });
  const sr = build(['-t', 'sc:1', s]);
  assert.equal(sr.status, 0, sr.stderr);
  assert.ok(sr.stdout.includes('Step 1/3 : FROM scratch\n ---> \n'), sr.stdout);
  assert.equal(ok(['image', 'inspect', '-f', '{{len .RootFS.Layers}} {{.Parent}}', 'sc:1']), '1 ' + ok(['image', 'inspect', '-f', '{{.Parent}}', 'sc:1']));
  assert.equal(ok(['history', '-q', 'sc:1']).split('\n').length, 2);
});
