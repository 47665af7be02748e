/** An image as `docker image inspect` shows it (Docker Engine API's ImageInspect). */
import { familiarName, familiarString, parseReference } from '../distribution/reference.js';
import type { ResolvedImage } from './resolve.js';

export interface DockerImageInspect {
  Id: string;
  RepoTags: string[];
  RepoDigests: string[];
  Parent: string;
  Comment: string;
  Created: string;
  Container: string;
  DockerVersion: string;
  Author: string;
  Config: Record<string, unknown>;
  Architecture: string;
  Variant?: string;
  Os: string;
  Size: number;
  GraphDriver: { Name: string; Data: Record<string, string> | null };
  RootFS: { Type: string; Layers: string[] };
  Metadata: { LastTagTime: string };
}

const EPOCH = '0001-01-01T00:00:00Z';

/** RepoTags ("busybox:latest") and RepoDigests ("busybox@sha256:…") of the images sharing one ID. */
export function repoNames(images: ResolvedImage[]): { tags: string[]; digests: string[] } {
  const tags = new Set<string>();
  const digests = new Set<string>();
  for (const img of images) {
    const ref = parseReference(img.record.name);
    if (ref.tag !== undefined) tags.add(familiarString({ ...ref, digest: undefined }));
    digests.add(`${familiarName(ref)}@${ref.digest ?? img.record.target.digest}`);
  }
  return { tags: [...tags], digests: [...digests] };
}

/**
 * images: every record sharing this ID (first one's config is used);
 * layerSizes: the unpacked size of each layer (layer-sizes.ts), whose sum is
 * the Size dockerd shows.
 */
export function inspectImage(images: ResolvedImage[], snapshotter: string, layerSizes: number[]): DockerImageInspect {
  const first = images[0]!;
  const c = first.config;
  const { tags, digests } = repoNames(images);
  const lastTag = Math.max(...images.map((i) => i.record.updatedAt));
  const out: DockerImageInspect = {
    Id: first.id,
    RepoTags: tags,
    RepoDigests: digests,
    Parent: '',
    Comment: c.history?.at(-1)?.comment ?? '',
    Created: c.created ?? EPOCH,
    Container: c.container ?? '',
    DockerVersion: c.docker_version ?? '',
    Author: c.author ?? '',
    Config: { ...(c.config ?? {}) },
    Architecture: c.architecture,
    Os: c.os,
    Size: layerSizes.reduce((n, s) => n + s, 0),
    GraphDriver: { Name: snapshotter, Data: null },
    RootFS: { Type: 'layers', Layers: [...(c.rootfs?.diff_ids ?? [])] },
    Metadata: { LastTagTime: new Date(lastTag).toISOString() },
  };
  if (c.variant !== undefined) out.Variant = c.variant;
  // a committed image's container config (dockerd shows it; other images have none)
  const cc = (c as { container_config?: unknown }).container_config;
  if (cc !== undefined) (out as unknown as Record<string, unknown>).ContainerConfig = cc;
  return out;
}
