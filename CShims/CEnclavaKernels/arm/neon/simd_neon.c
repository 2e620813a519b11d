/*
 * AArch64 Advanced SIMD instantiation of internal/simd_kernels_impl.h: enclava_f32_*__neon. 4 lanes; NEON
 * has no masked loads, so tails go through a 4-float stack buffer filled and drained element by element.
 */
#if defined(__aarch64__)
#include <arm_neon.h>
#include <stddef.h>

#define SIMD_TARGET
#define SIMD_NAME(op) enclava_f32_##op##__neon
#define VW 4
typedef float32x4_t vf;
typedef int32x4_t vi;
typedef uint32x4_t vm;

static inline vf v_set1(float f) { return vdupq_n_f32(f); }
static inline vf v_load(const float *p) { return vld1q_f32(p); }
static inline void v_store(float *p, vf v) { vst1q_f32(p, v); }
static inline vm v_mask_n(size_t n) {
    static const uint32_t lanes[4] = { 0, 1, 2, 3 };
    return vcltq_u32(vld1q_u32(lanes), vdupq_n_u32((uint32_t)n));
}
static inline vf v_load_n(const float *p, size_t n) {
    float tmp[4] = { 0.0f, 0.0f, 0.0f, 0.0f };
    for (size_t i = 0; i < n; i++) tmp[i] = p[i];
    return vld1q_f32(tmp);
}
static inline void v_store_n(float *p, vf v, size_t n) {
    float tmp[4];
    vst1q_f32(tmp, v);
    for (size_t i = 0; i < n; i++) p[i] = tmp[i];
}
static inline vf v_add(vf a, vf b) { return vaddq_f32(a, b); }
static inline vf v_sub(vf a, vf b) { return vsubq_f32(a, b); }
static inline vf v_mul(vf a, vf b) { return vmulq_f32(a, b); }
static inline vf v_div(vf a, vf b) { return vdivq_f32(a, b); }
static inline vf v_fma(vf a, vf b, vf c) { return vfmaq_f32(c, a, b); }
static inline vf v_fnma(vf a, vf b, vf c) { return vfmsq_f32(c, a, b); }
static inline vf v_max(vf a, vf b) { return vmaxq_f32(a, b); }
static inline vf v_min(vf a, vf b) { return vminq_f32(a, b); }
static inline vf v_abs(vf a) { return vabsq_f32(a); }
static inline vf v_copysign(vf mag, vf sign) { return vbslq_f32(vdupq_n_u32(0x80000000u), sign, mag); }
static inline vm v_lt(vf a, vf b) { return vcltq_f32(a, b); }
static inline vm v_le(vf a, vf b) { return vcleq_f32(a, b); }
static inline vm v_isnan(vf a) { return vmvnq_u32(vceqq_f32(a, a)); }
static inline vm v_mask_or(vm a, vm b) { return vorrq_u32(a, b); }
static inline int v_mask_any(vm a) { return vmaxvq_u32(a) != 0; }
static inline vf v_select(vm m, vf t, vf f) { return vbslq_f32(m, t, f); }
static inline vf v_round(vf a) { return vrndnq_f32(a); }
static inline vi v_to_int(vf a) { return vcvtnq_s32_f32(a); }
static inline vi v_int_sub(vi a, vi b) { return vsubq_s32(a, b); }
static inline vi v_int_shr1(vi a) { return vshrq_n_s32(a, 1); }
static inline vf v_pow2i(vi n) { return vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(n, vdupq_n_s32(127)), 23)); }
static inline float v_hsum(vf v) { return vaddvq_f32(v); }
static inline float v_hmax(vf v) { return vmaxvq_f32(v); }

#include "../../internal/simd_kernels_impl.h"
#endif
