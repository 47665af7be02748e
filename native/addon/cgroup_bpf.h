/*
 * cgroup v2 device filters: the addon's cgroupDeviceFilterAttach().
 * TypeScript (src/runtime/cgroups/devices-bpf.ts) compiles the device rules
 * into eBPF instructions; this file only loads and attaches them.
 */
#ifndef BERTH_CGROUP_BPF_H
#define BERTH_CGROUP_BPF_H

#include <node_api.h>

/* Adds cgroupDeviceFilterAttach(cgroupDirFd, insns, license, replaceExisting?)
 * to exports. Called from the addon's module init. */
void berth_register_cgroup_bpf(napi_env env, napi_value exports);

#endif
