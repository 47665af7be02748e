/**
 * Node built-ins that only some commands need, loaded on first use. The
 * bundle would otherwise load every built-in any command imports before
 * argv is even read: crypto, child_process, http and stream/promises cost
 * ~25 ms together, more than half of the CLI's own start, and `berth ps`
 * needs only http. Types come from the modules; the code is required late.
 */
import { createRequire } from 'node:module';

type Crypto = typeof import('node:crypto');
type ChildProcess = typeof import('node:child_process');
type Http = typeof import('node:http');
type Net = typeof import('node:net');
type Readline = typeof import('node:readline');
type StreamPromises = typeof import('node:stream/promises');

const load = createRequire(import.meta.url);

export const crypto = (): Crypto => load('node:crypto') as Crypto;
export const childProcess = (): ChildProcess => load('node:child_process') as ChildProcess;
export const http = (): Http => load('node:http') as Http;
export const net = (): Net => load('node:net') as Net;
export const readline = (): Readline => load('node:readline') as Readline;
export const streamPromises = (): StreamPromises => load('node:stream/promises') as StreamPromises;
