/** The Engine API fuzzer: seeded cases from the route table, sent raw, judged by one oracle. */
export { Rng, fuzzSeed } from './rng.js';
export { routeShapes, type RouteShape } from './routes.js';
export { blocksByDesign, nextCase, slowLoris, request, type FuzzCase, type Targets } from './cases.js';
export { exchange, parseResponses, type Outcome, type Response, type Step } from './wire.js';
export { judge } from './check.js';
