/**
 * A failed start's message as dockerd words it. The core passes the
 * runtime's stderr on (its log line and its plain line, each naming the
 * container); users see one reason, with the C library's error text in Go's
 * lowercase ("permission denied", "no such file or directory") and the
 * command quoted: the docker CLI picks `docker run`'s exit code from these
 * words (127 for "executable file not found" or "no such file or
 * directory", 126 for "permission denied"), and scripts grep them.
 */
import { BerthError } from '../../common/errors.js';

const RUNTIME_LINE = /^[\w-]+: cannot create container [0-9a-f]{64}: (.+)$/m;

/** The reason in a core's task-create error, or undefined when it is not one. */
function runtimeReason(message: string): string | undefined {
  if (!/^cannot create task [0-9a-f]{64}: /.test(message)) return undefined;
  const lines = message.split('\n').filter((l) => !/^\s*time="/.test(l) && !/ level=\w+ msg=/.test(l));
  const plain = lines.map((l) => RUNTIME_LINE.exec(l)?.[1]).filter((r): r is string => r !== undefined);
  if (plain.length > 0) return plain[plain.length - 1];
  const last = lines[lines.length - 1] ?? '';
  return last.replace(/^cannot create task [0-9a-f]{64}: (cannot create container [0-9a-f]{64}: )?/, '') || undefined;
}

/** "exec: /etc: Permission denied" → `exec: "/etc": permission denied`. */
export function dockerReason(reason: string): string {
  const parts = reason.split(': ').map((p) => (/^[A-Z][a-z]+( [a-z]+)*$/.test(p) ? p.toLowerCase() : p));
  if (parts[0] === 'exec' && parts.length >= 3 && !parts[1]!.startsWith('"')) parts[1] = `"${parts[1]}"`;
  return parts.join(': ');
}

/** The error a failed start answers with: the runtime's reason in dockerd's words, else `err` as it was. */
export function startError(err: unknown): unknown {
  if (!(err instanceof BerthError)) return err;
  const reason = runtimeReason(err.message);
  if (reason === undefined) return err;
  return new BerthError(err.kind, `failed to create task: OCI runtime create failed: ${dockerReason(reason)}`);
}
