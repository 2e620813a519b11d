#define _GNU_SOURCE
#include "enclava_system.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/reboot.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
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

int enclava_sys_load_module(const char *path) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return errno;
    long result = syscall(SYS_finit_module, fd, "", 0);
    int error = result == 0 ? 0 : errno;
    close(fd);
    return error == EEXIST ? 0 : error;
}

int enclava_sys_root_is_initramfs(void) {
    struct statfs info;
    if (statfs("/", &info) != 0) return 0;
    return info.f_type == 0x858458f6 /* RAMFS_MAGIC */ || info.f_type == 0x01021994 /* TMPFS_MAGIC */;
}

static void enclava_set_ipv4(struct sockaddr *target, uint32_t value) {
    struct sockaddr_in address;
    memset(&address, 0, sizeof address);
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = value;
    memcpy(target, &address, sizeof address);
}

int enclava_sys_configure_ipv4(const char *name, uint32_t address, uint32_t netmask) {
    if (strlen(name) >= IFNAMSIZ) return EINVAL;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return errno;
    struct ifreq request;
    memset(&request, 0, sizeof request);
    strncpy(request.ifr_name, name, IFNAMSIZ - 1);
    int error = 0;
    enclava_set_ipv4(&request.ifr_addr, address);
    if (ioctl(fd, SIOCSIFADDR, &request) != 0) error = errno;
    if (error == 0) {
        enclava_set_ipv4(&request.ifr_netmask, netmask);
        if (ioctl(fd, SIOCSIFNETMASK, &request) != 0) error = errno;
    }
    if (error == 0 && ioctl(fd, SIOCGIFFLAGS, &request) != 0) error = errno;
    if (error == 0) {
        request.ifr_flags |= IFF_UP | IFF_RUNNING;
        if (ioctl(fd, SIOCSIFFLAGS, &request) != 0) error = errno;
    }
    close(fd);
    return error;
}
