/*
 * AVX-512F instantiation of internal/simd_kernels_impl.h: enclava_f32_*__avx512. 16 lanes; tails use
 * zero-masked loads and masked stores (masked-off lanes are neither read nor faulted on). Selected only
 * when CPUID reports AVX-512F and XCR0 says the OS saves opmask and ZMM state.
 */
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#include <stddef.h>

#define SIMD_TARGET __attribute__((target("avx512f")))
#define SIMD_NAME(op) enclava_f32_##op##__avx512
#define VW 16
typedef __m512 vf;
typedef __m512i vi;
typedef __mmask16 vm;

SIMD_TARGET static inline vf v_set1(float f) { return _mm512_set1_ps(f); }
SIMD_TARGET static inline vf v_load(const float *p) { return _mm512_loadu_ps(p); }
SIMD_TARGET static inline void v_store(float *p, vf v) { _mm512_storeu_ps(p, v); }
SIMD_TARGET static inline vm v_mask_n(size_t n) { return (vm)((1u << n) - 1u); }
SIMD_TARGET static inline vf v_load_n(const float *p, size_t n) { return _mm512_maskz_loadu_ps(v_mask_n(n), p); }
SIMD_TARGET static inline void v_store_n(float *p, vf v, size_t n) { _mm512_mask_storeu_ps(p, v_mask_n(n), v); }
SIMD_TARGET static inline vf v_add(vf a, vf b) { return _mm512_add_ps(a, b); }
SIMD_TARGET static inline vf v_sub(vf a, vf b) { return _mm512_sub_ps(a, b); }
SIMD_TARGET static inline vf v_mul(vf a, vf b) { return _mm512_mul_ps(a, b); }
SIMD_TARGET static inline vf v_div(vf a, vf b) { return _mm512_div_ps(a, b); }
SIMD_TARGET static inline vf v_fma(vf a, vf b, vf c) { return _mm512_fmadd_ps(a, b, c); }
SIMD_TARGET static inline vf v_fnma(vf a, vf b, vf c) { return _mm512_fnmadd_ps(a, b, c); }
SIMD_TARGET static inline vf v_max(vf a, vf b) { return _mm512_max_ps(a, b); }
SIMD_TARGET static inline vf v_min(vf a, vf b) { return _mm512_min_ps(a, b); }
SIMD_TARGET static inline vf v_abs(vf a) { return _mm512_abs_ps(a); }
SIMD_TARGET static inline vf v_copysign(vf mag, vf sign) {
    const __m512i s = _mm512_set1_epi32((int)0x80000000u);
    return _mm512_castsi512_ps(_mm512_or_si512(_mm512_andnot_si512(s, _mm512_castps_si512(mag)),
                                               _mm512_and_si512(s, _mm512_castps_si512(sign))));
}
SIMD_TARGET static inline vm v_lt(vf a, vf b) { return _mm512_cmp_ps_mask(a, b, _CMP_LT_OQ); }
SIMD_TARGET static inline vm v_le(vf a, vf b) { return _mm512_cmp_ps_mask(a, b, _CMP_LE_OQ); }
SIMD_TARGET static inline vm v_isnan(vf a) { return _mm512_cmp_ps_mask(a, a, _CMP_UNORD_Q); }
SIMD_TARGET static inline vm v_mask_or(vm a, vm b) { return (vm)(a | b); }
SIMD_TARGET static inline int v_mask_any(vm a) { return a != 0; }
SIMD_TARGET static inline vf v_select(vm m, vf t, vf f) { return _mm512_mask_blend_ps(m, f, t); }
SIMD_TARGET static inline vf v_round(vf a) { return _mm512_roundscale_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
SIMD_TARGET static inline vi v_to_int(vf a) { return _mm512_cvtps_epi32(a); }
SIMD_TARGET static inline vi v_int_sub(vi a, vi b) { return _mm512_sub_epi32(a, b); }
SIMD_TARGET static inline vi v_int_shr1(vi a) { return _mm512_srai_epi32(a, 1); }
SIMD_TARGET static inline vf v_pow2i(vi n) {
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(n, _mm512_set1_epi32(127)), 23));
}
SIMD_TARGET static inline float v_hsum(vf v) { return _mm512_reduce_add_ps(v); }
SIMD_TARGET static inline float v_hmax(vf v) { return _mm512_reduce_max_ps(v); }

#include "../../internal/simd_kernels_impl.h"
#endif
