/**
 * The route table the fuzzer aims at: engineRoutes() itself, built over a
 * stand-in backend whose every member is callable (only the method and
 * path of each route are read; no handler runs here).
 */
import { engineRoutes, type Backend } from '../../../src/api/index.js';

export interface RouteShape { method: string; path: string; params: string[] }

function standIn(): unknown {
  const fn = (): unknown => proxy;
  const proxy: unknown = new Proxy(fn, { get: (_t, key) => (key === 'then' ? undefined : proxy), apply: () => proxy });
  return proxy;
}

export function routeShapes(): RouteShape[] {
  return engineRoutes(standIn() as Backend).map((r) => ({
    method: r.method,
    path: r.path,
    params: [...r.path.matchAll(/\{([a-zA-Z_]+)(?::\.\*)?\}/g)].map((m) => m[1]!),
  }));
}

/** The path with each parameter replaced (values are put in as given: the caller encodes or not). */
export function fillPath(route: RouteShape, value: (param: string) => string): string {
  return route.path.replace(/\{([a-zA-Z_]+)(?::\.\*)?\}/g, (_m, name: string) => value(name));
}
