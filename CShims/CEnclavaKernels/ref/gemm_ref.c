/*
 * Scalar reference SGEMM (always built). Row-major; see enclava_kernels.h for the contract.
 * Loop order i-p-j keeps the inner loop on contiguous rows of B and C when B is not transposed.
 */
#include "enclava_kernels.h"

void enclava_f32_gemm__ref(int trans_a, int trans_b, size_t m, size_t n, size_t k, float alpha,
                           const float *a, size_t lda, const float *b, size_t ldb, float beta,
                           float *c, size_t ldc) {
    for (size_t i = 0; i < m; i++) {
        float *c_row = c + i * ldc;
        if (beta == 0.0f) {
            for (size_t j = 0; j < n; j++) c_row[j] = 0.0f;
        } else if (beta != 1.0f) {
            for (size_t j = 0; j < n; j++) c_row[j] *= beta;
        }
        for (size_t p = 0; p < k; p++) {
            const float a_ip = alpha * (trans_a ? a[p * lda + i] : a[i * lda + p]);
            if (trans_b) {
                for (size_t j = 0; j < n; j++) c_row[j] += a_ip * b[j * ldb + p];
            } else {
                const float *b_row = b + p * ldb;
                for (size_t j = 0; j < n; j++) c_row[j] += a_ip * b_row[j];
            }
        }
    }
}
