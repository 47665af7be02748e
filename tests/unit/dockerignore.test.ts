/**
 * .dockerignore as the docker CLI reads and applies it (src/common/dockerignore.ts, used by the berth CLI and berthd)
 * and the entries `berth build` sends for a directory (build-context.ts):
 * the file's syntax, `*`, `?`, `**`, classes and escapes, parent
 * directories, `!` exceptions (last match wins), the walk into a skipped
 * directory only when an exception names a path under it, and the
 * Dockerfile and .dockerignore always kept.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanPath, keepBuildFiles, parseDockerignore, PatternMatcher } from '../../src/common/dockerignore.js';
import { contextEntries, isArchive } from '../../src/cli/build-context.js';
import { buildArgs, buildQuery } from '../../src/cli/commands/build.js';
import { dropIgnoredBuildFiles } from '../../src/daemon/builder/ignore.js';

const excluded = (patterns: string[], file: string): boolean => new PatternMatcher(patterns).matchesOrParentMatches(file);

test('the file: BOM, comments only at column 0, blanks, cleaning, leading slash, exceptions', () => {
  assert.deepEqual(parseDockerignore('\uFEFF# comment\n\n  *.md  \n # not a comment\n/abs/x\na/../b\n! /keep\r\nsub/\n'),
    ['*.md', '# not a comment', 'abs/x', 'b', '!keep', 'sub']);
  assert.equal(cleanPath('a//b/./c/..'), 'a/b');
  assert.equal(cleanPath('../x'), '../x');
  assert.equal(cleanPath(''), '.');
});

test('wildcards: * and ? stay in one element, ** crosses any number, classes and escapes', () => {
  assert.ok(excluded(['*.md'], 'a.md'));
  assert.ok(!excluded(['*.md'], 'd/a.md'), '* does not cross a slash');
  assert.ok(excluded(['*/temp*'], 'd/temporary'));
  assert.ok(!excluded(['*/temp*'], 'temp'));
  assert.ok(excluded(['temp?'], 'temp1'));
  assert.ok(!excluded(['temp?'], 'temp12'));
  assert.ok(excluded(['**/*.go'], 'a.go'));
  assert.ok(excluded(['**/*.go'], 'x/y/a.go'));
  assert.ok(excluded(['**/node_modules'], 'node_modules'));
  assert.ok(excluded(['**/node_modules'], 'a/b/node_modules/x'));
  assert.ok(excluded(['a/**/b'], 'a/b'));
  assert.ok(excluded(['a/**/b'], 'a/x/y/b'));
  assert.ok(excluded(['dir/**'], 'dir/x'));
  assert.ok(!excluded(['dir/**'], 'dir'), 'a trailing ** needs something under the directory');
  assert.ok(excluded(['[ab].txt'], 'b.txt'));
  assert.ok(!excluded(['[ab].txt'], 'c.txt'));
  assert.ok(excluded(['\\*x'], '*x'));
  assert.ok(!excluded(['\\*x'], 'ax'));
  assert.ok(!excluded(['a.b'], 'axb'), 'a dot is a dot');
  assert.ok(excluded(['sub'], 'sub/deep/f'), 'a pattern matching a parent directory excludes what is under it');
});

test('exceptions: the last matching pattern decides', () => {
  const p = ['*.md', '!README*.md', 'README-secret.md'];
  assert.ok(excluded(p, 'a.md'));
  assert.ok(!excluded(p, 'README-x.md'));
  assert.ok(excluded(p, 'README-secret.md'));
  assert.ok(!excluded(['!x', 'y'], 'x'));
  assert.throws(() => new PatternMatcher(['!']), /illegal exclusion pattern/);
  assert.throws(() => new PatternMatcher(['[a']), /syntax error in pattern/);
});

test('the old parent check: a parent only at the pattern\'s own depth', () => {
  const pm = new PatternMatcher(['*']);
  assert.ok(pm.matches('x/Dockerfile'));
  assert.ok(!new PatternMatcher(['b']).matches('a/b/c'));
  assert.ok(new PatternMatcher(['a/b']).matches('a/b/c'));
});

test('the Dockerfile and .dockerignore are always sent, a Dockerfile from stdin is not re-included', () => {
  assert.deepEqual(keepBuildFiles(['*'], 'Dockerfile', false), ['*', '!.dockerignore', '!Dockerfile']);
  assert.deepEqual(keepBuildFiles(['*'], '-', true), ['*', '!.dockerignore']);
  assert.deepEqual(keepBuildFiles(['secret'], 'Dockerfile', false), ['secret']);
  assert.deepEqual(keepBuildFiles(['build'], 'build/Dockerfile', false), ['build', '!build/Dockerfile']);
});

test('the walk: name order, excluded directories skipped unless an exception names something under them', () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-dockerignore-'));
  try {
    for (const f of ['b/keep', 'b/other', 'c/deep/keep', 'a.md', 'Dockerfile', 'z/x', '.dockerignore']) {
      mkdirSync(join(dir, f, '..'), { recursive: true });
      writeFileSync(join(dir, f), f);
    }
    const rels = (patterns: string[]): string[] => contextEntries(dir, patterns).map((e) => e.rel);
    assert.deepEqual(rels([]), ['.dockerignore', 'Dockerfile', 'a.md', 'b', 'b/keep', 'b/other', 'c', 'c/deep', 'c/deep/keep', 'z', 'z/x']);
    assert.deepEqual(rels(['b', '!b/keep', '*.md', 'z/']), ['.dockerignore', 'Dockerfile', 'b/keep', 'c', 'c/deep', 'c/deep/keep']);
    // docker's quirk: an exception that does not start with the directory's path does not reopen it
    assert.deepEqual(rels(['c', '!**/keep']), ['.dockerignore', 'Dockerfile', 'a.md', 'b', 'b/keep', 'b/other', 'z', 'z/x']);
    assert.deepEqual(rels(keepBuildFiles(['*'], 'Dockerfile', false)), ['.dockerignore', 'Dockerfile']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('stdin: a tar is told from a Dockerfile by its header checksum or a compression magic', () => {
  const block = Buffer.alloc(1024);
  block.write('Dockerfile', 0);
  block.write('0000644\0', 100);
  block.write('00000000007\0', 124);
  block.write('ustar\u000000', 257);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : block[i]!;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  assert.ok(isArchive(block));
  block[0] = 0x45;
  assert.ok(!isArchive(block), 'a broken checksum is no tar');
  assert.ok(isArchive(Buffer.from([0x1f, 0x8b, 8, 0])));
  assert.ok(!isArchive(Buffer.from('FROM busybox\nRUN true\n')));
});

test('the query as the docker CLI sends it: defaults left out, keys sorted, Go\'s JSON', () => {
  const base = { tags: [], dockerfile: 'Dockerfile', buildArgs: {}, labels: {}, target: '', noCache: false, rm: true, forceRm: false, pull: false, quiet: false, network: 'default', platform: '' };
  assert.equal(buildQuery(base), 'dockerfile=Dockerfile&version=1');
  const args = buildArgs(['A=1', 'HOME_X', 'NOPE', 'E='], { HOME_X: '/root' });
  assert.deepEqual(args, { A: '1', HOME_X: '/root', NOPE: null, E: '' });
  assert.equal(decodeURIComponent(buildQuery({ ...base, tags: ['x:1', 'y'], buildArgs: args, labels: { l: '<1>' }, network: 'host', noCache: true, rm: false, forceRm: true, pull: true, quiet: true, target: 't' }).replace(/\+/g, ' ')),
    'buildargs={"A":"1","E":"","HOME_X":"/root","NOPE":null}&dockerfile=Dockerfile&forcerm=1&labels={"l":"\\u003c1\\u003e"}&networkmode=host&nocache=1&pull=1&q=1&rm=0&t=x:1&t=y&target=t&version=1');
  assert.throws(() => buildArgs(['=x'], {}), /invalid environment variable: =x/);
});

test('berthd drops the Dockerfile and .dockerignore when .dockerignore excludes them, never outside the context', () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-dockerignore-'));
  try {
    const ctx = join(dir, 'ctx');
    mkdirSync(join(ctx, 'sub'), { recursive: true });
    writeFileSync(join(dir, 'Dockerfile'), 'outside');
    symlinkSync(dir, join(ctx, 'out'));
    for (const f of ['Dockerfile', 'sub/Dockerfile', 'keep']) writeFileSync(join(ctx, f), f);
    writeFileSync(join(ctx, '.dockerignore'), '.dockerignore\n*/Dockerfile\nout\n');
    dropIgnoredBuildFiles(ctx, 'out/Dockerfile');
    assert.ok(existsSync(join(dir, 'Dockerfile')), 'a symlinked directory does not lead the removal out');
    dropIgnoredBuildFiles(ctx, 'Dockerfile');
    assert.ok(existsSync(join(ctx, 'Dockerfile')), 'not excluded: kept');
    assert.ok(!existsSync(join(ctx, '.dockerignore')));
    writeFileSync(join(ctx, '.dockerignore'), 'sub\n');
    dropIgnoredBuildFiles(ctx, 'sub/Dockerfile');
    assert.ok(!existsSync(join(ctx, 'sub/Dockerfile')), 'excluded through its parent directory');
    assert.ok(existsSync(join(ctx, '.dockerignore')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
