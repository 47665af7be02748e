import { test } from 'node:test';
import assert from 'node:assert/strict';
import { imageHistory } from '../../src/core/images/history.js';
import { inspectImage, repoNames } from '../../src/core/images/inspect.js';
import type { ResolvedImage } from '../../src/core/images/resolve.js';
import type { ImageConfig, ImageManifest } from '../../src/core/oci/types.js';

const D = (c: string): string => `sha256:${c.repeat(64)}`;

const config: ImageConfig = {
  created: '2024-05-01T10:00:00Z', author: 'someone', architecture: 'amd64', os: 'linux',
  config: { Cmd: ['nginx', '-g', 'daemon off;'], Env: ['PATH=/usr/bin'], ExposedPorts: { '80/tcp': {} } },
  rootfs: { type: 'layers', diff_ids: [D('a'), D('b')] },
  history: [
    { created: '2024-05-01T09:00:00Z', created_by: 'ADD rootfs.tar /' },
    { created: '2024-05-01T09:30:00Z', created_by: 'ENV PATH=/usr/bin', empty_layer: true },
    { created: '2024-05-01T10:00:00Z', created_by: 'RUN apt-get install nginx', comment: 'nginx' },
  ],
};
const manifest: ImageManifest = {
  schemaVersion: 2, config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: D('c'), size: 100 },
  layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: D('1'), size: 1000 },
    { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: D('2'), size: 500 }],
};
const resolved = (name: string, target = D('m')): ResolvedImage => ({
  record: { namespace: 'default', name, target: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: target, size: 300 }, labels: {}, createdAt: 1, updatedAt: 1_700_000_000_000 },
  manifestDesc: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: target, size: 300 }, manifest, config, id: D('c'),
});

/** the layers' unpacked sizes (what dockerd shows), not their compressed 1000 and 500 */
const UNPACKED = [4000, 2500];

test('inspect: Docker\'s shape, ID = config digest, familiar RepoTags and RepoDigests', () => {
  const out = inspectImage([resolved('docker.io/library/nginx:latest'), resolved('127.0.0.1:5000/web/nginx:1')], 'overlayfs', UNPACKED);
  assert.deepEqual(Object.keys(out), ['Id', 'RepoTags', 'RepoDigests', 'Parent', 'Comment', 'Created', 'Container', 'DockerVersion', 'Author',
    'Config', 'Architecture', 'Os', 'Size', 'GraphDriver', 'RootFS', 'Metadata']);
  assert.equal(out.Id, D('c'));
  assert.deepEqual(out.RepoTags, ['nginx:latest', '127.0.0.1:5000/web/nginx:1']);
  assert.deepEqual(out.RepoDigests, [`nginx@${D('m')}`, `127.0.0.1:5000/web/nginx@${D('m')}`]);
  assert.equal(out.Created, '2024-05-01T10:00:00Z');
  assert.equal(out.Author, 'someone');
  assert.deepEqual(out.Config.Cmd, ['nginx', '-g', 'daemon off;']);
  assert.equal(out.Architecture, 'amd64');
  assert.equal(out.Os, 'linux');
  assert.equal(out.Size, 6500, 'the sum of the unpacked sizes');
  assert.deepEqual(out.RootFS, { Type: 'layers', Layers: [D('a'), D('b')] });
  assert.equal(out.GraphDriver.Name, 'overlayfs');
  assert.equal(out.Metadata.LastTagTime, new Date(1_700_000_000_000).toISOString());
});

test('inspect: a name pinned by digest has no tag, its digest is the pinned one', () => {
  const { tags, digests } = repoNames([resolved(`docker.io/library/nginx@${D('9')}`)]);
  assert.deepEqual(tags, []);
  assert.deepEqual(digests, [`nginx@${D('9')}`]);
});

test('history: newest first, empty layers of size 0, the top row carries the ID and tags', () => {
  const rows = imageHistory(resolved('docker.io/library/nginx:latest'), ['nginx:latest'], UNPACKED);
  assert.equal(rows.length, 3);
  assert.deepEqual(rows.map((r) => r.Id), [D('c'), '<missing>', '<missing>']);
  assert.deepEqual(rows.map((r) => r.Size), [2500, 0, 4000]);
  assert.deepEqual(rows[0]!.Tags, ['nginx:latest']);
  assert.equal(rows[0]!.CreatedBy, 'RUN apt-get install nginx');
  assert.equal(rows[0]!.Comment, 'nginx');
  assert.equal(rows[2]!.Created, Date.parse('2024-05-01T09:00:00Z') / 1000);
  assert.equal(rows[1]!.Tags, null);
});
