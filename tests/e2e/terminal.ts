/**
 * Drives a command through a real pseudo-terminal, the way a person at a
 * terminal would: util-linux `script` (always present: bsdutils is an
 * essential Debian package) gives the command a pty, we type into it once a
 * prompt appears and read everything it prints until it exits.
 */
import { spawn } from 'node:child_process';

export interface TerminalSession { code: number; output: string }

const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * Runs `argv` on a pty; when the output matches `prompt`, types `input`.
 * Resolves with the command's exit code (script -e passes it through) and
 * the raw terminal output. Kills everything after `timeoutMs`.
 */
export function runOnTerminal(argv: string[], opts: { env: NodeJS.ProcessEnv; prompt: RegExp; input: string; timeoutMs: number }): Promise<TerminalSession> {
  return new Promise((resolve) => {
    const child = spawn('script', ['-qfec', argv.map(quote).join(' '), '/dev/null'], {
      env: { ...opts.env, TERM: 'xterm' }, stdio: ['pipe', 'pipe', 'pipe'], detached: true,
    });
    let output = '';
    let typed = false;
    const onData = (d: Buffer): void => {
      output += d.toString();
      if (!typed && opts.prompt.test(output)) {
        typed = true;
        child.stdin.write(opts.input);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    const timer = setTimeout(() => {
      output += `\n[terminal session timed out after ${opts.timeoutMs} ms]`;
      try { process.kill(-(child.pid as number), 'SIGKILL'); } catch { /* gone */ }
    }, opts.timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      child.stdin.destroy();
      resolve({ code: code ?? (signal ? 128 : 1), output });
    });
  });
}
