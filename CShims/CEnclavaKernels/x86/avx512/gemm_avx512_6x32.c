/*
 * enclava_f32_gemm__avx512_6x32: the packed, cache-blocked SGEMM (internal/gemm_blocked_impl.h) with an
 * AVX-512F micro-kernel of 6 rows x 32 columns (12 zmm accumulators, 2 B vectors, 1 A broadcast).
 * Blocks: KC 256 (a 32 KiB B micro-panel, L1 on AVX-512 parts with 48 KiB L1D), MC 144, NC 3072.
 * Selected only when CPUID reports AVX-512F and XCR0 says the OS saves opmask and ZMM state.
 */
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define GEMM_TARGET __attribute__((target("avx512f")))
#define GEMM_MR 6
#define GEMM_NV 2
#define GEMM_W 16
#define GEMM_KC 256
#define GEMM_MC 144
#define GEMM_NC 3072
#define GEMM_VF __m512
#define GEMM_VZERO() _mm512_setzero_ps()
#define GEMM_VSET1(f) _mm512_set1_ps(f)
#define GEMM_VLOAD(p) _mm512_load_ps(p)
#define GEMM_VLOADU(p) _mm512_loadu_ps(p)
#define GEMM_VSTOREU(p, v) _mm512_storeu_ps((p), (v))
#define GEMM_VBCAST(p) _mm512_set1_ps(*(p))
#define GEMM_VFMA(acc, a, b) _mm512_fmadd_ps((a), (b), (acc))
#define GEMM_VMUL(a, b) _mm512_mul_ps((a), (b))
#define GEMM_FN enclava_f32_gemm__avx512_6x32
#define GEMM_WS_FN enclava_f32_gemm_ws__avx512_6x32
#define GEMM_WS_BYTES_FN enclava_f32_gemm_workspace__avx512_6x32
#define GEMM_PACKED_B_BYTES_FN enclava_f32_gemm_packed_b_bytes__avx512_6x32
#define GEMM_PACK_B_FN enclava_f32_gemm_pack_b__avx512_6x32
#define GEMM_PREPACKED_FN enclava_f32_gemm_prepacked__avx512_6x32

#include "../../internal/gemm_blocked_impl.h"
#endif
