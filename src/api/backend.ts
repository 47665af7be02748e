/**
 * What the API layer asks of the engine behind it. The daemon implements
 * these interfaces; the API turns HTTP into calls on them and their answers
 * (and BerthErrors) into Docker's JSON. Shapes are Docker's, field for field.
 */
import type { Filters } from './query.js';

/** One event as /events streams it (the legacy status/id/from are added by the API). */
export interface EngineEvent {
  Type: string; // container, image, volume, network, daemon, plugin …
  Action: string; // create, start, die, pull, reload …
  Actor: { ID: string; Attributes: Record<string, string> };
  scope: 'local' | 'swarm';
  time: number; // seconds
  timeNano: number; // nanoseconds (a float64 in Docker's JSON too)
}

export interface EventQuery {
  /** nanoseconds since the epoch; undefined: only new events */
  since?: bigint;
  /** nanoseconds since the epoch; undefined: follow until the client leaves */
  until?: bigint;
  filters: Filters;
}

export interface EventsBackend {
  /** The filter keys /events accepts (others are a 400). */
  readonly eventFilters: readonly string[];
  /**
   * Past events from `since`, then live ones, up to `until`; the iteration
   * ends at `until` or when `signal` aborts.
   */
  events(query: EventQuery, signal: AbortSignal): AsyncIterable<EngineEvent>;
}

export interface VersionComponent { Name: string; Version: string; Details?: Record<string, string> }

export interface VersionInfo {
  Platform: { Name: string };
  Components: VersionComponent[];
  Version: string;
  ApiVersion: string;
  MinAPIVersion: string;
  GitCommit: string;
  GoVersion: string;
  Os: string;
  Arch: string;
  KernelVersion: string;
  Experimental?: boolean;
  BuildTime: string;
}

/** /info's document: Docker's field names; values the engine knows. */
export type SystemInfo = Record<string, unknown> & { ID: string; ServerVersion: string; OSType: string };

export interface DiskUsage {
  LayersSize: number;
  /** null when the request's `type` did not ask for this kind */
  Images: unknown[] | null;
  Containers: unknown[] | null;
  Volumes: unknown[] | null;
  BuildCache: unknown[] | null;
}

export type DiskUsageKind = 'container' | 'image' | 'volume' | 'build-cache';

export interface AuthRequest {
  username: string;
  password: string;
  serveraddress: string;
  identitytoken?: string;
  registrytoken?: string;
}

export interface AuthResult { Status: string; IdentityToken: string }

export interface SystemBackend {
  /** the engine's version, for /version and the Server header */
  readonly engineVersion: string;
  version(): Promise<VersionInfo>;
  info(): Promise<SystemInfo>;
  diskUsage(kinds: DiskUsageKind[]): Promise<DiskUsage>;
  /** checks the credentials with the registry; a refusal throws HttpError(401) */
  login(req: AuthRequest): Promise<AuthResult>;
}

export interface Backend {
  system: SystemBackend;
  events: EventsBackend;
}
