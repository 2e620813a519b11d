/*
 * enclava_system.h — thin, prefixed wrappers over the Linux calls that Swift cannot call directly
 * (variadic prctl) or that need a constant only a C header has. No logic beyond the call itself.
 * Used by EnclaveSealing (Trusted) to harden the enclave process and its sealed memory.
 */
#ifndef ENCLAVA_SYSTEM_H
#define ENCLAVA_SYSTEM_H

#include <stddef.h>
#include <stdint.h>

/* prctl(PR_SET_DUMPABLE, 0): no core dumps, no ptrace attach by non-root. 0 on success, else errno. */
int enclava_sys_set_not_dumpable(void);

/* madvise(addr, len, MADV_DONTDUMP). 0 on success, else errno. */
int enclava_sys_madvise_dontdump(void *addr, size_t len);

/* madvise(addr, len, MADV_WIPEONFORK). 0 on success, else errno (EINVAL on kernels before 4.14). */
int enclava_sys_madvise_wipeonfork(void *addr, size_t len);

/* Zeroes len bytes in a way the compiler may not elide. */
void enclava_sys_secure_zero(void *addr, size_t len);

/* mount(2) with no data, for the runtime as a VM's first process. 0 on success, else errno. */
int enclava_sys_mount(const char *source, const char *target, const char *fstype, unsigned long flags);

/* MS_NOSUID | MS_NODEV | MS_NOEXEC, the flags of the pseudo file systems the first process mounts. */
unsigned long enclava_sys_mount_flags_pseudo(void);

/* finit_module(2) of the kernel module file at path, no parameters. 0 on success or when it is loaded already,
 * else errno. */
int enclava_sys_load_module(const char *path);

/* Whether / is the initramfs (ramfs or tmpfs): 1 yes, 0 no. The first process loads modules only there. */
int enclava_sys_root_is_initramfs(void);

/* Gives the interface `name` the IPv4 address and netmask (both in network byte order) and brings it up
 * (SIOCSIFADDR, SIOCSIFNETMASK, SIOCSIFFLAGS). 0 on success, else errno. */
int enclava_sys_configure_ipv4(const char *name, uint32_t address, uint32_t netmask);

/* sync(), then reboot(RB_POWER_OFF): how a VM's first process ends (its exit would panic the kernel). In a PID
 * namespace other than the initial one this ends the namespace's init instead. Returns errno if it returns. */
int enclava_sys_power_off(void);

#endif
