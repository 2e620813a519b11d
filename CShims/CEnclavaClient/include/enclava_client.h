/*
 * enclava_client.h — the C ABI of the Enclava client (libEnclavaClientC.so, SwiftPM product EnclavaClientC).
 *
 * A thin layer over the Swift ConfidentialSession: every function here calls the Swift client, which verifies the
 * enclave's evidence against the policy, sets up HPKE to the verified key and encrypts every request (DESIGN.md §3).
 * Nothing in this layer verifies or encrypts anything itself. The Python package `enclava` is built on it.
 *
 * Conventions
 *  - Every function that can fail returns an enclava_status: ENCLAVA_OK (0) or an error code. On failure, when
 *    `error` is not NULL, *error receives a newly allocated enclava_error (free it with enclava_error_free); on
 *    success *error is set to NULL. Out-parameters are written only on success.
 *  - Strings are NUL-terminated UTF-8. Strings and buffers passed in are borrowed for the duration of the call only.
 *  - Everything the library returns (sessions, tensors, strings, errors) is owned by the caller and released with
 *    the matching free function, exactly once; passing NULL to a free function does nothing.
 *  - Calls block the calling thread until they finish (each call has the session's timeout). They may be made from
 *    any thread, and several threads may share one session: requests on one session are serialized (the enclave
 *    accepts only the next sequence number). enclava_session_close must not run concurrently with another call on
 *    the same session, and the session must not be used after it.
 *  - Do not call these functions from a Swift concurrency thread (they block it).
 */
#ifndef ENCLAVA_CLIENT_H
#define ENCLAVA_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The ABI version this header describes; enclava_client_abi_version() returns the library's. */
#define ENCLAVA_CLIENT_ABI_VERSION 1

/* Stable status codes. Bindings map them to their own error types (Python: see each line). */
typedef enum enclava_status {
    ENCLAVA_OK = 0,
    ENCLAVA_ERROR_INVALID_ARGUMENT = 1, /* the caller's input is invalid (a NULL, a dtype, a shape)  -> InputError      */
    ENCLAVA_ERROR_ATTESTATION = 2,      /* the enclave's evidence was refused, or is malformed      -> AttestationError */
    ENCLAVA_ERROR_POLICY = 3,           /* the policy cannot be read or is invalid                   -> PolicyError      */
    ENCLAVA_ERROR_MODEL = 4,            /* the model refused the input (the enclave's reason)        -> ModelError       */
    ENCLAVA_ERROR_TRANSPORT = 5,        /* connection, RPC, timeout, or a tampered/failed response   -> TransportError   */
    ENCLAVA_ERROR_SESSION_CLOSED = 6,   /* the session was closed or can no longer be used           -> SessionClosedError */
    ENCLAVA_ERROR_UNKNOWN_MODEL = 7,    /* the enclave does not serve the model named                -> ModelError       */
    ENCLAVA_ERROR_INTERNAL = 8          /* a bug in this library                                     -> EnclavaError     */
} enclava_status;

/* Element types (the values of enclava.v1.DataType). */
typedef enum enclava_dtype {
    ENCLAVA_DTYPE_FLOAT32 = 1,
    ENCLAVA_DTYPE_INT32 = 6,
    ENCLAVA_DTYPE_INT64 = 7,
    ENCLAVA_DTYPE_BOOL = 9      /* one byte per element, 0 or 1 */
} enclava_dtype;

/* An error: a stable code, a stable reason where there is one (e.g. "MEASUREMENT_MISMATCH", "INVALID_TENSOR",
 * "UNKNOWN_MODEL"; NULL otherwise) and a sentence saying what failed and what to do. Owned by the caller. */
typedef struct enclava_error {
    int32_t code;       /* an enclava_status */
    char *reason;       /* may be NULL */
    char *message;      /* never NULL */
} enclava_error;

/* A named tensor: elements little-endian, row-major; data_length == product(shape) * element size.
 * As input: every pointer is borrowed for the call. As output (from enclava_session_infer*): every pointer is
 * owned by the array, released with enclava_tensors_free. */
typedef struct enclava_tensor {
    const char *name;
    int32_t dtype;              /* an enclava_dtype */
    const int64_t *shape;       /* rank entries (may be NULL when rank is 0) */
    size_t rank;
    const void *data;           /* data_length bytes (may be NULL when data_length is 0) */
    size_t data_length;
} enclava_tensor;

/* An attested, encrypted session with one enclave. Opaque. */
typedef struct enclava_session enclava_session;

/* The ABI version of the library (ENCLAVA_CLIENT_ABI_VERSION of the header it was built with). */
int32_t enclava_client_abi_version(void);

/* Connects to the bridge at `endpoint` (HOST:PORT, unix:PATH, vsock:CID:PORT, hvsock:UDS:PORT), verifies the
 * enclave's evidence against the policy — given as JSON text (`policy_json`) or as a file (`policy_path`), exactly
 * one of them non-NULL — and opens an encrypted session.
 *  sim_home:  the simulated platform home for policies that allow simulation without pinning a root (NULL:
 *             $ENCLAVA_HOME, then ~/.enclava);
 *  model:     NULL, or the model the caller will use: checked against the enclave's (ENCLAVA_ERROR_UNKNOWN_MODEL);
 *  timeout_seconds: the deadline of each call, > 0 (at most one day).
 * On success *session_out holds a session to release with enclava_session_close. */
int32_t enclava_session_open(const char *endpoint, const char *policy_json, const char *policy_path,
                             const char *sim_home, const char *model, double timeout_seconds,
                             enclava_session **session_out, enclava_error **error);

/* Ends the session and closes its connection; frees it. NULL does nothing. */
void enclava_session_close(enclava_session *session);

/* Runs `model` on `input_count` named tensors. A single input may have a NULL name: it is then sent under the model's
 * only input name, which the client asks of the enclave once per session (ENCLAVA_ERROR_INVALID_ARGUMENT when the
 * model has several inputs). On success *outputs_out holds *output_count_out tensors, to release
 * with enclava_tensors_free(*outputs_out, *output_count_out). */
int32_t enclava_session_infer(enclava_session *session, const char *model,
                              const enclava_tensor *inputs, size_t input_count,
                              enclava_tensor **outputs_out, size_t *output_count_out, enclava_error **error);

/* Runs the text pipeline `model` on `text_count` NUL-terminated UTF-8 texts; outputs as enclava_session_infer. */
int32_t enclava_session_infer_texts(enclava_session *session, const char *model,
                                    const char *const *texts, size_t text_count,
                                    enclava_tensor **outputs_out, size_t *output_count_out, enclava_error **error);

/* The verified claims as a JSON object: platform, simulated, measurement, manifest_digest, tcb, root_fingerprint,
 * model, backend, memory_unlocked, claims. *json_out is released with enclava_string_free. */
int32_t enclava_session_attestation_json(enclava_session *session, char **json_out, enclava_error **error);

/* Releases an output array of enclava_session_infer* (its names, shapes and data too). */
void enclava_tensors_free(enclava_tensor *tensors, size_t count);

/* Releases a string returned by this library. */
void enclava_string_free(char *string);

/* Releases an error returned by this library. */
void enclava_error_free(enclava_error *error);

#ifdef __cplusplus
}
#endif

#endif /* ENCLAVA_CLIENT_H */
