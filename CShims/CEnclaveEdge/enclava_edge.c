/*
 * The enclave side of the in-process edge (see include/enclava_edge.h and enclava_edge.edl).
 *
 * Order of every ecall: arguments checked (nulls, lengths against the cap, overflow, overlap) → the edge
 * claimed (a second caller gets BUSY, never a wait) → the request copied into enclave-owned memory → the
 * processor runs on that copy only → the response copied out or kept for collect → both copies wiped.
 */
#include "enclava_edge.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

struct enclava_edge {
    atomic_int busy;
    size_t max_bytes;
    enclava_edge_processor processor;
    void *trusted;
    enclava_edge_ocalls ocalls;
    int has_ocalls;
    uint8_t *pending;
    size_t pending_len;
};

/* Zeroes memory in a way the compiler keeps (the frames may hold ciphertext only, but the edge does not
   know what a processor put in them). */
static void wipe(void *pointer, size_t length) {
    volatile uint8_t *bytes = (volatile uint8_t *)pointer;
    while (length--) *bytes++ = 0;
}

static void wipe_free(uint8_t *pointer, size_t length) {
    if (pointer == NULL) return;
    wipe(pointer, length);
    free(pointer);
}

int enclava_edge_ranges_overlap(uintptr_t a, size_t a_len, uintptr_t b, size_t b_len) {
    if (a_len == 0 || b_len == 0) return 0;
    if (a > UINTPTR_MAX - a_len || b > UINTPTR_MAX - b_len) return 1;   /* an end that wraps counts as overlap */
    return a < b + b_len && b < a + a_len;
}

enclava_edge_status enclava_edge_open(size_t max_frame_bytes, enclava_edge_processor processor, void *trusted,
                                      const enclava_edge_ocalls *ocalls, enclava_edge **out) {
    if (out == NULL || processor == NULL || max_frame_bytes == 0) return ENCLAVA_EDGE_INVALID_ARGUMENT;
    *out = NULL;
    if (max_frame_bytes > SIZE_MAX - ENCLAVA_EDGE_FRAME_HEADER_BYTES) return ENCLAVA_EDGE_TOO_LARGE;
    enclava_edge *edge = calloc(1, sizeof *edge);
    if (edge == NULL) return ENCLAVA_EDGE_INTERNAL;
    atomic_init(&edge->busy, 0);
    edge->max_bytes = max_frame_bytes + ENCLAVA_EDGE_FRAME_HEADER_BYTES;
    edge->processor = processor;
    edge->trusted = trusted;
    if (ocalls != NULL) {
        edge->ocalls = *ocalls;   /* copied: the host cannot swap a pointer after the check */
        edge->has_ocalls = 1;
    }
    *out = edge;
    return ENCLAVA_EDGE_OK;
}

static int claim(enclava_edge *edge) {
    int expected = 0;
    return atomic_compare_exchange_strong(&edge->busy, &expected, 1);
}

static void release(enclava_edge *edge) { atomic_store(&edge->busy, 0); }

enclava_edge_status enclava_edge_close(enclava_edge *edge) {
    if (edge == NULL) return ENCLAVA_EDGE_INVALID_ARGUMENT;
    if (!claim(edge)) return ENCLAVA_EDGE_BUSY;
    wipe_free(edge->pending, edge->pending_len);
    wipe(edge, sizeof *edge);
    free(edge);
    return ENCLAVA_EDGE_OK;
}

/* Checks an [out] buffer and its length pointer against the [in] buffer. */
static enclava_edge_status check_out(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, size_t *out_len) {
    if (out_len == NULL) return ENCLAVA_EDGE_INVALID_ARGUMENT;
    if (out == NULL && out_cap > 0) return ENCLAVA_EDGE_INVALID_ARGUMENT;
    if (out != NULL && (uintptr_t)out > UINTPTR_MAX - out_cap) return ENCLAVA_EDGE_TOO_LARGE;
    if (out != NULL && enclava_edge_ranges_overlap((uintptr_t)in, in_len, (uintptr_t)out, out_cap)) {
        return ENCLAVA_EDGE_INVALID_ARGUMENT;
    }
    if (out != NULL && enclava_edge_ranges_overlap((uintptr_t)out_len, sizeof *out_len, (uintptr_t)out, out_cap)) {
        return ENCLAVA_EDGE_INVALID_ARGUMENT;
    }
    return ENCLAVA_EDGE_OK;
}

/* Hands `response` to the host: copied when it fits, else kept as pending. Takes ownership of it. */
static enclava_edge_status deliver(enclava_edge *edge, uint8_t *response, size_t response_len, uint8_t *out,
                                   size_t out_cap, size_t *out_len) {
    *out_len = response_len;
    if (response_len > out_cap) {
        edge->pending = response;
        edge->pending_len = response_len;
        return ENCLAVA_EDGE_SHORT_BUFFER;
    }
    if (response_len > 0) memcpy(out, response, response_len);
    wipe_free(response, response_len);
    return ENCLAVA_EDGE_OK;
}

enclava_edge_status enclava_edge_call(enclava_edge *edge, const uint8_t *in, size_t in_len,
                                      uint8_t *out, size_t out_cap, size_t *out_len) {
    if (edge == NULL) return ENCLAVA_EDGE_INVALID_ARGUMENT;
    if (in == NULL || in_len == 0) return ENCLAVA_EDGE_INVALID_ARGUMENT;
    if (in_len > edge->max_bytes || (uintptr_t)in > UINTPTR_MAX - in_len) return ENCLAVA_EDGE_TOO_LARGE;
    enclava_edge_status status = check_out(in, in_len, out, out_cap, out_len);
    if (status != ENCLAVA_EDGE_OK) return status;
    if (!claim(edge)) return ENCLAVA_EDGE_BUSY;
    if (edge->pending != NULL) {
        release(edge);
        return ENCLAVA_EDGE_PENDING;
    }
    /* [in]: the enclave reads only its own copy, made once, before anything looks at the bytes. */
    uint8_t *copy = malloc(in_len);
    if (copy == NULL) {
        release(edge);
        return ENCLAVA_EDGE_INTERNAL;
    }
    memcpy(copy, in, in_len);
    uint8_t *response = NULL;
    size_t response_len = 0;
    int32_t processed = edge->processor(edge->trusted, copy, in_len, &response, &response_len);
    wipe_free(copy, in_len);
    if (processed != 0 || (response == NULL && response_len > 0) || response_len > edge->max_bytes) {
        wipe_free(response, response_len <= edge->max_bytes ? response_len : 0);
        release(edge);
        return ENCLAVA_EDGE_INTERNAL;
    }
    status = deliver(edge, response, response_len, out, out_cap, out_len);
    release(edge);
    return status;
}

enclava_edge_status enclava_edge_collect(enclava_edge *edge, uint8_t *out, size_t out_cap, size_t *out_len) {
    if (edge == NULL) return ENCLAVA_EDGE_INVALID_ARGUMENT;
    enclava_edge_status status = check_out(NULL, 0, out, out_cap, out_len);
    if (status != ENCLAVA_EDGE_OK) return status;
    if (!claim(edge)) return ENCLAVA_EDGE_BUSY;
    if (edge->pending == NULL) {
        release(edge);
        return ENCLAVA_EDGE_NOTHING_PENDING;
    }
    uint8_t *response = edge->pending;
    size_t response_len = edge->pending_len;
    edge->pending = NULL;
    edge->pending_len = 0;
    status = deliver(edge, response, response_len, out, out_cap, out_len);
    release(edge);
    return status;
}

enclava_edge_status enclava_edge_read_image(enclava_edge *edge, uint64_t offset, uint8_t *buffer, size_t capacity,
                                            size_t *read_len) {
    if (edge == NULL || read_len == NULL || (buffer == NULL && capacity > 0)) return ENCLAVA_EDGE_INVALID_ARGUMENT;
    *read_len = 0;
    if (!edge->has_ocalls || edge->ocalls.read_image == NULL) return ENCLAVA_EDGE_INVALID_ARGUMENT;
    /* The host writes into a scratch buffer of exactly `capacity`, never into the caller's memory directly,
       and its answer is believed only after it is checked. */
    uint8_t *scratch = capacity > 0 ? malloc(capacity) : NULL;
    if (capacity > 0 && scratch == NULL) return ENCLAVA_EDGE_INTERNAL;
    size_t answered = 0;
    int32_t status = edge->ocalls.read_image(edge->ocalls.host, offset, scratch, capacity, &answered);
    if (answered > capacity) {
        wipe_free(scratch, capacity);
        return ENCLAVA_EDGE_HOSTILE_OCALL;
    }
    if (status != 0) {
        wipe_free(scratch, capacity);
        return ENCLAVA_EDGE_INTERNAL;
    }
    if (answered > 0) memcpy(buffer, scratch, answered);
    wipe_free(scratch, capacity);
    *read_len = answered;
    return ENCLAVA_EDGE_OK;
}
