/**
 * What an image built here (`import`, `commit`) does the same way: every
 * object it makes is held by one lease until the image record is written;
 * the layer goes into the content store through an ingest and is unpacked
 * into an extract snapshot in the same pass; a blob or snapshot that
 * already exists (the same bytes or tree made before) serves as it is.
 * Whatever is left when the build fails is removed by cleanup().
 */
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { BerthError } from '../../common/errors.js';
import { digestOf } from '../content/digest.js';
import type { ContentStore, ContentWriter } from '../content/types.js';
import type { LeaseManager } from '../leases/types.js';
import type { LayerSizes } from './layer-sizes.js';
import { SNAPSHOT_DIFF_ID_LABEL, type Snapshotter } from '../snapshots/types.js';

const LEASE_TTL_MS = 60 * 60 * 1000;

export interface BuildDeps { content: ContentStore; leases: LeaseManager; layerSizes: LayerSizes }

/** Writes chunk to w, waiting while it is full; throws once w has failed. */
export async function feed(w: Writable, chunk: Buffer): Promise<void> {
  if (w.destroyed) throw w.errored ?? new Error('the layer\'s reader stopped');
  if (!w.write(chunk)) await Promise.race([once(w, 'drain'), once(w, 'close')]);
}

const alreadyThere = (err: unknown): boolean => err instanceof BerthError && err.kind === 'already-exists';

export class LeasedBuild {
  private readonly leaseId: string;
  private extract: string | undefined;
  private ingest: string | undefined;

  constructor(private readonly store: BuildDeps, protected readonly ns: string, leaseLabels: Record<string, string>) {
    this.leaseId = store.leases.create(ns, undefined, leaseLabels, Date.now() + LEASE_TTL_MS).id;
  }

  protected hold(type: string, id: string): void { this.store.leases.addResource(this.ns, this.leaseId, { type, id }); }

  /** A new extract snapshot over parent; the directory to unpack into. */
  protected async prepareExtract(sn: Snapshotter, parent: string): Promise<ReturnType<Snapshotter['applyTarget']>> {
    this.extract = `extract-${randomUUID()}`;
    this.hold(`snapshots/${sn.name}`, this.extract);
    await sn.prepare(this.ns, this.extract, parent, {});
    return sn.applyTarget(this.ns, this.extract);
  }

  /** The extract committed as chain (or the same tree committed before); the layer's unpacked size recorded when measured. */
  protected async commitExtract(sn: Snapshotter, chain: string, diffId: string, unpackedSize: number | undefined): Promise<void> {
    if (this.extract === undefined) return;
    if (unpackedSize !== undefined) this.store.layerSizes.record(diffId, unpackedSize);
    this.hold(`snapshots/${sn.name}`, chain);
    try {
      await sn.commit(this.ns, chain, this.extract, { [SNAPSHOT_DIFF_ID_LABEL]: diffId });
      this.extract = undefined;
    } catch (err) {
      if (!alreadyThere(err)) throw err;
    }
  }

  /** A writer for a new blob, its ingest held. */
  protected async openIngest(prefix: string): Promise<ContentWriter> {
    this.ingest = `${prefix}-${randomUUID()}`;
    this.hold('ingests', this.ingest);
    return this.store.content.writer(this.ns, this.ingest, {});
  }

  /** The ingest committed as digest (or that blob stored before), held. */
  protected async commitIngest(w: ContentWriter, size: number, digest: string): Promise<void> {
    this.hold('content', digest);
    try {
      await w.commit(size, digest);
    } catch (err) {
      if (!alreadyThere(err)) throw err;
    }
    this.ingest = undefined;
  }

  /** A small blob (a config, a manifest) stored and held; its digest. */
  protected async storeBlob(body: Buffer, labels: Record<string, string>): Promise<string> {
    const digest = digestOf(body);
    this.hold('content', digest);
    await this.store.content.writeBlob(this.ns, body, digest, labels);
    return digest;
  }

  /** Removes what a failed build left (the extract, the ingest) and lets the lease go. */
  async cleanup(sn: Snapshotter | undefined): Promise<void> {
    if (sn && this.extract) await sn.remove(this.ns, this.extract).catch(() => undefined);
    if (this.ingest) { try { this.store.content.abort(this.ns, this.ingest); } catch { /* gone */ } }
    try { this.store.leases.delete(this.ns, this.leaseId); } catch { /* expired or gone */ }
  }
}
