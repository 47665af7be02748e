/* The N-API addon: the few system calls TypeScript needs in-process and
 * Node does not offer. Typed by src/common/native.ts. Each function throws a
 * JavaScript Error with the errno's code (e.g. "ESRCH") on failure. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <berth/fdpass.h>
#include <node_api.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;


/* Defined by cgroup_bpf.c (another owner) when it is built in; weak so the
 * addon links before and without it. */
extern void berth_register_cgroup_bpf(napi_env env, napi_value exports) __attribute__((weak));
/* fsops.c: mknod, xattrs, mount (snapshots and layer unpacking). */
extern void berth_register_fsops(napi_env env, napi_value exports);

static napi_value throw_errno(napi_env env, const char *what, int err)
{
	char msg[256];
	char code[32];
	snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
	const char *name = strerrorname_np(err);
	snprintf(code, sizeof code, "%s", name ? name : "EIO");
	napi_throw_error(env, code, msg);
	return NULL;
}

static int arg_i32(napi_env env, napi_callback_info info, size_t n, int32_t *out)
{
	napi_value argv[4];
	size_t argc = 4;
	if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < n) {
		napi_throw_type_error(env, NULL, "missing argument");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (napi_get_value_int32(env, argv[i], &out[i]) != napi_ok) {
			napi_throw_type_error(env, NULL, "expected a number");
			return -1;
		}
	}
	return 0;
}

static napi_value num(napi_env env, int64_t v)
{
	napi_value r;
	napi_create_int64(env, v, &r);
	return r;
}

static napi_value undef(napi_env env)
{
	napi_value r;
	napi_get_undefined(env, &r);
	return r;
}

static napi_value pidfd_open(napi_env env, napi_callback_info info)
{
	int32_t a[1];
	if (arg_i32(env, info, 1, a) < 0)
		return NULL;
	long fd = syscall(SYS_pidfd_open, a[0], 0);
	if (fd < 0)
		return throw_errno(env, "pidfd_open", errno);
	fcntl((int)fd, F_SETFD, FD_CLOEXEC);
	return num(env, fd);
}

static napi_value pidfd_send_signal(napi_env env, napi_callback_info info)
{
	int32_t a[2];
	if (arg_i32(env, info, 2, a) < 0)
		return NULL;
	if (syscall(SYS_pidfd_send_signal, a[0], a[1], NULL, 0) < 0)
		return throw_errno(env, "pidfd_send_signal", errno);
	return undef(env);
}

static napi_value close_fd(napi_env env, napi_callback_info info)
{
	int32_t a[1];
	if (arg_i32(env, info, 1, a) < 0)
		return NULL;
	if (close(a[0]) < 0)
		return throw_errno(env, "close", errno);
	return undef(env);
}

static napi_value set_child_subreaper(napi_env env, napi_callback_info info)
{
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
		return throw_errno(env, "prctl(PR_SET_CHILD_SUBREAPER)", errno);
	return undef(env);
}

static napi_value peer_uid(napi_env env, napi_callback_info info)
{
	int32_t a[1];
	if (arg_i32(env, info, 1, a) < 0)
		return NULL;
	struct ucred cred;
	socklen_t len = sizeof cred;
	if (getsockopt(a[0], SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return throw_errno(env, "SO_PEERCRED", errno);
	return num(env, cred.uid);
}

/* mkfifo(path, mode): Node has no mkfifo(3), and spawning mkfifo(1) from a
 * large process costs milliseconds on every container create. */
static napi_value make_fifo(napi_env env, napi_callback_info info)
{
	napi_value argv[2];
	size_t argc = 2;
	char path[4096];
	size_t len = 0;
	uint32_t mode = 0;
	napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
	if (argc < 2 || napi_get_value_string_utf8(env, argv[0], path, sizeof path, &len) != napi_ok ||
	    len >= sizeof path - 1 || napi_get_value_uint32(env, argv[1], &mode) != napi_ok) {
		napi_throw_type_error(env, NULL, "expected mkfifo(path, mode)");
		return NULL;
	}
	if (mkfifo(path, (mode_t)mode) < 0)
		return throw_errno(env, "mkfifo", errno);
	/* the umask must not narrow it: the container's user may need to write it */
	if (chmod(path, (mode_t)mode) < 0)
		return throw_errno(env, "chmod", errno);
	return undef(env);
}

/* unixListen(path): a listening unix stream socket (close-on-exec). */
static napi_value unix_listen(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	size_t argc = 1;
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	size_t len = 0;
	napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
	if (argc < 1 || napi_get_value_string_utf8(env, argv[0], addr.sun_path, sizeof addr.sun_path, &len) != napi_ok ||
	    len >= sizeof addr.sun_path - 1) {
		napi_throw_type_error(env, NULL, "expected a socket path shorter than 107 bytes");
		return NULL;
	}
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return throw_errno(env, "socket", errno);
	if (bind(s, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(s, 16) < 0) {
		int err = errno;
		close(s);
		return throw_errno(env, "bind", err);
	}
	return num(env, s);
}

static int wait_readable(int fd, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int r;
	do
		r = poll(&p, 1, timeout_ms);
	while (r < 0 && errno == EINTR);
	if (r == 0)
		errno = ETIMEDOUT;
	return r == 1 ? 0 : -1;
}

/* recvFd(sockFd, timeoutMs): receives one fd sent with SCM_RIGHTS. A
 * listening socket is accepted first. Returns { fd, data }. Blocks the
 * thread up to timeoutMs (tests and small tools only). */
static napi_value recv_fd(napi_env env, napi_callback_info info)
{
	int32_t a[2];
	if (arg_i32(env, info, 2, a) < 0)
		return NULL;
	int s = a[0];
	int listening = 0;
	socklen_t ol = sizeof listening;
	getsockopt(s, SOL_SOCKET, SO_ACCEPTCONN, &listening, &ol);
	if (listening) {
		if (wait_readable(s, a[1]) < 0)
			return throw_errno(env, "accept", errno);
		s = accept4(s, NULL, NULL, SOCK_CLOEXEC);
		if (s < 0)
			return throw_errno(env, "accept", errno);
	}
	char data[4096];
	union fd_cmsg u;
	struct iovec iov = { .iov_base = data, .iov_len = sizeof data };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	fd_cmsg_room(&mh, &u);
	ssize_t n = wait_readable(s, a[1]) < 0 ? -1 : recvmsg(s, &mh, MSG_CMSG_CLOEXEC);
	int err = errno;
	if (listening)
		close(s);
	if (n < 0)
		return throw_errno(env, "recvmsg", err);
	int fd = fd_cmsg_get(&mh);
	if (fd < 0)
		return throw_errno(env, "recvmsg: no fd in the message", EPROTO);
	napi_value obj, str;
	napi_create_object(env, &obj);
	napi_set_named_property(env, obj, "fd", num(env, fd));
	napi_create_string_utf8(env, data, (size_t)n, &str);
	napi_set_named_property(env, obj, "data", str);
	return obj;
}

/* sendFd(sockFd, bytes, fd): sends bytes on a connected unix socket with fd
 * attached to the first of them (SCM_RIGHTS). The socket may be
 * non-blocking (a Node socket's descriptor): a full buffer is waited for,
 * up to a second, so the whole message goes in one call. Used to hand a
 * client's connection to a container's shim (src/shim/attach.ts). */
static napi_value send_fd(napi_env env, napi_callback_info info)
{
	napi_value argv[3];
	size_t argc = 3;
	int32_t sock, fd;
	void *data;
	size_t len;
	if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 3 ||
	    napi_get_value_int32(env, argv[0], &sock) != napi_ok || napi_get_buffer_info(env, argv[1], &data, &len) != napi_ok ||
	    napi_get_value_int32(env, argv[2], &fd) != napi_ok || len == 0) {
		napi_throw_type_error(env, NULL, "expected sendFd(sockFd, bytes, fd)");
		return NULL;
	}
	size_t off = 0;
	while (off < len) {
		union fd_cmsg u;
		struct iovec iov = { .iov_base = (char *)data + off, .iov_len = len - off };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
		if (off == 0)
			fd_cmsg_put(&mh, &u, fd);
		ssize_t w = sendmsg(sock, &mh, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			struct pollfd p = { .fd = sock, .events = POLLOUT };
			if (poll(&p, 1, 1000) == 1)
				continue;
			return throw_errno(env, "sendmsg", ETIMEDOUT);
		}
		if (w < 0)
			return throw_errno(env, "sendmsg", errno);
		off += (size_t)w;
	}
	return undef(env);
}

/* A JavaScript string as a malloc'd C string (NULL after throwing). */
static char *dup_string(napi_env env, napi_value v)
{
	size_t len;
	if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) {
		napi_throw_type_error(env, NULL, "expected a string");
		return NULL;
	}
	char *s = malloc(len + 1);
	if (s)
		napi_get_value_string_utf8(env, v, s, len + 1, &len);
	return s;
}

/* spawnDetached(path, argv): posix_spawn (a vfork, so its cost does not grow
 * with Node's heap as fork's page-table copy does) with stdio on /dev/null,
 * the write end of a fresh pipe as fd 3 and every other fd closed. Returns
 * { pid, readyFd }: the read end (close-on-exec) for the caller to read to
 * EOF, and a pid the caller must reap with reap(). */
static napi_value spawn_detached(napi_env env, napi_callback_info info)
{
	napi_value argv[2];
	size_t argc = 2;
	uint32_t n = 0;
	bool is_array = false;
	if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2 ||
	    napi_is_array(env, argv[1], &is_array) != napi_ok || !is_array) {
		napi_throw_type_error(env, NULL, "expected a path and an argv array");
		return NULL;
	}
	napi_get_array_length(env, argv[1], &n);
	char *path = dup_string(env, argv[0]);
	char **av = calloc((size_t)n + 1, sizeof *av);
	napi_value result = NULL;
	int p[2] = { -1, -1 }, err = 0;
	if (!path || !av)
		goto out;
	for (uint32_t i = 0; i < n; i++) {
		napi_value e;
		napi_get_element(env, argv[1], i, &e);
		if (!(av[i] = dup_string(env, e)))
			goto out;
	}
	if (pipe2(p, O_CLOEXEC) < 0) {
		throw_errno(env, "pipe", errno);
		goto out;
	}
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&at);
	/* the child starts with default signal handling and nothing blocked */
	sigset_t all, none;
	sigfillset(&all);
	sigemptyset(&none);
	posix_spawnattr_setsigdefault(&at, &all);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDWR, 0);
	posix_spawn_file_actions_adddup2(&fa, 0, 1);
	posix_spawn_file_actions_adddup2(&fa, 0, 2);
	posix_spawn_file_actions_adddup2(&fa, p[1], 3);
	posix_spawn_file_actions_addclosefrom_np(&fa, 4);
	pid_t pid;
	err = posix_spawn(&pid, path, &fa, &at, av, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	close(p[1]);
	if (err) {
		close(p[0]);
		throw_errno(env, path, err);
		goto out;
	}
	napi_create_object(env, &result);
	napi_set_named_property(env, result, "pid", num(env, pid));
	napi_set_named_property(env, result, "readyFd", num(env, p[0]));
out:
	free(path);
	for (uint32_t i = 0; av && i < n; i++)
		free(av[i]);
	free(av);
	return result;
}

/* reap(pid): waitpid without blocking; the wait status, or -1 while it runs. */
static napi_value reap(napi_env env, napi_callback_info info)
{
	int32_t a[1];
	if (arg_i32(env, info, 1, a) < 0)
		return NULL;
	int status;
	pid_t r;
	while ((r = waitpid(a[0], &status, WNOHANG)) < 0 && errno == EINTR)
		;
	if (r < 0)
		return throw_errno(env, "waitpid", errno);
	return num(env, r == 0 ? -1 : status);
}

/* dup2(oldFd, newFd): the berth CLI's zygote puts the descriptors a command
 * line sent it on 0, 1 and 2 (Node offers no dup2). The new fd is not
 * close-on-exec, as stdio must be. */
static napi_value dup2_fd(napi_env env, napi_callback_info info)
{
	int32_t a[2];
	if (arg_i32(env, info, 2, a) < 0)
		return NULL;
	int r;
	while ((r = dup2(a[0], a[1])) < 0 && errno == EINTR)
		;
	if (r < 0)
		return throw_errno(env, "dup2", errno);
	return undef(env);
}

static void export_fn(napi_env env, napi_value exports, const char *name, napi_callback cb)
{
	napi_value fn;
	napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, NULL, &fn);
	napi_set_named_property(env, exports, name, fn);
}

static napi_value init(napi_env env, napi_value exports)
{
	export_fn(env, exports, "pidfdOpen", pidfd_open);
	export_fn(env, exports, "pidfdSendSignal", pidfd_send_signal);
	export_fn(env, exports, "close", close_fd);
	export_fn(env, exports, "setChildSubreaper", set_child_subreaper);
	export_fn(env, exports, "peerUid", peer_uid);
	export_fn(env, exports, "unixListen", unix_listen);
	export_fn(env, exports, "recvFd", recv_fd);
	export_fn(env, exports, "sendFd", send_fd);
	export_fn(env, exports, "mkfifo", make_fifo);
	export_fn(env, exports, "spawnDetached", spawn_detached);
	export_fn(env, exports, "reap", reap);
	export_fn(env, exports, "dup2", dup2_fd);
	if (berth_register_cgroup_bpf)
		berth_register_cgroup_bpf(env, exports);
	berth_register_fsops(env, exports);
	return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
