/*
 * The enclave side of image loading (see enclava_edge_copy_image in include/enclava_edge.h): the image comes in
 * through the read_image ocall, chunk by chunk, each answer checked by enclava_edge_read_image, into a sealed
 * memfd that nobody can change afterwards.
 */
#define _GNU_SOURCE
#include "enclava_edge.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#define CHUNK_BYTES ((size_t)1 << 20)

static int write_all(int fd, const uint8_t *bytes, size_t length) {
    while (length > 0) {
        ssize_t written = write(fd, bytes, length);
        if (written < 0 && errno == EINTR) continue;
        if (written <= 0) return -1;
        bytes += written;
        length -= (size_t)written;
    }
    return 0;
}

enclava_edge_status enclava_edge_copy_image(enclava_edge *edge, uint64_t size, int *fd_out) {
    if (edge == NULL || fd_out == NULL) return ENCLAVA_EDGE_INVALID_ARGUMENT;
    *fd_out = -1;
    if (size == 0) return ENCLAVA_EDGE_INVALID_ARGUMENT;
    if (size > ENCLAVA_ENCLAVE_MAX_IMAGE_BYTES) return ENCLAVA_EDGE_TOO_LARGE;
    int fd = memfd_create("enclava-image", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0) return ENCLAVA_EDGE_INTERNAL;
    uint8_t *chunk = malloc(CHUNK_BYTES);
    if (chunk == NULL) {
        close(fd);
        return ENCLAVA_EDGE_INTERNAL;
    }
    enclava_edge_status status = ENCLAVA_EDGE_OK;
    uint64_t offset = 0;
    while (offset < size) {
        size_t want = size - offset < CHUNK_BYTES ? (size_t)(size - offset) : CHUNK_BYTES;
        size_t got = 0;
        status = enclava_edge_read_image(edge, offset, chunk, want, &got);
        if (status != ENCLAVA_EDGE_OK) break;
        if (got == 0) {   /* the host promised `size` bytes and ran out: the image was cut short */
            status = ENCLAVA_EDGE_HOSTILE_OCALL;
            break;
        }
        if (write_all(fd, chunk, got) != 0) {
            status = ENCLAVA_EDGE_INTERNAL;
            break;
        }
        offset += got;
    }
    free(chunk);
    if (status == ENCLAVA_EDGE_OK &&
        fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0) {
        status = ENCLAVA_EDGE_INTERNAL;
    }
    if (status != ENCLAVA_EDGE_OK) {
        close(fd);
        return status;
    }
    *fd_out = fd;
    return ENCLAVA_EDGE_OK;
}

const char *enclava_edge_library_path(const void *address) {
    Dl_info info;
    if (address == NULL || dladdr(address, &info) == 0) return NULL;
    return info.dli_fname;
}
