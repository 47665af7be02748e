/**
 * berth-sandbox's pass-through of opens has no time-of-check/time-of-use
 * gap: a second thread of the container rewrites the path buffer while the
 * first opens it, alternating a path the supervisor lets the kernel open
 * itself (the caller's own /proc/self entries; a fifo, whose open blocks)
 * with the host's /proc/sys/kernel/core_pattern, which the policy makes
 * read-only. Any answer that lets the kernel read the caller's buffer a
 * second time (SECCOMP_USER_NOTIF_FLAG_CONTINUE) hands the racer a
 * writable core_pattern. The container is privileged-like (every
 * capability, no seccomp, no read-only /proc/sys), so the policy's path
 * rules are the only thing in the way: the control, berth-runtime with the
 * same config, opens core_pattern for writing directly. Nothing is ever
 * written. Also: what the supervisor now opens itself behaves as the
 * kernel's own open did (fifos block for their partner, /dev/std*,
 * /dev/fd/N and /proc/self give the caller's own files, also for a
 * non-root user).
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeBundle, removeBundle, type Bundle } from '../helpers/bundle.js';
import { weaken } from '../helpers/escapes.js';
import { isRoot, REPO, RUNTIME, Runtime } from '../helpers/runtime.js';

const SANDBOX = join(REPO, 'bin', 'berth-sandbox');
const skip = !isRoot || !existsSync(SANDBOX) ? 'needs root and npm run build' : false;

const RACE_C = String.raw`
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define TARGET "/proc/sys/kernel/core_pattern"
static char buf[64];
static char bait[64], target[64];
static volatile int stop;

static void *flip(void *arg) {
  (void)arg;
  /* the barriers keep the compiler from dropping the first copy as dead */
  while (!stop) {
    memcpy(buf, bait, sizeof buf);
    __asm__ volatile("" ::: "memory");
    memcpy(buf, target, sizeof buf);
    __asm__ volatile("" ::: "memory");
  }
  return NULL;
}

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "";
  strcpy(target, TARGET);
  if (!strcmp(mode, "direct")) {
    int fd = open(TARGET, O_WRONLY);
    if (fd < 0) { printf("REFUSED direct: %s\n", strerror(errno)); return 1; }
    printf("ESCAPED direct\n");
    return 0;
  }
  if (!strcmp(mode, "self")) strcpy(bait, "/proc/self/status");
  else if (!strcmp(mode, "fifo")) {
    strcpy(bait, "/tmp/race-fifo");
    unlink(bait);
    if (mkfifo(bait, 0666) < 0) { perror("mkfifo"); return 2; }
    /* a reader and a writer held open: no open of the fifo blocks */
    if (open(bait, O_RDWR) < 0) { perror("open fifo"); return 2; }
  } else { fprintf(stderr, "unknown mode %s\n", mode); return 2; }
  double seconds = argc > 2 ? atof(argv[2]) : 3;
  pthread_t t;
  if (pthread_create(&t, NULL, flip, NULL)) { fprintf(stderr, "no second thread\n"); return 2; }
  long tries = 0, hits = 0;
  double end = now() + seconds;
  while (now() < end) {
    for (int i = 0; i < 64; i++, tries++) {
      int fd = open(buf, O_WRONLY | O_CLOEXEC);
      if (fd < 0) continue;
      char link[64], where[256];
      snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
      ssize_t n = readlink(link, where, sizeof where - 1);
      where[n > 0 ? n : 0] = 0;
      if (!strcmp(where, TARGET)) hits++;
      close(fd);
    }
  }
  stop = 1;
  pthread_join(t, NULL);
  if (hits) printf("ESCAPED %s: %ld of %ld opens got a writable core_pattern\n", mode, hits, tries);
  else printf("REFUSED %s: none of %ld opens got core_pattern\n", mode, tries);
  return hits ? 0 : 1;
}`;

const bundles: Bundle[] = [];
const runtimes: Runtime[] = [];
let dir: string | undefined;
after(() => {
  for (const r of runtimes) r.cleanup();
  for (const b of bundles) removeBundle(b);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function raceBinary(): string {
  if (dir) return join(dir, 'race');
  dir = mkdtempSync(join(tmpdir(), 'berth-race-'));
  writeFileSync(join(dir, 'race.c'), RACE_C);
  const r = spawnSync('gcc', ['-static', '-O2', '-pthread', '-o', join(dir, 'race'), join(dir, 'race.c')], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return join(dir, 'race');
}

function bundle(args: string[], opts: { weakened?: boolean } = {}): Bundle {
  const b = makeBundle(args, 'berth-toctou-');
  bundles.push(b);
  copyFileSync(raceBinary(), join(b.rootfs, 'race'));
  chmodSync(join(b.rootfs, 'race'), 0o755);
  for (const a of ['mkfifo', 'head', 'wc', 'tr', 'timeout']) if (!existsSync(join(b.rootfs, 'bin', a))) symlinkSync('busybox', join(b.rootfs, 'bin', a));
  if (opts.weakened) weaken(b.config, { memoryLimit: 256 << 20 });
  b.write();
  return b;
}

function run(binary: string, b: Bundle, id: string): { code: number; stdout: string; stderr: string } {
  const rt = new Runtime(binary);
  runtimes.push(rt);
  return rt.run(['run', '--bundle', b.dir, id], { timeoutMs: 60_000 });
}

describe('berth-sandbox opens have no time-of-check/time-of-use gap', { skip }, () => {
  test('the control: a privileged-like berth-runtime container opens core_pattern for writing', () => {
    const r = run(RUNTIME, bundle(['/race', 'direct'], { weakened: true }), 'ctl');
    assert.match(r.stdout, /^ESCAPED direct/, `${r.stdout}${r.stderr}`);
    // the racer works: without a sandbox, the swapped-in path is opened
    const raced = run(RUNTIME, bundle(['/race', 'self', '1'], { weakened: true }), 'ctlrace');
    assert.match(raced.stdout, /^ESCAPED self/, `${raced.stdout}${raced.stderr}`);
  });

  for (const mode of ['self', 'fifo'] as const) {
    test(`a path swapped after the check (${mode === 'self' ? '/proc/self/status' : 'a fifo'} ↔ core_pattern) never opens core_pattern`, () => {
      const b = bundle(['/race', mode, '3'], { weakened: true });
      const direct = run(SANDBOX, bundle(['/race', 'direct'], { weakened: true }), `direct${mode}`);
      assert.match(direct.stdout, /^REFUSED direct: Operation not permitted/, 'the policy refuses the write itself');
      const r = run(SANDBOX, b, `race${mode}`);
      assert.match(r.stdout, /^REFUSED /, `${r.stdout}${r.stderr}`);
      const tries = Number(/none of (\d+) opens/.exec(r.stdout)![1]);
      assert.ok(tries > 200, `the race ran: ${tries} opens`);
    });
  }
});

describe('what the supervisor opens itself behaves as the kernel\'s open', { skip }, () => {
  const commands = [
    // the writer opens first and waits for its reader; then the reader first (a hang ends in 10 s, with other output)
    'timeout 10 sh -c "rm -f /tmp/f; mkfifo /tmp/f; (sleep 0.3; cat /tmp/f) & echo to-a-late-reader > /tmp/f; wait; (sleep 0.3; echo to-a-waiting-reader > /tmp/f) & cat /tmp/f; wait"; echo end $?',
    'echo out > /dev/stdout; echo err > /dev/stderr; echo in | cat /dev/stdin; echo fd | cat /dev/fd/0; exec 3</etc/passwd; head -1 /dev/fd/3; head -1 /proc/self/fd/3; head -1 /proc/thread-self/fd/3',
    'grep -c "^Pid:" /proc/self/status; ls /proc/self/fd | wc -l; ls /dev/fd/ | wc -l; cat /proc/self/cwd/etc/hostname; cat /proc/self/root/etc/group | head -1; head -c 4 /proc/self/exe | tr -dc ELF; echo',
  ];
  for (const [i, cmd] of commands.entries()) {
    for (const user of [0, 65534]) {
      test(`${user ? 'as nobody: ' : ''}${cmd}`, () => {
        const b = bundle(['sh', '-c', cmd]);
        if (user) { b.config.process.user = { uid: user, gid: user }; b.write(); }
        const plain = run(RUNTIME, b, `plain${i}u${user}`);
        const sandboxed = run(SANDBOX, b, `sbx${i}u${user}`);
        assert.equal(plain.code, 0, plain.stderr);
        assert.deepEqual(sandboxed, plain);
      });
    }
  }
});
