/**
 * The route table: `{ method, path, handler }` with path parameters
 * ("/containers/{id}/start") and greedy ones for names holding slashes
 * ("/images/{name:.*}/json"). Every path may be prefixed with /v1.xx; the
 * prefix is taken off before matching and becomes the request's version.
 */
import type { Handler } from './context.js';

export type Method = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'DELETE';

export interface Route { method: Method; path: string; handler: Handler }

interface Compiled { route: Route; pattern: RegExp; names: string[] }

export type Match =
  | { kind: 'found'; route: Route; params: Record<string, string> }
  | { kind: 'wrong-method'; allowed: Method[] }
  | { kind: 'none' };

const VERSION_PREFIX = /^\/v([0-9][0-9.]*)(\/.*)$/;

/** The version named by a /v1.xx prefix (undefined without one) and the rest of the path. */
export function splitVersion(path: string): { version: string | undefined; path: string } {
  const m = VERSION_PREFIX.exec(path);
  return m ? { version: m[1], path: m[2]! } : { version: undefined, path };
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function compile(route: Route): Compiled {
  const names: string[] = [];
  let source = '';
  let last = 0;
  for (const m of route.path.matchAll(/\{([a-zA-Z_][a-zA-Z0-9_]*)(:\.\*)?\}/g)) {
    source += escape(route.path.slice(last, m.index));
    names.push(m[1]!);
    source += m[2] ? '(.+)' : '([^/]+)';
    last = m.index! + m[0].length;
  }
  source += escape(route.path.slice(last));
  return { route, pattern: new RegExp(`^${source}/?$`), names };
}

export class Router {
  private readonly routes: Compiled[] = [];

  constructor(routes: Route[] = []) {
    for (const r of routes) this.add(r);
  }

  add(route: Route): void {
    this.routes.push(compile(route));
  }

  /** Matches an unprefixed path; a path known under other methods is told apart from an unknown one. */
  match(method: string, path: string): Match {
    const allowed: Method[] = [];
    for (const c of this.routes) {
      const m = c.pattern.exec(path);
      if (!m) continue;
      if (c.route.method !== method) { allowed.push(c.route.method); continue; }
      const params: Record<string, string> = {};
      c.names.forEach((name, i) => { params[name] = safeDecode(m[i + 1]!); });
      return { kind: 'found', route: c.route, params };
    }
    return allowed.length > 0 ? { kind: 'wrong-method', allowed } : { kind: 'none' };
  }
}

function safeDecode(s: string): string {
  try { return decodeURIComponent(s); } catch { return s; }
}
