/**
 * The objects `ps` and `images` templates see, with Docker's field names
 * (`.ID`, `.Names`, `.RunningFor` …), its truncation and its column headers.
 * Each field is computed from the API's list entry when asked for.
 */
import { goJson } from './funcs.js';
import type { FieldSource } from './template.js';
import { ago, ellipsis, goTimeString, humanSize, humanSize4, shortId } from './units.js';

export interface ContainerSummary {
  Id: string; Names?: string[]; Image: string; ImageID?: string; Command: string; Created: number;
  Ports?: { IP?: string; PrivatePort: number; PublicPort?: number; Type: string }[];
  SizeRw?: number; SizeRootFs?: number; Labels?: Record<string, string> | null; State: string; Status: string;
  NetworkSettings?: { Networks?: Record<string, unknown> | null };
  Mounts?: { Type?: string; Name?: string; Source?: string }[];
}

export interface ImageSummary {
  Id: string; ParentId?: string; RepoTags?: string[] | null; RepoDigests?: string[] | null; Created: number;
  Size: number; SharedSize?: number; VirtualSize?: number; Labels?: Record<string, string> | null; Containers?: number;
}

export type Getter = (args: unknown[]) => unknown;

/** A FieldSource over a table of named getters; `{{json .}}` gives every field, sorted. */
export abstract class Context implements FieldSource {
  abstract readonly goTypeName: string;
  protected abstract getters(): Record<string, Getter>;
  field(name: string, args: unknown[]): { found: boolean; value?: unknown } {
    const g = this.getters()[name];
    return g ? { found: true, value: g(args) } : { found: false };
  }
  toJSON(): Record<string, unknown> {
    const g = this.getters();
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(g).sort()) if (!this.hiddenFromJson().includes(k)) out[k] = g[k]!([]);
    return out;
  }
  protected hiddenFromJson(): string[] { return ['Label']; }
  toGoString(): string { return goJson(this); }
}

export const CONTAINER_HEADERS: Record<string, string> = {
  ID: 'CONTAINER ID', Image: 'IMAGE', Command: 'COMMAND', CreatedAt: 'CREATED AT', RunningFor: 'CREATED',
  Ports: 'PORTS', State: 'STATE', Status: 'STATUS', Size: 'SIZE', Names: 'NAMES', Labels: 'LABELS',
  Mounts: 'MOUNTS', LocalVolumes: 'LOCAL VOLUMES', Networks: 'NETWORKS', Platform: 'PLATFORM',
};

export const DEFAULT_PS_TABLE = 'table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}';

/** Docker's port column: `127.0.0.1:8089->80/tcp, 443/tcp`, sorted, IPv6 in brackets. */
export function displayPorts(ports: ContainerSummary['Ports']): string {
  const items = (ports ?? []).map((p) => {
    if (p.PublicPort === undefined || p.PublicPort === 0) return `${p.PrivatePort}/${p.Type}`;
    const ip = p.IP ?? '';
    const host = ip.includes(':') ? `[${ip}]` : ip;
    return `${host}:${p.PublicPort}->${p.PrivatePort}/${p.Type}`;
  });
  return [...new Set(items)].sort().join(', ');
}

function sortedLabels(labels: Record<string, string> | null | undefined): string {
  return Object.entries(labels ?? {}).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k}=${v}`).join(',');
}

export class ContainerContext extends Context {
  readonly goTypeName = '*formatter.ContainerContext';
  constructor(protected readonly c: ContainerSummary, private readonly trunc: boolean, private readonly nowMs = Date.now()) { super(); }

  protected getters(): Record<string, Getter> {
    const c = this.c;
    return {
      ID: () => (this.trunc ? shortId(c.Id) : c.Id),
      Names: () => {
        const names = (c.Names ?? []).map((n) => n.replace(/^\//, ''));
        // names with a slash are legacy links; docker hides them unless --no-trunc
        return (this.trunc ? names.filter((n) => !n.includes('/')) : names).join(',');
      },
      Image: () => {
        const image = c.Image || '<no image>';
        if (this.trunc && /^sha256:[0-9a-f]{64}$/.test(image)) return shortId(image);
        return this.trunc ? image.replace(/@sha256:[0-9a-f]{64}$/, '') : image;
      },
      Command: () => JSON.stringify(this.trunc ? ellipsis(c.Command, 20) : c.Command),
      CreatedAt: () => goTimeString(c.Created),
      RunningFor: () => ago(c.Created, this.nowMs),
      Ports: () => displayPorts(c.Ports),
      State: () => c.State,
      Status: () => c.Status,
      Size: () => (c.SizeRw === undefined && c.SizeRootFs === undefined ? 'N/A'
        : `${humanSize(c.SizeRw ?? 0)} (virtual ${humanSize(c.SizeRootFs ?? 0)})`),
      Labels: () => sortedLabels(c.Labels),
      Label: (args) => (c.Labels ?? {})[String(args[0])] ?? '',
      Mounts: () => (c.Mounts ?? []).map((m) => (this.trunc ? ellipsis(m.Name || m.Source || '', 15) : m.Name || m.Source || '')).join(','),
      LocalVolumes: () => String((c.Mounts ?? []).filter((m) => m.Type === 'volume').length),
      Networks: () => Object.keys(c.NetworkSettings?.Networks ?? {}).sort().join(','),
      Platform: () => null,
    };
  }
}

export const IMAGE_HEADERS: Record<string, string> = {
  ID: 'IMAGE ID', Repository: 'REPOSITORY', Tag: 'TAG', Digest: 'DIGEST', CreatedSince: 'CREATED', CreatedAt: 'CREATED AT',
  Size: 'SIZE', Containers: 'CONTAINERS', SharedSize: 'SHARED SIZE', UniqueSize: 'UNIQUE SIZE', VirtualSize: 'VIRTUAL SIZE',
};

export const DEFAULT_IMAGES_TABLE = 'table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}';
export const DIGESTS_IMAGES_TABLE = 'table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}';

/** One row of `images`: an image under one of its repository:tag names. */
export interface ImageRow { image: ImageSummary; repository: string; tag: string; digest: string }

/** Docker's rows: one per tag, `<none>` for untagged images, digests by repository. */
export function imageRows(images: ImageSummary[], all: boolean): ImageRow[] {
  const rows: ImageRow[] = [];
  for (const image of [...images].sort((a, b) => b.Created - a.Created)) {
    const tags = (image.RepoTags ?? []).filter((t) => t !== '<none>:<none>');
    const digests = (image.RepoDigests ?? []).filter((d) => d !== '<none>@<none>');
    if (tags.length === 0 && digests.length === 0 && !all && image.ParentId) continue;
    const digestOf = (repo: string): string => digests.find((d) => d.startsWith(`${repo}@`))?.split('@')[1] ?? '<none>';
    if (tags.length === 0) {
      if (digests.length === 0) rows.push({ image, repository: '<none>', tag: '<none>', digest: '<none>' });
      for (const d of digests) rows.push({ image, repository: d.split('@')[0]!, tag: '<none>', digest: d.split('@')[1]! });
      continue;
    }
    for (const t of tags) {
      const at = t.lastIndexOf(':');
      const repo = at > t.lastIndexOf('/') ? t.slice(0, at) : t;
      const tag = at > t.lastIndexOf('/') ? t.slice(at + 1) : '<none>';
      rows.push({ image, repository: repo, tag, digest: digestOf(repo) });
    }
  }
  return rows;
}

export class ImageContext extends Context {
  readonly goTypeName = '*formatter.imageContext';
  constructor(private readonly r: ImageRow, private readonly trunc: boolean, private readonly nowMs = Date.now()) { super(); }

  protected getters(): Record<string, Getter> {
    const { image, repository, tag, digest } = this.r;
    return {
      ID: () => (this.trunc ? shortId(image.Id) : image.Id),
      Repository: () => repository,
      Tag: () => tag,
      Digest: () => digest,
      CreatedSince: () => ago(image.Created, this.nowMs),
      CreatedAt: () => goTimeString(image.Created),
      Size: () => humanSize(image.Size),
      Containers: () => (image.Containers === undefined || image.Containers < 0 ? 'N/A' : String(image.Containers)),
      VirtualSize: () => humanSize(image.VirtualSize ?? image.Size),
      SharedSize: () => (image.SharedSize === undefined || image.SharedSize < 0 ? 'N/A' : humanSize4(image.SharedSize)),
      UniqueSize: () => (image.SharedSize === undefined || image.SharedSize < 0 ? 'N/A' : humanSize4(image.Size - image.SharedSize)),
    };
  }
}
