/**
 * Host ends of veths deleted off the caller's path. `ip link del` of a veth
 * takes 10–20 ms here (the kernel waits for RCU grace periods under the
 * rtnl lock), and a container's exit and removal would wait for it: the
 * largest single item of `run --rm` in berthd's profile. Here the deletion
 * runs in its own child, and what depends on the veth being gone waits for
 * that deletion only:
 * - plugging a veth of the same name (a restart, a reconnect) waits first,
 *   or the late deletion would take the new pair away;
 * - the address it held stays out of the pool until it is gone, so no new
 *   container shares it with a pair still on the bridge;
 * - berthd's stop waits for all of them.
 * Nothing is lost if berthd dies meanwhile: the pair also ends with the
 * container's namespace, and the next berthd's reconcile deletes any veth
 * on its bridges that no endpoint names.
 */
import { spawn } from 'node:child_process';
import type { Logger } from '../../common/log.js';
import { linkExists } from './links.js';

interface Reaping { network: string; ip: string; done: Promise<void> }

export class LinkReaper {
  private readonly pending = new Map<string, Reaping>();

  constructor(private readonly log: Logger) {}

  /** Starts the deletion of veth (the host end), which held ip on network. */
  remove(veth: string, network: string, ip: string): void {
    if (this.pending.has(veth) || !linkExists(veth)) return;
    const done = new Promise<void>((resolve) => {
      let stderr = '';
      const child = spawn('ip', ['link', 'del', veth], { stdio: ['ignore', 'ignore', 'pipe'] });
      child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
      const finish = (problem?: string): void => {
        // gone already (its namespace ended first) is the same outcome
        if (problem && linkExists(veth)) this.log.warn('cannot delete a container\'s veth', { veth, error: problem });
        this.pending.delete(veth);
        resolve();
      };
      child.on('error', (err) => finish(err.message));
      child.on('close', (code) => finish(code === 0 ? undefined : stderr.trim() || `ip exited ${code}`));
    });
    this.pending.set(veth, { network, ip, done });
  }

  /** Resolves once no deletion of veth is under way. */
  async settled(veth: string): Promise<void> {
    await this.pending.get(veth)?.done;
  }

  /** Addresses on network still held by a veth being deleted. */
  addresses(network: string): string[] {
    return [...this.pending.values()].filter((r) => r.network === network && r.ip !== '').map((r) => r.ip);
  }

  /** Resolves once every deletion started so far has ended. */
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending.values()].map((r) => r.done));
  }
}
