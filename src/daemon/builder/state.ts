/**
 * What a build carries from step to step: the image so far, the config it
 * accumulates (Docker's container config, as the image will have it), the
 * stage's build arguments, its author; and the options of the request.
 */
import type { BuildArgs } from './build-args.js';

export interface HealthConfig { Test: string[]; Interval?: number; Timeout?: number; StartPeriod?: number; Retries?: number }

/** Docker's container config as the builder accumulates it (unknown fields of a base image kept). */
export interface RunConfig {
  User?: string;
  Env?: string[] | null;
  Cmd?: string[] | null;
  Entrypoint?: string[] | null;
  WorkingDir?: string;
  Labels?: Record<string, string> | null;
  ExposedPorts?: Record<string, Record<string, never>> | null;
  Volumes?: Record<string, Record<string, never>> | null;
  StopSignal?: string;
  Healthcheck?: HealthConfig | null;
  OnBuild?: string[] | null;
  Shell?: string[] | null;
  ArgsEscaped?: boolean;
  Image?: string;
  OpenStdin?: boolean;
  Tty?: boolean;
  [k: string]: unknown;
}

export interface DispatchState {
  /** the image so far (an ID) */
  imageId: string;
  /** the image so far is the empty base of FROM scratch (no Parent for the next one) */
  fromScratch: boolean;
  runConfig: RunConfig;
  buildArgs: BuildArgs;
  maintainer: string;
  /** a CMD was set in this stage (an ENTRYPOINT then keeps it) */
  cmdSet: boolean;
  /** the ARGs before the first FROM, with their values (an ARG of the same name without a value takes it) */
  metaArgs: ReadonlyMap<string, string | undefined>;
  /** the stage's position in the Dockerfile and its name */
  stage: number;
  stageName: string | undefined;
}

export type { BuildOptions } from '../../api/index.js';

export const DEFAULT_SHELL = ['/bin/sh', '-c'];

export const shellOf = (c: RunConfig): string[] => (c.Shell && c.Shell.length > 0 ? c.Shell : DEFAULT_SHELL);

/** A deep copy (configs are plain JSON). */
export const copyConfig = (c: RunConfig): RunConfig => JSON.parse(JSON.stringify(c)) as RunConfig;
