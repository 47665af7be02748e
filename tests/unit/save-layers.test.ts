/** The media type a save gives a layer it writes from another blob of the same diff ID, per manifest family. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { layerMediaType } from '../../src/core/images/archive/layers.js';
import { MediaType } from '../../src/core/oci/types.js';

test('a substituted layer keeps its compression and takes the manifest\'s family of types', () => {
  assert.equal(layerMediaType(MediaType.dockerManifest, 'none'), MediaType.dockerLayer);
  assert.equal(layerMediaType(MediaType.dockerManifest, 'gzip'), MediaType.dockerLayerGzip);
  // Docker's manifests have no zstd type: OCI's, as containerd writes it
  assert.equal(layerMediaType(MediaType.dockerManifest, 'zstd'), MediaType.ociLayerZstd);
  assert.equal(layerMediaType(MediaType.ociManifest, 'none'), MediaType.ociLayer);
  assert.equal(layerMediaType(MediaType.ociManifest, 'gzip'), MediaType.ociLayerGzip);
  assert.equal(layerMediaType(MediaType.ociManifest, 'zstd'), MediaType.ociLayerZstd);
});
