/**
 * The berth-shim socket protocol, declared once. The core (TypeScript) and
 * berth-shim (C, `native/shim/`) both follow this file: `scripts/gen-native-headers.ts`
 * renders it into `native/include/berth/shim.h`, and a unit test fails when the
 * committed header drifts from it.
 *
 * Framing is the planner wire's (src/runtime/plan/format.ts): `u32 length (LE,
 * of what follows) | u16 type | records…`, a record `u16 tag | u32 length |
 * fields in declared order`. One request and one reply per connection: the
 * client connects, sends a request, reads the reply, and the shim closes. A
 * WAIT is answered when the process exits, so its connection stays open.
 */
import type { RecordSpec } from '../runtime/plan/format.js';

/** Requests, core → shim. Records each one carries are listed after it. */
export const ShimRequest = {
  STATE: 1, // → STATE (of the init, with the LOG_POS of its log)
  START: 2, // `<runtime> start ID` → OK
  KILL: 3, // SIGNAL, ALL: `<runtime> kill [--all] ID SIG` → OK
  EXEC: 4, // EXEC_ID, PROCESS, [STDIN], [LOG], [TERMINAL]: `<runtime> exec --detach …` → STATE of the exec
  RESIZE: 5, // [EXEC_ID], SIZE: resize the terminal of the init (no EXEC_ID) or an exec → OK
  WAIT: 6, // [EXEC_ID]: answered with EXIT when the init (no EXEC_ID) or that exec has exited
  CLOSE_STDIN: 7, // [EXEC_ID]: close the shim's end of that process's stdin → OK
  DELETE: 8, // [EXIT_AFTER]: `<runtime> delete ID`, then the shim's state (exit record included) is removed → OK [EXIT_AFTER]
  SHUTDOWN: 9, // the shim exits once the container is deleted → OK, or ERROR while it exists
  ATTACH: 10, // [EXEC_ID], STREAMS, [OUTPUT_FD]: → OK {LOG_POS, PENDING_STDOUT, PENDING_STDERR}, then ShimAttachFrame frames both ways
  DELETE_EXEC: 11, // EXEC_ID: forget an exited exec (its files in the state dir; its log stays) → OK
} as const;

/**
 * The seam of an attach with logs. The shim reads a chunk of output, logs
 * the lines it completes and sends the chunk to attachers in one step of
 * one loop, so at the moment it registers an attacher the process's output
 * so far is exactly: its json-file log up to LOG_POS, then the bytes of a
 * line not yet complete (PENDING_*, per stream; logged once the line ends);
 * the attacher's first frame starts right after them. A reader replays the
 * log up to LOG_POS (the files rotated before it included), the pending
 * bytes, then the frames: nothing missed, nothing repeated.
 *
 * Frames on an attach connection after its OK. Shim → client: STDOUT and
 * STDERR {DATA} as the process writes (a pty's output is STDOUT), then EXIT
 * {EXIT_STATUS, EXIT_TIME} when the process has exited, and the shim closes.
 * Client → shim: STDIN {DATA} (to the stdin pipe or the pty master) and
 * CLOSE_STDIN (no records). A client that closes its end detaches.
 *
 * With OUTPUT_FD the output does not come on the attach connection: the
 * request carries a descriptor (SCM_RIGHTS, sent with its first byte), a
 * client's connection to the engine, and the shim writes the output there
 * in the Engine API's own form (stdcopy frames, or raw bytes with a TTY) —
 * the engine is then out of the output's path. The attach connection still
 * takes STDIN and CLOSE_STDIN, and gets EXIT once the output is all written
 * and the shim has closed its copy of the descriptor. The descriptor is
 * dropped when the attach connection closes (a detach), and the attach
 * connection is closed when writing to the descriptor fails (the client
 * left) or it falls too far behind.
 */
export const ShimAttachFrame = {
  STDOUT: 201,
  STDERR: 202,
  STDIN: 203,
  CLOSE_STDIN: 204,
} as const;

/** Replies, shim → core. */
export const ShimReply = {
  OK: 101,
  ERROR: 102, // MESSAGE
  STATE: 103, // PID, STATUS, EXIT_STATUS, EXIT_TIME, LOG_ERRORS, [LOG_ERROR], LOG_POS
  EXIT: 104, // EXIT_STATUS, EXIT_TIME
} as const;

export const ShimRecords = {
  SIGNAL: { tag: 1, fields: [['signal', 'u32']], doc: 'signal number' },
  ALL: { tag: 2, fields: [['all', 'u32']], doc: '1: signal every process of the container (kill --all)' },
  EXEC_ID: { tag: 3, fields: [['id', 'str']], doc: 'the exec process id, chosen by the core; absent or empty means the init' },
  PROCESS: { tag: 4, fields: [['json', 'str']], doc: 'the OCI process object of an exec, as JSON' },
  STDIN: { tag: 5, fields: [['path', 'str']], doc: "a file or fifo opened as the exec's stdin (default /dev/null)" },
  LOG: { tag: 6, fields: [['path', 'str']], doc: "where the exec's output is written in json-file format (default <state-dir>/exec-<id>.log)" },
  TERMINAL: { tag: 7, fields: [['terminal', 'u32']], doc: '1: the exec gets a pty (its process JSON must say terminal: true)' },
  SIZE: { tag: 8, fields: [['rows', 'u32'], ['cols', 'u32']], doc: 'terminal size' },
  MESSAGE: { tag: 9, fields: [['message', 'str']], doc: 'what failed, lowercase; a runtime failure carries its stderr' },
  PID: { tag: 10, fields: [['pid', 'u32']], doc: 'host pid of the process (0 when there is none)' },
  STATUS: { tag: 11, fields: [['status', 'str']], doc: 'created, running, paused (cgroup frozen), stopped or deleted' },
  EXIT_STATUS: { tag: 12, fields: [['code', 'u32']], doc: 'exit code; 128+n when killed by signal n (as docker reports)' },
  EXIT_TIME: { tag: 13, fields: [['ns', 'u64']], doc: 'exit time, nanoseconds since the epoch (0 while running)' },
  STREAMS: { tag: 14, fields: [['stdin', 'u32'], ['stdout', 'u32'], ['stderr', 'u32']], doc: 'ATTACH: 1 for each stream the attacher wants' },
  DATA: { tag: 15, fields: [['data', 'bytes']], doc: 'bytes of a stream (attach frames)' },
  OPEN_STDIN: { tag: 16, fields: [['open', 'u32']], doc: "EXEC: 1: the exec's stdin is a pipe the shim holds (fed by attachers, closed by CLOSE_STDIN)" },
  LOG_ERRORS: { tag: 17, fields: [['count', 'u32']], doc: "entries the container's log could not take (a full disk); the container keeps running" },
  LOG_ERROR: { tag: 18, fields: [['message', 'str']], doc: "the last log write error, lowercase (absent when there was none)" },
  LOG_POS: {
    tag: 19,
    fields: [['generation', 'u32'], ['inode', 'u64'], ['offset', 'u64'], ['maxFile', 'u32']],
    doc: 'where the json-file log stands: generation counts rotations so far, inode names the file being written, offset is its length (whole entries); maxFile 0: never rotated, 1: rotation empties that file, N: N files kept (the inode moves to name.1 …)',
  },
  PENDING_STDOUT: { tag: 20, fields: [['data', 'bytes']], doc: 'ATTACH: stdout bytes of a line not complete yet, so not in the log yet' },
  PENDING_STDERR: { tag: 21, fields: [['data', 'bytes']], doc: 'ATTACH: stderr bytes of a line not complete yet, so not in the log yet' },
  EXIT_AFTER: {
    tag: 22,
    fields: [['exit', 'u32']],
    doc: 'DELETE: 1: the shim exits right after its OK (a SHUTDOWN folded in, one round trip less); the OK carries EXIT_AFTER back, so a client knows an older shim ignored it',
  },
  OUTPUT_FD: {
    tag: 23,
    fields: [['framing', 'u32']],
    doc: 'ATTACH: the output goes to the descriptor sent with the request (SCM_RIGHTS), not on the connection; framing 1: stdcopy frames (8-byte header: stream 1 stdout or 2 stderr, 3 zero bytes, big-endian size; at most 32 KiB each), 2: raw bytes (a TTY)',
  },
} as const satisfies Record<string, RecordSpec>;

export type ShimRecordName = keyof typeof ShimRecords;
export type ShimRequestName = keyof typeof ShimRequest;

/** The shim's view of its process, as STATE reports it. */
export const ShimStatus = ['created', 'running', 'paused', 'stopped', 'deleted'] as const;
export type ShimStatusName = (typeof ShimStatus)[number];

/** Files the shim keeps in its --state-dir (read by the core after a restart). */
export const ShimFiles = {
  /** the init's exit: `{"status":N,"time":"RFC3339 ns","ns":"…"}`, written and fsynced before anything else */
  EXIT: 'exit.json',
  /** the shim's pid, decimal */
  PID: 'shim.pid',
  /** --root of the runtime */
  RUNTIME_ROOT: 'runtime',
} as const;
