/**
 * A container as the Engine API shows it: inspect's document
 * (ContainerInspectResponse) and ps's summary (ContainerSummary), with
 * Docker's human status ("Up 3 seconds", "Exited (1) 2 minutes ago").
 */
import { psPorts } from '../network/ports.js';
import type { ContainerRecord, ContainerStatus } from './types.js';

/** Docker's units.HumanDuration. */
export function humanDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 1) return 'Less than a second';
  if (s === 1) return '1 second';
  if (s < 60) return `${s} seconds`;
  const m = Math.round(s / 60);
  if (m === 1) return 'About a minute';
  if (m < 60) return `${m} minutes`;
  const h = Math.round(s / 3600);
  if (h === 1) return 'About an hour';
  if (h < 48) return `${h} hours`;
  if (h < 24 * 7 * 2) return `${Math.floor(h / 24)} days`;
  if (h < 24 * 30 * 2) return `${Math.floor(h / 24 / 7)} weeks`;
  if (h < 24 * 365 * 2) return `${Math.floor(h / 24 / 30)} months`;
  return `${Math.floor(h / 24 / 365)} years`;
}

const msOf = (t: string): number => Date.parse(t);

export function statusText(c: ContainerRecord, now = Date.now()): string {
  const st = c.State;
  switch (st.Status) {
    case 'running': return `Up ${humanDuration(now - msOf(st.StartedAt))}`;
    case 'paused': return `Up ${humanDuration(now - msOf(st.StartedAt))} (Paused)`;
    case 'restarting': return `Restarting (${st.ExitCode}) ${humanDuration(now - msOf(st.FinishedAt))} ago`;
    case 'removing': return 'Removal In Progress';
    case 'dead': return 'Dead';
    case 'created': return 'Created';
    case 'exited': return `Exited (${st.ExitCode}) ${humanDuration(now - msOf(st.FinishedAt))} ago`;
  }
}

/** The init's argv as the user sees it (without the init wrapper). */
export function commandOf(c: ContainerRecord): string[] {
  return [...(c.Config.Entrypoint ?? []), ...(c.Config.Cmd ?? [])];
}

export function stateDocument(c: ContainerRecord): Record<string, unknown> {
  const st = c.State;
  const is = (s: ContainerStatus): boolean => st.Status === s;
  return {
    Status: st.Status, Running: is('running') || is('paused') || is('restarting'), Paused: is('paused'), Restarting: is('restarting'),
    OOMKilled: st.OOMKilled, Dead: is('dead'), Pid: st.Pid, ExitCode: st.ExitCode, Error: st.Error, StartedAt: st.StartedAt, FinishedAt: st.FinishedAt,
  };
}

export interface Sizes { SizeRw: number; SizeRootFs: number }

export function inspectDocument(c: ContainerRecord, sizes?: Sizes): Record<string, unknown> {
  const argv = commandOf(c);
  const doc: Record<string, unknown> = {
    Id: c.ID,
    Created: c.Created,
    Path: argv[0] ?? '',
    Args: argv.slice(1),
    State: stateDocument(c),
    Image: c.Image,
    ResolvConfPath: c.ResolvConfPath,
    HostnamePath: c.HostnamePath,
    HostsPath: c.HostsPath,
    LogPath: c.LogPath,
    Name: c.Name,
    RestartCount: c.RestartCount,
    Driver: c.Driver,
    Platform: c.Platform,
    MountLabel: '',
    ProcessLabel: '',
    AppArmorProfile: c.AppArmorProfile,
    ExecIDs: null,
    HostConfig: c.HostConfig,
    GraphDriver: { Data: null, Name: c.Driver },
  };
  if (sizes) { doc.SizeRw = sizes.SizeRw; doc.SizeRootFs = sizes.SizeRootFs; }
  doc.Mounts = c.Mounts;
  doc.Config = c.Config;
  doc.NetworkSettings = c.NetworkSettings;
  return doc;
}

export function summaryDocument(c: ContainerRecord, sizes?: Sizes, now = Date.now()): Record<string, unknown> {
  const doc: Record<string, unknown> = {
    Id: c.ID,
    Names: [c.Name],
    Image: c.ImageName,
    ImageID: c.Image,
    Command: commandOf(c).join(' '), // dockerd joins without quoting
    Created: Math.floor(msOf(c.Created) / 1000),
    Ports: psPorts(c.NetworkSettings.Ports),
    Labels: c.Config.Labels ?? {},
    State: c.State.Status,
    Status: statusText(c, now),
    HostConfig: { NetworkMode: c.HostConfig.NetworkMode || 'bridge' },
    NetworkSettings: { Networks: (c.NetworkSettings.Networks as Record<string, unknown> | undefined) ?? {} },
    Mounts: c.Mounts.map((m) => ({ ...m })),
  };
  if (sizes) { doc.SizeRw = sizes.SizeRw; doc.SizeRootFs = sizes.SizeRootFs; }
  return doc;
}
