/**
 * How a container gets its network: the NetworkAttacher answers, at start,
 * which network namespace the spec joins (none: the host's, or a new one
 * the runtime makes) and the NetworkSettings inspect shows; at stop it
 * releases what it set up. Here: `host` and `none`, and `bridge` (and user
 * networks) as a private namespace with loopback only, until the networking
 * issue replaces this attacher with one that plugs a veth into a bridge.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { BerthError, invalidArgument } from '../../common/errors.js';
import type { ContainerRecord } from './types.js';

export interface NetworkAttachment {
  /** share the host's network namespace */
  host: boolean;
  /** a namespace to join (/var/run/netns/…); undefined: a new one */
  netnsPath?: string;
  /** the container's IP address, for /etc/hosts ("" when none) */
  ip: string;
  /** Docker's NetworkSettings, as inspect shows it */
  settings: Record<string, unknown>;
  /** the whole /etc/hosts, when the attacher writes it (otherwise it is made from ip) */
  hosts?: string;
}

export interface NetworkAttacher {
  /** checks a create body's NetworkMode before anything is made */
  validate(mode: string): void;
  /** a container was created (its record is stored): its endpoints, from the create body's NetworkingConfig */
  created?(c: ContainerRecord, networking: unknown): void;
  attach(c: ContainerRecord): Promise<NetworkAttachment>;
  detach(c: ContainerRecord): Promise<void>;
}

function endpoint(): Record<string, unknown> {
  return {
    IPAMConfig: null, Links: null, Aliases: null, MacAddress: '', DriverOpts: null, NetworkID: '', EndpointID: '', Gateway: '', IPAddress: '',
    IPPrefixLen: 0, IPv6Gateway: '', GlobalIPv6Address: '', GlobalIPv6PrefixLen: 0, DNSNames: null,
  };
}

/** Docker's NetworkSettings with one network named `name` and no addresses. */
export function emptySettings(networks: string[]): Record<string, unknown> {
  return {
    Bridge: '', SandboxID: '', SandboxKey: '', HairpinMode: false, LinkLocalIPv6Address: '', LinkLocalIPv6PrefixLen: 0,
    Ports: {}, SecondaryIPAddresses: null, SecondaryIPv6Addresses: null, EndpointID: '', Gateway: '', GlobalIPv6Address: '',
    GlobalIPv6PrefixLen: 0, IPAddress: '', IPPrefixLen: 0, IPv6Gateway: '', MacAddress: '',
    Networks: Object.fromEntries(networks.map((n) => [n, endpoint()])),
  };
}

export function networkMode(c: { HostConfig: { NetworkMode?: string } }): string {
  const m = c.HostConfig.NetworkMode ?? '';
  return m === '' || m === 'default' ? 'bridge' : m;
}

/**
 * The namespace a start will most likely give a container: the host's, or
 * the file <exec-root>/netns/<id> that the attachers bind a new one on
 * (unknown for container:<other>). Only a guess made at create: each start
 * builds the spec from what the attacher really answered.
 */
export function expectedNetwork(c: ContainerRecord, execRoot: string): { host: boolean; netnsPath?: string } {
  const mode = networkMode(c);
  if (mode === 'host') return { host: true };
  if (mode.startsWith('container:')) return { host: false };
  return { host: false, netnsPath: join(execRoot, 'netns', c.ID) };
}

/**
 * host, none, and bridge/user networks as loopback-only namespaces: a
 * network namespace made here with its loopback up (the runtime would
 * leave it down), kept as a bind mount at <exec-root>/netns/<id> while the
 * container runs. The bridge placeholder is marked in inspect:
 * NetworkSettings names the network with an empty IPAddress.
 */
export class LoopbackAttacher implements NetworkAttacher {
  constructor(private readonly execRoot: string) {}

  validate(mode: string): void {
    if (mode.startsWith('container:')) throw invalidArgument(`network mode ${mode} is not supported yet`);
  }

  private path(c: ContainerRecord): string {
    return join(this.execRoot, 'netns', c.ID);
  }

  async attach(c: ContainerRecord): Promise<NetworkAttachment> {
    const mode = networkMode(c);
    if (mode === 'host') return { host: true, ip: '', settings: emptySettings(['host']) };
    const path = this.path(c);
    if (!isMountPoint(path)) {
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      writeFileSync(path, '');
      const r = spawnSync('unshare', [`--net=${path}`, 'ip', 'link', 'set', 'lo', 'up'], { encoding: 'utf8' });
      if (r.status !== 0) {
        try { rmSync(path, { force: true }); } catch { /* nothing made */ }
        throw new BerthError('internal', `cannot create the network namespace of container ${c.ID}: ${(r.stderr || r.error?.message || '').trim()}`);
      }
    }
    return { host: false, netnsPath: path, ip: '', settings: { ...emptySettings([mode]), SandboxKey: path } };
  }

  async detach(c: ContainerRecord): Promise<void> {
    const path = this.path(c);
    if (!existsSync(path)) return;
    if (isMountPoint(path)) spawnSync('umount', ['-l', path]);
    rmSync(path, { force: true });
  }
}

function isMountPoint(path: string): boolean {
  try {
    return readFileSync('/proc/self/mounts', 'utf8').split('\n').some((line) => line.split(' ')[1] === path);
  } catch {
    return false;
  }
}
