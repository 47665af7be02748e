/**
 * The escape battery of the sandbox tests: one static C program
 * (compiled here, once per test file) whose subcommands each try one way
 * out of a container. Each prints `ESCAPED <detail>` and exits 0 when the
 * attempt worked, or `REFUSED <errno>` and exits 1. In a deliberately
 * weakened container (all capabilities, no seccomp, no masked or read-only
 * paths, every device) they succeed under berth-runtime; under berth-sandbox
 * the same config must refuse every one.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_CAPS } from '../../src/daemon/spec/caps.js';
import { defaultSeccompProfile } from '../../src/runtime/seccomp/default-profile.js';

const SOURCE = String.raw`
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/perf_event.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <netinet/in.h>
#include <sys/mount.h>
#include <sys/types.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

static int escaped(const char *what) { printf("ESCAPED %s\n", what); return 0; }
static int refused(const char *what) { printf("REFUSED %s: %s (errno %d)\n", what, strerror(errno), errno); return 1; }
/* reached the kernel's own checks: anything but a refusal of permission counts */
static int reached(const char *what, long r) {
  if (r >= 0 || (errno != EPERM && errno != EACCES)) { printf("ESCAPED %s (returned %ld, errno %d)\n", what, r, r < 0 ? errno : 0); return 0; }
  return refused(what);
}

int main(int argc, char **argv) {
  const char *t = argc > 1 ? argv[1] : "";
  if (!strcmp(t, "mount-proc")) { mkdir("/tmp/m1", 0755); return mount("proc", "/tmp/m1", "proc", 0, 0) ? refused(t) : escaped(t); }
  if (!strcmp(t, "mount-sysfs")) { mkdir("/tmp/m2", 0755); return mount("sysfs", "/tmp/m2", "sysfs", 0, 0) ? refused(t) : escaped(t); }
  if (!strcmp(t, "mount-block")) {
    /* the host's disk, by the numbers the test passes */
    mkdir("/tmp/m3", 0755);
    unlink("/tmp/blk");
    if (mknod("/tmp/blk", S_IFBLK | 0600, makedev(atoi(argv[2]), atoi(argv[3]))) < 0) return refused("mknod");
    /* same read-write state as the host's mount: the kernel shares its superblock (nothing is written) */
    if (mount("/tmp/blk", "/tmp/m3", argv[4], 0, 0) < 0) return refused(t);
    return access("/tmp/m3/etc/os-release", F_OK) == 0 || access("/tmp/m3/usr", F_OK) == 0 ? escaped("mounted the host's disk") : refused("mounted, but no host files");
  }
  if (!strcmp(t, "unshare-user")) return unshare(CLONE_NEWUSER) ? refused(t) : escaped(t);
  if (!strcmp(t, "unshare-mount")) return unshare(CLONE_NEWNS) ? refused(t) : escaped(t);
  if (!strcmp(t, "ptrace")) {
    pid_t c = fork();
    if (c == 0) { pause(); _exit(0); }
    long r = ptrace(PTRACE_ATTACH, c, 0, 0);
    int e = errno;
    kill(c, SIGKILL); waitpid(c, 0, 0);
    errno = e;
    return r < 0 ? refused(t) : escaped("attached to a sibling");
  }
  if (!strcmp(t, "bpf")) {
    union bpf_attr a; memset(&a, 0, sizeof a);
    a.map_type = BPF_MAP_TYPE_ARRAY; a.key_size = 4; a.value_size = 4; a.max_entries = 1;
    return syscall(SYS_bpf, BPF_MAP_CREATE, &a, sizeof a) < 0 ? refused(t) : escaped("created a bpf map");
  }
  if (!strcmp(t, "module")) { static char img[64]; return reached("init_module", syscall(SYS_init_module, img, sizeof img, "")); }
  if (!strcmp(t, "keyctl")) return syscall(SYS_add_key, "user", "berth-escape", "x", 1, -2) < 0 ? refused(t) : escaped("added a key");
  if (!strcmp(t, "perf")) {
    struct perf_event_attr a; memset(&a, 0, sizeof a);
    a.type = PERF_TYPE_SOFTWARE; a.size = sizeof a; a.config = PERF_COUNT_SW_CPU_CLOCK;
    return syscall(SYS_perf_event_open, &a, 0, -1, -1, 0) < 0 ? refused(t) : escaped("opened a perf event");
  }
  if (!strcmp(t, "handle")) {
    /* "shocker": a handle to inode 2 (the filesystem's root) opens the host's / */
    struct { struct file_handle h; unsigned char b[128]; } fh;
    int mnt;
    fh.h.handle_bytes = 128;
    if (syscall(SYS_name_to_handle_at, AT_FDCWD, "/", &fh.h, &mnt, 0) < 0) return refused("name_to_handle_at");
    unsigned int ino = 2, gen = 0;
    memcpy(fh.h.f_handle, &ino, 4); memcpy(fh.h.f_handle + 4, &gen, 4);
    int root = open("/", O_RDONLY | O_DIRECTORY);
    int fd = syscall(SYS_open_by_handle_at, root, &fh.h, O_RDONLY | O_DIRECTORY);
    if (fd < 0) return refused("open_by_handle_at");
    return faccessat(fd, "usr", F_OK, 0) == 0 ? escaped("opened the host's / by handle") : escaped("opened a file by handle");
  }
  if (!strcmp(t, "packet")) return socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL)) < 0 ? refused(t) : escaped("AF_PACKET socket");
  if (!strcmp(t, "raw")) return socket(AF_INET, SOCK_RAW, IPPROTO_ICMP) < 0 ? refused(t) : escaped("raw IPv4 socket");
  if (!strcmp(t, "sysctl")) {
    /* write core_pattern back unchanged: the write itself is the escape */
    char buf[512] = { 0 };
    int fd = open("/proc/sys/kernel/core_pattern", O_RDONLY);
    if (fd < 0) return refused("read core_pattern");
    ssize_t n = read(fd, buf, sizeof buf - 1); close(fd);
    fd = open("/proc/sys/kernel/core_pattern", O_WRONLY);
    if (fd < 0) return refused(t);
    if (n > 0 && write(fd, buf, (size_t)n) < 0) return refused("write core_pattern");
    return escaped("wrote the host's kernel.core_pattern");
  }
  if (!strcmp(t, "chroot")) {
    mkdir("/tmp/cj", 0755);
    if (chroot("/tmp/cj") < 0) return refused(t);
    for (int i = 0; i < 64; i++) chdir("..");
    return chroot(".") < 0 ? refused(t) : escaped("chroot and back out");
  }
  if (!strcmp(t, "procroot")) {
    /* argv[2]: a host process; its root is the host's / */
    char p[128];
    snprintf(p, sizeof p, "/proc/%s/root/etc/os-release", argv[2]);
    int fd = open(p, O_RDONLY);
    return fd < 0 ? refused(t) : escaped("read the host's /etc through /proc/1/root");
  }
  if (!strcmp(t, "meminfo")) {
    /* argv[2]: the host's MemTotal line value in kB */
    char buf[4096] = { 0 };
    int fd = open("/proc/meminfo", O_RDONLY);
    if (fd < 0) return refused(t);
    read(fd, buf, sizeof buf - 1); close(fd);
    long kb = 0; sscanf(buf, "MemTotal: %ld", &kb);
    if (kb == atol(argv[2])) return escaped("saw the host's memory");
    printf("REFUSED meminfo shows %ld kB\n", kb); return 1;
  }
  /* attempts whose success, if it reached the host, leaves a mark there: the matrix looks for it from the host side */
  if (!strcmp(t, "sethostname")) return sethostname(argv[2], strlen(argv[2])) ? refused(t) : escaped("set the hostname");
  if (!strcmp(t, "hostmark")) {
    /* the host's disk by its numbers, then a file at its root: argv[2] major, argv[3] minor, argv[4] fstype, argv[5] file name */
    mkdir("/tmp/m4", 0755);
    unlink("/tmp/blk4");
    if (mknod("/tmp/blk4", S_IFBLK | 0600, makedev(atoi(argv[2]), atoi(argv[3]))) < 0) return refused("mknod");
    if (mount("/tmp/blk4", "/tmp/m4", argv[4], 0, 0) < 0) return refused(t);
    char p[256];
    snprintf(p, sizeof p, "/tmp/m4/%s", argv[5]);
    int fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0) return refused("create the mark");
    close(fd);
    umount2("/tmp/m4", MNT_DETACH);
    return escaped("created a file at the root of the disk");
  }
  fprintf(stderr, "unknown attempt %s\n", t);
  return 2;
}
`;

export interface Escape {
  name: string;
  args: string[];
  /** the attempt needs the host's pid namespace (a container sharing it) */
  hostPid?: boolean;
}

/** The host disk's numbers and filesystem type (from the mount of /). */
function rootDevice(): { major: number; minor: number; fstype: string } {
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const f = line.split(' ');
    if (f[4] !== '/') continue;
    const [major, minor] = f[2]!.split(':').map(Number);
    const sep = f.indexOf('-');
    return { major: major!, minor: minor!, fstype: f[sep + 1]! };
  }
  throw new Error('no mount of / in /proc/self/mountinfo');
}

function hostMemTotalKb(): number {
  return Number(/MemTotal:\s+(\d+)/.exec(readFileSync('/proc/meminfo', 'utf8'))![1]);
}

/** hostProcess: a pid of the host's (outside any container) for the /proc/<pid>/root attempt. */
export function escapeBattery(hostProcess: number): Escape[] {
  const dev = rootDevice();
  return [
    { name: 'mount proc', args: ['mount-proc'] },
    { name: 'mount sysfs', args: ['mount-sysfs'] },
    { name: 'mount the host disk', args: ['mount-block', String(dev.major), String(dev.minor), dev.fstype] },
    { name: 'unshare a user namespace', args: ['unshare-user'] },
    { name: 'unshare a mount namespace', args: ['unshare-mount'] },
    { name: 'ptrace a sibling', args: ['ptrace'] },
    { name: 'bpf', args: ['bpf'] },
    { name: 'load a kernel module', args: ['module'] },
    { name: 'keyctl', args: ['keyctl'] },
    { name: 'perf_event_open', args: ['perf'] },
    { name: 'open_by_handle_at on /', args: ['handle'] },
    { name: 'AF_PACKET socket', args: ['packet'] },
    { name: 'raw socket', args: ['raw'] },
    { name: 'write /proc/sys/kernel/core_pattern', args: ['sysctl'] },
    { name: 'chroot escape', args: ['chroot'] },
    { name: '/proc/<host pid>/root traversal', args: ['procroot', String(hostProcess)], hostPid: true },
    { name: 'host memory info', args: ['meminfo', String(hostMemTotalKb())] },
  ];
}

/**
 * Attempts with an effect the host can see if they reach it: the host's
 * hostname, and a file created at the root of the host's disk (mounted by
 * its device numbers). A container, a sandbox or a VM may let them "work"
 * inside; the host-side check tells contained from escaped.
 */
export interface HostEffects { hostname: string; mark: string; attempts: Escape[] }

export function hostEffectAttempts(tag: string): HostEffects {
  const dev = rootDevice();
  const hostname = `berth-esc-${tag}`.slice(0, 60);
  const mark = `.berth-escape-mark-${tag}`;
  return {
    hostname,
    mark,
    attempts: [
      { name: 'sethostname', args: ['sethostname', hostname] },
      { name: 'create a file on the host disk', args: ['hostmark', String(dev.major), String(dev.minor), dev.fstype, mark] },
    ],
  };
}

let dir: string | undefined;

/** Compiles the battery once (gcc -static); returns the binary's path. */
export function escapeBinary(): string {
  if (dir) return join(dir, 'escape');
  const d = mkdtempSync(join(tmpdir(), 'berth-escape-'));
  writeFileSync(join(d, 'escape.c'), SOURCE);
  const r = spawnSync('gcc', ['-static', '-O2', '-o', join(d, 'escape'), join(d, 'escape.c')], { encoding: 'utf8' });
  if (r.status !== 0) {
    rmSync(d, { recursive: true, force: true });
    throw new Error(`cannot compile the escape battery: ${r.stderr}`);
  }
  dir = d;
  return join(d, 'escape');
}

export function removeEscapeBinary(): void {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
}

const ALL_CAPS = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_SETGID', 'CAP_SETUID',
  'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE', 'CAP_NET_BROADCAST', 'CAP_NET_ADMIN', 'CAP_NET_RAW',
  'CAP_IPC_LOCK', 'CAP_IPC_OWNER', 'CAP_SYS_MODULE', 'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT', 'CAP_SYS_PTRACE', 'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN', 'CAP_SYS_BOOT', 'CAP_SYS_NICE', 'CAP_SYS_RESOURCE', 'CAP_SYS_TIME', 'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD',
  'CAP_LEASE', 'CAP_AUDIT_WRITE', 'CAP_AUDIT_CONTROL', 'CAP_SETFCAP', 'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG',
  'CAP_WAKE_ALARM', 'CAP_BLOCK_SUSPEND', 'CAP_AUDIT_READ', 'CAP_PERFMON', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE',
];

/**
 * Weakens a `runc spec`-like config as `docker run --privileged` does and
 * further: every capability, no seccomp, no masked or read-only paths,
 * every device, /sys writable, privileges may grow; optionally the host's
 * pid namespace.
 */
export function weaken(config: Record<string, any>, opts: { hostPid?: boolean; memoryLimit?: number } = {}): void {
  const p = config.process;
  // every capability this host has (a machine may itself run without some)
  const bnd = BigInt(`0x${/CapBnd:\s*([0-9a-f]+)/.exec(readFileSync('/proc/self/status', 'utf8'))![1]}`);
  const caps = ALL_CAPS.filter((_, i) => (bnd >> BigInt(i)) & 1n);
  p.capabilities = { bounding: caps, effective: caps, permitted: caps, inheritable: caps, ambient: caps };
  p.noNewPrivileges = false;
  const linux = config.linux;
  delete linux.seccomp;
  linux.maskedPaths = [];
  linux.readonlyPaths = [];
  linux.resources = { devices: [{ allow: true, access: 'rwm' }] };
  if (opts.memoryLimit) linux.resources.memory = { limit: opts.memoryLimit };
  if (opts.hostPid) linux.namespaces = linux.namespaces.filter((n: { type: string }) => n.type !== 'pid');
  for (const m of config.mounts) {
    if (m.destination === '/sys' || m.destination === '/sys/fs/cgroup') m.options = (m.options ?? []).filter((o: string) => o !== 'ro');
  }
}

/**
 * What `docker run` gives a container by default, on a `runc spec`-like
 * config: dockerd's capability set and its seccomp profile for those
 * capabilities (masked and read-only paths, denied devices: as the config
 * already has them); optionally the host's pid namespace (`--pid=host`).
 */
export function dockerDefaults(config: Record<string, any>, opts: { hostPid?: boolean } = {}): void {
  const caps = [...DEFAULT_CAPS];
  config.process.capabilities = { bounding: caps, effective: caps, permitted: caps };
  config.process.noNewPrivileges = false;
  config.linux.seccomp = defaultSeccompProfile({ capabilities: caps });
  if (opts.hostPid) config.linux.namespaces = config.linux.namespaces.filter((n: { type: string }) => n.type !== 'pid');
}
