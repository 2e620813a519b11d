#define _GNU_SOURCE
#include "enclava_system.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/reboot.h>
#include <unistd.h>

int enclava_sys_set_not_dumpable(void) {
    return prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == 0 ? 0 : errno;
}

int enclava_sys_madvise_dontdump(void *addr, size_t len) {
    return madvise(addr, len, MADV_DONTDUMP) == 0 ? 0 : errno;
}

int enclava_sys_madvise_wipeonfork(void *addr, size_t len) {
#ifdef MADV_WIPEONFORK
    return madvise(addr, len, MADV_WIPEONFORK) == 0 ? 0 : errno;
#else
    (void)addr; (void)len;
    return EINVAL;
#endif
}

void enclava_sys_secure_zero(void *addr, size_t len) {
    explicit_bzero(addr, len);
}

int enclava_sys_mount(const char *source, const char *target, const char *fstype, unsigned long flags) {
    return mount(source, target, fstype, flags, NULL) == 0 ? 0 : errno;
}

unsigned long enclava_sys_mount_flags_pseudo(void) {
    return MS_NOSUID | MS_NODEV | MS_NOEXEC;
}

int enclava_sys_power_off(void) {
    sync();
    return reboot(RB_POWER_OFF) == 0 ? 0 : errno;
}
