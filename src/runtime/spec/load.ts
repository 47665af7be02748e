/**
 * loadSpec: <bundle>/config.json → a validated Spec. Every failure is a
 * BerthError('invalid-argument') of one sentence naming the file:
 *   config.json: missing in bundle /x (open /x/config.json: no such file or directory)
 *   config.json: not valid JSON: unexpected character "}" at line 3 column 5
 *   config.json: process.args: must contain at least one element
 */
import { readFileSync } from 'node:fs';
import { BerthError, describeSystemError, invalidArgument } from '../../common/errors.js';
import { parseJson, type JsonValue } from './json.js';
import type { Spec } from './types.js';
import { validateSpec, type ValidateOptions } from './validate.js';

export const CONFIG_FILE = 'config.json';

export interface LoadOptions extends ValidateOptions {
  /** receives each warning (unknown capability, relative mount destination …) */
  onWarning?: (message: string) => void;
}

export function loadSpec(bundleDir: string, options: LoadOptions = {}): Spec {
  const { spec, warnings } = validateSpec(readConfigJson(bundleDir), CONFIG_FILE, options);
  for (const w of warnings) options.onWarning?.(w);
  return spec;
}

/** Reads and parses <bundle>/config.json without validating it. */
export function readConfigJson(bundleDir: string): JsonValue {
  const file = `${bundleDir.replace(/\/+$/, '')}/${CONFIG_FILE}`;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const reason = `(open ${file}: ${describeSystemError(err)})`;
    // invalid-argument throughout: the caller named a bundle that is not usable
    const what = code === 'ENOENT' ? `missing in bundle ${bundleDir}` : `cannot be read in bundle ${bundleDir}`;
    throw new BerthError('invalid-argument', `${CONFIG_FILE}: ${what} ${reason}`, { cause: err, errno: code });
  }
  try {
    return parseJson(text);
  } catch (err) {
    throw invalidArgument(`${CONFIG_FILE}: not valid JSON: ${describeSystemError(err)}`, err);
  }
}
