/**
 * The objects `volume ls`, `network ls` and `stats` templates see, with
 * Docker's field names and column headers.
 */
import { Context, type Getter } from './contexts.js';
import { shortId } from './units.js';

function sortedLabels(labels: Record<string, string> | null | undefined): string {
  return Object.entries(labels ?? {}).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k}=${v}`).join(',');
}

/** Go's time.Time.String() of an RFC 3339 time with nanoseconds, in UTC ("2026-11-29 16:28:37.073741198 +0000 UTC"). */
export function goTimeFromRfc3339(text: string): string {
  const m = /^(\d{4}-\d\d-\d\d)T(\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/.exec(text);
  if (!m) return text;
  const frac = (m[3] ?? '').replace(/0+$/, '');
  if (m[4] === 'Z') return `${m[1]} ${m[2]}${frac ? `.${frac}` : ''} +0000 UTC`;
  const off = m[4]!.replace(':', '');
  return `${m[1]} ${m[2]}${frac ? `.${frac}` : ''} ${off} ${off}`;
}

export interface VolumeSummary {
  Name: string; Driver: string; Mountpoint: string; Scope: string; CreatedAt?: string;
  Labels?: Record<string, string> | null; Options?: Record<string, string> | null;
  UsageData?: { Size: number; RefCount: number } | null;
}

export const VOLUME_HEADERS: Record<string, string> = {
  Name: 'VOLUME NAME', Driver: 'DRIVER', Scope: 'SCOPE', Mountpoint: 'MOUNTPOINT', Labels: 'LABELS', Links: 'LINKS', Size: 'SIZE',
  Group: 'GROUP', Availability: 'AVAILABILITY', Status: 'STATUS',
};
export const DEFAULT_VOLUME_TABLE = 'table {{.Driver}}\t{{.Name}}';

export class VolumeContext extends Context {
  readonly goTypeName = '*formatter.volumeContext';
  constructor(private readonly v: VolumeSummary) { super(); }
  protected getters(): Record<string, Getter> {
    const v = this.v;
    return {
      Availability: () => 'N/A', Driver: () => v.Driver, Group: () => 'N/A', Labels: () => sortedLabels(v.Labels),
      Links: () => (v.UsageData && v.UsageData.RefCount >= 0 ? String(v.UsageData.RefCount) : 'N/A'),
      Mountpoint: () => v.Mountpoint, Name: () => v.Name, Scope: () => v.Scope,
      Size: () => (v.UsageData && v.UsageData.Size >= 0 ? String(v.UsageData.Size) : 'N/A'), Status: () => 'N/A',
      Label: (args) => (v.Labels ?? {})[String(args[0])] ?? '',
    };
  }
}

export interface NetworkSummary {
  Id: string; Name: string; Driver: string; Scope: string; Created?: string; EnableIPv4?: boolean; EnableIPv6?: boolean; Internal?: boolean;
  Labels?: Record<string, string> | null;
}

export const NETWORK_HEADERS: Record<string, string> = {
  ID: 'NETWORK ID', Name: 'NAME', Driver: 'DRIVER', Scope: 'SCOPE', IPv4: 'IPV4', IPv6: 'IPV6', Internal: 'INTERNAL', Labels: 'LABELS', CreatedAt: 'CREATED AT',
};
export const DEFAULT_NETWORK_TABLE = 'table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}';

export class NetworkContext extends Context {
  readonly goTypeName = '*formatter.networkContext';
  constructor(private readonly n: NetworkSummary, private readonly trunc: boolean) { super(); }
  protected getters(): Record<string, Getter> {
    const n = this.n;
    return {
      CreatedAt: () => goTimeFromRfc3339(n.Created ?? ''), Driver: () => n.Driver, ID: () => (this.trunc ? shortId(n.Id) : n.Id),
      IPv4: () => String(n.EnableIPv4 ?? false), IPv6: () => String(n.EnableIPv6 ?? false), Internal: () => String(n.Internal ?? false),
      Labels: () => sortedLabels(n.Labels), Name: () => n.Name, Scope: () => n.Scope,
      Label: (args) => (n.Labels ?? {})[String(args[0])] ?? '',
    };
  }
}
