/*
 * The reference SGEMM behind the workspace and pre-packed entry points: it needs no workspace and ignores
 * it; its "packed" B is a plain row-major copy of op(B).
 */
#include "enclava_kernels.h"

void enclava_f32_gemm_ws__ref(int trans_a, int trans_b, size_t m, size_t n, size_t k, float alpha,
                              const float *a, size_t lda, const float *b, size_t ldb, float beta,
                              float *c, size_t ldc, void *workspace, size_t workspace_bytes) {
    (void)workspace;
    (void)workspace_bytes;
    enclava_f32_gemm__ref(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

size_t enclava_f32_gemm_workspace__ref(size_t m, size_t n, size_t k) {
    (void)m;
    (void)n;
    (void)k;
    return 0;
}

/* The reference's "packed" B is op(B) itself, row-major k x n. */
size_t enclava_f32_gemm_packed_b_bytes__ref(size_t n, size_t k) { return n * k * sizeof(float); }

void enclava_f32_gemm_pack_b__ref(int trans_b, size_t n, size_t k, const float *b, size_t ldb, float *packed) {
    for (size_t p = 0; p < k; p++)
        for (size_t j = 0; j < n; j++) packed[p * n + j] = trans_b ? b[j * ldb + p] : b[p * ldb + j];
}

void enclava_f32_gemm_prepacked__ref(int trans_a, size_t m, size_t n, size_t k, float alpha, const float *a,
                                     size_t lda, const float *packed_b, size_t packed_n, size_t j0, float beta,
                                     float *c, size_t ldc, void *workspace, size_t workspace_bytes) {
    (void)workspace;
    (void)workspace_bytes;
    enclava_f32_gemm__ref(trans_a, 0, m, n, k, alpha, a, lda, packed_b ? packed_b + j0 : NULL, packed_n, beta, c, ldc);
}
