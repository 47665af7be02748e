/**
 * Signal names and numbers for `kill` (Linux x86_64/arm64 numbering).
 * Accepted forms, like runc plus the real-time forms docker understands:
 * "KILL", "SIGKILL", "kill", "9", "SIGRTMIN+3", "RTMAX-1".
 * SIGRTMIN is 34, as glibc reports it (the C library keeps 32 and 33).
 */
import { invalidArgument } from '../../common/errors.js';

export const SIGNALS: Readonly<Record<string, number>> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGILL: 4,
  SIGTRAP: 5,
  SIGABRT: 6,
  SIGIOT: 6,
  SIGBUS: 7,
  SIGFPE: 8,
  SIGKILL: 9,
  SIGUSR1: 10,
  SIGSEGV: 11,
  SIGUSR2: 12,
  SIGPIPE: 13,
  SIGALRM: 14,
  SIGTERM: 15,
  SIGSTKFLT: 16,
  SIGCHLD: 17,
  SIGCLD: 17,
  SIGCONT: 18,
  SIGSTOP: 19,
  SIGTSTP: 20,
  SIGTTIN: 21,
  SIGTTOU: 22,
  SIGURG: 23,
  SIGXCPU: 24,
  SIGXFSZ: 25,
  SIGVTALRM: 26,
  SIGPROF: 27,
  SIGWINCH: 28,
  SIGIO: 29,
  SIGPOLL: 29,
  SIGPWR: 30,
  SIGSYS: 31,
  SIGUNUSED: 31,
};

export const SIGRTMIN = 34;
export const SIGRTMAX = 64;

/** Preferred names by number (aliases such as SIGIOT are only accepted). */
const canonical: ReadonlyMap<number, string> = (() => {
  const m = new Map<number, string>();
  for (const [name, n] of Object.entries(SIGNALS)) if (!m.has(n)) m.set(n, name);
  return m;
})();

function realtime(name: string): number | undefined {
  const m = /^SIGRT(MIN|MAX)(?:([+-])(\d{1,2}))?$/.exec(name);
  if (!m) return undefined;
  const base = m[1] === 'MIN' ? SIGRTMIN : SIGRTMAX;
  const offset = m[3] === undefined ? 0 : Number(m[3]) * (m[2] === '+' ? 1 : -1);
  const n = base + offset;
  return n >= SIGRTMIN && n <= SIGRTMAX ? n : undefined;
}

/**
 * The number of a signal given by name (any case, "SIG" optional) or by
 * number (0 … 64; 0 only probes, as kill(2) does).
 */
export function parseSignal(raw: string): number {
  const s = raw.trim();
  if (/^\d+$/.test(s)) {
    const n = Number(s);
    if (n <= SIGRTMAX) return n;
    throw invalidArgument(`unknown signal "${raw}"`);
  }
  const upper = s.toUpperCase();
  const name = upper.startsWith('SIG') ? upper : `SIG${upper}`;
  const n = SIGNALS[name] ?? realtime(name);
  if (n === undefined) throw invalidArgument(`unknown signal "${raw}"`);
  return n;
}

/** The name of a signal number ("SIGKILL", "SIGRTMIN+3"), or undefined. */
export function signalName(n: number): string | undefined {
  const named = canonical.get(n);
  if (named !== undefined) return named;
  if (n === SIGRTMIN) return 'SIGRTMIN';
  if (n === SIGRTMAX) return 'SIGRTMAX';
  // kill -l's convention: the lower half counts up from RTMIN, the upper down from RTMAX
  if (n > SIGRTMIN && n <= SIGRTMIN + 15) return `SIGRTMIN+${n - SIGRTMIN}`;
  if (n > SIGRTMIN + 15 && n < SIGRTMAX) return `SIGRTMAX-${SIGRTMAX - n}`;
  return undefined;
}
