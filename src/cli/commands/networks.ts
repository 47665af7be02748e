/**
 * `network create|ls|rm|prune|connect|disconnect` (`network inspect` is in
 * inspect.ts). The routes come with berthd's networking; dockerd has them.
 */
import { CliError, forEachTarget, help, type CommandSpec } from '../command.js';
import { DEFAULT_NETWORK_TABLE, NETWORK_HEADERS, NetworkContext, type NetworkSummary } from '../format/objects.js';
import { renderList } from '../format/render.js';
import { confirm, pruneReport } from '../prune.js';
import { filtersJson } from './containers.js';
import { keyValues } from './volumes.js';

const enc = encodeURIComponent;

/** The IPAM config of --subnet/--ip-range/--gateway, paired in order as docker pairs them. */
export function ipamConfig(subnets: string[], ranges: string[], gateways: string[]): { Subnet: string; IPRange?: string; Gateway?: string }[] {
  if (ranges.length > subnets.length || gateways.length > subnets.length) throw new CliError('every ip-range or gateway must have a corresponding subnet');
  return subnets.map((s, i) => ({ Subnet: s, ...(ranges[i] ? { IPRange: ranges[i] } : {}), ...(gateways[i] ? { Gateway: gateways[i] } : {}) }));
}

const create: CommandSpec = {
  names: ['network create'], usage: 'network create [OPTIONS] NETWORK', summary: 'Create a network', minArgs: 1, maxArgs: 1,
  flags: [
    { name: 'driver', short: 'd', type: 'string', def: 'bridge' }, { name: 'label', type: 'list' }, { name: 'opt', short: 'o', type: 'list' },
    { name: 'subnet', type: 'list' }, { name: 'ip-range', type: 'list' }, { name: 'gateway', type: 'list' }, { name: 'internal', type: 'bool' },
    { name: 'ipv6', type: 'bool' }, { name: 'attachable', type: 'bool' }, { name: 'ipam-driver', type: 'string', def: 'default' }, help(),
  ],
  async run(ctx, o) {
    const config = ipamConfig(o.list('subnet'), o.list('ip-range'), o.list('gateway'));
    const r = await ctx.client().json<{ Id: string }>('POST', '/networks/create', {
      body: {
        Name: o.args[0], Driver: o.str('driver'), Options: keyValues(o.list('opt')), Labels: keyValues(o.list('label')),
        Internal: o.bool('internal'), EnableIPv6: o.bool('ipv6'), Attachable: o.bool('attachable'), CheckDuplicate: true,
        IPAM: { Driver: o.str('ipam-driver'), Config: config, Options: {} },
      },
    });
    ctx.out(`${r.Id}\n`);
    return 0;
  },
};

const ls: CommandSpec = {
  names: ['network ls', 'network list'], usage: 'network ls [OPTIONS]', summary: 'List networks', maxArgs: 0,
  flags: [{ name: 'quiet', short: 'q', type: 'bool' }, { name: 'format', type: 'string' }, { name: 'filter', short: 'f', type: 'list' }, { name: 'no-trunc', type: 'bool' }, help()],
  async run(ctx, o) {
    const list = await ctx.client().json<NetworkSummary[]>('GET', '/networks', { query: { filters: filtersJson(o.list('filter')) } });
    const sorted = [...list].sort((a, b) => (a.Name < b.Name ? -1 : a.Name > b.Name ? 1 : 0));
    const format = o.str('format');
    ctx.out(renderList({ format, defaultTable: DEFAULT_NETWORK_TABLE, quiet: o.bool('quiet') && (format === '' || format === 'table'), headers: NETWORK_HEADERS },
      sorted.map((n) => new NetworkContext(n, !o.bool('no-trunc')))));
    return 0;
  },
};

const rm: CommandSpec = {
  names: ['network rm', 'network remove'], usage: 'network rm NETWORK [NETWORK...]', summary: 'Remove one or more networks', minArgs: 1,
  flags: [{ name: 'force', short: 'f', type: 'bool' }, help()],
  async run(ctx, o) {
    const code = await forEachTarget(ctx, o.args, async (n) => {
      await ctx.client().call('DELETE', `/networks/${enc(n)}`);
      return n;
    });
    // docker ends a failed network rm with its own line
    if (code !== 0) ctx.err('exit status 1\n');
    return code;
  },
};

const prune: CommandSpec = {
  names: ['network prune'], usage: 'network prune [OPTIONS]', summary: 'Remove all unused networks', maxArgs: 0,
  flags: [{ name: 'filter', type: 'list' }, { name: 'force', short: 'f', type: 'bool' }, help()],
  async run(ctx, o) {
    if (!o.bool('force') && !(await confirm(ctx, 'WARNING! This will remove all custom networks not used by at least one container.'))) return 0;
    const r = await ctx.client().json<{ NetworksDeleted: string[] | null }>('POST', '/networks/prune', { query: { filters: filtersJson(o.list('filter')) } });
    ctx.out(pruneReport('Networks', r.NetworksDeleted ?? [], undefined));
    return 0;
  },
};

const connect: CommandSpec = {
  names: ['network connect'], usage: 'network connect [OPTIONS] NETWORK CONTAINER', summary: 'Connect a container to a network', minArgs: 2, maxArgs: 2,
  flags: [{ name: 'alias', type: 'list' }, { name: 'ip', type: 'string' }, { name: 'ip6', type: 'string' }, { name: 'link', type: 'list' }, { name: 'driver-opt', type: 'list' }, help()],
  async run(ctx, o) {
    const [net, container] = o.args;
    const ipam = o.str('ip') || o.str('ip6') ? { IPv4Address: o.str('ip'), IPv6Address: o.str('ip6') } : undefined;
    await ctx.client().call('POST', `/networks/${enc(net!)}/connect`, {
      body: { Container: container, EndpointConfig: { IPAMConfig: ipam, Aliases: o.list('alias'), Links: o.list('link'), DriverOpts: keyValues(o.list('driver-opt')) } },
    });
    return 0;
  },
};

const disconnect: CommandSpec = {
  names: ['network disconnect'], usage: 'network disconnect [OPTIONS] NETWORK CONTAINER', summary: 'Disconnect a container from a network', minArgs: 2, maxArgs: 2,
  flags: [{ name: 'force', short: 'f', type: 'bool' }, help()],
  async run(ctx, o) {
    const [net, container] = o.args;
    await ctx.client().call('POST', `/networks/${enc(net!)}/disconnect`, { body: { Container: container, Force: o.bool('force') } });
    return 0;
  },
};

export const networkCommands: CommandSpec[] = [create, ls, rm, prune, connect, disconnect];
