/* Generated from src/shim/protocol.ts by scripts/gen-native-headers.ts. Do not edit. */
#ifndef BERTH_SHIM_PROTOCOL_H
#define BERTH_SHIM_PROTOCOL_H

/* Requests (core -> shim) */
#define SHIM_REQ_STATE 1
#define SHIM_REQ_START 2
#define SHIM_REQ_KILL 3
#define SHIM_REQ_EXEC 4
#define SHIM_REQ_RESIZE 5
#define SHIM_REQ_WAIT 6
#define SHIM_REQ_CLOSE_STDIN 7
#define SHIM_REQ_DELETE 8
#define SHIM_REQ_SHUTDOWN 9
#define SHIM_REQ_ATTACH 10
#define SHIM_REQ_DELETE_EXEC 11

/* Replies (shim -> core) */
#define SHIM_REP_OK 101
#define SHIM_REP_ERROR 102
#define SHIM_REP_STATE 103
#define SHIM_REP_EXIT 104

/* Frames of an attach connection */
#define SHIM_ATT_STDOUT 201
#define SHIM_ATT_STDERR 202
#define SHIM_ATT_STDIN 203
#define SHIM_ATT_CLOSE_STDIN 204

/* Records */
/* signal number — u32 signal */
#define SHIM_REC_SIGNAL 1
/* 1: signal every process of the container (kill --all) — u32 all */
#define SHIM_REC_ALL 2
/* the exec process id, chosen by the core; absent or empty means the init — str id */
#define SHIM_REC_EXEC_ID 3
/* the OCI process object of an exec, as JSON — str json */
#define SHIM_REC_PROCESS 4
/* a file or fifo opened as the exec's stdin (default /dev/null) — str path */
#define SHIM_REC_STDIN 5
/* where the exec's output is written in json-file format (default <state-dir>/exec-<id>.log) — str path */
#define SHIM_REC_LOG 6
/* 1: the exec gets a pty (its process JSON must say terminal: true) — u32 terminal */
#define SHIM_REC_TERMINAL 7
/* terminal size — u32 rows, u32 cols */
#define SHIM_REC_SIZE 8
/* what failed, lowercase; a runtime failure carries its stderr — str message */
#define SHIM_REC_MESSAGE 9
/* host pid of the process (0 when there is none) — u32 pid */
#define SHIM_REC_PID 10
/* created, running, paused (cgroup frozen), stopped or deleted — str status */
#define SHIM_REC_STATUS 11
/* exit code; 128+n when killed by signal n (as docker reports) — u32 code */
#define SHIM_REC_EXIT_STATUS 12
/* exit time, nanoseconds since the epoch (0 while running) — u64 ns */
#define SHIM_REC_EXIT_TIME 13
/* ATTACH: 1 for each stream the attacher wants — u32 stdin, u32 stdout, u32 stderr */
#define SHIM_REC_STREAMS 14
/* bytes of a stream (attach frames) — bytes data */
#define SHIM_REC_DATA 15
/* EXEC: 1: the exec's stdin is a pipe the shim holds (fed by attachers, closed by CLOSE_STDIN) — u32 open */
#define SHIM_REC_OPEN_STDIN 16
/* entries the container's log could not take (a full disk); the container keeps running — u32 count */
#define SHIM_REC_LOG_ERRORS 17
/* the last log write error, lowercase (absent when there was none) — str message */
#define SHIM_REC_LOG_ERROR 18
/* where the json-file log stands: generation counts rotations so far, inode names the file being written, offset is its length (whole entries); maxFile 0: never rotated, 1: rotation empties that file, N: N files kept (the inode moves to name.1 …) — u32 generation, u64 inode, u64 offset, u32 maxFile */
#define SHIM_REC_LOG_POS 19
/* ATTACH: stdout bytes of a line not complete yet, so not in the log yet — bytes data */
#define SHIM_REC_PENDING_STDOUT 20
/* ATTACH: stderr bytes of a line not complete yet, so not in the log yet — bytes data */
#define SHIM_REC_PENDING_STDERR 21
/* DELETE: 1: the shim exits right after its OK (a SHUTDOWN folded in, one round trip less); the OK carries EXIT_AFTER back, so a client knows an older shim ignored it — u32 exit */
#define SHIM_REC_EXIT_AFTER 22
/* ATTACH: the output goes to the descriptor sent with the request (SCM_RIGHTS), not on the connection; framing 1: stdcopy frames (8-byte header: stream 1 stdout or 2 stderr, 3 zero bytes, big-endian size; at most 32 KiB each), 2: raw bytes (a TTY) — u32 framing */
#define SHIM_REC_OUTPUT_FD 23

#endif
