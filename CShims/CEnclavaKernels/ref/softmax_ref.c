/*
 * Scalar reference softmax over the middle axis of [outer, axis, inner] (always built).
 * Subtracts the maximum first, so large inputs do not overflow; see enclava_kernels.h.
 */
#include "enclava_kernels.h"

#include <math.h>

void enclava_f32_softmax__ref(size_t outer, size_t axis, size_t inner, const float *x, float *y) {
    if (axis == 0) return;
    for (size_t o = 0; o < outer; o++) {
        const float *x_block = x + o * axis * inner;
        float *y_block = y + o * axis * inner;
        for (size_t i = 0; i < inner; i++) {
            float maximum = x_block[i];
            for (size_t a = 1; a < axis; a++) {
                const float v = x_block[a * inner + i];
                if (v > maximum) maximum = v;
            }
            float sum = 0.0f;
            for (size_t a = 0; a < axis; a++) {
                const float e = expf(x_block[a * inner + i] - maximum);
                y_block[a * inner + i] = e;
                sum += e;
            }
            const float scale = 1.0f / sum;
            for (size_t a = 0; a < axis; a++) y_block[a * inner + i] *= scale;
        }
    }
}
