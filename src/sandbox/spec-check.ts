/**
 * What berth-sandbox refuses in a config that berth-runtime would run. The
 * sandbox's promise is a /proc that shows only the container's processes;
 * the supervisor does not filter /proc listings (it would have to emulate
 * getdents), so the container must not share the host's pid namespace.
 * Joining another container's namespace (a path) stays allowed: its /proc
 * shows that pod's processes, as a sandbox shared by a pod does.
 */
import { statSync } from 'node:fs';
import { invalidArgument } from '../common/errors.js';

interface NamespaceEntry { type: string; path?: string | undefined }

/** The host's pid namespace, as the inode of pid 1's link. */
function hostPidNamespace(): string {
  const st = statSync('/proc/1/ns/pid');
  return `${st.dev}:${st.ino}`;
}

function namespaceOf(path: string): string | undefined {
  try {
    const st = statSync(path);
    return `${st.dev}:${st.ino}`;
  } catch {
    return undefined; // the runtime's own join reports a missing path
  }
}

/** Throws when the container would see the host's processes. */
export function checkSandboxSpec(namespaces: readonly NamespaceEntry[] | undefined): void {
  const pid = (namespaces ?? []).find((n) => n.type === 'pid');
  const hostWide = pid === undefined || (pid.path !== undefined && pid.path !== '' && namespaceOf(pid.path) === hostPidNamespace());
  if (hostWide) {
    throw invalidArgument("berth-sandbox cannot run a container in the host's pid namespace (--pid=host): its /proc would show the host's processes; use berth-runtime for that container");
  }
}
