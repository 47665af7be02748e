/**
 * berthd's containers, for the routes and the other route families
 * (attach, logs, exec, stats, top, cp, export, changes): the service
 * (lookups by ID, name or prefix; lifecycle; exit and removal
 * notifications; start hooks; events), the record's types and views.
 */
export { ContainerService, type ContainerServiceOptions, type ExitInfo, type StartHook, type WaitCondition } from './service.js';
export { ContainerStore } from './store.js';
export { LoopbackAttacher, emptySettings, networkMode, type NetworkAttacher, type NetworkAttachment } from './network.js';
export { inspectDocument, summaryDocument, statusText, humanDuration, commandOf } from './view.js';
export { listPredicate, LIST_FILTERS } from './filters.js';
export { generateName, normalizeName, nameConflict } from './names.js';
export { parseSignal } from './signals.js';
export { shouldRestart, nextBackoff, restartOnDaemonStart, validatePolicy } from './restart.js';
export { containerDir, familiarRef } from './create.js';
export type { ContainerRecord, ContainerState, ContainerStatus, DockerConfig, DockerHostConfig, MountPoint, RestartPolicy } from './types.js';
export { EngineContainers } from './backend.js';
export { initBinary } from './init.js';
export { hostCapabilities, hostNofile } from './limits.js';
