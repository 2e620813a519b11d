/*
 * AVX2 + FMA instantiation of internal/simd_kernels_impl.h: enclava_f32_{add,sub,mul,div,relu,sigmoid,exp,
 * tanh,erf,gelu,copy,softmax,layernorm,reduce_sum,reduce_mean,reduce_max}__avx2. 8 lanes; tails use
 * VMASKMOVPS, which neither reads nor faults on masked-off lanes.
 */
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#include <stddef.h>

#define SIMD_TARGET __attribute__((target("avx2,fma")))
#define SIMD_NAME(op) enclava_f32_##op##__avx2
#define VW 8
typedef __m256 vf;
typedef __m256i vi;
typedef __m256 vm;

SIMD_TARGET static inline vf v_set1(float f) { return _mm256_set1_ps(f); }
SIMD_TARGET static inline vf v_load(const float *p) { return _mm256_loadu_ps(p); }
SIMD_TARGET static inline void v_store(float *p, vf v) { _mm256_storeu_ps(p, v); }
SIMD_TARGET static inline vm v_mask_n(size_t n) {
    return _mm256_castsi256_ps(_mm256_cmpgt_epi32(_mm256_set1_epi32((int)n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)));
}
SIMD_TARGET static inline vf v_load_n(const float *p, size_t n) { return _mm256_maskload_ps(p, _mm256_castps_si256(v_mask_n(n))); }
SIMD_TARGET static inline void v_store_n(float *p, vf v, size_t n) { _mm256_maskstore_ps(p, _mm256_castps_si256(v_mask_n(n)), v); }
SIMD_TARGET static inline vf v_add(vf a, vf b) { return _mm256_add_ps(a, b); }
SIMD_TARGET static inline vf v_sub(vf a, vf b) { return _mm256_sub_ps(a, b); }
SIMD_TARGET static inline vf v_mul(vf a, vf b) { return _mm256_mul_ps(a, b); }
SIMD_TARGET static inline vf v_div(vf a, vf b) { return _mm256_div_ps(a, b); }
SIMD_TARGET static inline vf v_fma(vf a, vf b, vf c) { return _mm256_fmadd_ps(a, b, c); }
SIMD_TARGET static inline vf v_fnma(vf a, vf b, vf c) { return _mm256_fnmadd_ps(a, b, c); }
SIMD_TARGET static inline vf v_max(vf a, vf b) { return _mm256_max_ps(a, b); }
SIMD_TARGET static inline vf v_min(vf a, vf b) { return _mm256_min_ps(a, b); }
SIMD_TARGET static inline vf v_abs(vf a) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), a); }
SIMD_TARGET static inline vf v_copysign(vf mag, vf sign) {
    const vf s = _mm256_set1_ps(-0.0f);
    return _mm256_or_ps(_mm256_andnot_ps(s, mag), _mm256_and_ps(s, sign));
}
SIMD_TARGET static inline vm v_lt(vf a, vf b) { return _mm256_cmp_ps(a, b, _CMP_LT_OQ); }
SIMD_TARGET static inline vm v_le(vf a, vf b) { return _mm256_cmp_ps(a, b, _CMP_LE_OQ); }
SIMD_TARGET static inline vm v_isnan(vf a) { return _mm256_cmp_ps(a, a, _CMP_UNORD_Q); }
SIMD_TARGET static inline vm v_mask_or(vm a, vm b) { return _mm256_or_ps(a, b); }
SIMD_TARGET static inline int v_mask_any(vm a) { return _mm256_movemask_ps(a) != 0; }
SIMD_TARGET static inline vf v_select(vm m, vf t, vf f) { return _mm256_blendv_ps(f, t, m); }
SIMD_TARGET static inline vf v_round(vf a) { return _mm256_round_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
SIMD_TARGET static inline vi v_to_int(vf a) { return _mm256_cvtps_epi32(a); }
SIMD_TARGET static inline vi v_int_sub(vi a, vi b) { return _mm256_sub_epi32(a, b); }
SIMD_TARGET static inline vi v_int_shr1(vi a) { return _mm256_srai_epi32(a, 1); }
SIMD_TARGET static inline vf v_pow2i(vi n) {
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n, _mm256_set1_epi32(127)), 23));
}
SIMD_TARGET static inline float v_hsum(vf v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}
SIMD_TARGET static inline float v_hmax(vf v) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}

#include "../../internal/simd_kernels_impl.h"
#endif
