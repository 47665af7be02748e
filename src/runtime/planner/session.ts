/**
 * One berth-runtime invocation as the planner serves it: turn the front's
 * REQUEST into a CommandContext, run the command line, report errors the way
 * runc does (stderr, and the --log file that containerd reads back), exit.
 */
import type { Conversation } from './conversation.js';
import { createLogger, fileSink, type LogSink } from '../../common/log.js';
import { describeSystemError, exitCodeOf } from '../../common/errors.js';
import type { CommandContext } from '../commands/context.js';
import { runCommandLine } from '../cli/parse.js';

export async function serveInvocation(conv: Conversation): Promise<void> {
  let code = 1;
  try {
    const req = await conv.request();
    const base: Omit<CommandContext, 'globals' | 'log' | 'front' | 'callerPid' | 'callerEnv'> = {
      cwd: req.cwd,
      stdout: { write: (d) => conv.output(1, d) },
      stderr: { write: (d) => conv.output(2, d) },
      readStdin: () => conv.readStdin(),
      stdinIsTty: req.stdinIsTty,
      program: (req.argv[0] ?? 'berth-runtime').split('/').pop() ?? 'berth-runtime',
      signal: conv.closedSignal,
    };
    code = await runCommandLine(req.argv.slice(1), base, conv, req, (globals) => {
      const level = globals.debug ? 'debug' : 'warning';
      const sinks: LogSink[] = [{ format: 'text', level, write: (line) => conv.output(2, line) }];
      if (globals.log) sinks.push(fileSink(globals.log, globals.logFormat, globals.debug ? 'debug' : 'info'));
      return createLogger(sinks);
    });
  } catch (err) {
    conv.output(2, `berth-runtime: ${describeSystemError(err)}\n`);
    code = exitCodeOf(err);
  }
  conv.exit(code);
}
