/** The Remote that pull and push use, over the distribution client. */
import type { Readable } from 'node:stream';
import { RegistryClient, type RegistrySettings } from '../distribution/registry.js';
import type { Credentials } from '../distribution/credentials.js';
import type { Reference } from '../distribution/reference.js';
import type { Descriptor } from '../oci/types.js';
import type { Remote } from './remote.js';

export interface RemoteHandle extends Remote { close(): void }

/** A remote for the registry of ref; explicit credentials win over Docker's config.json. */
export function openRemote(ref: Reference, settings: RegistrySettings, credentials?: Credentials): RemoteHandle {
  const client = RegistryClient.forReference(ref, credentials ? { ...settings, credentials: () => credentials } : settings);
  return {
    domain: ref.domain,
    resolve: async (r: Reference) => (await client.resolve(r)).descriptor,
    fetchManifest: (repo: string, desc: Descriptor) => client.fetchManifest(repo, desc),
    fetchBlob: (repo: string, desc: Descriptor, offset?: number) => client.fetchBlob(repo, desc, offset),
    blobExists: (repo: string, desc: Descriptor) => client.blobExists(repo, desc),
    mountBlob: (repo: string, from: string, desc: Descriptor) => client.mountBlob(repo, desc, from),
    uploadBlob: (repo: string, desc: Descriptor, body: (offset: number) => Readable) => client.pushBlob(repo, desc, body),
    putManifest: async (repo: string, selector: string, mediaType: string, body: Buffer) => { await client.putManifest(repo, selector, mediaType, body); },
    close: () => client.close(),
  };
}
