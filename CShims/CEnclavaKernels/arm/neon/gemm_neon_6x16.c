/*
 * enclava_f32_gemm__neon_6x16: the packed, cache-blocked SGEMM (internal/gemm_blocked_impl.h) with an
 * AArch64 Advanced SIMD micro-kernel of 6 rows x 16 columns (24 q-register accumulators, 4 B vectors,
 * 1 A broadcast: 29 of the 32 vector registers). Blocks: KC 256, MC 144, NC 3072.
 */
#if defined(__aarch64__)
#include <arm_neon.h>

#define GEMM_TARGET
#define GEMM_MR 6
#define GEMM_NV 4
#define GEMM_W 4
#define GEMM_KC 256
#define GEMM_MC 144
#define GEMM_NC 3072
#define GEMM_VF float32x4_t
#define GEMM_VZERO() vdupq_n_f32(0.0f)
#define GEMM_VSET1(f) vdupq_n_f32(f)
#define GEMM_VLOAD(p) vld1q_f32(p)
#define GEMM_VLOADU(p) vld1q_f32(p)
#define GEMM_VSTOREU(p, v) vst1q_f32((p), (v))
#define GEMM_VBCAST(p) vld1q_dup_f32(p)
#define GEMM_VFMA(acc, a, b) vfmaq_f32((acc), (a), (b))
#define GEMM_VMUL(a, b) vmulq_f32((a), (b))
#define GEMM_FN enclava_f32_gemm__neon_6x16
#define GEMM_WS_FN enclava_f32_gemm_ws__neon_6x16
#define GEMM_WS_BYTES_FN enclava_f32_gemm_workspace__neon_6x16
#define GEMM_PACKED_B_BYTES_FN enclava_f32_gemm_packed_b_bytes__neon_6x16
#define GEMM_PACK_B_FN enclava_f32_gemm_pack_b__neon_6x16
#define GEMM_PREPACKED_FN enclava_f32_gemm_prepacked__neon_6x16

#include "../../internal/gemm_blocked_impl.h"
#endif
