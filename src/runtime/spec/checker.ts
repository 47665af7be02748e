/**
 * The context semantic checks run in: it turns a failing rule into the one
 * sentence validateSpec promises ("config.json: process.cwd: must be …")
 * and collects warnings for what runc also only warns about.
 */
import { invalidArgument } from '../../common/errors.js';
import { formatFieldPath, type FieldPath } from './field-path.js';

export interface ValidateOptions {
  /**
   * Whether `process` must be present and runnable (create, run). False for
   * commands that only need the rest of the config (delete's poststop hooks).
   */
  requireProcess?: boolean;
}

export class Checker {
  readonly warnings: string[] = [];

  constructor(readonly file: string, readonly options: Required<ValidateOptions>) {}

  fail(path: FieldPath, message: string): never {
    const where = path.length === 0 ? '' : `${formatFieldPath(path)}: `;
    throw invalidArgument(`${this.file}: ${where}${message}`);
  }

  warn(path: FieldPath, message: string): void {
    this.warnings.push(`${this.file}: ${formatFieldPath(path)}: ${message}`);
  }

  /** Absolute path rule shared by cwd, hooks, masked paths, devices … */
  absolute(path: FieldPath, value: string): void {
    if (!value.startsWith('/')) this.fail(path, `must be an absolute path, not ${JSON.stringify(value)}`);
  }
}
