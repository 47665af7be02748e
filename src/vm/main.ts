/** bin/berth-vm: the entry point. */
import { main } from './cli.js';

main(process.argv.slice(2), process.env).then(
  (code) => { process.exitCode = code; },
  (err: unknown) => { process.stderr.write(`berth-vm: ${String(err)}\n`); process.exitCode = 1; },
);
