/**
 * The typed client of berth-core, used by berth-ctr, berthd and tests. Every
 * call carries the client's namespace as `berth-namespace` metadata; failed
 * calls reject with a CoreCallError (a BerthError of the matching kind, with
 * the gRPC code kept).
 */
import { PassThrough, type Readable } from 'node:stream';
import * as grpc from '@grpc/grpc-js';
import type {
  Api, CommitImageRequest, CommitImageResponse, DataChunk, Envelope, Image, ImportImageRequest, ImportImageResponse, Labels, LoadImagesRequest, LoadImagesResponse, PullProgress, PullRequest,
  PushProgress, PushRequest, ReadContentRequest, ReadContentResponse, SaveImagesRequest, SubscribeRequest, WriteContentRequest, WriteContentResponse,
} from './api/types.js';
import { DEFAULT_NAMESPACE, loadServices, NAMESPACE_KEY, type ServiceName } from './api/proto.js';
import { startAttachment, type AttachCall, type CoreAttachOptions, type CoreAttachment } from './attachment.js';
import { DEFAULT_ADDRESS } from './config.js';
import { CoreCallError, fromServiceError } from './errors.js';

type UnaryMethod = (req: unknown, md: grpc.Metadata, cb: (err: grpc.ServiceError | null, res: unknown) => void) => grpc.ClientUnaryCall;

export type ServiceClient<S extends keyof Api> = {
  [M in keyof Api[S]]: Api[S][M] extends [infer Req, infer Res] ? (req: Partial<Req>) => Promise<Res> : never;
};

export interface EventStream {
  /** resolves with each envelope in turn; ends when cancelled or the core stops */
  [Symbol.asyncIterator](): AsyncIterator<Envelope>;
  on(event: 'data', fn: (e: Envelope) => void): void;
  on(event: 'end', fn: () => void): void;
  on(event: 'error', fn: (err: Error) => void): void;
  cancel(): void;
}

export class CoreClient {
  readonly address: string;
  readonly namespace: string;
  private readonly clients: Record<ServiceName, grpc.Client>;

  constructor(address: string = DEFAULT_ADDRESS, namespace: string = DEFAULT_NAMESPACE, shared?: Record<ServiceName, grpc.Client>) {
    this.address = address;
    this.namespace = namespace;
    if (shared) { this.clients = shared; return; }
    const ctors = loadServices();
    const channel = new ctors.Namespaces(`unix://${address}`, grpc.credentials.createInsecure());
    // the services share one channel (one connection to the socket)
    const opts = { channelOverride: channel.getChannel() };
    this.clients = {
      Namespaces: channel,
      Containers: new ctors.Containers(`unix://${address}`, grpc.credentials.createInsecure(), opts),
      Events: new ctors.Events(`unix://${address}`, grpc.credentials.createInsecure(), opts),
      Tasks: new ctors.Tasks(`unix://${address}`, grpc.credentials.createInsecure(), opts),
      Images: new ctors.Images(`unix://${address}`, grpc.credentials.createInsecure(), opts),
      Content: new ctors.Content(`unix://${address}`, grpc.credentials.createInsecure(), opts),
      Snapshots: new ctors.Snapshots(`unix://${address}`, grpc.credentials.createInsecure(), opts),
      Leases: new ctors.Leases(`unix://${address}`, grpc.credentials.createInsecure(), opts),
      Gc: new ctors.Gc(`unix://${address}`, grpc.credentials.createInsecure(), opts),
    };
  }

  /** The same connection, acting in another namespace. */
  withNamespace(namespace: string): CoreClient {
    return new CoreClient(this.address, namespace, this.clients);
  }

  /** A failed call's error; an unreachable core is named with its address. */
  private failure(err: grpc.ServiceError): CoreCallError {
    if (err.code === grpc.status.UNAVAILABLE && /No connection established|connect E[A-Z]+/.test(err.details ?? '')) {
      const why = /connect (E[A-Z]+)/.exec(err.details ?? '')?.[1];
      const reason = why === 'ENOENT' ? 'no such socket' : why === 'ECONNREFUSED' ? 'connection refused' : why === 'EACCES' ? 'permission denied' : (err.details ?? 'unreachable');
      return new CoreCallError(err.code, `cannot reach berth-core at ${this.address}: ${reason}`, err);
    }
    return fromServiceError(err);
  }

  private metadata(): grpc.Metadata {
    const md = new grpc.Metadata();
    md.set(NAMESPACE_KEY, this.namespace);
    return md;
  }

  private service<S extends keyof Api>(name: S): ServiceClient<S> {
    const client = this.clients[name] as unknown as Record<string, UnaryMethod>;
    return new Proxy({}, {
      get: (_t, method: string) => (req: unknown) => new Promise((resolve, reject) => {
        const fn = client[method];
        if (typeof fn !== 'function') { reject(new Error(`berth-core api has no method ${name}.${method}`)); return; }
        fn.call(client, req, this.metadata(), (err, res) => { if (err) reject(this.failure(err)); else resolve(res); });
      }),
    }) as ServiceClient<S>;
  }

  get namespaces(): ServiceClient<'Namespaces'> { return this.service('Namespaces'); }
  get containers(): ServiceClient<'Containers'> { return this.service('Containers'); }
  get events(): ServiceClient<'Events'> { return this.service('Events'); }
  get tasks(): ServiceClient<'Tasks'> { return this.service('Tasks'); }
  get images(): ServiceClient<'Images'> { return this.service('Images'); }
  get content(): ServiceClient<'Content'> { return this.service('Content'); }
  get snapshots(): ServiceClient<'Snapshots'> { return this.service('Snapshots'); }
  get leases(): ServiceClient<'Leases'> { return this.service('Leases'); }
  get gc(): ServiceClient<'Gc'> { return this.service('Gc'); }

  /** Pulls ref through the core; onProgress sees every progress message; resolves with the image stored. */
  pull(req: Partial<PullRequest>, onProgress?: (p: PullProgress) => void): Promise<Image> {
    return this.serverStream<PullRequest, PullProgress>('Images', 'Pull', req, onProgress)
      .then((msgs) => {
        const image = msgs.map((m) => m.image).find((i) => i !== null);
        if (!image) throw new CoreCallError(grpc.status.INTERNAL, `pull of ${req.ref ?? ''} ended without an image`);
        return image;
      });
  }

  /** Pushes a local image through the core. */
  push(req: Partial<PushRequest>, onProgress?: (p: PushProgress) => void): Promise<void> {
    return this.serverStream<PushRequest, PushProgress>('Images', 'Push', req, onProgress).then(() => undefined);
  }

  /** A blob from the content store, whole. */
  async readContent(digest: string, offset = 0): Promise<Buffer> {
    const chunks = await this.serverStream<ReadContentRequest, ReadContentResponse>('Content', 'Read', { digest, offset: String(offset) });
    return Buffer.concat(chunks.map((c) => c.data));
  }

  /** Writes a blob to the content store in one client stream (first message names it, the last commits). */
  writeContent(ref: string, data: Buffer, expected: string, labels: Labels = {}): Promise<WriteContentResponse> {
    const client = this.clients.Content as unknown as {
      Write(md: grpc.Metadata, cb: (err: grpc.ServiceError | null, res: WriteContentResponse) => void): grpc.ClientWritableStream<WriteContentRequest>;
    };
    return new Promise((resolve, reject) => {
      const call = client.Write(this.metadata(), (err, res) => { if (err) reject(this.failure(err)); else resolve(res); });
      const CHUNK = 1 << 20;
      const base = { ref, offset: '0', total: String(data.length), expected, labels };
      if (data.length === 0) call.write({ ...base, data: Buffer.alloc(0), commit: true });
      for (let at = 0; at < data.length; at += CHUNK) {
        const last = at + CHUNK >= data.length;
        call.write({ ...base, offset: String(at), data: data.subarray(at, at + CHUNK), commit: last });
      }
      call.end();
    });
  }

  /** docker save through the core: the archive's bytes (the stream fails with the call's error). */
  save(req: Partial<SaveImagesRequest>): Readable {
    return this.byteStream<SaveImagesRequest>('Images', 'Save', req);
  }

  /** docker export through the core: a container's filesystem as a tar. */
  exportContainer(id: string): Readable {
    return this.byteStream('Images', 'ExportContainer', { id });
  }

  /** docker load through the core: streams the archive; resolves with the images stored (one per name). */
  async load(source: AsyncIterable<Buffer>, opts: Partial<Omit<LoadImagesRequest, 'data'>> = {}): Promise<Image[]> {
    const res = await this.upload<LoadImagesRequest, LoadImagesResponse>('Images', 'Load', opts, source);
    return res.images;
  }

  /** docker import through the core: streams a root filesystem tar; resolves with the image stored. */
  async importImage(source: AsyncIterable<Buffer>, opts: Partial<Omit<ImportImageRequest, 'data'>>): Promise<Image> {
    const res = await this.upload<ImportImageRequest, ImportImageResponse>('Images', 'Import', opts, source);
    if (!res.image) throw new CoreCallError(grpc.status.INTERNAL, 'import ended without an image');
    return res.image;
  }

  /** docker commit through the core: streams a container's layer tar; resolves with the image stored. */
  async commitImage(source: AsyncIterable<Buffer>, opts: Partial<Omit<CommitImageRequest, 'data'>>): Promise<Image> {
    const res = await this.upload<CommitImageRequest, CommitImageResponse>('Images', 'Commit', opts, source);
    if (!res.image) throw new CoreCallError(grpc.status.INTERNAL, 'commit ended without an image');
    return res.image;
  }

  /** A server stream of DataChunk as a byte stream, with flow control both ways. */
  private byteStream<Req>(service: ServiceName, method: string, req: Partial<Req>): Readable {
    const client = this.clients[service] as unknown as Record<string, (req: unknown, md: grpc.Metadata) => grpc.ClientReadableStream<DataChunk>>;
    const call = client[method]!.call(client, req, this.metadata());
    const out = new PassThrough({ highWaterMark: 1 << 20 });
    let ended = false;
    call.on('data', (m: DataChunk) => { if (!out.write(m.data)) call.pause(); });
    out.on('drain', () => call.resume());
    call.on('error', (err: grpc.ServiceError) => { ended = true; out.destroy(this.failure(err)); });
    call.on('end', () => { ended = true; out.end(); });
    out.on('close', () => { if (!ended) call.cancel(); });
    return out;
  }

  /** A client stream: the first message carries opts, then every chunk of source as data. */
  private upload<Req extends { data: Buffer }, Res>(service: ServiceName, method: string, opts: Partial<Req>, source: AsyncIterable<Buffer>): Promise<Res> {
    const client = this.clients[service] as unknown as Record<string, (md: grpc.Metadata, cb: (err: grpc.ServiceError | null, res: Res) => void) => grpc.ClientWritableStream<Partial<Req>>>;
    return new Promise<Res>((resolve, reject) => {
      let settled = false;
      let wake: () => void = () => undefined;
      const call = client[method]!.call(client, this.metadata(), (err, res) => {
        settled = true;
        wake();
        if (err) reject(this.failure(err)); else resolve(res);
      });
      void (async () => {
        call.write({ ...opts, data: Buffer.alloc(0) });
        for await (const chunk of source) {
          if (settled) return; // the core answered (refused) already
          if (!call.write({ data: chunk } as Partial<Req>)) await new Promise<void>((r) => { wake = r; call.once('drain', r); });
        }
        call.end();
      })().catch((err: unknown) => {
        call.cancel();
        if (!settled) { settled = true; reject(err instanceof Error ? err : new Error(String(err))); }
      });
    });
  }

  private serverStream<Req, Res>(service: ServiceName, method: string, req: Partial<Req>, onData?: (m: Res) => void): Promise<Res[]> {
    const client = this.clients[service] as unknown as Record<string, (req: unknown, md: grpc.Metadata) => grpc.ClientReadableStream<Res>>;
    return new Promise((resolve, reject) => {
      const call = client[method]!.call(client, req, this.metadata());
      const got: Res[] = [];
      call.on('data', (m: Res) => { got.push(m); onData?.(m); });
      call.on('error', (err: grpc.ServiceError) => { reject(this.failure(err)); });
      call.on('end', () => { resolve(got); });
    });
  }

  /** Streams events passing the filters (none: every event of every namespace). */
  subscribe(filter: Partial<SubscribeRequest> = {}): EventStream {
    const client = this.clients.Events as unknown as { Subscribe(req: unknown, md: grpc.Metadata): grpc.ClientReadableStream<Envelope> };
    const call = client.Subscribe({ topics: filter.topics ?? [], namespaces: filter.namespaces ?? [] }, this.metadata());
    const errors: ((err: Error) => void)[] = [];
    call.on('error', (err: grpc.ServiceError) => {
      if (err.code === grpc.status.CANCELLED) return;
      for (const fn of errors) fn(this.failure(err));
    });
    return {
      [Symbol.asyncIterator]: () => call[Symbol.asyncIterator]() as AsyncIterator<Envelope>,
      on: ((event: string, fn: (arg: never) => void) => {
        if (event === 'error') errors.push(fn as (err: Error) => void);
        else call.on(event, fn as (...args: unknown[]) => void);
      }) as EventStream['on'],
      cancel: () => call.cancel(),
    };
  }

  /**
   * Attaches to a task's init or an exec (Tasks.Attach): resolves once the
   * attach is in place; iterate it for output, write to its stdin.
   */
  attach(opts: CoreAttachOptions): Promise<CoreAttachment> {
    const client = this.clients.Tasks as unknown as { Attach(md: grpc.Metadata): AttachCall };
    return startAttachment(client.Attach(this.metadata()), opts, (e) => this.failure(e));
  }

  /** Resolves when the core answers (or rejects after timeoutMs). */
  waitForReady(timeoutMs = 5000): Promise<void> {
    // every service client has its own channel: each must be connected
    const deadline = Date.now() + timeoutMs;
    return Promise.all(Object.values(this.clients).map((client) => new Promise<void>((resolve, reject) => {
      client.waitForReady(deadline, (err) => {
        if (err) reject(fromServiceError(Object.assign(err, { code: grpc.status.UNAVAILABLE, details: `cannot reach berth-core at ${this.address}: ${err.message}` })));
        else resolve();
      });
    }))).then(() => undefined);
  }

  close(): void {
    for (const c of Object.values(this.clients)) c.close();
  }
}
