/**
 * Entry point of dist/berth-runtime-planner.cjs, started by the C front:
 *   --serve <socket> --ready-fd N   the warm daemon
 *   --inline-fd N                   one invocation over an inherited socket
 */
import { serveInline, serveSocket } from './server.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
}

process.title = 'berth-runtime-planner';
const inline = arg('--inline-fd');
const serve = arg('--serve');
if (inline !== undefined) {
  serveInline(Number(inline)).then(() => process.exit(0), (err: unknown) => {
    process.stderr.write(`berth-runtime planner: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
} else if (serve !== undefined) {
  const ready = arg('--ready-fd');
  serveSocket(serve, ready === undefined ? undefined : Number(ready));
} else {
  process.stderr.write('berth-runtime-planner: started by bin/berth-runtime, not by hand (--serve SOCKET | --inline-fd FD)\n');
  process.exit(2);
}
