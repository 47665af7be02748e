/*
 * cgroupDeviceFilterAttach(cgroupDirFd: number, insns: Buffer, license: string,
 *                          replaceExisting?: boolean): void
 *
 * bpf(BPF_PROG_LOAD) of a BPF_PROG_TYPE_CGROUP_DEVICE program, then
 * bpf(BPF_PROG_ATTACH, BPF_CGROUP_DEVICE, BPF_F_ALLOW_MULTI) on the cgroup
 * directory. The program fd is closed after the attach: the attachment keeps
 * the program alive for as long as the cgroup exists. With replaceExisting,
 * the programs that were attached to that cgroup directly before this one are
 * detached after it is in place, so an update never leaves a moment with no
 * filter. Failures throw an Error whose code is the errno name and whose
 * message carries the verifier's log.
 */
#define _GNU_SOURCE
#include "cgroup_bpf.h"

#include <errno.h>
#include <linux/bpf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define LOG_SIZE (64 * 1024)
#define MAX_ATTACHED 64

static long sys_bpf(int cmd, union bpf_attr *attr)
{
	return syscall(__NR_bpf, cmd, attr, sizeof(*attr));
}

static void throw_errno(napi_env env, int err, const char *what, const char *log)
{
	char msg[LOG_SIZE + 256];
	const char *name = strerrorname_np(err);
	if (log != NULL && log[0] != '\0')
		snprintf(msg, sizeof(msg), "%s: %s; verifier log:\n%s", what, strerror(err), log);
	else
		snprintf(msg, sizeof(msg), "%s: %s", what, strerror(err));
	napi_throw_error(env, name != NULL ? name : "EUNKNOWN", msg);
}

static int prog_load(const void *insns, size_t count, const char *license, char *log, int *err)
{
	union bpf_attr attr;
	int fd;

	memset(&attr, 0, sizeof(attr));
	attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
	attr.insn_cnt = (uint32_t)count;
	attr.insns = (uint64_t)(uintptr_t)insns;
	attr.license = (uint64_t)(uintptr_t)license;
	fd = (int)sys_bpf(BPF_PROG_LOAD, &attr);
	if (fd >= 0)
		return fd;
	/* Load again with the verifier's log only to explain the failure. */
	attr.log_level = 1;
	attr.log_size = LOG_SIZE;
	attr.log_buf = (uint64_t)(uintptr_t)log;
	fd = (int)sys_bpf(BPF_PROG_LOAD, &attr);
	*err = errno;
	if (fd >= 0) { /* loaded the second time: nothing to explain */
		return fd;
	}
	return -1;
}

static uint32_t prog_id(int prog_fd)
{
	struct bpf_prog_info info;
	union bpf_attr attr;

	memset(&info, 0, sizeof(info));
	memset(&attr, 0, sizeof(attr));
	attr.info.bpf_fd = (uint32_t)prog_fd;
	attr.info.info_len = sizeof(info);
	attr.info.info = (uint64_t)(uintptr_t)&info;
	if (sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &attr) < 0)
		return 0;
	return info.id;
}

/* Detaches every device program attached directly to the cgroup but keep_id. */
static int detach_others(int cgroup_fd, uint32_t keep_id)
{
	uint32_t ids[MAX_ATTACHED];
	union bpf_attr attr;
	uint32_t i;

	memset(&attr, 0, sizeof(attr));
	attr.query.target_fd = (uint32_t)cgroup_fd;
	attr.query.attach_type = BPF_CGROUP_DEVICE;
	attr.query.prog_ids = (uint64_t)(uintptr_t)ids;
	attr.query.prog_cnt = MAX_ATTACHED;
	if (sys_bpf(BPF_PROG_QUERY, &attr) < 0)
		return -1;
	for (i = 0; i < attr.query.prog_cnt && i < MAX_ATTACHED; i++) {
		union bpf_attr get, det;
		int fd;

		if (ids[i] == keep_id)
			continue;
		memset(&get, 0, sizeof(get));
		get.prog_id = ids[i];
		fd = (int)sys_bpf(BPF_PROG_GET_FD_BY_ID, &get);
		if (fd < 0) {
			if (errno == ENOENT)
				continue; /* went away meanwhile */
			return -1;
		}
		memset(&det, 0, sizeof(det));
		det.target_fd = (uint32_t)cgroup_fd;
		det.attach_bpf_fd = (uint32_t)fd;
		det.attach_type = BPF_CGROUP_DEVICE;
		if (sys_bpf(BPF_PROG_DETACH, &det) < 0 && errno != ENOENT) {
			int e = errno;
			close(fd);
			errno = e;
			return -1;
		}
		close(fd);
	}
	return 0;
}

static napi_value device_filter_attach(napi_env env, napi_callback_info info)
{
	size_t argc = 4;
	napi_value argv[4];
	int32_t cgroup_fd;
	void *insns;
	size_t len;
	char license[128];
	size_t license_len;
	bool replace = false;
	bool is_buffer;
	napi_valuetype t;
	char *log;
	int prog_fd, err = 0;
	uint32_t new_id;

	if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok)
		return NULL;
	if (argc < 3 || napi_get_value_int32(env, argv[0], &cgroup_fd) != napi_ok) {
		napi_throw_type_error(env, NULL, "cgroupDeviceFilterAttach(cgroupDirFd, insns, license[, replaceExisting]): bad cgroupDirFd");
		return NULL;
	}
	if (napi_is_buffer(env, argv[1], &is_buffer) != napi_ok || !is_buffer ||
	    napi_get_buffer_info(env, argv[1], &insns, &len) != napi_ok || len == 0 || len % sizeof(struct bpf_insn) != 0) {
		napi_throw_type_error(env, NULL, "cgroupDeviceFilterAttach: insns must be a non-empty Buffer of 8-byte instructions");
		return NULL;
	}
	if (napi_get_value_string_utf8(env, argv[2], license, sizeof(license), &license_len) != napi_ok) {
		napi_throw_type_error(env, NULL, "cgroupDeviceFilterAttach: license must be a string");
		return NULL;
	}
	if (argc > 3 && napi_typeof(env, argv[3], &t) == napi_ok && t == napi_boolean)
		napi_get_value_bool(env, argv[3], &replace);

	log = calloc(1, LOG_SIZE);
	if (log == NULL) {
		throw_errno(env, ENOMEM, "cannot load device filter", NULL);
		return NULL;
	}
	prog_fd = prog_load(insns, len / sizeof(struct bpf_insn), license, log, &err);
	if (prog_fd < 0) {
		throw_errno(env, err, "cannot load device filter program", log);
		free(log);
		return NULL;
	}
	free(log);

	{
		union bpf_attr attr;

		memset(&attr, 0, sizeof(attr));
		attr.target_fd = (uint32_t)cgroup_fd;
		attr.attach_bpf_fd = (uint32_t)prog_fd;
		attr.attach_type = BPF_CGROUP_DEVICE;
		attr.attach_flags = BPF_F_ALLOW_MULTI;
		if (sys_bpf(BPF_PROG_ATTACH, &attr) < 0) {
			err = errno;
			close(prog_fd);
			throw_errno(env, err, "cannot attach device filter program to the cgroup", NULL);
			return NULL;
		}
	}
	new_id = replace ? prog_id(prog_fd) : 0;
	close(prog_fd);
	if (replace) {
		if (new_id == 0) {
			throw_errno(env, errno, "cannot identify the attached device filter program", NULL);
			return NULL;
		}
		if (detach_others(cgroup_fd, new_id) < 0) {
			throw_errno(env, errno, "cannot detach the previous device filter programs", NULL);
			return NULL;
		}
	}
	return NULL;
}

void berth_register_cgroup_bpf(napi_env env, napi_value exports)
{
	napi_value fn;

	if (napi_create_function(env, "cgroupDeviceFilterAttach", NAPI_AUTO_LENGTH, device_filter_attach, NULL, &fn) != napi_ok)
		return;
	napi_set_named_property(env, exports, "cgroupDeviceFilterAttach", fn);
}
