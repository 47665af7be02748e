/**
 * The daemon's image view in pure logic: Docker's names, the progress text
 * dockerd writes (checked against lines recorded from dockerd), the
 * X-Registry-Auth header, the pull/push message translation and the list
 * filters.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseFilters } from '../../src/api/index.js';
import { decodeRegistryAuth } from '../../src/api/routes/images.js';
import type { ImageView } from '../../src/daemon/images/catalog.js';
import { containersUsing, tagsOf } from '../../src/daemon/images/catalog.js';
import { globMatch, imageMatches, matchingDigests, matchingTags, summary } from '../../src/daemon/images/list.js';
import { humanSize, progressBar } from '../../src/daemon/images/progress.js';
import { PullTranslator, PushTranslator } from '../../src/daemon/images/pull-progress.js';
import { familiarOf, formatFamiliar, formatFull, looksLikeId, parseRef, shortId, withDefaultTag } from '../../src/daemon/images/reference.js';
import { pullRef } from '../../src/daemon/images/service.js';
import { CredentialMemory } from '../../src/daemon/images/auth.js';
import type { Container, PullProgress } from '../../src/core/api/types.js';

const HEX = 'a'.repeat(64);

test('names: Docker\'s defaults one way, the familiar form the other', () => {
  assert.equal(formatFull(withDefaultTag(parseRef('busybox'))), 'docker.io/library/busybox:latest');
  assert.equal(formatFull(withDefaultTag(parseRef('user/app:1'))), 'docker.io/user/app:1');
  assert.equal(formatFull(withDefaultTag(parseRef('127.0.0.1:5000/x'))), '127.0.0.1:5000/x:latest');
  assert.equal(formatFull(parseRef(`localhost/x@sha256:${HEX}`)), `localhost/x@sha256:${HEX}`);
  assert.equal(formatFamiliar(parseRef('docker.io/library/busybox:latest')), 'busybox:latest');
  assert.equal(formatFamiliar(parseRef('index.docker.io/user/app:1')), 'user/app:1');
  assert.equal(familiarOf(`sha256:${HEX}`), undefined);
  assert.equal(familiarOf('docker.io/library/nginx:1.25'), 'nginx:1.25');
  assert.throws(() => parseRef('Busybox'), /invalid reference format/);
  assert.throws(() => parseRef('busybox:bad tag'), /invalid reference format/);
  assert.ok(looksLikeId('0123abcd') && looksLikeId(`sha256:${HEX}`) && !looksLikeId('busybox'));
  assert.equal(shortId(`sha256:${'0123456789ab'}cdef`), '0123456789ab');
});

test('pull references: fromImage with a tag or a digest in `tag`', () => {
  assert.equal(formatFull(pullRef('busybox', '')), 'docker.io/library/busybox:latest');
  assert.equal(formatFull(pullRef('docker.io/library/busybox', '1.36')), 'docker.io/library/busybox:1.36');
  assert.equal(formatFull(pullRef('busybox', `sha256:${HEX}`)), `docker.io/library/busybox@sha256:${HEX}`);
  assert.equal(formatFull(pullRef('127.0.0.1:5000/bb:1', '')), '127.0.0.1:5000/bb:1');
});

test('progress text as dockerd writes it (recorded lines)', () => {
  assert.equal(humanSize(2153000), '2.153MB');
  assert.equal(humanSize(999), '999B');
  assert.equal(humanSize(1000), '1kB');
  assert.equal(humanSize(32768), '32.77kB');
  // {"status":"Downloading","progressDetail":{"current":32768,"total":2153000},"progress":"[\u003e                                                  ]  32.77kB/2.153MB"}
  assert.equal(progressBar(32768, 2153000), `[>${' '.repeat(50)}]  32.77kB/2.153MB`);
  assert.equal(progressBar(2153000, 2153000), `[${'='.repeat(50)}>]  2.153MB/2.153MB`);
  assert.equal(progressBar(1076500, 2153000), `[${'='.repeat(25)}>${' '.repeat(25)}]  1.077MB/2.153MB`);
});

test('X-Registry-Auth: base64url JSON, the packed auth form, empty means none', () => {
  const enc = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');
  assert.deepEqual(decodeRegistryAuth(enc({ username: 'u', password: 'p?>', serveraddress: 'r:5000' })),
    { username: 'u', password: 'p?>', serveraddress: 'r:5000', identitytoken: undefined, registrytoken: undefined });
  assert.equal(decodeRegistryAuth(enc({}))?.username, undefined);
  assert.equal(decodeRegistryAuth(''), undefined);
  assert.equal(decodeRegistryAuth(enc({ auth: Buffer.from('me:secret').toString('base64') }))?.password, 'secret');
  assert.throws(() => decodeRegistryAuth('!!notbase64json'), /invalid X-Registry-Auth header/);
});

test('credentials: the request\'s own, else those of the last login to that registry', () => {
  const m = new CredentialMemory();
  assert.equal(m.forHost('r:5000', undefined), undefined);
  m.remember({ username: 'a', password: 'b', serveraddress: 'http://r:5000/v2/' });
  assert.deepEqual(m.forHost('r:5000', undefined), { username: 'a', password: 'b' });
  assert.deepEqual(m.forHost('r:5000', { username: 'c', password: 'd' }), { username: 'c', password: 'd' });
  assert.equal(m.forHost('other:5000', undefined), undefined);
});

const LAYER = 'application/vnd.oci.image.layer.v1.tar+gzip';
const p = (status: string, digest: string, current = 0, total = 100, mediaType = LAYER): PullProgress =>
  ({ status, digest, current: String(current), total: String(total), mediaType, image: null });

test('pull progress: dockerd\'s sequence per layer; manifest and config stay silent', () => {
  const t = new PullTranslator();
  const l1 = `sha256:${'1'.repeat(64)}`;
  const l2 = `sha256:${'2'.repeat(64)}`;
  const seq = [
    p('resolving', ''), p('resolved', `sha256:${HEX}`, 0, 500, 'application/vnd.oci.image.manifest.v1+json'),
    p('waiting', l1), p('waiting', l2), p('downloading', l1, 50), p('exists', l2), p('done', l1, 100), p('done', l1, 100),
    p('done', `sha256:${HEX}`, 500, 500, 'application/vnd.oci.image.manifest.v1+json'),
  ];
  const out = seq.flatMap((m) => t.translate(m)).map((m) => `${String(m.id)}: ${String(m.status)}`);
  assert.deepEqual(out, [
    '111111111111: Pulling fs layer', '222222222222: Pulling fs layer', '111111111111: Downloading', '222222222222: Already exists',
    '111111111111: Verifying Checksum', '111111111111: Download complete', '111111111111: Extracting', '111111111111: Pull complete',
  ]);
});

test('push progress: Preparing, Pushing, Pushed or Layer already exists', () => {
  const t = new PushTranslator();
  const l1 = `sha256:${'1'.repeat(64)}`;
  const out = [
    { digest: l1, status: 'checking', current: '0', total: '10', mediaType: LAYER },
    { digest: l1, status: 'uploading', current: '0', total: '10', mediaType: LAYER },
    { digest: l1, status: 'done', current: '10', total: '10', mediaType: LAYER },
    { digest: `sha256:${HEX}`, status: 'exists', current: '0', total: '10', mediaType: 'application/vnd.oci.image.config.v1+json' },
  ].flatMap((m) => t.translate(m)).map((m) => m.status);
  assert.deepEqual(out, ['Preparing', 'Pushing', 'Pushing', 'Pushed']);
});

function view(names: string[], labels: Record<string, string> = {}, created = '2024-01-02T00:00:00Z'): ImageView {
  const id = `sha256:${'b'.repeat(64)}`;
  return {
    id,
    records: names.map((name) => ({ name, labels: {}, target: { mediaType: '', digest: `sha256:${HEX}`, size: '1', annotations: {} }, createdAt: null, updatedAt: null })),
    doc: { Id: id, RepoTags: [], RepoDigests: [], Created: created, Size: 1234, Config: { Labels: labels }, RootFS: { Layers: [] } },
    layerSizes: [],
  };
}

test('list filters: dangling, label and label!, reference narrowing the tags, times', () => {
  const v = view(['docker.io/library/busybox:latest', '127.0.0.1:5000/bb:1'], { origin: 'test' });
  const dangling = view([`sha256:${'b'.repeat(64)}`]);
  assert.deepEqual(tagsOf(v), ['busybox:latest', '127.0.0.1:5000/bb:1']);
  assert.deepEqual(tagsOf(dangling), []);
  assert.ok(imageMatches(dangling, parseFilters('{"dangling":["true"]}'), {}));
  assert.ok(!imageMatches(v, parseFilters('{"dangling":["true"]}'), {}));
  assert.ok(imageMatches(v, parseFilters('{"label":["origin=test"]}'), {}));
  assert.ok(!imageMatches(v, parseFilters('{"label!":["origin=test"]}'), {}));
  const ref = parseFilters('{"reference":["127.*/*"]}');
  assert.ok(imageMatches(v, ref, {}));
  assert.deepEqual(matchingTags(v, ref), ['127.0.0.1:5000/bb:1']);
  // digests follow the tags let through: no extra `<none>` row for another repository
  const digests = [`127.0.0.1:5000/bb@sha256:${HEX}`, `busybox@sha256:${HEX}`];
  assert.deepEqual(matchingDigests(digests, ['127.0.0.1:5000/bb:1'], parseFilters('{"reference":["127.0.0.1:5000/bb:1"]}')), [digests[0]]);
  assert.deepEqual(matchingDigests(digests, [], parseFilters('{"reference":["busybox"]}')), [digests[1]]);
  assert.deepEqual(matchingDigests(digests, [], parseFilters(null)), digests);
  assert.ok(!imageMatches(v, parseFilters('{"reference":["nginx"]}'), {}));
  assert.ok(globMatch('busy*', 'busybox') && !globMatch('busy*', 'x/busybox'));
  assert.ok(!imageMatches(v, parseFilters(null), { before: Date.parse('2024-01-01T00:00:00Z') }));
  assert.ok(imageMatches(v, parseFilters(null), { since: Date.parse('2024-01-01T00:00:00Z') }));
  const s = summary(v, 2, true);
  assert.equal(s.Created, Date.parse('2024-01-02T00:00:00Z') / 1000);
  assert.equal(s.Containers, 2);
  assert.equal(summary(v, 2, false).Containers, -1);
});

test('containers using an image: by any of its names, its ID or a prefix', () => {
  const v = view(['docker.io/library/busybox:latest']);
  const c = (id: string, image: string): Container => ({ id, image } as Container);
  const users = containersUsing(v, [c('1', 'busybox'), c('2', 'busybox:latest'), c('3', 'bbbbbbbbbbbb'), c('4', 'nginx'), c('5', ''), c('6', `sha256:${'b'.repeat(64)}`)]);
  assert.deepEqual(users.map((u) => u.id), ['1', '2', '3', '6']);
});
