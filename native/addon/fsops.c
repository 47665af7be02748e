/* File-system system calls for snapshots and layer unpacking that Node does
 * not offer: mknod, the l*xattr family, mount and umount2. Registered into
 * the addon by addon.c; typed by src/common/native.ts. Errors throw a
 * JavaScript Error whose code is the errno's name (e.g. "ENOENT"). */
#define _GNU_SOURCE
#include <errno.h>
#include <node_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#define MAX_ARGS 6
#define XATTR_MAX 65536

static napi_value fs_throw(napi_env env, const char *what, const char *path, int err)
{
	char msg[4200];
	const char *name = strerrorname_np(err);
	snprintf(msg, sizeof msg, "%s %s: %s", what, path, strerror(err));
	napi_throw_error(env, name ? name : "EIO", msg);
	return NULL;
}

static napi_value fs_undef(napi_env env)
{
	napi_value u;
	napi_get_undefined(env, &u);
	return u;
}

/* A string argument copied to the heap (the caller frees it); NULL and a
 * thrown TypeError when it is not a string. */
static char *str_arg(napi_env env, napi_value v)
{
	size_t len = 0;
	if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) {
		napi_throw_type_error(env, NULL, "expected a string");
		return NULL;
	}
	char *s = malloc(len + 1);
	if (!s) {
		napi_throw_error(env, "ENOMEM", "out of memory");
		return NULL;
	}
	napi_get_value_string_utf8(env, v, s, len + 1, &len);
	return s;
}

static size_t get_args(napi_env env, napi_callback_info info, napi_value *argv)
{
	size_t argc = MAX_ARGS;
	napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
	return argc;
}

/* mknod(path, mode, major, minor): mode includes the file type bits. */
static napi_value fs_mknod(napi_env env, napi_callback_info info)
{
	napi_value argv[MAX_ARGS];
	uint32_t mode, major, minor;
	if (get_args(env, info, argv) < 4 || napi_get_value_uint32(env, argv[1], &mode) != napi_ok ||
	    napi_get_value_uint32(env, argv[2], &major) != napi_ok || napi_get_value_uint32(env, argv[3], &minor) != napi_ok) {
		napi_throw_type_error(env, NULL, "expected mknod(path, mode, major, minor)");
		return NULL;
	}
	char *path = str_arg(env, argv[0]);
	if (!path)
		return NULL;
	napi_value r = fs_undef(env);
	if (mknod(path, (mode_t)mode, makedev(major, minor)) < 0)
		r = fs_throw(env, "mknod", path, errno);
	free(path);
	return r;
}

/* lsetxattr(path, name, value: Buffer) */
static napi_value fs_lsetxattr(napi_env env, napi_callback_info info)
{
	napi_value argv[MAX_ARGS];
	void *data = NULL;
	size_t len = 0;
	if (get_args(env, info, argv) < 3 || napi_get_buffer_info(env, argv[2], &data, &len) != napi_ok) {
		napi_throw_type_error(env, NULL, "expected lsetxattr(path, name, buffer)");
		return NULL;
	}
	char *path = str_arg(env, argv[0]);
	char *name = path ? str_arg(env, argv[1]) : NULL;
	napi_value r = NULL;
	if (path && name) {
		r = fs_undef(env);
		if (lsetxattr(path, name, len ? data : "", len, 0) < 0)
			r = fs_throw(env, name, path, errno);
	}
	free(path);
	free(name);
	return r;
}

/* lgetxattr(path, name): the value, or null when the attribute is absent. */
static napi_value fs_lgetxattr(napi_env env, napi_callback_info info)
{
	napi_value argv[MAX_ARGS];
	if (get_args(env, info, argv) < 2) {
		napi_throw_type_error(env, NULL, "expected lgetxattr(path, name)");
		return NULL;
	}
	char *path = str_arg(env, argv[0]);
	char *name = path ? str_arg(env, argv[1]) : NULL;
	char *buf = malloc(XATTR_MAX);
	napi_value r = NULL;
	if (path && name && buf) {
		ssize_t n = lgetxattr(path, name, buf, XATTR_MAX);
		if (n >= 0)
			napi_create_buffer_copy(env, (size_t)n, buf, NULL, &r);
		else if (errno == ENODATA)
			napi_get_null(env, &r);
		else
			r = fs_throw(env, name, path, errno);
	}
	free(path);
	free(name);
	free(buf);
	return r;
}

/* llistxattr(path): the attribute names. */
static napi_value fs_llistxattr(napi_env env, napi_callback_info info)
{
	napi_value argv[MAX_ARGS];
	if (get_args(env, info, argv) < 1) {
		napi_throw_type_error(env, NULL, "expected llistxattr(path)");
		return NULL;
	}
	char *path = str_arg(env, argv[0]);
	char *buf = malloc(XATTR_MAX);
	napi_value r = NULL;
	if (path && buf) {
		ssize_t n = llistxattr(path, buf, XATTR_MAX);
		if (n < 0) {
			r = fs_throw(env, "llistxattr", path, errno);
		} else {
			napi_create_array(env, &r);
			uint32_t i = 0;
			for (ssize_t off = 0; off < n; off += (ssize_t)strlen(buf + off) + 1) {
				napi_value s;
				napi_create_string_utf8(env, buf + off, NAPI_AUTO_LENGTH, &s);
				napi_set_element(env, r, i++, s);
			}
		}
	}
	free(path);
	free(buf);
	return r;
}

/* mount(2) in a child process that first changes to cwd: overlay's lowerdir
 * list then fits in one page as relative paths, and this multithreaded
 * process's own working directory never changes. Returns an errno. */
static int mount_in(const char *cwd, const char *src, const char *target, const char *type, unsigned long flags,
		    const char *data)
{
	pid_t pid = fork();
	if (pid < 0)
		return errno;
	if (pid == 0) {
		if (chdir(cwd) < 0)
			_exit(errno);
		_exit(mount(src, target, type, flags, data) < 0 ? errno : 0);
	}
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return errno;
	return WIFEXITED(status) ? WEXITSTATUS(status) : EIO;
}

/* mount(source, target, fstype, flags, data, cwd?) */
static napi_value fs_mount(napi_env env, napi_callback_info info)
{
	napi_value argv[MAX_ARGS];
	size_t argc = get_args(env, info, argv);
	double flags = 0;
	if (argc < 5 || napi_get_value_double(env, argv[3], &flags) != napi_ok) {
		napi_throw_type_error(env, NULL, "expected mount(source, target, fstype, flags, data, cwd?)");
		return NULL;
	}
	napi_valuetype cwd_type = napi_undefined;
	if (argc >= 6)
		napi_typeof(env, argv[5], &cwd_type);
	char *src = str_arg(env, argv[0]);
	char *target = src ? str_arg(env, argv[1]) : NULL;
	char *type = target ? str_arg(env, argv[2]) : NULL;
	char *data = type ? str_arg(env, argv[4]) : NULL;
	char *cwd = data && cwd_type == napi_string ? str_arg(env, argv[5]) : NULL;
	napi_value r = NULL;
	if (data && (cwd_type != napi_string || cwd)) {
		int err = 0;
		if (cwd)
			err = mount_in(cwd, src, target, type, (unsigned long)flags, data);
		else if (mount(src, target, type, (unsigned long)flags, data) < 0)
			err = errno;
		r = err ? fs_throw(env, "mount", target, err) : fs_undef(env);
	}
	free(src);
	free(target);
	free(type);
	free(data);
	free(cwd);
	return r;
}

/* umount2(target, flags) */
static napi_value fs_umount2(napi_env env, napi_callback_info info)
{
	napi_value argv[MAX_ARGS];
	int32_t flags = 0;
	if (get_args(env, info, argv) < 2 || napi_get_value_int32(env, argv[1], &flags) != napi_ok) {
		napi_throw_type_error(env, NULL, "expected umount2(target, flags)");
		return NULL;
	}
	char *target = str_arg(env, argv[0]);
	if (!target)
		return NULL;
	napi_value r = fs_undef(env);
	if (umount2(target, flags) < 0)
		r = fs_throw(env, "umount", target, errno);
	free(target);
	return r;
}

static void fs_export(napi_env env, napi_value exports, const char *name, napi_callback cb)
{
	napi_value fn;
	napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, NULL, &fn);
	napi_set_named_property(env, exports, name, fn);
}

void berth_register_fsops(napi_env env, napi_value exports)
{
	fs_export(env, exports, "mknod", fs_mknod);
	fs_export(env, exports, "lsetxattr", fs_lsetxattr);
	fs_export(env, exports, "lgetxattr", fs_lgetxattr);
	fs_export(env, exports, "llistxattr", fs_llistxattr);
	fs_export(env, exports, "mount", fs_mount);
	fs_export(env, exports, "umount2", fs_umount2);
}
