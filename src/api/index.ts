/**
 * The API layer's public face: what the daemon uses to serve the Engine API
 * (the server, the routes, the backend interfaces it implements, and the
 * helpers for the errors and filters those interfaces speak).
 */
export { createApiServer, type ApiServer, type ApiServerOptions } from './server.js';
export { parseHost, checkTcpNeedsTls, readTlsFiles, DEFAULT_UNIX_SOCKET, type ListenAddress, type TlsFiles } from './listeners.js';
export type { Route, Method } from './router.js';
export type { RequestContext, Handler } from './context.js';
export type {
  Backend, SystemBackend, EventsBackend, EngineEvent, EventQuery, VersionInfo, SystemInfo,
  DiskUsage, DiskUsageKind, AuthRequest, AuthResult,
} from './backend.js';
export type {
  ImagesBackend, VolumesBackend, VolumeResolver, VolumeRequest, ResolvedVolume, VolumeView, VolumeCreateArgs,
  RegistryAuth, ProgressSink, PullArgs, ImportArgs, ImageListArgs, ImageDeleteItem,
} from './backend.js';
export type { NetworksBackend } from './backend.js';
export type { CommitBackend, CommitArgs } from './backend.js';
export type { BuildBackend, BuildOptions, BuildRequest } from './backend.js';
export type { ContainersBackend, ContainerListArgs, ContainerStopOptions, ContainerWaitCondition } from './backend.js';
export type {
  ContainerStreamsBackend, ProcessSession, OutputConnection, OutputChunk, OutputStream, AttachOptions, AttachedProcess, LogsOptions, LogRecord, ExecStartOptions, PathStat, ArchivePutOptions,
} from './backend.js';
export { Filters, parseFilters } from './query.js';
export { HttpError } from './status.js';
export { API_VERSION, MIN_API_VERSION } from './version.js';
import type { Backend } from './backend.js';
import type { Route } from './router.js';
import { eventRoutes } from './routes/events.js';
import { systemRoutes } from './routes/system.js';
import { imageRoutes } from './routes/images.js';
import { volumeRoutes } from './routes/volumes.js';
import { containerRoutes } from './routes/containers.js';
import { networkRoutes } from './routes/networks.js';
import { containerStreamRoutes } from './routes/container-streams.js';
import { commitRoutes } from './routes/commit.js';
import { buildRoutes } from './routes/build.js';

/** The routes served today; later route files (containers, images, volumes) join this list. */
export function engineRoutes(backend: Backend): Route[] {
  return [
    ...systemRoutes(backend.system), ...eventRoutes(backend.events),
    ...(backend.images ? imageRoutes(backend.images) : []), ...(backend.volumes ? volumeRoutes(backend.volumes) : []),
    ...(backend.containers ? containerRoutes(backend.containers) : []),
    ...(backend.networks ? networkRoutes(backend.networks) : []),
    ...(backend.streams ? containerStreamRoutes(backend.streams) : []),
    ...(backend.commit ? commitRoutes(backend.commit) : []),
    ...(backend.build ? buildRoutes(backend.build) : []),
  ];
}
