/**
 * Rules on `linux.seccomp` beyond its vocabulary (config-linux.md "Seccomp").
 */
import type { Checker } from './checker.js';
import type { Seccomp } from './types.js';
import { SECCOMP_ERRNO_ACTIONS, type SeccompAction } from './seccomp-names.js';

const takesErrno = (action: string): boolean => SECCOMP_ERRNO_ACTIONS.includes(action as SeccompAction);

export function checkSeccomp(c: Checker, s: Seccomp | undefined): void {
  if (!s) return;
  const at = ['linux', 'seccomp'];
  if (s.defaultAction === 'SCMP_ACT_NOTIFY') c.fail([...at, 'defaultAction'], 'SCMP_ACT_NOTIFY cannot be the default action');
  if (s.defaultErrnoRet !== undefined && !takesErrno(s.defaultAction)) {
    c.fail([...at, 'defaultErrnoRet'], `is not allowed with ${s.defaultAction} (only with SCMP_ACT_ERRNO or SCMP_ACT_TRACE)`);
  }
  if (s.listenerMetadata !== undefined && !s.listenerPath) c.fail([...at, 'listenerMetadata'], 'requires listenerPath');
  s.syscalls?.forEach((rule, i) => {
    rule.names.forEach((name, j) => {
      if (name === '') c.fail([...at, 'syscalls', i, 'names', j], 'must not be empty');
    });
    if (rule.errnoRet !== undefined && !takesErrno(rule.action)) {
      c.fail([...at, 'syscalls', i, 'errnoRet'], `is not allowed with ${rule.action} (only with SCMP_ACT_ERRNO or SCMP_ACT_TRACE)`);
    }
    if (rule.action === 'SCMP_ACT_NOTIFY' && !s.listenerPath) {
      c.fail([...at, 'syscalls', i, 'action'], 'SCMP_ACT_NOTIFY requires linux.seccomp.listenerPath');
    }
  });
}
