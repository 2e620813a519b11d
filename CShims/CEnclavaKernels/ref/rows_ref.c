/*
 * Scalar reference row kernels over the last axis of a contiguous [rows, cols] matrix (always built):
 * layer normalisation and the sum / mean / max reductions. See enclava_kernels.h for the contract.
 */
#include "enclava_kernels.h"

#include <math.h>

void enclava_f32_layernorm__ref(size_t rows, size_t cols, const float *x, const float *gamma, const float *beta,
                                float epsilon, float *y) {
    if (cols == 0) return;
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * cols;
        float *yr = y + r * cols;
        float sum = 0.0f;
        for (size_t j = 0; j < cols; j++) sum += xr[j];
        const float mean = sum / (float)cols;
        float squares = 0.0f; /* two passes: the variance of deviations, not E[x^2] - E[x]^2 */
        for (size_t j = 0; j < cols; j++) {
            const float d = xr[j] - mean;
            squares += d * d;
        }
        const float inv_std = 1.0f / sqrtf(squares / (float)cols + epsilon);
        for (size_t j = 0; j < cols; j++) {
            const float normalized = (xr[j] - mean) * inv_std;
            yr[j] = normalized * gamma[j] + (beta ? beta[j] : 0.0f);
        }
    }
}

void enclava_f32_reduce_sum__ref(size_t rows, size_t cols, const float *x, float *y) {
    for (size_t r = 0; r < rows; r++) {
        float sum = 0.0f;
        for (size_t j = 0; j < cols; j++) sum += x[r * cols + j];
        y[r] = sum;
    }
}

void enclava_f32_reduce_mean__ref(size_t rows, size_t cols, const float *x, float *y) {
    for (size_t r = 0; r < rows; r++) {
        float sum = 0.0f;
        for (size_t j = 0; j < cols; j++) sum += x[r * cols + j];
        y[r] = sum / (float)cols;
    }
}

void enclava_f32_reduce_max__ref(size_t rows, size_t cols, const float *x, float *y) {
    for (size_t r = 0; r < rows; r++) {
        float maximum = x[r * cols];
        for (size_t j = 1; j < cols; j++) {
            const float v = x[r * cols + j];
            if (v > maximum || v != v) maximum = v;
            if (maximum != maximum) break;
        }
        y[r] = maximum;
    }
}
