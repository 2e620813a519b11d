/*
 * The host side of the in-process edge (see include/enclava_edge.h): loads an enclave library and calls it with
 * the same checks the enclave applies, so that neither side trusts the other's lengths or statuses.
 */
#define _GNU_SOURCE
#include "enclava_edge.h"

#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct enclava_host_enclave {
    void *library;
    size_t max_bytes;
    enclava_enclave *enclave;
    enclava_enclave_destroy_fn destroy;
    enclava_enclave_call_fn call;
    enclava_enclave_collect_fn collect;
    enclava_enclave_disconnect_fn disconnect;
};

static void say(char *error, size_t error_cap, const char *format, ...) {
    if (error == NULL || error_cap == 0) return;
    va_list arguments;
    va_start(arguments, format);
    vsnprintf(error, error_cap, format, arguments);
    va_end(arguments);
}

/* The library's own words, kept to printable ASCII: it is hostile text on its way to a log line. */
static void sanitize(char *text, size_t capacity) {
    if (text == NULL || capacity == 0) return;
    text[capacity - 1] = 0;
    for (char *c = text; *c; c++) {
        if ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e) *c = '?';
    }
}

enclava_edge_status enclava_host_load(const char *path, size_t max_frame_bytes, const enclava_enclave_options *options,
                                      const enclava_edge_ocalls *ocalls, enclava_host_enclave **out, char *error,
                                      size_t error_cap) {
    if (out == NULL) return ENCLAVA_EDGE_INVALID_ARGUMENT;
    *out = NULL;
    if (path == NULL || options == NULL || ocalls == NULL || max_frame_bytes == 0) {
        say(error, error_cap, "the enclave library, its options and ocalls are required");
        return ENCLAVA_EDGE_INVALID_ARGUMENT;
    }
    if (max_frame_bytes > SIZE_MAX - ENCLAVA_EDGE_FRAME_HEADER_BYTES) {
        say(error, error_cap, "max_frame_bytes %zu is too large", max_frame_bytes);
        return ENCLAVA_EDGE_TOO_LARGE;
    }
    void *library = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (library == NULL) {
        const char *why = dlerror();
        say(error, error_cap, "cannot load the enclave library %s: %s", path, why ? why : "unknown dlopen error");
        return ENCLAVA_EDGE_INVALID_ARGUMENT;
    }
    static const char *const names[] = {ENCLAVA_ENCLAVE_SYMBOLS};
    void *symbols[sizeof names / sizeof names[0]];
    for (size_t index = 0; index < sizeof names / sizeof names[0]; index++) {
        symbols[index] = dlsym(library, names[index]);
        if (symbols[index] == NULL) {
            say(error, error_cap, "%s does not export %s: it is not an Enclava enclave library (build the "
                "EnclavaEnclave product: swift build --product EnclavaEnclave)", path, names[index]);
            return ENCLAVA_EDGE_WRONG_ABI;   /* the library stays mapped: unloading foreign code is not safe either */
        }
    }
    uint32_t version = ((enclava_enclave_abi_version_fn)symbols[0])();
    if (version != ENCLAVA_ENCLAVE_ABI_VERSION) {
        say(error, error_cap, "%s speaks enclave ABI version %u, this host speaks version %u; use the library built "
            "with this enclava", path, version, ENCLAVA_ENCLAVE_ABI_VERSION);
        return ENCLAVA_EDGE_WRONG_ABI;
    }
    enclava_host_enclave *host = calloc(1, sizeof *host);
    if (host == NULL) {
        say(error, error_cap, "out of memory");
        return ENCLAVA_EDGE_INTERNAL;
    }
    host->library = library;
    host->max_bytes = max_frame_bytes + ENCLAVA_EDGE_FRAME_HEADER_BYTES;
    host->destroy = (enclava_enclave_destroy_fn)symbols[2];
    host->call = (enclava_enclave_call_fn)symbols[3];
    host->collect = (enclava_enclave_collect_fn)symbols[4];
    host->disconnect = (enclava_enclave_disconnect_fn)symbols[5];
    char *reason = error_cap > 0 && error != NULL ? calloc(1, error_cap) : NULL;
    enclava_enclave *enclave = NULL;
    enclava_edge_status status = ((enclava_enclave_create_fn)symbols[1])(options, ocalls, &enclave, reason,
                                                                         reason ? error_cap : 0);
    if (status != ENCLAVA_EDGE_OK || enclave == NULL) {
        sanitize(reason, error_cap);
        say(error, error_cap, "%s", reason && reason[0] ? reason : "the enclave refused to start without saying why");
        free(reason);
        free(host);
        return status == ENCLAVA_EDGE_OK || status > ENCLAVA_EDGE_WRONG_ABI ? ENCLAVA_EDGE_HOSTILE_OCALL : status;
    }
    free(reason);
    host->enclave = enclave;
    *out = host;
    return ENCLAVA_EDGE_OK;
}

/* The host's checks of an [out] buffer against its [in] buffer (the enclave repeats them on its side). */
static enclava_edge_status check_call(const enclava_host_enclave *host, const uint8_t *in, size_t in_len, uint8_t *out,
                                      size_t out_cap, size_t *out_len) {
    if (out_len == NULL || (out == NULL && out_cap > 0)) return ENCLAVA_EDGE_INVALID_ARGUMENT;
    if (in_len > host->max_bytes) return ENCLAVA_EDGE_TOO_LARGE;
    if (in != NULL && (uintptr_t)in > UINTPTR_MAX - in_len) return ENCLAVA_EDGE_TOO_LARGE;
    if (out != NULL && (uintptr_t)out > UINTPTR_MAX - out_cap) return ENCLAVA_EDGE_TOO_LARGE;
    if (in != NULL && out != NULL && enclava_edge_ranges_overlap((uintptr_t)in, in_len, (uintptr_t)out, out_cap)) {
        return ENCLAVA_EDGE_INVALID_ARGUMENT;
    }
    if (out != NULL && enclava_edge_ranges_overlap((uintptr_t)out_len, sizeof *out_len, (uintptr_t)out, out_cap)) {
        return ENCLAVA_EDGE_INVALID_ARGUMENT;
    }
    return ENCLAVA_EDGE_OK;
}

/* The library's answer, believed only when it is in contract. */
static enclava_edge_status check_answer(const enclava_host_enclave *host, enclava_edge_status status, size_t out_cap,
                                        size_t answered, size_t *out_len) {
    switch (status) {
    case ENCLAVA_EDGE_OK:
        if (answered > out_cap) break;
        *out_len = answered;
        return status;
    case ENCLAVA_EDGE_SHORT_BUFFER:
        if (answered <= out_cap || answered > host->max_bytes) break;
        *out_len = answered;
        return status;
    case ENCLAVA_EDGE_INVALID_ARGUMENT: case ENCLAVA_EDGE_TOO_LARGE: case ENCLAVA_EDGE_BUSY: case ENCLAVA_EDGE_PENDING:
    case ENCLAVA_EDGE_NOTHING_PENDING: case ENCLAVA_EDGE_HOSTILE_OCALL: case ENCLAVA_EDGE_INTERNAL:
    case ENCLAVA_EDGE_TOO_MANY_CONNECTIONS: case ENCLAVA_EDGE_WRONG_ABI:
        *out_len = 0;
        return status;
    }
    *out_len = 0;
    return ENCLAVA_EDGE_HOSTILE_OCALL;
}

enclava_edge_status enclava_host_call(enclava_host_enclave *host, uint64_t connection, const uint8_t *in, size_t in_len,
                                      uint8_t *out, size_t out_cap, size_t *out_len) {
    if (host == NULL || in == NULL || in_len == 0) return ENCLAVA_EDGE_INVALID_ARGUMENT;
    enclava_edge_status status = check_call(host, in, in_len, out, out_cap, out_len);
    if (status != ENCLAVA_EDGE_OK) return status;
    size_t answered = 0;
    status = host->call(host->enclave, connection, in, in_len, out, out_cap, &answered);
    return check_answer(host, status, out_cap, answered, out_len);
}

enclava_edge_status enclava_host_collect(enclava_host_enclave *host, uint64_t connection, uint8_t *out, size_t out_cap,
                                         size_t *out_len) {
    if (host == NULL) return ENCLAVA_EDGE_INVALID_ARGUMENT;
    enclava_edge_status status = check_call(host, NULL, 0, out, out_cap, out_len);
    if (status != ENCLAVA_EDGE_OK) return status;
    size_t answered = 0;
    status = host->collect(host->enclave, connection, out, out_cap, &answered);
    return check_answer(host, status, out_cap, answered, out_len);
}

enclava_edge_status enclava_host_disconnect(enclava_host_enclave *host, uint64_t connection) {
    if (host == NULL) return ENCLAVA_EDGE_INVALID_ARGUMENT;
    return host->disconnect(host->enclave, connection);
}

enclava_edge_status enclava_host_unload(enclava_host_enclave *host) {
    if (host == NULL) return ENCLAVA_EDGE_INVALID_ARGUMENT;
    enclava_edge_status status = host->destroy(host->enclave);
    if (status != ENCLAVA_EDGE_OK) return status;
    free(host);
    return ENCLAVA_EDGE_OK;
}
