/*
 * The ocall edge of an in-process enclave (DESIGN.md §8, issue 11): the C ABI between an untrusted host and
 * the trusted runtime when both live in one process, as the SGX SDK's and Open Enclave's edge routines do.
 * The contract, in EDL form, is in ../enclava_edge.edl.
 *
 * One ecall carries one ttrpc request frame in and one response frame out. Everything that crosses is
 * copied: the request into enclave-owned memory before any byte of it is parsed, the response into the
 * host's buffer. Only status codes and bounded lengths come back. Every length is checked with
 * overflow-safe arithmetic on both sides, capped at max_frame_bytes + the 10-byte header.
 */
#ifndef ENCLAVA_EDGE_H
#define ENCLAVA_EDGE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Status codes: the only thing besides bounded lengths that crosses the edge. */
typedef enum {
    ENCLAVA_EDGE_OK = 0,
    /* The response does not fit out_cap; *out_len says how many bytes it needs. It is kept: fetch it
       with enclava_edge_collect before the next ecall. */
    ENCLAVA_EDGE_SHORT_BUFFER = 1,
    /* A null pointer where bytes are promised, or input and output buffers that overlap. */
    ENCLAVA_EDGE_INVALID_ARGUMENT = 2,
    /* A length over the edge's cap (max_frame_bytes + 10), or one whose end address overflows. */
    ENCLAVA_EDGE_TOO_LARGE = 3,
    /* An ecall while another is running on this edge (re-entry from an ocall, or a second host thread). */
    ENCLAVA_EDGE_BUSY = 4,
    /* A response is waiting to be collected. */
    ENCLAVA_EDGE_PENDING = 5,
    /* Nothing to collect. */
    ENCLAVA_EDGE_NOTHING_PENDING = 6,
    /* An ocall answered out of contract (a length above the one asked for, an unknown status). */
    ENCLAVA_EDGE_HOSTILE_OCALL = 7,
    /* The trusted side failed (out of memory, refused to start). */
    ENCLAVA_EDGE_INTERNAL = 8,
} enclava_edge_status;

/* The header every ttrpc frame starts with (DESIGN.md §2). */
#define ENCLAVA_EDGE_FRAME_HEADER_BYTES 10u

/* What the enclave may ask of its host. Each returns a status (0 = OK) and writes at most what it was
   given room for; the edge checks both and never trusts them. */
typedef struct enclava_edge_ocalls {
    /* Reads up to `capacity` bytes of the image at `offset` into `buffer`; *read_len ≤ capacity. */
    int32_t (*read_image)(void *host, uint64_t offset, uint8_t *buffer, size_t capacity, size_t *read_len);
    /* The host's wall clock in nanoseconds since the Unix epoch (untrusted: for logs only). */
    int32_t (*clock_ns)(void *host, uint64_t *nanoseconds);
    /* One log line of `length` bytes (no secrets are ever passed). */
    void (*log)(void *host, int32_t level, const uint8_t *message, size_t length);
    /* Passed back to every ocall. */
    void *host;
} enclava_edge_ocalls;

/* The trusted side's frame processor: takes the request frame (already in enclave-owned memory) and
   returns a response frame in *response, allocated with malloc (the edge wipes and frees it). */
typedef int32_t (*enclava_edge_processor)(void *trusted, const uint8_t *frame, size_t length,
                                          uint8_t **response, size_t *response_length);

typedef struct enclava_edge enclava_edge;

/* Makes an edge whose frames are at most max_frame_bytes + 10 bytes, serving frames with `processor`. */
enclava_edge_status enclava_edge_open(size_t max_frame_bytes, enclava_edge_processor processor, void *trusted,
                                      const enclava_edge_ocalls *ocalls, enclava_edge **out);

/* Wipes any pending response and frees the edge. Refused (BUSY) during an ecall. */
enclava_edge_status enclava_edge_close(enclava_edge *edge);

/* The ecall: one request frame in, one response frame out. */
enclava_edge_status enclava_edge_call(enclava_edge *edge, const uint8_t *in, size_t in_len,
                                      uint8_t *out, size_t out_cap, size_t *out_len);

/* Fetches a response that did not fit (after ENCLAVA_EDGE_SHORT_BUFFER). */
enclava_edge_status enclava_edge_collect(enclava_edge *edge, uint8_t *out, size_t out_cap, size_t *out_len);

/* For the trusted side: reads image bytes through the host's read_image ocall, checking its answer. */
enclava_edge_status enclava_edge_read_image(enclava_edge *edge, uint64_t offset, uint8_t *buffer, size_t capacity,
                                            size_t *read_len);

/* For the trusted side: whether [a, a+a_len) and [b, b+b_len) overlap, or either end overflows (then 1). */
int enclava_edge_ranges_overlap(uintptr_t a, size_t a_len, uintptr_t b, size_t b_len);

#ifdef __cplusplus
}
#endif

#endif
