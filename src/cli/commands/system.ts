/**
 * `version`, `info` and `events` (`system events`, `system info`).
 */
import { CLIENT_API_VERSION, compareVersions } from '../client.js';
import { help, type CliContext, type CommandSpec } from '../command.js';
import { renderList } from '../format/render.js';
import { parseTimeFlag } from '../format/units.js';
import { filtersJson } from './containers.js';

export const CLI_VERSION = '0.1.0';

function platformArch(): string {
  return process.arch === 'x64' ? 'amd64' : process.arch;
}

/** The object `version --format` sees, with Go's field names (`.Server.APIVersion`). */
async function versionContext(ctx: CliContext): Promise<{ Client: Record<string, unknown>; Server: Record<string, unknown> | null; error?: unknown }> {
  const client = {
    Platform: { Name: 'Berth' }, Version: CLI_VERSION, APIVersion: CLIENT_API_VERSION, DefaultAPIVersion: CLIENT_API_VERSION,
    GitCommit: '', GoVersion: process.version, Os: process.platform, Arch: platformArch(), BuildTime: '', Context: 'default',
  };
  try {
    const api = await ctx.client().apiVersion();
    client.APIVersion = api;
    const s = await ctx.client().json<Record<string, unknown>>('GET', '/version');
    const server = {
      Platform: s.Platform ?? { Name: '' }, Components: s.Components ?? [], Version: s.Version, APIVersion: s.ApiVersion,
      MinAPIVersion: s.MinAPIVersion, GitCommit: s.GitCommit, GoVersion: s.GoVersion, Os: s.Os, Arch: s.Arch,
      KernelVersion: s.KernelVersion, Experimental: s.Experimental ?? false, BuildTime: s.BuildTime,
    };
    return { Client: client, Server: server };
  } catch (error) {
    return { Client: client, Server: null, error };
  }
}

const version: CommandSpec = {
  names: ['version', 'system version'], usage: 'version [OPTIONS]', summary: 'Show the Berth version information', maxArgs: 0,
  flags: [{ name: 'format', short: 'f', type: 'string' }, help()],
  async run(ctx, o) {
    const v = await versionContext(ctx);
    if (o.str('format')) {
      ctx.out(renderList({ format: o.str('format'), defaultTable: '', headers: {} }, [v]));
    } else {
      const c = v.Client;
      const downgraded = compareVersions(String(c.APIVersion), CLIENT_API_VERSION) < 0 ? ` (downgraded from ${CLIENT_API_VERSION})` : '';
      let text = `Client:\n Version:           ${c.Version}\n API version:       ${c.APIVersion}${downgraded}\n Node version:      ${c.GoVersion}\n`
        + ` OS/Arch:           ${c.Os}/${c.Arch}\n Context:           ${c.Context}\n`;
      const s = v.Server;
      if (s) {
        text += `\nServer: ${(s.Platform as { Name?: string }).Name ?? ''}\n Engine:\n  Version:          ${s.Version}\n  API version:      ${s.APIVersion} (minimum version ${s.MinAPIVersion})\n`
          + `  Go version:       ${s.GoVersion}\n  Git commit:       ${s.GitCommit}\n  Built:            ${s.BuildTime}\n  OS/Arch:          ${s.Os}/${s.Arch}\n  Experimental:     ${s.Experimental}\n`;
        for (const comp of (s.Components as { Name: string; Version: string; Details?: Record<string, string> }[])) {
          if (comp.Name === 'Engine') continue;
          text += ` ${comp.Name}:\n  Version:          ${comp.Version}\n`;
          for (const [k, val] of Object.entries(comp.Details ?? {})) text += `  ${`${k}:`.padEnd(18)}${val}\n`;
        }
      }
      ctx.out(text);
    }
    if (v.error) throw v.error;
    return 0;
  },
};

const info: CommandSpec = {
  names: ['info', 'system info'], usage: 'info [OPTIONS]', summary: 'Display system-wide information', maxArgs: 0,
  flags: [{ name: 'format', short: 'f', type: 'string' }, help()],
  async run(ctx, o) {
    const i = await ctx.client().json<Record<string, unknown>>('GET', '/info');
    const ctxObj = { ...i, ClientInfo: { Debug: false, Context: 'default', Plugins: [], Warnings: null } };
    if (o.str('format')) {
      ctx.out(renderList({ format: o.str('format'), defaultTable: '', headers: {} }, [ctxObj]));
      return 0;
    }
    const line = (k: string, v: unknown, indent = ' '): string => (v === undefined || v === '' ? '' : `${indent}${k}: ${String(v)}\n`);
    let t = 'Client:\n Version:    ' + CLI_VERSION + '\n Context:    default\n Debug Mode: false\n\nServer:\n';
    t += line('Containers', i.Containers) + line('Running', i.ContainersRunning, '  ') + line('Paused', i.ContainersPaused, '  ') + line('Stopped', i.ContainersStopped, '  ');
    t += line('Images', i.Images) + line('Server Version', i.ServerVersion) + line('Storage Driver', i.Driver);
    for (const [k, v] of (i.DriverStatus as [string, string][] | null) ?? []) t += `  ${k}: ${v}\n`;
    t += line('Logging Driver', i.LoggingDriver) + line('Cgroup Driver', i.CgroupDriver) + line('Cgroup Version', i.CgroupVersion);
    const runtimes = Object.keys((i.Runtimes as Record<string, unknown> | undefined) ?? {});
    if (runtimes.length > 0) t += ` Runtimes: ${runtimes.join(' ')}\n`;
    t += line('Default Runtime', i.DefaultRuntime) + line('Kernel Version', i.KernelVersion) + line('Operating System', i.OperatingSystem)
      + line('OSType', i.OSType) + line('Architecture', i.Architecture) + line('CPUs', i.NCPU);
    if (typeof i.MemTotal === 'number') t += ` Total Memory: ${(i.MemTotal / 1024 ** 3).toFixed(3).replace(/\.?0+$/, '')}GiB\n`;
    t += line('Name', i.Name) + line('ID', i.ID) + line('Docker Root Dir', i.DockerRootDir) + line('Debug Mode', i.Debug);
    t += line('Live Restore Enabled', i.LiveRestoreEnabled);
    ctx.out(t);
    for (const w of (i.Warnings as string[] | null) ?? []) ctx.err(`${w}\n`);
    return 0;
  },
};

/** RFC3339 with nine fraction digits, local zone ("Z" in UTC), from a nanosecond count. */
export function eventTime(timeNano: bigint): string {
  const ms = Number(timeNano / 1_000_000n);
  const d = new Date(ms);
  const off = -d.getTimezoneOffset();
  const local = new Date(ms + off * 60_000).toISOString().slice(0, 19);
  const frac = (timeNano % 1_000_000_000n).toString().padStart(9, '0');
  const zone = off === 0 ? 'Z' : `${off > 0 ? '+' : '-'}${String(Math.floor(Math.abs(off) / 60)).padStart(2, '0')}:${String(Math.abs(off) % 60).padStart(2, '0')}`;
  return `${local}.${frac}${zone}`;
}

/** Docker's default event line: time, type, action, actor id, sorted attributes. */
export function eventLine(e: Record<string, unknown>, raw: string): string {
  const nano = /"timeNano":\s*(\d+)/.exec(raw)?.[1] ?? `${String(e.time ?? 0)}000000000`;
  const actor = (e.Actor ?? {}) as { ID?: string; Attributes?: Record<string, string> };
  const attrs = Object.entries(actor.Attributes ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => `${k}=${v}`);
  return `${eventTime(BigInt(nano))} ${String(e.Type)} ${String(e.Action)} ${actor.ID ?? ''}${attrs.length > 0 ? ` (${attrs.join(', ')})` : ''}\n`;
}

const events: CommandSpec = {
  names: ['events', 'system events'], usage: 'events [OPTIONS]', summary: 'Get real time events from the server', maxArgs: 0,
  flags: [{ name: 'since', type: 'string' }, { name: 'until', type: 'string' }, { name: 'filter', short: 'f', type: 'list' }, { name: 'format', type: 'string' }, help()],
  async run(ctx, o) {
    const format = o.str('format');
    await ctx.client().jsonLines('GET', '/events', {
      query: {
        since: o.has('since') ? parseTimeFlag(o.str('since')) : undefined, until: o.has('until') ? parseTimeFlag(o.str('until')) : undefined,
        filters: filtersJson(o.list('filter')),
      },
    }, (e, raw) => {
      ctx.out(format ? renderList({ format, defaultTable: '', headers: {} }, [e]) : eventLine(e, raw));
    });
    return 0;
  },
};

export const systemCommands: CommandSpec[] = [version, info, events];
