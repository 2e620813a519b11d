/*
 * Enclava ONNX loader: size-limited protobuf-c decoding of ONNX models (see include/onnx_loader.h).
 */
#include "onnx_loader.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ENCLAVA_ONNX_DEFAULT_MAX_BYTES        (256ull << 20)
#define ENCLAVA_ONNX_DEFAULT_MAX_DEPTH        64ull
#define ENCLAVA_ONNX_DEFAULT_MAX_NODES        100000ull
#define ENCLAVA_ONNX_DEFAULT_MAX_INITIALIZERS 100000ull
#define ENCLAVA_ONNX_DEFAULT_MAX_DIMS         8ull
#define ENCLAVA_ONNX_DEFAULT_MAX_ELEMENTS     (1ull << 28)

/* MARK: errors and limits */

static void set_error(enclava_onnx_error *error, enclava_onnx_error_kind kind, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

static void set_error(enclava_onnx_error *error, enclava_onnx_error_kind kind, const char *format, ...) {
    if (error == NULL) return;
    error->kind = kind;
    va_list args;
    va_start(args, format);
    vsnprintf(error->message, sizeof error->message, format, args);
    va_end(args);
}

void enclava_onnx_limits_default(enclava_onnx_limits *limits) {
    if (limits == NULL) return;
    limits->max_bytes = ENCLAVA_ONNX_DEFAULT_MAX_BYTES;
    limits->max_decoded_bytes = 0;
    limits->max_depth = ENCLAVA_ONNX_DEFAULT_MAX_DEPTH;
    limits->max_nodes = ENCLAVA_ONNX_DEFAULT_MAX_NODES;
    limits->max_initializers = ENCLAVA_ONNX_DEFAULT_MAX_INITIALIZERS;
    limits->max_dims = ENCLAVA_ONNX_DEFAULT_MAX_DIMS;
    limits->max_elements = ENCLAVA_ONNX_DEFAULT_MAX_ELEMENTS;
}

static enclava_onnx_limits normalized_limits(const enclava_onnx_limits *given) {
    enclava_onnx_limits limits;
    enclava_onnx_limits_default(&limits);
    if (given != NULL) {
        if (given->max_bytes) limits.max_bytes = given->max_bytes;
        if (given->max_decoded_bytes) limits.max_decoded_bytes = given->max_decoded_bytes;
        if (given->max_depth) limits.max_depth = given->max_depth;
        if (given->max_nodes) limits.max_nodes = given->max_nodes;
        if (given->max_initializers) limits.max_initializers = given->max_initializers;
        if (given->max_dims) limits.max_dims = given->max_dims;
        if (given->max_elements) limits.max_elements = given->max_elements;
    }
    if (limits.max_decoded_bytes == 0) {
        uint64_t scaled = 0;
        if (__builtin_mul_overflow(limits.max_bytes, 8ull, &scaled)) scaled = UINT64_MAX - (16ull << 20);
        limits.max_decoded_bytes = scaled + (16ull << 20);
    }
    return limits;
}

/* MARK: wire-format pre-scan (nesting depth, framing) */

static int read_varint(const uint8_t *p, size_t length, size_t *offset, uint64_t *value) {
    uint64_t result = 0;
    for (unsigned shift = 0, i = 0; i < 10; i++, shift += 7) {
        if (*offset >= length) return 0;
        uint8_t byte = p[(*offset)++];
        result |= (uint64_t)(byte & 0x7f) << shift;
        if ((byte & 0x80) == 0) { *value = result; return 1; }
    }
    return 0;
}

/* Walks one message's fields, recursing into message-typed fields; 1 = acceptable. */
static int scan_message(const ProtobufCMessageDescriptor *descriptor, const uint8_t *p, size_t length,
                        uint64_t depth, const enclava_onnx_limits *limits, enclava_onnx_error *error) {
    if (depth > limits->max_depth) {
        set_error(error, ENCLAVA_ONNX_LIMIT, "protobuf messages are nested deeper than the limit of %llu",
                  (unsigned long long)limits->max_depth);
        return 0;
    }
    size_t offset = 0;
    while (offset < length) {
        uint64_t tag = 0;
        if (!read_varint(p, length, &offset, &tag)) {
            set_error(error, ENCLAVA_ONNX_MALFORMED, "malformed protobuf: bad field tag at byte %zu", offset);
            return 0;
        }
        uint64_t number = tag >> 3;
        unsigned wire_type = (unsigned)(tag & 7);
        if (number == 0 || number > 536870911ull) {
            set_error(error, ENCLAVA_ONNX_MALFORMED, "malformed protobuf: invalid field number %llu", (unsigned long long)number);
            return 0;
        }
        uint64_t skip = 0;
        switch (wire_type) {
        case 0:
            if (!read_varint(p, length, &offset, &skip)) {
                set_error(error, ENCLAVA_ONNX_MALFORMED, "malformed protobuf: truncated varint");
                return 0;
            }
            continue;
        case 1: skip = 8; break;
        case 5: skip = 4; break;
        case 2: {
            if (!read_varint(p, length, &offset, &skip)) {
                set_error(error, ENCLAVA_ONNX_MALFORMED, "malformed protobuf: truncated length");
                return 0;
            }
            if (skip > length - offset) {
                set_error(error, ENCLAVA_ONNX_MALFORMED, "malformed protobuf: field %llu claims %llu bytes but only %zu remain",
                          (unsigned long long)number, (unsigned long long)skip, length - offset);
                return 0;
            }
            const ProtobufCFieldDescriptor *field =
                descriptor ? protobuf_c_message_descriptor_get_field(descriptor, (unsigned)number) : NULL;
            if (field != NULL && field->type == PROTOBUF_C_TYPE_MESSAGE) {
                if (!scan_message((const ProtobufCMessageDescriptor *)field->descriptor, p + offset, (size_t)skip,
                                  depth + 1, limits, error)) {
                    return 0;
                }
            }
            break;
        }
        default:
            set_error(error, ENCLAVA_ONNX_MALFORMED, "malformed protobuf: unsupported wire type %u", wire_type);
            return 0;
        }
        if (skip > length - offset) {
            set_error(error, ENCLAVA_ONNX_MALFORMED, "malformed protobuf: truncated fixed-size field %llu",
                      (unsigned long long)number);
            return 0;
        }
        offset += (size_t)skip;
    }
    return 1;
}

/* MARK: budget allocator */

typedef struct budget_allocator {
    ProtobufCAllocator *inner;
    uint64_t used;
    uint64_t limit;
    int exceeded;
} budget_allocator;

static void *budget_alloc(void *data, size_t size) {
    budget_allocator *budget = data;
    if (size > budget->limit - budget->used) {
        budget->exceeded = 1;
        return NULL;
    }
    budget->used += size;
    if (budget->inner != NULL) return budget->inner->alloc(budget->inner->allocator_data, size);
    return malloc(size);
}

static void budget_free(void *data, void *pointer) {
    budget_allocator *budget = data;
    if (budget->inner != NULL) {
        budget->inner->free(budget->inner->allocator_data, pointer);
    } else {
        free(pointer);
    }
}

/* MARK: tensor and graph checks */

size_t enclava_onnx_element_size(int32_t data_type) {
    switch (data_type) {
    case 1: case 6: case 12: return 4;                 /* FLOAT, INT32, UINT32 */
    case 2: case 3: case 9: return 1;                  /* UINT8, INT8, BOOL */
    case 17: case 18: case 19: case 20: case 24: return 1; /* FLOAT8 variants */
    case 4: case 5: case 10: case 16: return 2;        /* UINT16, INT16, FLOAT16, BFLOAT16 */
    case 7: case 11: case 13: case 14: return 8;       /* INT64, DOUBLE, UINT64, COMPLEX64 */
    case 15: return 16;                                /* COMPLEX128 */
    default: return 0;                                 /* STRING, 4-bit packed, unknown */
    }
}

int64_t enclava_onnx_tensor_element_count(const Onnx__TensorProto *tensor) {
    uint64_t count = 1;
    for (size_t i = 0; i < tensor->n_dims; i++) {
        if (tensor->dims[i] < 0) return -1;
        if (__builtin_mul_overflow(count, (uint64_t)tensor->dims[i], &count) || count > (uint64_t)INT64_MAX) return -1;
    }
    return (int64_t)count;
}

static const char *name_or(const char *name) {
    return (name != NULL && name[0] != '\0') ? name : "(unnamed)";
}

/* Number of values stored in the typed field that `data_type` uses, or SIZE_MAX when unknown. */
static size_t typed_value_count(const Onnx__TensorProto *t, int32_t data_type, uint64_t *per_element) {
    *per_element = 1;
    switch (data_type) {
    case 1: return t->n_float_data;
    case 14: *per_element = 2; return t->n_float_data;
    case 2: case 3: case 4: case 5: case 6: case 9: case 10: case 16:
    case 17: case 18: case 19: case 20: case 24: return t->n_int32_data;
    case 7: return t->n_int64_data;
    case 11: return t->n_double_data;
    case 15: *per_element = 2; return t->n_double_data;
    case 12: case 13: return t->n_uint64_data;
    case 8: return t->n_string_data;
    default: return SIZE_MAX;
    }
}

static int check_tensor(const Onnx__TensorProto *t, const enclava_onnx_limits *limits, enclava_onnx_error *error) {
    const char *name = name_or(t->name);
    if (t->n_dims > limits->max_dims) {
        set_error(error, ENCLAVA_ONNX_LIMIT, "tensor '%s' has %zu dimensions, more than the limit of %llu", name, t->n_dims,
                  (unsigned long long)limits->max_dims);
        return 0;
    }
    uint64_t count = 1;
    for (size_t i = 0; i < t->n_dims; i++) {
        if (t->dims[i] < 0) {
            set_error(error, ENCLAVA_ONNX_MALFORMED, "tensor '%s' has a negative dimension %lld", name, (long long)t->dims[i]);
            return 0;
        }
        if (__builtin_mul_overflow(count, (uint64_t)t->dims[i], &count) || count > limits->max_elements) {
            set_error(error, ENCLAVA_ONNX_LIMIT, "tensor '%s' declares more than %llu elements (the per-tensor limit)", name,
                      (unsigned long long)limits->max_elements);
            return 0;
        }
    }
    if (t->has_data_location && t->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL) {
        return 1; /* the caller decides about external data; nothing is stored here */
    }
    int32_t data_type = t->has_data_type ? t->data_type : 0;
    size_t element_size = enclava_onnx_element_size(data_type);
    if (t->has_raw_data && t->raw_data.len > 0) {
        if (element_size != 0 && (uint64_t)t->raw_data.len != count * element_size) {
            set_error(error, ENCLAVA_ONNX_MALFORMED, "tensor '%s' holds %zu bytes of raw data but its %llu elements need %llu", name,
                      t->raw_data.len, (unsigned long long)count, (unsigned long long)(count * element_size));
            return 0;
        }
        return 1;
    }
    uint64_t per_element = 1;
    size_t stored = typed_value_count(t, data_type, &per_element);
    if (stored != SIZE_MAX && (uint64_t)stored != count * per_element) {
        set_error(error, ENCLAVA_ONNX_MALFORMED, "tensor '%s' stores %zu values but its dimensions need %llu", name, stored,
                  (unsigned long long)(count * per_element));
        return 0;
    }
    return 1;
}

static int check_declared(const Onnx__ValueInfoProto *value, const enclava_onnx_limits *limits,
                          enclava_onnx_error *error) {
    const Onnx__TypeProto__Tensor *tensor = enclava_onnx_type_tensor(value->type);
    if (tensor == NULL || tensor->shape == NULL) return 1;
    const char *name = name_or(value->name);
    if (tensor->shape->n_dim > limits->max_dims) {
        set_error(error, ENCLAVA_ONNX_LIMIT, "value '%s' declares %zu dimensions, more than the limit of %llu", name,
                  tensor->shape->n_dim, (unsigned long long)limits->max_dims);
        return 0;
    }
    uint64_t count = 1;
    for (size_t i = 0; i < tensor->shape->n_dim; i++) {
        const Onnx__TensorShapeProto__Dimension *dim = tensor->shape->dim[i];
        if (!enclava_onnx_dim_has_value(dim)) continue;
        int64_t size = dim->dim_value;
        if (size < 0) {
            set_error(error, ENCLAVA_ONNX_MALFORMED, "value '%s' declares a negative dimension %lld", name, (long long)size);
            return 0;
        }
        if (__builtin_mul_overflow(count, (uint64_t)size, &count) || count > limits->max_elements) {
            set_error(error, ENCLAVA_ONNX_LIMIT, "value '%s' declares more than %llu elements (the per-tensor limit)", name,
                      (unsigned long long)limits->max_elements);
            return 0;
        }
    }
    return 1;
}

typedef struct graph_totals {
    uint64_t nodes;
    uint64_t initializers;
} graph_totals;

static int check_graph(const Onnx__GraphProto *graph, const enclava_onnx_limits *limits, graph_totals *totals,
                       enclava_onnx_error *error);

static int check_attribute(const Onnx__AttributeProto *attribute, const enclava_onnx_limits *limits,
                           graph_totals *totals, enclava_onnx_error *error) {
    if (attribute->t != NULL && !check_tensor(attribute->t, limits, error)) return 0;
    for (size_t i = 0; i < attribute->n_tensors; i++) {
        if (!check_tensor(attribute->tensors[i], limits, error)) return 0;
    }
    if (attribute->g != NULL && !check_graph(attribute->g, limits, totals, error)) return 0;
    for (size_t i = 0; i < attribute->n_graphs; i++) {
        if (!check_graph(attribute->graphs[i], limits, totals, error)) return 0;
    }
    return 1;
}

/* Recursion depth is bounded by the pre-scan's max_depth. */
static int check_graph(const Onnx__GraphProto *graph, const enclava_onnx_limits *limits, graph_totals *totals,
                       enclava_onnx_error *error) {
    totals->nodes += graph->n_node;
    if (totals->nodes > limits->max_nodes) {
        set_error(error, ENCLAVA_ONNX_LIMIT, "the model has more than %llu nodes (the limit)", (unsigned long long)limits->max_nodes);
        return 0;
    }
    totals->initializers += graph->n_initializer + graph->n_sparse_initializer;
    if (totals->initializers > limits->max_initializers) {
        set_error(error, ENCLAVA_ONNX_LIMIT, "the model has more than %llu initializers (the limit)",
                  (unsigned long long)limits->max_initializers);
        return 0;
    }
    for (size_t i = 0; i < graph->n_initializer; i++) {
        if (!check_tensor(graph->initializer[i], limits, error)) return 0;
    }
    for (size_t i = 0; i < graph->n_input; i++) {
        if (!check_declared(graph->input[i], limits, error)) return 0;
    }
    for (size_t i = 0; i < graph->n_output; i++) {
        if (!check_declared(graph->output[i], limits, error)) return 0;
    }
    for (size_t i = 0; i < graph->n_node; i++) {
        const Onnx__NodeProto *node = graph->node[i];
        for (size_t j = 0; j < node->n_attribute; j++) {
            if (!check_attribute(node->attribute[j], limits, totals, error)) return 0;
        }
    }
    return 1;
}

/* MARK: unpacking */

static ProtobufCMessage *unpack_limited(const ProtobufCMessageDescriptor *descriptor, const char *what,
                                        const uint8_t *data, size_t length, const enclava_onnx_limits *limits,
                                        ProtobufCAllocator *allocator, enclava_onnx_error *error) {
    if (data == NULL && length > 0) {
        set_error(error, ENCLAVA_ONNX_MALFORMED, "no %s bytes were given", what);
        return NULL;
    }
    if ((uint64_t)length > limits->max_bytes) {
        set_error(error, ENCLAVA_ONNX_LIMIT, "the %s is %zu bytes, more than the limit of %llu bytes", what, length,
                  (unsigned long long)limits->max_bytes);
        return NULL;
    }
    if (!scan_message(descriptor, data, length, 0, limits, error)) return NULL;
    budget_allocator budget = { allocator, 0, limits->max_decoded_bytes, 0 };
    ProtobufCAllocator wrapper = { budget_alloc, budget_free, &budget };
    ProtobufCMessage *message = protobuf_c_message_unpack(descriptor, &wrapper, length, data);
    if (message == NULL) {
        if (budget.exceeded) {
            set_error(error, ENCLAVA_ONNX_LIMIT, "decoding the %s needs more than %llu bytes of memory (the limit)", what,
                      (unsigned long long)limits->max_decoded_bytes);
        } else {
            set_error(error, ENCLAVA_ONNX_MALFORMED, "the %s is not a valid protobuf message (truncated or corrupt)", what);
        }
        return NULL;
    }
    return message;
}

Onnx__ModelProto *enclava_onnx_model_unpack(const uint8_t *data, size_t length, const enclava_onnx_limits *given,
                                            ProtobufCAllocator *allocator, enclava_onnx_error *error) {
    enclava_onnx_limits limits = normalized_limits(given);
    ProtobufCMessage *message = unpack_limited(&onnx__model_proto__descriptor, "model", data, length, &limits,
                                               allocator, error);
    if (message == NULL) return NULL;
    Onnx__ModelProto *model = (Onnx__ModelProto *)message;
    if (model->graph == NULL) {
        set_error(error, ENCLAVA_ONNX_MALFORMED, "the model has no graph (is this an ONNX model file?)");
        enclava_onnx_model_free(model, allocator);
        return NULL;
    }
    graph_totals totals = { 0, 0 };
    if (!check_graph(model->graph, &limits, &totals, error)) {
        enclava_onnx_model_free(model, allocator);
        return NULL;
    }
    return model;
}

void enclava_onnx_model_free(Onnx__ModelProto *model, ProtobufCAllocator *allocator) {
    if (model != NULL) protobuf_c_message_free_unpacked(&model->base, allocator);
}

Onnx__TensorProto *enclava_onnx_tensor_unpack(const uint8_t *data, size_t length, const enclava_onnx_limits *given,
                                              ProtobufCAllocator *allocator, enclava_onnx_error *error) {
    enclava_onnx_limits limits = normalized_limits(given);
    ProtobufCMessage *message = unpack_limited(&onnx__tensor_proto__descriptor, "tensor", data, length, &limits,
                                               allocator, error);
    if (message == NULL) return NULL;
    Onnx__TensorProto *tensor = (Onnx__TensorProto *)message;
    if (!check_tensor(tensor, &limits, error)) {
        enclava_onnx_tensor_free(tensor, allocator);
        return NULL;
    }
    return tensor;
}

void enclava_onnx_tensor_free(Onnx__TensorProto *tensor, ProtobufCAllocator *allocator) {
    if (tensor != NULL) protobuf_c_message_free_unpacked(&tensor->base, allocator);
}

/* MARK: union accessors */

int enclava_onnx_dim_has_value(const Onnx__TensorShapeProto__Dimension *dim) {
    return dim != NULL && dim->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
}

int64_t enclava_onnx_dim_value(const Onnx__TensorShapeProto__Dimension *dim) {
    return enclava_onnx_dim_has_value(dim) ? dim->dim_value : -1;
}

const char *enclava_onnx_dim_param(const Onnx__TensorShapeProto__Dimension *dim) {
    if (dim == NULL || dim->value_case != ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM) return NULL;
    return dim->dim_param;
}

const Onnx__TypeProto__Tensor *enclava_onnx_type_tensor(const Onnx__TypeProto *type) {
    if (type == NULL || type->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE) return NULL;
    return type->tensor_type;
}
