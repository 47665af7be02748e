/**
 * The two archive forms `docker save` writes and `docker load` reads, as
 * files inside one tar:
 * - docker-archive: `manifest.json` (one entry per image: Config, RepoTags,
 *   Layers as paths inside the tar), `repositories` (name → tag → top layer
 *   id), and per-layer directories (`<id>/VERSION`, `<id>/json`,
 *   `<id>/layer.tar`); Docker before 25 keeps configs at `<hex>.json`.
 * - OCI image layout: `oci-layout`, `index.json`, `blobs/sha256/<hex>`
 *   (Docker ≥ 25 writes both forms in one tar, the docker-archive paths
 *   pointing into `blobs/`).
 */
export const MANIFEST_JSON = 'manifest.json';
export const REPOSITORIES = 'repositories';
export const OCI_LAYOUT = 'oci-layout';
export const INDEX_JSON = 'index.json';
export const BLOBS_PREFIX = 'blobs/sha256/';

export const OCI_LAYOUT_VERSION = '1.0.0';
/** Annotation naming an image in an OCI layout (usually a tag, sometimes a whole reference). */
export const REF_NAME_ANNOTATION = 'org.opencontainers.image.ref.name';
/** Annotation Docker and containerd add with the whole reference. */
export const IMAGE_NAME_ANNOTATION = 'io.containerd.image.name';

/** One entry of a docker-archive's manifest.json. */
export interface ArchiveManifestEntry {
  Config: string;
  RepoTags: string[] | null;
  Layers: string[];
}

/** The path of a blob in an OCI layout. */
export const blobPath = (digest: string): string => `${BLOBS_PREFIX}${digest.replace(/^sha256:/, '')}`;
