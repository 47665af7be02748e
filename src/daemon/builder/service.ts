/**
 * The daemon's BuildBackend: a request's context unpacked into a private
 * directory under the data root, its Dockerfile parsed, the build run on
 * the daemon's container, archive, commit and image services, and the
 * directory removed whatever happened. Errors before the first output
 * become HTTP errors (the route sends nothing until then).
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { BuildBackend, BuildRequest } from '../../api/index.js';
import { Build, stagesToBuild, tagName } from './builder.js';
import { readDockerfile, removeContext, unpackContext } from './context.js';
import { dropIgnoredBuildFiles } from './ignore.js';
import { parseStages } from './instructions.js';
import { BuildOutput, type Sink } from './output.js';
import { StepRunner, type StepDeps } from './steps.js';
import { invalidArgument } from '../../common/errors.js';

export interface BuildServiceDeps extends StepDeps {
  /** where contexts are unpacked (one directory per build) */
  workRoot: string;
}

export class DaemonBuild implements BuildBackend {
  constructor(private readonly deps: BuildServiceDeps) {}

  async build(req: BuildRequest, sink: Sink, signal: AbortSignal): Promise<void> {
    if (req.remote !== '') throw invalidArgument(`remote build contexts are not supported by berthd: ${req.remote}`);
    const opts = req.options;
    for (const t of opts.tags) tagName(t);
    const workDir = join(this.deps.workRoot, randomBytes(12).toString('hex'));
    const out = new BuildOutput(sink, opts.quiet);
    try {
      const contextDir = join(workDir, 'context');
      await unpackContext(req.body, contextDir);
      const file = readDockerfile(contextDir, opts.dockerfile);
      dropIgnoredBuildFiles(contextDir, file.name);
      const df = parseStages(file.text);
      stagesToBuild(df, opts.target);
      const runner = new StepRunner(this.deps, opts, out, signal, df.escape);
      runner.workDir = workDir;
      runner.contextDir = contextDir;
      const id = await new Build(runner, opts, out, req.auth).run(df);
      if (opts.quiet) await out.always({ stream: `${id}\n` });
    } catch (err) {
      if (opts.quiet) await out.flushHeld();
      throw err;
    } finally {
      removeContext(workDir);
    }
  }
}
