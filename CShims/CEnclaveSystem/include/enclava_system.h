/*
 * enclava_system.h — thin, prefixed wrappers over the Linux calls that Swift cannot call directly
 * (variadic prctl) or that need a constant only a C header has. No logic beyond the call itself.
 * Used by EnclaveSealing (Trusted) to harden the enclave process and its sealed memory.
 */
#ifndef ENCLAVA_SYSTEM_H
#define ENCLAVA_SYSTEM_H

#include <stddef.h>

/* prctl(PR_SET_DUMPABLE, 0): no core dumps, no ptrace attach by non-root. 0 on success, else errno. */
int enclava_sys_set_not_dumpable(void);

/* madvise(addr, len, MADV_DONTDUMP). 0 on success, else errno. */
int enclava_sys_madvise_dontdump(void *addr, size_t len);

/* madvise(addr, len, MADV_WIPEONFORK). 0 on success, else errno (EINVAL on kernels before 4.14). */
int enclava_sys_madvise_wipeonfork(void *addr, size_t len);

/* Zeroes len bytes in a way the compiler may not elide. */
void enclava_sys_secure_zero(void *addr, size_t len);

#endif
