/*
 * Scalar reference elementwise kernels (always built); see enclava_kernels.h for the contract.
 */
#include "enclava_kernels.h"

#include <math.h>

#define ENCLAVA_BINARY_REF(op_name, expression)                                                           \
    void enclava_f32_##op_name##__ref(size_t n, const float *a, size_t inc_a, const float *b, size_t inc_b, \
                                      float *y) {                                                         \
        for (size_t i = 0; i < n; i++) {                                                                  \
            const float x0 = a[i * inc_a];                                                                \
            const float x1 = b[i * inc_b];                                                                \
            y[i] = (expression);                                                                          \
        }                                                                                                 \
    }

ENCLAVA_BINARY_REF(add, x0 + x1)
ENCLAVA_BINARY_REF(sub, x0 - x1)
ENCLAVA_BINARY_REF(mul, x0 * x1)
ENCLAVA_BINARY_REF(div, x0 / x1)

void enclava_f32_relu__ref(size_t n, const float *x, float *y) {
    for (size_t i = 0; i < n; i++) {
        const float v = x[i];
        y[i] = v > 0.0f ? v : (v != v ? v : 0.0f); /* NaN stays NaN */
    }
}

void enclava_f32_sigmoid__ref(size_t n, const float *x, float *y) {
    for (size_t i = 0; i < n; i++) {
        const float v = x[i];
        if (v >= 0.0f) {
            y[i] = 1.0f / (1.0f + expf(-v));
        } else {
            const float e = expf(v); /* stable for large negative v */
            y[i] = e / (1.0f + e);
        }
    }
}

void enclava_f32_copy__ref(size_t n, const float *x, size_t inc_x, float *y) {
    for (size_t i = 0; i < n; i++) y[i] = x[i * inc_x];
}

void enclava_f32_exp__ref(size_t n, const float *x, float *y) {
    for (size_t i = 0; i < n; i++) y[i] = expf(x[i]);
}

void enclava_f32_tanh__ref(size_t n, const float *x, float *y) {
    for (size_t i = 0; i < n; i++) y[i] = tanhf(x[i]);
}

void enclava_f32_erf__ref(size_t n, const float *x, float *y) {
    for (size_t i = 0; i < n; i++) y[i] = erff(x[i]);
}

void enclava_f32_gelu__ref(size_t n, const float *x, float *y) {
    for (size_t i = 0; i < n; i++) {
        const float v = x[i];
        y[i] = 0.5f * v * (1.0f + erff(v * 0.70710678118654752f));
    }
}
