// The berth CLI's zygote: a Node process that has already started and
// loaded the CLI bundle, waiting on a unix socket for bin/berth
// (native/cli/) to hand it one command. The build copies this file to
// dist/; the launcher (dist/berth-launcher.cjs) calls serve() when
// BERTH_CLI_ZYGOTE names the socket. The exchange is described at the top
// of native/cli/main.c.
//
// One zygote serves one command and then is that command: commands never
// share state. Two zygotes accept on the listening socket at once (the
// first one, bound cold, starts a sibling), so a command that follows
// another at once, or runs beside it (two terminals, `berth save | berth
// load`, parallel scripts), finds one warm. A zygote that takes a command
// starts its replacement right away with the socket as fd 3, niced while
// it loads when we may renice it back (root), so the loading does not take
// the CPU from the command; a command arriving while both are busy waits
// in the backlog instead of failing over to a cold start.
//
// Nothing here may touch process.stdin/stdout/stderr before the received
// descriptors are on 0, 1 and 2: Node creates those streams on first use
// and decides then whether each is a TTY, a pipe or a file.
'use strict';
const fs = require('node:fs');
const net = require('node:net');
const { spawn } = require('node:child_process');
const { join } = require('node:path');
const { isatty } = require('node:tty');
const os = require('node:os');

/** An idle zygote goes after this long (ms). */
const IDLE_MS = Number(process.env.BERTH_CLI_ZYGOTE_IDLE_MS) || 10 * 60_000;
/** The niceness a replacement loads at (root only: it can take back its own niceness). */
const LOADING_NICE = 19;
/** How often an idle zygote checks that its socket and bundle are still current (ms). */
const CHECK_MS = 2000;
/** How long the descriptors may take to arrive after the connection (ms). */
const RECV_MS = 5000;

/** A file's identity: a rebuild (rename over it) or a rewrite changes it. */
function identity(path) {
  try {
    const st = fs.statSync(path);
    return `${st.ino} ${st.size} ${st.mtimeMs}`;
  } catch {
    return '';
  }
}

function inode(path) {
  try {
    return String(fs.statSync(path).ino);
  } catch {
    return '';
  }
}

/** The request's body: cwd, umask, argc, args, envc, env, each ending in NUL. */
function parseRequest(body) {
  const parts = body.toString('utf8').split('\0');
  let i = 0;
  const cwd = parts[i++];
  const umask = parseInt(parts[i++], 8);
  const argc = Number(parts[i++]);
  const args = parts.slice(i, i + argc);
  i += argc;
  const envc = Number(parts[i++]);
  const env = {};
  for (const e of parts.slice(i, i + envc)) {
    const eq = e.indexOf('=');
    if (eq > 0) env[e.slice(0, eq)] = e.slice(eq + 1);
  }
  if (!cwd || Number.isNaN(umask) || args.length !== argc || Number.isNaN(envc)) throw new Error('malformed request');
  return { cwd, umask, args, env };
}

/** Reads "<length>\n<body>" from the (paused) connection. */
function readRequest(sock, done) {
  let buf = Buffer.alloc(0);
  const onData = (d) => {
    buf = Buffer.concat([buf, d]);
    const nl = buf.indexOf(10);
    if (nl < 0) return;
    const len = Number(buf.toString('latin1', 0, nl));
    if (buf.length < nl + 1 + len) return;
    sock.off('data', onData);
    sock.off('end', gone);
    done(buf.subarray(nl + 1, nl + 1 + len));
  };
  const gone = () => process.exit(1);
  sock.on('data', onData);
  sock.on('end', gone);
  sock.resume();
}

/** Becomes the command: its stdio, cwd, umask, env and argv; then runs it. */
function become(req, fds, sock, fd, native, cli) {
  try {
    process.chdir(req.cwd);
  } catch {
    // no "K": the front runs the command itself, where its cwd exists
    process.exit(1);
  }
  process.umask(req.umask);
  // delete and set (not a new object) so the C environment follows for native code and children
  for (const k of Object.keys(process.env)) delete process.env[k];
  Object.assign(process.env, req.env);
  process.argv = [process.argv[0], process.argv[1], ...req.args];
  // the signals the front forwards act as on a fresh process: a zygote started from a shell's
  // background job inherits SIGINT and SIGQUIT ignored, and `logs -f` would not end on ^C
  // (libuv puts the default action back when the last listener goes)
  for (const sig of ['SIGINT', 'SIGQUIT', 'SIGTERM', 'SIGHUP']) {
    const noop = () => {};
    process.on(sig, noop);
    process.off(sig, noop);
  }
  try {
    fs.writeSync(fd, `K${process.pid}\n`); // the pid signals go to (see native/cli/main.c)
  } catch {
    process.exit(1); // the front gave up waiting and runs the command itself
  }
  for (let n = 0; n < 3; n++) {
    native.dup2(fds[n], n);
    native.close(fds[n]);
  }
  // written first thing at exit, synchronously: the front exits with it.
  // The successor starts after (registered earlier, it runs later): its fork
  // and its ~50 ms of loading would otherwise compete with the command for
  // the CPU (measured: ps with 100 containers 96 ms with, see bench/RESULTS.md)
  // The front's stdio is let go first: a caller reading its output to the end (`$(berth …)`, a
  // pipe) would otherwise wait for this process to end, successor spawn and teardown included.
  const devNull = fs.openSync('/dev/null', 'r+');
  process.prependListener('exit', (code) => {
    for (let n = 0; n < 3; n++) {
      // a terminal stays: Node puts its mode back after these listeners
      try { if (!isatty(n)) native.dup2(devNull, n); } catch { /* keep going: the code matters more */ }
    }
    try { fs.writeSync(fd, `${code}\n`); } catch { /* the front is gone */ }
  });
  // an attach stream the front copies itself ("S" + framing, the connection's fd), answered
  // "E" at its end or "B<id>" for a frame header that names no stream (native/cli/main.c)
  let copied;
  let answer = Buffer.alloc(0);
  if (typeof cli.setFrontStreamer === 'function') {
    cli.setFrontStreamer({
      copy(streamFd, framing) {
        // throws when it cannot be sent: the command then reads the stream itself
        native.sendFd(fd, Buffer.from(framing === 'raw' ? 'Sr' : 'Sm'), streamFd);
        sock.ref(); // the command may have nothing else keeping it alive meanwhile
        return new Promise((resolve) => { copied = resolve; });
      },
    });
  }
  const onAnswer = (d) => {
    answer = Buffer.concat([answer, d]);
    while (answer.length > 0 && copied) {
      if (answer[0] === 0x42 /* B */ && answer.length < 2) return;
      const done = copied;
      copied = undefined;
      sock.unref();
      done(answer[0] === 0x42 ? { badStream: answer[1] } : {});
      answer = answer.subarray(answer[0] === 0x42 ? 2 : 1);
    }
  };
  // the front killed (kill -9): end the command as a hung-up terminal would
  sock.on('data', onAnswer);
  sock.on('end', () => process.kill(process.pid, 'SIGHUP'));
  sock.on('error', () => process.kill(process.pid, 'SIGHUP'));
  sock.unref();
  cli.runAndExit(req.args);
}

/** Starts another zygote on the same listening socket (its fd 3), niced while it loads when root. */
function spawnSuccessor(bootEnv, listenFd, sockIno) {
  try {
    const nice = os.getPriority();
    const renice = process.getuid() === 0 && nice < LOADING_NICE;
    const child = spawn(process.execPath, [process.argv[1]], {
      env: { ...bootEnv, BERTH_CLI_ZYGOTE_FD: '3', BERTH_CLI_ZYGOTE_INO: sockIno, ...(renice ? { BERTH_CLI_ZYGOTE_NICE: String(nice) } : {}) },
      cwd: '/',
      detached: true,
      stdio: ['ignore', 'ignore', 'ignore', listenFd],
    });
    child.on('error', () => {});
    if (renice && child.pid) {
      try { os.setPriority(child.pid, LOADING_NICE); } catch { /* it loads at ours */ }
    }
    child.unref();
  } catch {
    // no successor: the next command starts cold and starts one
  }
}

/** A zygote reniced while it loaded runs its command at the niceness its parent had. */
function restoreNice() {
  const nice = process.env.BERTH_CLI_ZYGOTE_NICE;
  if (nice === undefined) return;
  delete process.env.BERTH_CLI_ZYGOTE_NICE;
  try { os.setPriority(Number(nice)); } catch { /* stays niced */ }
}

exports.serve = function serve(path, bundle, loadBundle) {
  const bootEnv = { ...process.env };
  delete bootEnv.BERTH_CLI_ZYGOTE_FD;
  delete bootEnv.BERTH_CLI_ZYGOTE_INO;
  delete bootEnv.BERTH_CLI_ZYGOTE_NICE;
  const bundleId = identity(bundle);
  const cli = loadBundle(); // src/cli/main.ts runs nothing under BERTH_CLI_ZYGOTE
  // what commands require on first use, required now rather than on a command's clock
  for (const m of ['node:http', 'node:crypto', 'node:stream/promises', 'node:readline', 'node:tty']) require(m);
  const native = require(join(__dirname, 'berth_addon.node'));

  const server = net.createServer({ pauseOnConnect: true });
  let sockIno = process.env.BERTH_CLI_ZYGOTE_INO ?? '';
  let idle;
  let check;
  const quit = () => {
    server.close();
    process.exit(0);
  };
  const ready = () => {
    idle = setTimeout(quit, IDLE_MS);
    // another zygote took the path (a race of two cold starts), the path
    // went, or the CLI was rebuilt: this one is no longer the one to serve
    check = setInterval(() => {
      if (inode(path) !== sockIno || identity(bundle) !== bundleId) quit();
    }, CHECK_MS);
  };

  let taken = false;
  server.on('connection', (sock) => {
    const fd = sock._handle.fd;
    if (taken || native.peerUid(fd) !== process.getuid()) {
      sock.destroy();
      return;
    }
    if (identity(bundle) !== bundleId) {
      // rebuilt: no "K", so the front runs the new launcher and starts a new zygote
      sock.destroy();
      quit();
      return;
    }
    taken = true;
    clearTimeout(idle);
    clearInterval(check);
    restoreNice();
    // the listening socket kept on a spare fd for the replacement (net.Server
    // cannot stop accepting without closing it); the other zygote serves
    // meanwhile, and commands beyond it wait in the backlog
    let spare = fs.openSync('/dev/null', 'r');
    native.dup2(server._handle.fd, spare);
    server.close();
    const successor = () => {
      if (spare < 0) return;
      spawnSuccessor(bootEnv, spare, sockIno);
      fs.closeSync(spare);
      spare = -1;
    };
    process.on('exit', successor); // a way out before the command starts
    let fds;
    try {
      fds = [];
      for (let n = 0; n < 3; n++) fds.push(native.recvFd(fd, RECV_MS).fd);
    } catch {
      process.exit(1); // the front went away
    }
    readRequest(sock, (body) => {
      let req;
      try {
        req = parseRequest(body);
      } catch {
        process.exit(1);
      }
      become(req, fds, sock, fd, native, cli);
      // once the command waits for its first answer: the fork then costs it nothing
      successor();
    });
  });
  server.on('error', () => process.exit(1));

  // served at once; while idle until then, the common commands' code is compiled (a command
  // that comes first stops it: a command right after the last one is not kept waiting)
  const cold = process.env.BERTH_CLI_ZYGOTE_FD === undefined;
  listen(server, path, (ino) => { sockIno = ino; }, () => {
    ready();
    // the pool's second zygote, on this socket
    if (cold && !taken) spawnSuccessor(bootEnv, server._handle.fd, sockIno);
    if (typeof cli.warm === 'function') cli.warm(() => taken).catch(() => {});
  });
};

/** Listens on the inherited socket, or binds path (then setIno with its inode); ready when done. */
function listen(server, path, setIno, ready) {
  const inherited = process.env.BERTH_CLI_ZYGOTE_FD;
  if (inherited) {
    server.listen({ fd: Number(inherited) }, ready);
    return;
  }
  // bound under a temporary name and renamed into place: a stale socket is
  // replaced in one step, and of two zygotes racing the last one wins
  // (the other sees the path's inode change and goes)
  const tmp = `${path}.${process.pid}`;
  fs.rmSync(tmp, { force: true });
  server.listen(tmp, () => {
    fs.renameSync(tmp, path);
    setIno(inode(path));
    ready();
  });
}
