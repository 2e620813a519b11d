/*
 * enclava_sev_guest.h — the /dev/sev-guest ioctls (Linux include/uapi/linux/sev-guest.h), declared here
 * so the build never needs kernel headers. Layouts and request numbers are checked with static asserts
 * in sev_guest.c. Used by EnclavePlatform's SEV-SNP backend; no logic beyond the calls themselves.
 */
#ifndef ENCLAVA_SEV_GUEST_H
#define ENCLAVA_SEV_GUEST_H

#include <stdint.h>

/* struct snp_report_req: user_data[64], u32 vmpl, rsvd[28]. */
#define ENCLAVA_SNP_REPORT_REQ_SIZE 96
/* struct snp_report_resp: data[4000] (MSG_REPORT_RSP). */
#define ENCLAVA_SNP_REPORT_RESP_SIZE 4000
/* struct snp_derived_key_req: u32 root_key_select, u32 rsvd, u64 guest_field_select, u32 vmpl,
   u32 guest_svn, u64 tcb_version. */
#define ENCLAVA_SNP_DERIVED_KEY_REQ_SIZE 32
/* struct snp_derived_key_resp: data[64] (MSG_KEY_RSP). */
#define ENCLAVA_SNP_DERIVED_KEY_RESP_SIZE 64

/* The error halves of snp_guest_request_ioctl.exitinfo2 after a call. */
typedef struct {
    uint32_t fw_error;   /* firmware status (SEV_RET_*), 0xffffffff: the firmware was not called */
    uint32_t vmm_error;  /* hypervisor status: 1 INVALID_LEN (certificate buffer too small), 2 BUSY */
} enclava_snp_exit_info;

/* Opens the device read-write, close-on-exec. Returns the descriptor, or -errno. */
int enclava_sev_guest_open(const char *path);

/* close(fd). */
void enclava_sev_guest_close(int fd);

/* SNP_GET_REPORT. `request`: ENCLAVA_SNP_REPORT_REQ_SIZE bytes; `response`: ENCLAVA_SNP_REPORT_RESP_SIZE bytes.
   Returns 0 or errno; `exit_info` holds the firmware and hypervisor errors. */
int enclava_snp_get_report(int fd, const uint8_t *request, uint8_t *response, enclava_snp_exit_info *exit_info);

/* SNP_GET_EXT_REPORT. `certs` is `*certs_len` bytes (page-aligned, may be 0 for no certificate data).
   When the buffer is too small the call fails with EIO, vmm_error 1, and `*certs_len` set to the size needed.
   Returns 0 or errno. */
int enclava_snp_get_ext_report(int fd, const uint8_t *request, uint8_t *response, uint8_t *certs,
                               uint32_t *certs_len, enclava_snp_exit_info *exit_info);

/* SNP_GET_DERIVED_KEY. `request`: ENCLAVA_SNP_DERIVED_KEY_REQ_SIZE bytes; `response`:
   ENCLAVA_SNP_DERIVED_KEY_RESP_SIZE bytes (secret: the caller wipes it). The request copy in this
   function's frame is zeroed before returning. Returns 0 or errno. */
int enclava_snp_get_derived_key(int fd, const uint8_t *request, uint8_t *response, enclava_snp_exit_info *exit_info);

#endif
