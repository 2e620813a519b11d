/*
 * The elementwise, softmax, layer-norm and reduction kernels, written once over a small vector vocabulary
 * and instantiated per ISA. Not a header of its own: an ISA file (x86/avx2/simd_avx2.c, ...) defines the
 * primitives below as `SIMD_TARGET static inline` functions, then includes this file.
 *
 *   SIMD_TARGET, SIMD_NAME(op) (-> enclava_f32_<op>__<isa>), VW (lanes), vf (floats), vi (int32s),
 *   vm (lane mask)
 *   v_set1 v_load v_store v_load_n v_store_n (first n < VW lanes only: masked, never touching memory past
 *   them) v_mask_n v_add v_sub v_mul v_div v_fma(a,b,c)=a*b+c v_fnma(a,b,c)=c-a*b v_max v_min v_abs
 *   v_copysign(mag, sign) v_lt v_le v_isnan v_mask_or v_mask_any v_select(m, if_true, if_false) v_round
 *   (to nearest even) v_to_int (of a rounded value) v_int_sub v_int_shr1 v_pow2i (2^n for n in
 *   [-126, 127]) v_hsum v_hmax
 *
 * ACCURACY against the references (libm through ref/; tests check these bounds, see enclava_kernels.h):
 * exp and erf are range-reduced polynomials with minimax-fitted coefficients (fitted for this file);
 * tanh and sigmoid are built on that exp.
 */
#include "enclava_kernels.h"

#include <math.h>
#include <stddef.h>

/* MARK: vector math */

/* e^x: x = n ln2 + r, |r| <= ln2 / 2, e^r by a degree-6 polynomial, 2^n applied in two halves so
 * subnormal results and overflow to +inf come out right. NaN in, NaN out. */
SIMD_TARGET static inline vf v_exp(vf x) {
    const vf clamped = v_min(v_max(x, v_set1(-104.0f)), v_set1(89.0f));
    const vf n = v_round(v_mul(clamped, v_set1(1.44269504088896341f)));
    vf r = v_fnma(n, v_set1(0.693145751953125f), clamped); /* ln2 split: high part exact in float */
    r = v_fnma(n, v_set1(1.42860682030941723212e-6f), r);
    vf q = v_set1(0.001394111f);
    q = v_fma(q, r, v_set1(0.008363175f));
    q = v_fma(q, r, v_set1(0.041666374f));
    q = v_fma(q, r, v_set1(0.16666576f));
    q = v_fma(q, r, v_set1(0.5f));
    const vf p = v_fma(v_mul(q, r), r, v_add(r, v_set1(1.0f)));
    const vi ni = v_to_int(n);
    const vi n1 = v_int_shr1(ni);
    const vi n2 = v_int_sub(ni, n1);
    const vf y = v_mul(v_mul(p, v_pow2i(n1)), v_pow2i(n2));
    return v_select(v_isnan(x), x, y);
}

/* e^x for x in [-87, 88] (no clamping, no NaN handling, 2^n in one step): the same reduction and
 * polynomial as v_exp, so the same results there, for arguments a caller has already bounded. */
SIMD_TARGET static inline vf v_exp_bounded(vf x) {
    const vf n = v_round(v_mul(x, v_set1(1.44269504088896341f)));
    vf r = v_fnma(n, v_set1(0.693145751953125f), x);
    r = v_fnma(n, v_set1(1.42860682030941723212e-6f), r);
    vf q = v_set1(0.001394111f);
    q = v_fma(q, r, v_set1(0.008363175f));
    q = v_fma(q, r, v_set1(0.041666374f));
    q = v_fma(q, r, v_set1(0.16666576f));
    q = v_fma(q, r, v_set1(0.5f));
    const vf p = v_fma(v_mul(q, r), r, v_add(r, v_set1(1.0f)));
    return v_mul(p, v_pow2i(v_to_int(n)));
}

/* erf: |x| < 0.9: x * P(x^2); else 1 - exp(Q(|x|)) with Q ~ log(erfc) on [0.9, 3.92] (erf rounds to 1
 * from 3.92 on, so |x| is clamped there; Q stays in [-17, 0.01], where v_exp_bounded is exact v_exp).
 * NaN is not handled here (a NaN lane may come out as a number): v_erf and v_gelu handle it. */
SIMD_TARGET static inline vf v_erf_finite(vf x) {
    const vf a = v_abs(x);
    const vf t = v_mul(a, a);
    vf ps = v_set1(8.5131025e-05f);
    ps = v_fma(ps, t, v_set1(-8.1756391e-04f));
    ps = v_fma(ps, t, v_set1(5.2038589e-03f));
    ps = v_fma(ps, t, v_set1(-2.6860509e-02f));
    ps = v_fma(ps, t, v_set1(1.1283715e-01f));
    ps = v_fma(ps, t, v_set1(-3.7612635e-01f));
    ps = v_fma(ps, t, v_set1(1.1283792e+00f));
    const vf small = v_mul(a, ps);
    const vf z = v_min(a, v_set1(3.92f));
    vf q = v_set1(1.628785414e-06f);
    q = v_fma(q, z, v_set1(-4.585800659e-05f));
    q = v_fma(q, z, v_set1(5.948219842e-04f));
    q = v_fma(q, z, v_set1(-4.748888369e-03f));
    q = v_fma(q, z, v_set1(2.638664219e-02f));
    q = v_fma(q, z, v_set1(-1.100121290e-01f));
    q = v_fma(q, z, v_set1(-6.319060045e-01f));
    q = v_fma(q, z, v_set1(-1.130182079e+00f));
    q = v_fma(q, z, v_set1(3.063505621e-04f));
    const vf large = v_sub(v_set1(1.0f), v_exp_bounded(q));
    return v_copysign(v_select(v_lt(a, v_set1(0.9f)), small, large), x);
}

SIMD_TARGET static inline vf v_erf(vf x) { return v_select(v_isnan(x), x, v_erf_finite(x)); }

/* tanh: |x| < 0.625: x + x^3 P(x^2); else 1 - 2 / (e^(2|x|) + 1) (|x| clamped at 9.5, where tanh is 1). */
SIMD_TARGET static inline vf v_tanh(vf x) {
    const vf a = v_abs(x);
    const vf t = v_mul(a, a);
    vf p = v_set1(-0.0060969475f);
    p = v_fma(p, t, v_set1(0.020997364f));
    p = v_fma(p, t, v_set1(-0.053850956f));
    p = v_fma(p, t, v_set1(0.13332771f));
    p = v_fma(p, t, v_set1(-0.33333328f));
    const vf small = v_fma(v_mul(p, t), a, a);
    const vf e = v_exp(v_add(v_min(a, v_set1(9.5f)), v_min(a, v_set1(9.5f))));
    const vf large = v_sub(v_set1(1.0f), v_div(v_set1(2.0f), v_add(e, v_set1(1.0f))));
    const vf y = v_copysign(v_select(v_lt(a, v_set1(0.625f)), small, large), x);
    return v_select(v_isnan(x), x, y);
}

/* sigmoid, as the reference: e = e^-|x|; x >= 0: 1 / (1 + e); x < 0: e / (1 + e). */
SIMD_TARGET static inline vf v_sigmoid(vf x) {
    const vf e = v_exp(v_sub(v_set1(0.0f), v_abs(x)));
    const vf r = v_div(v_set1(1.0f), v_add(v_set1(1.0f), e));
    const vf y = v_select(v_lt(x, v_set1(0.0f)), v_mul(e, r), r);
    return v_select(v_isnan(x), x, y);
}

/* A NaN x makes half_x NaN, so the result is NaN whatever erf gave: no NaN select needed. */
SIMD_TARGET static inline vf v_gelu(vf x) {
    const vf half_x = v_mul(x, v_set1(0.5f));
    return v_fma(half_x, v_erf_finite(v_mul(x, v_set1(0.70710678118654752f))), half_x);
}

/* relu with NaN kept, -0 -> +0, as the reference. */
SIMD_TARGET static inline vf v_relu(vf x) { return v_select(v_le(x, v_set1(0.0f)), v_set1(0.0f), x); }

/* MARK: unary */

#define SIMD_UNARY(op_name, vector_fn)                                                  \
    SIMD_TARGET void SIMD_NAME(op_name)(size_t n, const float *x, float *y) {           \
        size_t i = 0;                                                                   \
        for (; i + VW <= n; i += VW) v_store(y + i, vector_fn(v_load(x + i)));          \
        if (i < n) v_store_n(y + i, vector_fn(v_load_n(x + i, n - i)), n - i);          \
    }

SIMD_UNARY(relu, v_relu)
SIMD_UNARY(sigmoid, v_sigmoid)
SIMD_UNARY(exp, v_exp)
SIMD_UNARY(tanh, v_tanh)
SIMD_UNARY(erf, v_erf)
SIMD_UNARY(gelu, v_gelu)

/* MARK: binary with broadcast (increments 1/1, 0/1, 1/0 vectorised; any other stride is scalar) */

#define SIMD_BINARY(op_name, vector_op, scalar_expression)                                              \
    SIMD_TARGET void SIMD_NAME(op_name)(size_t n, const float *a, size_t inc_a, const float *b,          \
                                        size_t inc_b, float *y) {                                        \
        size_t i = 0;                                                                                    \
        if (inc_a == 1 && inc_b == 1) {                                                                  \
            for (; i + VW <= n; i += VW) v_store(y + i, vector_op(v_load(a + i), v_load(b + i)));        \
            if (i < n) v_store_n(y + i, vector_op(v_load_n(a + i, n - i), v_load_n(b + i, n - i)), n - i); \
            return;                                                                                      \
        }                                                                                                \
        if (inc_a == 0 && inc_b == 1) {                                                                  \
            const vf va = v_set1(a[0]);                                                                  \
            for (; i + VW <= n; i += VW) v_store(y + i, vector_op(va, v_load(b + i)));                   \
            if (i < n) v_store_n(y + i, vector_op(va, v_load_n(b + i, n - i)), n - i);                   \
            return;                                                                                      \
        }                                                                                                \
        if (inc_a == 1 && inc_b == 0) {                                                                  \
            const vf vb = v_set1(b[0]);                                                                  \
            for (; i + VW <= n; i += VW) v_store(y + i, vector_op(v_load(a + i), vb));                   \
            if (i < n) v_store_n(y + i, vector_op(v_load_n(a + i, n - i), vb), n - i);                   \
            return;                                                                                      \
        }                                                                                                \
        for (; i < n; i++) {                                                                             \
            const float x0 = a[i * inc_a];                                                               \
            const float x1 = b[i * inc_b];                                                               \
            y[i] = (scalar_expression);                                                                  \
        }                                                                                                \
    }

SIMD_BINARY(add, v_add, x0 + x1)
SIMD_BINARY(sub, v_sub, x0 - x1)
SIMD_BINARY(mul, v_mul, x0 * x1)
SIMD_BINARY(div, v_div, x0 / x1)

SIMD_TARGET void SIMD_NAME(copy)(size_t n, const float *x, size_t inc_x, float *y) {
    size_t i = 0;
    if (inc_x == 1) {
        for (; i + VW <= n; i += VW) v_store(y + i, v_load(x + i));
        if (i < n) v_store_n(y + i, v_load_n(x + i, n - i), n - i);
    } else if (inc_x == 0) {
        const vf v = v_set1(x[0]);
        for (; i + VW <= n; i += VW) v_store(y + i, v);
        if (i < n) v_store_n(y + i, v, n - i);
    } else {
        for (; i < n; i++) y[i] = x[i * inc_x];
    }
}

/* MARK: rows (last axis) */

SIMD_TARGET static inline float simd_row_sum(size_t n, const float *x) {
    vf s0 = v_set1(0.0f), s1 = v_set1(0.0f);
    size_t j = 0;
    for (; j + 2 * VW <= n; j += 2 * VW) {
        s0 = v_add(s0, v_load(x + j));
        s1 = v_add(s1, v_load(x + j + VW));
    }
    for (; j + VW <= n; j += VW) s0 = v_add(s0, v_load(x + j));
    if (j < n) s1 = v_add(s1, v_load_n(x + j, n - j));
    return v_hsum(v_add(s0, s1));
}

/* Maximum of a row; any NaN makes it NaN (as the reference). n >= 1. */
SIMD_TARGET static inline float simd_row_max(size_t n, const float *x) {
    vf m = v_set1(-INFINITY);
    vm nan = v_isnan(m);
    size_t j = 0;
    for (; j + VW <= n; j += VW) {
        const vf v = v_load(x + j);
        nan = v_mask_or(nan, v_isnan(v));
        m = v_max(m, v);
    }
    if (j < n) {
        const vf v = v_select(v_mask_n(n - j), v_load_n(x + j, n - j), v_set1(-INFINITY));
        nan = v_mask_or(nan, v_isnan(v));
        m = v_max(m, v);
    }
    return v_mask_any(nan) ? NAN : v_hmax(m);
}

SIMD_TARGET void SIMD_NAME(reduce_sum)(size_t rows, size_t cols, const float *x, float *y) {
    for (size_t r = 0; r < rows; r++) y[r] = simd_row_sum(cols, x + r * cols);
}

SIMD_TARGET void SIMD_NAME(reduce_mean)(size_t rows, size_t cols, const float *x, float *y) {
    for (size_t r = 0; r < rows; r++) y[r] = simd_row_sum(cols, x + r * cols) / (float)cols;
}

SIMD_TARGET void SIMD_NAME(reduce_max)(size_t rows, size_t cols, const float *x, float *y) {
    if (cols == 0) return;
    for (size_t r = 0; r < rows; r++) y[r] = simd_row_max(cols, x + r * cols);
}

SIMD_TARGET void SIMD_NAME(layernorm)(size_t rows, size_t cols, const float *x, const float *gamma,
                                      const float *beta, float epsilon, float *y) {
    if (cols == 0) return;
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * cols;
        float *yr = y + r * cols;
        const float mean = simd_row_sum(cols, xr) / (float)cols;
        const vf vmean = v_set1(mean);
        vf s0 = v_set1(0.0f), s1 = v_set1(0.0f);
        size_t j = 0;
        for (; j + VW <= cols; j += VW) {
            const vf d = v_sub(v_load(xr + j), vmean);
            s0 = v_fma(d, d, s0);
        }
        if (j < cols) {
            const vf d = v_select(v_mask_n(cols - j), v_sub(v_load_n(xr + j, cols - j), vmean), v_set1(0.0f));
            s1 = v_fma(d, d, s1);
        }
        const float inv_std = 1.0f / sqrtf(v_hsum(v_add(s0, s1)) / (float)cols + epsilon);
        const vf vinv = v_set1(inv_std);
        for (j = 0; j + VW <= cols; j += VW) {
            const vf normalized = v_mul(v_sub(v_load(xr + j), vmean), vinv);
            const vf shift = beta ? v_load(beta + j) : v_set1(0.0f);
            v_store(yr + j, v_fma(normalized, v_load(gamma + j), shift));
        }
        if (j < cols) {
            const size_t rest = cols - j;
            const vf normalized = v_mul(v_sub(v_load_n(xr + j, rest), vmean), vinv);
            const vf shift = beta ? v_load_n(beta + j, rest) : v_set1(0.0f);
            v_store_n(yr + j, v_fma(normalized, v_load_n(gamma + j, rest), shift), rest);
        }
    }
}

/* MARK: softmax over the middle axis of [outer, axis, inner] */

SIMD_TARGET static void simd_softmax_row(size_t n, const float *x, float *y) {
    const vf vmax = v_set1(simd_row_max(n, x));
    vf s0 = v_set1(0.0f), s1 = v_set1(0.0f);
    size_t j = 0;
    for (; j + VW <= n; j += VW) {
        const vf e = v_exp(v_sub(v_load(x + j), vmax));
        v_store(y + j, e);
        s0 = v_add(s0, e);
    }
    if (j < n) {
        const vf e = v_select(v_mask_n(n - j), v_exp(v_sub(v_load_n(x + j, n - j), vmax)), v_set1(0.0f));
        v_store_n(y + j, e, n - j);
        s1 = v_add(s1, e);
    }
    const vf scale = v_set1(1.0f / v_hsum(v_add(s0, s1)));
    for (j = 0; j + VW <= n; j += VW) v_store(y + j, v_mul(v_load(y + j), scale));
    if (j < n) v_store_n(y + j, v_mul(v_load_n(y + j, n - j), scale), n - j);
}

/* Softmax down `axis` for `w` <= VW neighbouring columns at once (stride `inner`). */
SIMD_TARGET static void simd_softmax_columns(size_t axis, size_t inner, size_t w, const float *x, float *y) {
    vf m = v_load_n(x, w);
    for (size_t a = 1; a < axis; a++) m = v_max(m, v_load_n(x + a * inner, w));
    vf s = v_set1(0.0f);
    for (size_t a = 0; a < axis; a++) {
        const vf e = v_exp(v_sub(v_load_n(x + a * inner, w), m));
        v_store_n(y + a * inner, e, w);
        s = v_add(s, e);
    }
    const vf scale = v_div(v_set1(1.0f), s);
    for (size_t a = 0; a < axis; a++) v_store_n(y + a * inner, v_mul(v_load_n(y + a * inner, w), scale), w);
}

SIMD_TARGET void SIMD_NAME(softmax)(size_t outer, size_t axis, size_t inner, const float *x, float *y) {
    if (axis == 0) return;
    for (size_t o = 0; o < outer; o++) {
        const float *xb = x + o * axis * inner;
        float *yb = y + o * axis * inner;
        if (inner == 1) {
            simd_softmax_row(axis, xb, yb);
            continue;
        }
        for (size_t i = 0; i < inner; i += VW) {
            const size_t w = inner - i < VW ? inner - i : VW;
            simd_softmax_columns(axis, inner, w, xb + i, yb + i);
        }
    }
}
