/**
 * Names of namespaces and ids of containers: they become path components
 * (state directories, shim sockets, cgroup names), so they are checked once
 * here, at the edge of the core.
 */
import { invalidArgument } from '../common/errors.js';

const PATTERN = /^[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,75})$/;

export function checkIdentifier(what: 'namespace' | 'container', value: string): string {
  if (!PATTERN.test(value)) {
    const shown = value === '' ? 'an empty name' : JSON.stringify(value);
    throw invalidArgument(`invalid ${what} ${what === 'namespace' ? 'name' : 'id'} ${shown}: use 1-76 letters, digits, '_', '.' or '-', starting with a letter or digit`);
  }
  return value;
}
