/**
 * `FROM scratch`: dockerd's builder starts from no image at all; berthd's
 * steps run in containers, which need one. A build from scratch gets an
 * image of no layer and an empty config under a name of its own (removed
 * when the build ends); the steps' commits stack on it, so the result has
 * exactly the layers its steps made, as dockerd's has.
 */
import { createHash } from 'node:crypto';
import type { CoreClient } from '../../core/client.js';

/** The core's garbage-collection reference labels (the content store's protocol). */
const GC_REF_CONTENT = 'berth.gc.ref.content.';

const MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
const CONFIG = 'application/vnd.docker.container.image.v1+json';

const digestOf = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** The empty base image named `name`; its ID. */
export async function scratchImage(core: CoreClient, name: string): Promise<string> {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: [] }, history: [] }));
  const configDigest = digestOf(config);
  await core.writeContent(`build-scratch-config-${name}`, config, configDigest);
  const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MANIFEST, config: { mediaType: CONFIG, digest: configDigest, size: config.length }, layers: [] }));
  const digest = digestOf(manifest);
  await core.writeContent(`build-scratch-manifest-${name}`, manifest, digest, { [`${GC_REF_CONTENT}config`]: configDigest });
  await core.images.Create({ image: { name, labels: {}, target: { mediaType: MANIFEST, digest, size: String(manifest.length), annotations: {} }, createdAt: null, updatedAt: null } });
  return configDigest;
}

/** Removes the empty base image's name (its content goes with the next collection). */
export async function dropScratchImage(core: CoreClient, name: string): Promise<void> {
  await core.images.Delete({ name }).catch(() => undefined);
}
