/**
 * `logs`: the container's log stream, demultiplexed unless it has a TTY,
 * followed with -f until the container stops or the user interrupts.
 */
import { help, type CommandSpec } from '../command.js';
import { parseTimeFlag } from '../format/units.js';
import { Demuxer } from '../streams.js';

export const logsCommand: CommandSpec = {
  names: ['logs', 'container logs'], usage: 'logs [OPTIONS] CONTAINER', summary: 'Fetch the logs of a container', minArgs: 1, maxArgs: 1,
  flags: [
    { name: 'follow', short: 'f', type: 'bool' }, { name: 'tail', short: 'n', type: 'string', def: 'all' },
    { name: 'since', type: 'string' }, { name: 'until', type: 'string' }, { name: 'timestamps', short: 't', type: 'bool' },
    { name: 'details', type: 'bool' }, help(),
  ],
  async run(ctx, o) {
    const name = encodeURIComponent(o.args[0]!);
    const res = await ctx.client().open('GET', `/containers/${name}/logs`, {
      query: {
        stdout: 1, stderr: 1, follow: o.bool('follow') ? 1 : undefined, tail: o.str('tail'),
        since: o.has('since') ? parseTimeFlag(o.str('since')) : undefined, until: o.has('until') ? parseTimeFlag(o.str('until')) : undefined,
        timestamps: o.bool('timestamps') ? 1 : undefined, details: o.bool('details') ? 1 : undefined,
      },
    });
    // a multiplexed stream says so (API 1.42+); only otherwise is the container asked
    // whether it has a TTY (older daemons call both kinds raw-stream)
    const multiplexed = String(res.headers['content-type'] ?? '').includes('multiplexed-stream');
    const tty = !multiplexed && (await ctx.client().json<{ Config?: { Tty?: boolean } }>('GET', `/containers/${name}/json`)).Config?.Tty === true;
    // One write per run of same-stream bytes in a received chunk, not one per
    // frame: writes to a pipe are synchronous in Node.
    const demux = new Demuxer((to, data) => { (to === 1 ? process.stdout : process.stderr).write(data); });
    // flowing mode, not for-await: the socket is read as fast as it fills (writes to our
    // stdout are synchronous, so nothing piles up), no promise turn per chunk
    await new Promise<void>((resolve, reject) => {
      res.on('data', (chunk: Buffer) => {
        if (tty) { process.stdout.write(chunk); return; }
        try { demux.push(chunk); } catch (err) { res.destroy(); reject(err as Error); }
      });
      res.on('end', resolve);
      res.on('error', reject);
      res.on('close', resolve);
    });
    return 0;
  },
};
