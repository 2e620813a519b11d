/*
 * enclava_f32_gemm__avx2_6x16: the packed, cache-blocked SGEMM (internal/gemm_blocked_impl.h) with an
 * AVX2 + FMA micro-kernel of 6 rows x 16 columns (12 ymm accumulators, 2 B vectors, 1 A broadcast).
 * Blocks: KC 256 (a 16 KiB B micro-panel stays in L1), MC 144 (A block 144 KiB in L2), NC 3072.
 */
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define GEMM_TARGET __attribute__((target("avx2,fma")))
#define GEMM_MR 6
#define GEMM_NV 2
#define GEMM_W 8
#define GEMM_KC 256
#define GEMM_MC 144
#define GEMM_NC 3072
#define GEMM_VF __m256
#define GEMM_VZERO() _mm256_setzero_ps()
#define GEMM_VSET1(f) _mm256_set1_ps(f)
#define GEMM_VLOAD(p) _mm256_load_ps(p)
#define GEMM_VLOADU(p) _mm256_loadu_ps(p)
#define GEMM_VSTOREU(p, v) _mm256_storeu_ps((p), (v))
#define GEMM_VBCAST(p) _mm256_broadcast_ss(p)
#define GEMM_VFMA(acc, a, b) _mm256_fmadd_ps((a), (b), (acc))
#define GEMM_VMUL(a, b) _mm256_mul_ps((a), (b))
#define GEMM_FN enclava_f32_gemm__avx2_6x16
#define GEMM_WS_FN enclava_f32_gemm_ws__avx2_6x16
#define GEMM_WS_BYTES_FN enclava_f32_gemm_workspace__avx2_6x16
#define GEMM_PACKED_B_BYTES_FN enclava_f32_gemm_packed_b_bytes__avx2_6x16
#define GEMM_PACK_B_FN enclava_f32_gemm_pack_b__avx2_6x16
#define GEMM_PREPACKED_FN enclava_f32_gemm_prepacked__avx2_6x16

#include "../../internal/gemm_blocked_impl.h"
#endif
