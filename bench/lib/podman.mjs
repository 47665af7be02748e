// bench/lib/podman: a private, rootful Podman for bench/all — Debian's podman
// with its own storage root, run root, tmp dir, events log, network config
// dir and containers.conf under one temp dir (overlay storage, runc, cgroupfs,
// k8s-file logs), so it never touches the host's storage. The same busybox as
// the other engines comes in by `podman load` of a `docker save` archive.
// `stop()` removes every container, kills leftover conmons, unmounts what is
// mounted under the temp dir, removes its cgroups and the dir.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { exec, pidsByCmdline } from '../engine-env.mjs';
import { removeCgroupTree } from './cgroups.mjs';

export const PODMAN = '/usr/bin/podman';
const RUNC = '/usr/sbin/runc';

export const podmanSkip = !existsSync(PODMAN) ? `needs ${PODMAN} (Debian podman)` : !existsSync('/usr/bin/conmon') ? 'needs conmon' : false;

export class Podman {
  /** Starts nothing (podman has no daemon): makes the private dirs and loads the image archive. */
  static async start(imageTar, { log = console.error } = {}) {
    const p = new Podman();
    p.dir = mkdtempSync(join(tmpdir(), 'berth-bench-podman-'));
    p.cgroupParent = `/berth-bench-podman-${process.pid}`;
    try {
      for (const d of ['root', 'run', 'tmp', 'xdg', 'net']) mkdirSync(join(p.dir, d));
      // the hard nofile limit here is below podman's default 1048576, which runc cannot set
      writeFileSync(join(p.dir, 'containers.conf'), [
        '[containers]',
        'default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]',
        'log_driver = "k8s-file"',
        '[network]',
        `network_config_dir = "${join(p.dir, 'net')}"`,
        '[engine]',
        'cgroup_manager = "cgroupfs"',
        'events_logger = "file"',
        `events_logfile_path = "${join(p.dir, 'events.log')}"`,
        '',
      ].join('\n'));
      p.args = ['--root', join(p.dir, 'root'), '--runroot', join(p.dir, 'run'), '--tmpdir', join(p.dir, 'tmp'),
        '--storage-driver', 'overlay', '--runtime', RUNC, '--cgroup-manager', 'cgroupfs'];
      p.env = { ...process.env, CONTAINERS_CONF: join(p.dir, 'containers.conf'), XDG_RUNTIME_DIR: join(p.dir, 'xdg') };
      log('loading busybox into podman …');
      await p.cli(['load', '-i', imageTar]);
      return p;
    } catch (err) {
      await p.stop();
      throw err;
    }
  }

  /**
   * The podman CLI with the docker grammar the bench uses; `run` gets the
   * bench's cgroup parent so cleanup can find every cgroup it made.
   */
  cli = async (args, opts = {}) => {
    // `docker rm -f` kills at once; podman's waits the stop timeout (10 s) first unless told -t 0
    const a = args[0] === 'run' ? ['run', '--cgroup-parent', this.cgroupParent, ...args.slice(1)]
      : args[0] === 'rm' && args.includes('-f') && !args.includes('-t') ? ['rm', '-t', '0', ...args.slice(1)] : args;
    const r = await exec(PODMAN, [...this.args, ...a], this.env, opts);
    if (r.code !== 0 && !opts.allowFail) throw new Error(`podman ${args.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
    return r;
  };

  /** conmon pids of this podman's containers (one per container, podman's only resident process). */
  conmons() { return pidsByCmdline((a) => a[0]?.endsWith('conmon') && a.some((x) => x.startsWith(this.dir))); }

  async removeAll() {
    await this.cli(['rm', '-a', '-f', '-t', '0'], { allowFail: true });
  }

  async stop() {
    if (!this.dir) return;
    if (this.args) { try { await this.removeAll(); } catch (e) { console.error(`podman rm: ${e.message}`); } }
    // what podman could not remove (a run cut short): its conmons and every process in its cgroups
    for (const p of [...this.conmons(), ...cgroupProcs(this.cgroupParent)]) { try { process.kill(p, 'SIGKILL'); } catch { /* gone */ } }
    for (let i = 0; i < 50 && this.conmons().length; i++) await sleep(100);
    const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4])
      .filter((m) => m?.startsWith(this.dir)).sort((a, b) => b.length - a.length);
    for (const m of mounts) spawnSync('umount', ['-l', m]);
    // a conmon leaves its cgroup a moment after its container is gone
    for (let i = 0; i < 50 && removeCgroupTree(this.cgroupParent); i++) await sleep(100);
    rmSync(this.dir, { recursive: true, force: true, maxRetries: 5 });
    this.dir = undefined;
  }
}

/** Pids in the cgroup rel or below it, in any hierarchy. */
export function cgroupProcs(rel) {
  const out = new Set();
  for (const c of readdirSync('/sys/fs/cgroup')) {
    const root = join('/sys/fs/cgroup', c, rel);
    if (!existsSync(root)) continue;
    const files = spawnSync('find', [root, '-name', 'cgroup.procs'], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
    for (const f of files) { try { for (const p of readFileSync(f, 'utf8').split('\n').filter(Boolean)) out.add(Number(p)); } catch { /* gone */ } }
  }
  return [...out];
}

