/*
 * Enclava ONNX loader: decodes an ONNX ModelProto (or a single TensorProto) from an untrusted
 * buffer with protobuf-c, under explicit size limits.
 *
 * Every input buffer is hostile. Before protobuf-c sees a byte, the loader
 *   1. refuses a buffer larger than `max_bytes`;
 *   2. walks the wire format against the onnx.proto descriptors and refuses message nesting deeper
 *      than `max_depth` (protobuf-c itself recurses without a bound) and malformed varints/lengths.
 * protobuf-c then unpacks through an allocator that forwards to the caller's allocator (or malloc) and
 * refuses to hand out more than `max_decoded_bytes` in total. After unpacking, the loader checks the
 * counts that drive later allocations: nodes (in all sub-graphs), initializers, dimensions per tensor,
 * elements per tensor (with overflow checks) and that a tensor's stored data matches its dimensions.
 *
 * On refusal a function returns NULL and fills `*error` (when not NULL): `kind` says whether the input is
 * malformed or over a limit, and `message` is a NUL-terminated sentence naming the limit or the fault.
 *
 * Free a decoded message with the matching enclava_onnx_*_free and the SAME allocator (or NULL when
 * NULL was given to the unpack call).
 */
#ifndef ENCLAVA_ONNX_LOADER_H
#define ENCLAVA_ONNX_LOADER_H

#include <stddef.h>
#include <stdint.h>
#include <protobuf-c/protobuf-c.h>
#include "onnx.pb-c.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Limits applied while decoding; a zero field means "use the default" shown beside it. */
typedef struct enclava_onnx_limits {
    uint64_t max_bytes;            /* encoded buffer size, default 256 MiB */
    uint64_t max_decoded_bytes;    /* total bytes protobuf-c may allocate, default 4 x max_bytes + 1 MiB */
    uint64_t max_depth;            /* message nesting depth, default 64 */
    uint64_t max_nodes;            /* nodes, counted over the graph and every sub-graph, default 100000 */
    uint64_t max_initializers;     /* initializers over all graphs, default 100000 */
    uint64_t max_dims;             /* dimensions of one tensor or declared shape, default 8 */
    uint64_t max_elements;         /* elements of one tensor (initializer, constant, declared), default 2^28 */
} enclava_onnx_limits;

/** Why a buffer was refused. */
typedef enum enclava_onnx_error_kind {
    ENCLAVA_ONNX_OK = 0,
    ENCLAVA_ONNX_MALFORMED = 1,  /* not a valid message, truncated, inconsistent */
    ENCLAVA_ONNX_LIMIT = 2       /* valid so far, but over one of the limits */
} enclava_onnx_error_kind;

/** A refusal: its kind and a sentence. */
typedef struct enclava_onnx_error {
    enclava_onnx_error_kind kind;
    char message[512];
} enclava_onnx_error;

/** Fills `limits` with the defaults. */
void enclava_onnx_limits_default(enclava_onnx_limits *limits);

/**
 * Decodes a ModelProto.
 * @param data            the encoded model (may be NULL only when length is 0)
 * @param length          its size in bytes
 * @param limits          limits, or NULL for the defaults
 * @param allocator       the allocator protobuf-c uses, or NULL for malloc/free
 * @param error           receives the refusal; may be NULL
 * @return the model, or NULL on refusal
 */
Onnx__ModelProto *enclava_onnx_model_unpack(const uint8_t *data, size_t length,
                                            const enclava_onnx_limits *limits,
                                            ProtobufCAllocator *allocator,
                                            enclava_onnx_error *error);

/** Frees a model from enclava_onnx_model_unpack; NULL is ignored. */
void enclava_onnx_model_free(Onnx__ModelProto *model, ProtobufCAllocator *allocator);

/** Decodes one TensorProto (the `.pb` files of ONNX's conformance cases), with the same checks. */
Onnx__TensorProto *enclava_onnx_tensor_unpack(const uint8_t *data, size_t length,
                                              const enclava_onnx_limits *limits,
                                              ProtobufCAllocator *allocator,
                                              enclava_onnx_error *error);

/** Frees a tensor from enclava_onnx_tensor_unpack; NULL is ignored. */
void enclava_onnx_tensor_free(Onnx__TensorProto *tensor, ProtobufCAllocator *allocator);

/**
 * Number of elements of `tensor` (product of its dims; 1 for a scalar), or -1 when a dim is negative
 * or the product overflows.
 */
int64_t enclava_onnx_tensor_element_count(const Onnx__TensorProto *tensor);

/** Bytes per element of an ONNX TensorProto.DataType, or 0 for variable-size or unknown types. */
size_t enclava_onnx_element_size(int32_t data_type);

/** Accessors for union members (kept in C so Swift needs no knowledge of protobuf-c's union layout). */
int enclava_onnx_dim_has_value(const Onnx__TensorShapeProto__Dimension *dim);
int64_t enclava_onnx_dim_value(const Onnx__TensorShapeProto__Dimension *dim);
const char *enclava_onnx_dim_param(const Onnx__TensorShapeProto__Dimension *dim);
/** The tensor type of a TypeProto, or NULL when the type is not a tensor (sequence, map, ...). */
const Onnx__TypeProto__Tensor *enclava_onnx_type_tensor(const Onnx__TypeProto *type);

#ifdef __cplusplus
}
#endif

#endif /* ENCLAVA_ONNX_LOADER_H */
