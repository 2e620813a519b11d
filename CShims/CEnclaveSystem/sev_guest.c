#define _GNU_SOURCE
#include "enclava_sev_guest.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* Mirrors of the uapi structs (include/uapi/linux/sev-guest.h); the kernel header may be missing. */
struct enclava_snp_report_req { uint8_t user_data[64]; uint32_t vmpl; uint8_t rsvd[28]; };
struct enclava_snp_report_resp { uint8_t data[ENCLAVA_SNP_REPORT_RESP_SIZE]; };
struct enclava_snp_derived_key_req {
    uint32_t root_key_select; uint32_t rsvd; uint64_t guest_field_select;
    uint32_t vmpl; uint32_t guest_svn; uint64_t tcb_version;
};
struct enclava_snp_derived_key_resp { uint8_t data[ENCLAVA_SNP_DERIVED_KEY_RESP_SIZE]; };
struct enclava_snp_guest_request_ioctl {
    uint8_t msg_version;   /* must be non-zero; 1 today */
    uint64_t req_data;
    uint64_t resp_data;
    union {
        uint64_t exitinfo2;
        struct { uint32_t fw_error; uint32_t vmm_error; };
    };
};
struct enclava_snp_ext_report_req {
    struct enclava_snp_report_req data;
    uint64_t certs_address;
    uint32_t certs_len;
};

_Static_assert(sizeof(struct enclava_snp_report_req) == ENCLAVA_SNP_REPORT_REQ_SIZE, "snp_report_req is 96 bytes");
_Static_assert(sizeof(struct enclava_snp_derived_key_req) == ENCLAVA_SNP_DERIVED_KEY_REQ_SIZE, "snp_derived_key_req is 32 bytes");
_Static_assert(offsetof(struct enclava_snp_derived_key_req, tcb_version) == 24, "tcb_version at 24");
_Static_assert(sizeof(struct enclava_snp_guest_request_ioctl) == 32, "snp_guest_request_ioctl is 32 bytes");
_Static_assert(offsetof(struct enclava_snp_guest_request_ioctl, exitinfo2) == 24, "exitinfo2 at 24");
_Static_assert(offsetof(struct enclava_snp_ext_report_req, certs_address) == 96, "certs_address at 96");
_Static_assert(offsetof(struct enclava_snp_ext_report_req, certs_len) == 104, "certs_len at 104");

/* _IOWR('S', nr, struct snp_guest_request_ioctl): dir 3 << 30 | size 32 << 16 | 'S' << 8 | nr. */
#define ENCLAVA_SNP_IOWR(nr) ((unsigned long)((3UL << 30) | (32UL << 16) | ((unsigned long)'S' << 8) | (nr)))
#define ENCLAVA_SNP_GET_REPORT      ENCLAVA_SNP_IOWR(0x0)  /* 0xC0205300 */
#define ENCLAVA_SNP_GET_DERIVED_KEY ENCLAVA_SNP_IOWR(0x1)  /* 0xC0205301 */
#define ENCLAVA_SNP_GET_EXT_REPORT  ENCLAVA_SNP_IOWR(0x2)  /* 0xC0205302 */
_Static_assert(ENCLAVA_SNP_GET_REPORT == 0xC0205300UL, "SNP_GET_REPORT");
_Static_assert(ENCLAVA_SNP_GET_EXT_REPORT == 0xC0205302UL, "SNP_GET_EXT_REPORT");

int enclava_sev_guest_open(const char *path) {
    int fd;
    do {
        fd = open(path, O_RDWR | O_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    return fd < 0 ? -errno : fd;
}

void enclava_sev_guest_close(int fd) {
    close(fd);
}

static int issue(int fd, unsigned long command, struct enclava_snp_guest_request_ioctl *io,
                 enclava_snp_exit_info *exit_info) {
    /* The kernel copies exitinfo2 back only when it is non-zero; start from zero so success reads as 0/0. */
    io->msg_version = 1;
    io->exitinfo2 = 0;
    int rc = ioctl(fd, command, io);
    int saved = rc < 0 ? errno : 0;
    exit_info->fw_error = io->fw_error;
    exit_info->vmm_error = io->vmm_error;
    return saved;
}

int enclava_snp_get_report(int fd, const uint8_t *request, uint8_t *response, enclava_snp_exit_info *exit_info) {
    struct enclava_snp_report_req req;
    memcpy(&req, request, sizeof(req));
    struct enclava_snp_guest_request_ioctl io;
    memset(&io, 0, sizeof(io));
    io.req_data = (uint64_t)(uintptr_t)&req;
    io.resp_data = (uint64_t)(uintptr_t)response;
    return issue(fd, ENCLAVA_SNP_GET_REPORT, &io, exit_info);
}

int enclava_snp_get_ext_report(int fd, const uint8_t *request, uint8_t *response, uint8_t *certs,
                               uint32_t *certs_len, enclava_snp_exit_info *exit_info) {
    struct enclava_snp_ext_report_req req;
    memset(&req, 0, sizeof(req));
    memcpy(&req.data, request, sizeof(req.data));
    req.certs_address = *certs_len == 0 ? 0 : (uint64_t)(uintptr_t)certs;
    req.certs_len = *certs_len;
    struct enclava_snp_guest_request_ioctl io;
    memset(&io, 0, sizeof(io));
    io.req_data = (uint64_t)(uintptr_t)&req;
    io.resp_data = (uint64_t)(uintptr_t)response;
    int rc = issue(fd, ENCLAVA_SNP_GET_EXT_REPORT, &io, exit_info);
    *certs_len = req.certs_len;
    return rc;
}

int enclava_snp_get_derived_key(int fd, const uint8_t *request, uint8_t *response, enclava_snp_exit_info *exit_info) {
    struct enclava_snp_derived_key_req req;
    memcpy(&req, request, sizeof(req));
    struct enclava_snp_guest_request_ioctl io;
    memset(&io, 0, sizeof(io));
    io.req_data = (uint64_t)(uintptr_t)&req;
    io.resp_data = (uint64_t)(uintptr_t)response;
    int rc = issue(fd, ENCLAVA_SNP_GET_DERIVED_KEY, &io, exit_info);
    explicit_bzero(&req, sizeof(req));
    return rc;
}
