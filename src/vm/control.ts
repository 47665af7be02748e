/** The CLI's side of the keeper's control socket: one request, one reply. */
import { connect } from 'node:net';
import { BerthError } from '../common/errors.js';
import { decodePairs, encodeFrame, FrameReader, MsgType, type Frame } from './protocol.js';

export async function request(socket: string, type: MsgType, payload?: Buffer, timeoutMs = 10000): Promise<Frame> {
  return new Promise<Frame>((resolve, reject) => {
    const s = connect(socket);
    const reader = new FrameReader();
    const timer = setTimeout(() => { s.destroy(); reject(new BerthError('unavailable', 'the vm keeper did not answer')); }, timeoutMs);
    const done = (err: Error | undefined, f?: Frame): void => {
      clearTimeout(timer);
      s.destroy();
      if (err) reject(err);
      else resolve(f!);
    };
    s.on('connect', () => s.write(encodeFrame(type, 0, payload)));
    s.on('data', (chunk) => {
      const [f] = reader.push(chunk);
      if (f) done(undefined, f);
    });
    s.on('error', (err) => done(err));
    s.on('end', () => done(new BerthError('unavailable', 'the vm keeper closed the connection')));
  });
}

export interface KeeperState {
  status: 'created' | 'running';
  guestPid: number;
  qemuPid: number;
  release: string;
}

export async function queryState(socket: string): Promise<KeeperState> {
  const f = await request(socket, MsgType.Query, undefined, 3000);
  const p = new Map(decodePairs(f.payload));
  return {
    status: p.get('status') === 'running' ? 'running' : 'created',
    guestPid: Number(p.get('guest_pid') ?? 0),
    qemuPid: Number(p.get('qemu_pid') ?? 0),
    release: p.get('release') ?? '',
  };
}

/** Throws the agent's error, if the reply is one. */
export function expectOk(f: Frame, what: string): void {
  if (f.type === MsgType.Error) throw new BerthError('failed-precondition', `${what}: ${f.payload.toString('utf8')}`);
}
