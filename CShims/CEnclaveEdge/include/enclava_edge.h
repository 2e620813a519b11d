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
    /* The enclave's connection table is full (enclava_enclave_options.max_connections); disconnect one. */
    ENCLAVA_EDGE_TOO_MANY_CONNECTIONS = 9,
    /* The library speaks another ABI version than its host (ENCLAVA_ENCLAVE_ABI_VERSION). */
    ENCLAVA_EDGE_WRONG_ABI = 10,
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


/* ---- The enclave library's exports (libEnclavaEnclave.so, issue 11) -------------------------------------------
 * The trusted runtime built as a shared library exports exactly these symbols (Swift @_cdecl, in
 * Sources/Trusted/EnclavaEnclave). A host loads it with enclava_host_load below, never by hand.
 *
 * Connections: every ecall names a connection chosen by the host. The enclave gives each connection its own edge
 * (so one busy connection never makes another's ecall BUSY) and its own ttrpc connection identity: sessions and
 * issued evidence are bound to it and end with enclava_enclave_disconnect. Connection 0 is the host's private
 * control channel (Health and Shutdown only, like the control socket); every other id is a client connection,
 * which never reaches Shutdown. At most options.max_connections client connections are open at once; one more is
 * TOO_MANY_CONNECTIONS. A connection id used again after its disconnect is a new connection (nothing carries over).
 */
#define ENCLAVA_ENCLAVE_ABI_VERSION 1u
/* The host's private control channel. */
#define ENCLAVA_ENCLAVE_CONTROL_CONNECTION 0u
/* The largest image a host may offer (bytes read through read_image). */
#define ENCLAVA_ENCLAVE_MAX_IMAGE_BYTES 17179869184ull   /* 16 GiB */
/* Bounds of options.max_connections. */
#define ENCLAVA_ENCLAVE_MAX_CONNECTIONS 65536u
/* The longest NUL-terminated option string (sim_home, signer_fingerprint), terminator included. */
#define ENCLAVA_ENCLAVE_MAX_OPTION_BYTES 4096u
/* options.flags: keep sealed memory that cannot be mlock'ed (development only). */
#define ENCLAVA_ENCLAVE_ALLOW_UNLOCKED_MEMORY 1u

/* How the host starts the enclave; every field is checked by the enclave (hostile until then). */
typedef struct enclava_enclave_options {
    uint32_t abi_version;          /* ENCLAVA_ENCLAVE_ABI_VERSION */
    uint32_t flags;                /* ENCLAVA_ENCLAVE_ALLOW_UNLOCKED_MEMORY or 0 */
    uint64_t image_size;           /* the image's size in bytes: 1…ENCLAVA_ENCLAVE_MAX_IMAGE_BYTES */
    uint32_t max_connections;      /* client connections open at once: 1…ENCLAVA_ENCLAVE_MAX_CONNECTIONS */
    uint32_t sim_format;           /* simulated evidence: 0 SEV-SNP, 1 TDX, 2 SGX */
    const char *sim_home;          /* the simulated platform's home (NUL-terminated) */
    const char *signer_fingerprint;/* NULL, or the pinned image signer (64 hex digits) */
} enclava_enclave_options;

typedef struct enclava_enclave enclava_enclave;

/* The exported symbols are named after these types without `_fn` (enclava_enclave_abi_version,
   enclava_enclave_create, …); ENCLAVA_ENCLAVE_SYMBOLS lists them for loaders. */
#define ENCLAVA_ENCLAVE_SYMBOLS "enclava_enclave_abi_version", "enclava_enclave_create", "enclava_enclave_destroy", \
    "enclava_enclave_call", "enclava_enclave_collect", "enclava_enclave_disconnect"

/* The ABI version the library was built for. */
typedef uint32_t (*enclava_enclave_abi_version_fn)(void);
/* Copies the image in through ocalls->read_image (offsets 0…image_size), verifies it, starts the runtime and
   returns once it is ready or waiting for its key. On failure *out is NULL and `error` holds one NUL-terminated
   line (at most error_cap bytes) naming the problem. */
typedef enclava_edge_status (*enclava_enclave_create_fn)(const enclava_enclave_options *options,
                                                         const enclava_edge_ocalls *ocalls, enclava_enclave **out,
                                                         char *error, size_t error_cap);
/* Stops the runtime (refuses new calls, finishes the ones running) and frees it. */
typedef enclava_edge_status (*enclava_enclave_destroy_fn)(enclava_enclave *enclave);
/* The ecall of one connection: one request frame in, one response frame out (*out_len 0: the frame needs no
   answer). The enclave_edge_call rules apply per connection. */
typedef enclava_edge_status (*enclava_enclave_call_fn)(enclava_enclave *enclave, uint64_t connection,
                                                       const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                                                       size_t *out_len);
/* enclava_edge_collect for one connection. */
typedef enclava_edge_status (*enclava_enclave_collect_fn)(enclava_enclave *enclave, uint64_t connection, uint8_t *out,
                                                          size_t out_cap, size_t *out_len);
/* Ends a connection: its sessions and unused evidence are forgotten. BUSY while one of its ecalls runs. */
typedef enclava_edge_status (*enclava_enclave_disconnect_fn)(enclava_enclave *enclave, uint64_t connection);

/* ---- The host side (the bridge): loading a library and calling it with the same checks -------------------------
 * enclava_host_load dlopens `path`, resolves every export above, checks the ABI version and calls create. Each
 * call below checks its arguments as enclava_edge_call does (nulls, overlap, lengths against max_frame_bytes + 10
 * with overflow-safe arithmetic) before it enters the library, and the library's answer after: a status outside
 * the enum, an OK length above out_cap, or a SHORT_BUFFER length that fits or exceeds the cap is HOSTILE_OCALL.
 */
typedef struct enclava_host_enclave enclava_host_enclave;

/* Loads and creates. On failure `error` (error_cap bytes, NUL-terminated) holds one line naming the problem:
   the file that cannot be loaded, the missing symbol, the ABI versions, or the enclave's own reason. */
enclava_edge_status enclava_host_load(const char *path, size_t max_frame_bytes, const enclava_enclave_options *options,
                                      const enclava_edge_ocalls *ocalls, enclava_host_enclave **out, char *error,
                                      size_t error_cap);
enclava_edge_status enclava_host_call(enclava_host_enclave *host, uint64_t connection, const uint8_t *in, size_t in_len,
                                      uint8_t *out, size_t out_cap, size_t *out_len);
enclava_edge_status enclava_host_collect(enclava_host_enclave *host, uint64_t connection, uint8_t *out, size_t out_cap,
                                         size_t *out_len);
enclava_edge_status enclava_host_disconnect(enclava_host_enclave *host, uint64_t connection);
/* Destroys the enclave. The library stays mapped (a Swift library cannot be unloaded safely). */
enclava_edge_status enclava_host_unload(enclava_host_enclave *host);

/* ---- For the trusted side: the image, copied in ---------------------------------------------------------------
 * Reads `size` bytes of the image through the edge's read_image ocall into a fresh memfd, then seals it against
 * every change (F_SEAL_WRITE, SHRINK, GROW, SEAL): what the enclave verifies is what it later decrypts, whatever
 * the host does to its file. *fd_out is the memfd (close-on-exec). A short or over-long answer is refused. */
enclava_edge_status enclava_edge_copy_image(enclava_edge *edge, uint64_t size, int *fd_out);

/* For the trusted side: the file of the loaded object that holds `address` (what the simulated platform measures),
   or NULL. */
const char *enclava_edge_library_path(const void *address);

#ifdef __cplusplus
}
#endif

#endif
