/**
 * Seccomp for Berth's runtimes: the OCI profile compiled to a classic-BPF
 * filter (the C executor only loads the bytes), Berth's default profile, and
 * an interpreter that tells what a filter decides for a call.
 */
export { compileSeccomp, type CompileOptions } from './compile.js';
export { defaultSeccompProfile, DEFAULT_ALLOWED_SYSCALLS, SYSCALLS_BY_CAPABILITY, type DefaultProfileOptions } from './default-profile.js';
export { runFilter, checkFilter, type SeccompData, type SeccompDecision } from './interpreter.js';
export { archByName, nativeArchName, syscallNumber, type ArchInfo } from './arch.js';
export type {
  CompiledSeccomp, OciSeccomp, OciSeccompArg, OciSeccompSyscall, SeccompAction, SeccompArch, SeccompFlag, SeccompOperator,
} from './types.js';
