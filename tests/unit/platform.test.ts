/** --platform parsing, normalisation, and the choice of a manifest from an index. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BerthError } from '../../src/common/errors.js';
import { formatPlatform, hostPlatform, normalizePlatform, parsePlatform, platformMatches, selectManifest } from '../../src/core/distribution/platform.js';
import { MediaType, type Descriptor, type ImageIndex, type Platform } from '../../src/core/oci/types.js';

test('parsing and normalising', () => {
  const cases: [string, string][] = [
    ['linux/amd64', 'linux/amd64'], ['linux/x86_64', 'linux/amd64'], ['Linux/AMD64', 'linux/amd64'],
    ['linux/aarch64', 'linux/arm64'], ['linux/arm64/v8', 'linux/arm64'], ['linux/arm64/8', 'linux/arm64'],
    ['linux/arm', 'linux/arm/v7'], ['linux/arm/6', 'linux/arm/v6'], ['linux/armhf', 'linux/arm/v7'], ['linux/armel', 'linux/arm/v6'],
    ['linux/i686', 'linux/386'], ['linux/ppc64le', 'linux/ppc64le'], ['windows/amd64', 'windows/amd64'],
  ];
  for (const [text, want] of cases) assert.equal(formatPlatform(parsePlatform(text)), want, text);
  assert.equal(formatPlatform(parsePlatform('linux')), formatPlatform(hostPlatform()));
  assert.equal(formatPlatform(parsePlatform('arm64')), 'linux/arm64');
  assert.equal(formatPlatform(hostPlatform()), process.arch === 'x64' ? 'linux/amd64' : formatPlatform(hostPlatform()));
  for (const bad of ['', 'linux/', '/amd64', 'a/b/c/d', 'linux/am d64']) {
    assert.throws(() => parsePlatform(bad), (e: unknown) => e instanceof BerthError && e.kind === 'invalid-argument' && /invalid platform/.test(e.message), bad);
  }
  assert.deepEqual(normalizePlatform({ os: 'linux', architecture: 'arm64', variant: 'v8' }), { os: 'linux', architecture: 'arm64' });
});

test('matching: arm machines run older variants, nothing else crosses', () => {
  const p = (s: string): Platform => parsePlatform(s);
  assert.ok(platformMatches(p('linux/arm/v7'), p('linux/arm/v6')));
  assert.ok(!platformMatches(p('linux/arm/v6'), p('linux/arm/v7')));
  assert.ok(platformMatches(p('linux/arm64'), { os: 'linux', architecture: 'arm64', variant: 'v8' }));
  assert.ok(!platformMatches(p('linux/amd64'), p('linux/arm64')));
  assert.ok(!platformMatches(p('linux/amd64'), p('windows/amd64')));
});

const entry = (n: number, platform?: Platform): Descriptor => ({
  mediaType: MediaType.ociManifest, digest: `sha256:${String(n).repeat(64).slice(0, 64)}`, size: 100, ...(platform ? { platform } : {}),
});

test('selection from an index: exact variant first, attestations ignored, a clear not-found', () => {
  const index: ImageIndex = {
    schemaVersion: 2, mediaType: MediaType.ociIndex,
    manifests: [
      entry(1, { os: 'linux', architecture: 'arm', variant: 'v6' }),
      entry(2, { os: 'linux', architecture: 'arm', variant: 'v7' }),
      entry(3, { os: 'linux', architecture: 'amd64' }),
      entry(4, { os: 'unknown', architecture: 'unknown' }),
      entry(5, { os: 'linux', architecture: 'arm64', variant: 'v8' }),
      entry(6),
    ],
  };
  assert.equal(selectManifest(index, parsePlatform('linux/amd64'), 'r').digest, entry(3).digest);
  assert.equal(selectManifest(index, parsePlatform('linux/arm/v7'), 'r').digest, entry(2).digest);
  assert.equal(selectManifest(index, parsePlatform('linux/arm/v6'), 'r').digest, entry(1).digest);
  assert.equal(selectManifest(index, parsePlatform('linux/arm64'), 'r').digest, entry(5).digest);
  assert.throws(() => selectManifest(index, parsePlatform('linux/s390x'), 'docker.io/library/x:1'), (e: unknown) => {
    assert.ok(e instanceof BerthError);
    assert.equal(e.kind, 'not-found');
    assert.equal(e.message, 'no manifest for platform linux/s390x in docker.io/library/x:1 (available: linux/arm/v6, linux/arm/v7, linux/amd64, linux/arm64)');
    return true;
  });
  assert.throws(() => selectManifest({ schemaVersion: 2, manifests: [] }, parsePlatform('linux/amd64'), 'r'), /available: none/);
});
