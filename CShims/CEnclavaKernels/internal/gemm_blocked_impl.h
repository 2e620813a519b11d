/*
 * Packed, cache-blocked SGEMM in the BLIS / GotoBLAS structure, written once and instantiated per ISA.
 * A template, not a header of its own (no include guard, by design): an ISA file (x86/avx2/gemm_avx2_6x16.c, ...) defines the macros below, then
 * includes this file, so every function here is compiled with that ISA's target attribute.
 *
 *   GEMM_TARGET                 function attribute, e.g. __attribute__((target("avx2,fma")))
 *   GEMM_MR, GEMM_NV, GEMM_W    micro-tile: MR rows x (NV vectors of W floats) columns; NR = NV * W
 *   GEMM_KC, GEMM_MC, GEMM_NC   block sizes (KC: L1-resident B micro-panel depth, MC: A block in L2,
 *                               NC: B block in L3)
 *   GEMM_VF                     vector type; GEMM_VZERO(), GEMM_VSET1(f), GEMM_VLOAD(p) (aligned),
 *                               GEMM_VLOADU(p), GEMM_VSTOREU(p, v), GEMM_VBCAST(p) (broadcast *p),
 *                               GEMM_VFMA(acc, a, b) (acc + a * b), GEMM_VMUL(a, b)
 *   GEMM_FN, GEMM_WS_FN, GEMM_WS_BYTES_FN   the plain, workspace and workspace-query entries
 *   GEMM_PACKED_B_BYTES_FN, GEMM_PACK_B_FN, GEMM_PREPACKED_FN   the pre-packed-B entries
 *
 * Loops (BLIS names): jc over NC columns of C; pc over KC of the depth; ic over MC rows (pack A: MC x KC);
 * jr over NR (the first ic block packs B's KC x NR micro-panel here, later blocks reuse it); ir over MR ->
 * micro-kernel. Packed panels are zero-padded to whole micro
 * tiles, so the micro-kernel always runs full MR x NR from registers; only the write-back to C is cut to
 * the real tile, through a scalar loop, so nothing outside A, B or C's extents is read or written.
 */
#include "enclava_kernels.h"

#include <stdint.h>
#include <string.h>

#define GEMM_NR (GEMM_NV * GEMM_W)
_Static_assert(GEMM_MR > 4, "gemm_micro_kernel picks 4-, 2- and 1-row kernels below MR");
#ifndef GEMM_B_GROUP
#define GEMM_B_GROUP 4 /* micro-panels of B packed together on first use */
#endif

/*
 * C tile (mr x nr) = alpha * acc + beta * C; beta == 0 never reads C. `rows` (a constant after inlining,
 * mr <= rows <= MR) is how many rows of the packed A panel (stride MR) the k loop multiplies, so a short
 * last panel (e.g. the 2 rows left of M = 128) does not pay for all MR.
 */
GEMM_TARGET __attribute__((always_inline)) static inline void gemm_micro_kernel_rows(
    size_t kc, const float *restrict a, const float *restrict b, float *restrict c, size_t ldc, float alpha,
    float beta, size_t mr, size_t nr, const int rows) {
    /* Start pulling the C tile towards L1 now; it is needed only after the k loop. */
    for (size_t r = 0; r < mr; r++) {
        __builtin_prefetch(c + r * ldc, 1, 3);
        __builtin_prefetch(c + r * ldc + nr - 1, 1, 3);
    }
    GEMM_VF acc[GEMM_MR][GEMM_NV];
    for (int r = 0; r < rows; r++)
        for (int v = 0; v < GEMM_NV; v++) acc[r][v] = GEMM_VZERO();
    for (size_t p = 0; p < kc; p++) {
        GEMM_VF bv[GEMM_NV];
        for (int v = 0; v < GEMM_NV; v++) bv[v] = GEMM_VLOAD(b + v * GEMM_W);
        for (int r = 0; r < rows; r++) {
            const GEMM_VF av = GEMM_VBCAST(a + r);
            for (int v = 0; v < GEMM_NV; v++) acc[r][v] = GEMM_VFMA(acc[r][v], av, bv[v]);
        }
        a += GEMM_MR;
        b += GEMM_NR;
    }
    const GEMM_VF alpha_v = GEMM_VSET1(alpha);
    if (mr == (size_t)rows && nr == GEMM_NR) {
        if (beta == 0.0f) {
            for (int r = 0; r < rows; r++)
                for (int v = 0; v < GEMM_NV; v++) GEMM_VSTOREU(c + r * ldc + v * GEMM_W, GEMM_VMUL(acc[r][v], alpha_v));
        } else {
            const GEMM_VF beta_v = GEMM_VSET1(beta);
            for (int r = 0; r < rows; r++)
                for (int v = 0; v < GEMM_NV; v++) {
                    float *cp = c + r * ldc + v * GEMM_W;
                    GEMM_VSTOREU(cp, GEMM_VFMA(GEMM_VMUL(acc[r][v], alpha_v), beta_v, GEMM_VLOADU(cp)));
                }
        }
        return;
    }
    /* Edge tile: spill the accumulators and copy only the mr x nr window. */
    float tile[GEMM_MR * GEMM_NR] __attribute__((aligned(64)));
    for (int r = 0; r < rows; r++)
        for (int v = 0; v < GEMM_NV; v++) GEMM_VSTOREU(tile + r * GEMM_NR + v * GEMM_W, GEMM_VMUL(acc[r][v], alpha_v));
    for (size_t r = 0; r < mr; r++) {
        float *cr = c + r * ldc;
        const float *tr = tile + r * GEMM_NR;
        if (beta == 0.0f) {
            for (size_t j = 0; j < nr; j++) cr[j] = tr[j];
        } else {
            for (size_t j = 0; j < nr; j++) cr[j] = tr[j] + beta * cr[j];
        }
    }
}

GEMM_TARGET static void gemm_micro_kernel(size_t kc, const float *restrict a, const float *restrict b,
                                          float *restrict c, size_t ldc, float alpha, float beta, size_t mr,
                                          size_t nr) {
    if (mr > 4) {
        gemm_micro_kernel_rows(kc, a, b, c, ldc, alpha, beta, mr, nr, GEMM_MR);
    } else if (mr > 2) {
        gemm_micro_kernel_rows(kc, a, b, c, ldc, alpha, beta, mr, nr, 4);
    } else if (mr > 1) {
        gemm_micro_kernel_rows(kc, a, b, c, ldc, alpha, beta, mr, nr, 2);
    } else {
        gemm_micro_kernel_rows(kc, a, b, c, ldc, alpha, beta, mr, nr, 1);
    }
}

/* Packs op(A)[i0 .. i0+mc, p0 .. p0+kc] into MR-row micro-panels, k-major, zero-padded to MR rows. */
GEMM_TARGET static void gemm_pack_a(int trans_a, const float *a, size_t lda, size_t i0, size_t p0, size_t mc,
                                    size_t kc, float *restrict dst) {
    for (size_t ir = 0; ir < mc; ir += GEMM_MR) {
        const size_t rows = mc - ir < GEMM_MR ? mc - ir : GEMM_MR;
        float *panel = dst + ir * kc;
        if (trans_a) { /* op(A)(i, p) = a[p * lda + i]: each p reads `rows` contiguous floats */
            for (size_t p = 0; p < kc; p++) {
                const float *src = a + (p0 + p) * lda + i0 + ir;
                float *out = panel + p * GEMM_MR;
                if (rows == GEMM_MR) {
                    for (int r = 0; r < GEMM_MR; r++) out[r] = src[r];
                } else {
                    for (size_t r = 0; r < GEMM_MR; r++) out[r] = r < rows ? src[r] : 0.0f;
                }
            }
        } else { /* op(A)(i, p) = a[i * lda + p]: MR row streams */
            if (rows == GEMM_MR) {
                const float *src = a + (i0 + ir) * lda + p0;
                for (size_t p = 0; p < kc; p++)
                    for (int r = 0; r < GEMM_MR; r++) panel[p * GEMM_MR + r] = src[r * lda + p];
            } else {
                for (size_t r = 0; r < GEMM_MR; r++) {
                    const float *src = a + (i0 + ir + r) * lda + p0;
                    for (size_t p = 0; p < kc; p++) panel[p * GEMM_MR + r] = r < rows ? src[p] : 0.0f;
                }
            }
        }
    }
}

/* Packs op(B)[p0 .. p0+kc, j0 .. j0+nc] into NR-column micro-panels, k-major, zero-padded to NR columns. */
GEMM_TARGET static void gemm_pack_b(int trans_b, const float *b, size_t ldb, size_t p0, size_t j0, size_t kc,
                                    size_t nc, float *restrict dst) {
    if (!trans_b) { /* op(B)(p, j) = b[p * ldb + j]: walk each row once, left to right, across the panels */
        const size_t full = nc / GEMM_NR * GEMM_NR;
        for (size_t p = 0; p < kc; p++) {
            const float *src = b + (p0 + p) * ldb + j0;
            for (size_t jr = 0; jr < full; jr += GEMM_NR)
                for (int v = 0; v < GEMM_NV; v++)
                    GEMM_VSTOREU(dst + jr * kc + p * GEMM_NR + v * GEMM_W, GEMM_VLOADU(src + jr + v * GEMM_W));
            if (full < nc) {
                float *out = dst + full * kc + p * GEMM_NR;
                for (size_t j = 0; j < GEMM_NR; j++) out[j] = full + j < nc ? src[full + j] : 0.0f;
            }
        }
        return;
    }
    for (size_t jr = 0; jr < nc; jr += GEMM_NR) { /* op(B)(p, j) = b[j * ldb + p]: each column's run along p */
        const size_t cols = nc - jr < GEMM_NR ? nc - jr : GEMM_NR;
        float *panel = dst + jr * kc;
        for (size_t j = 0; j < GEMM_NR; j++) {
            if (j < cols) {
                const float *src = b + (j0 + jr + j) * ldb + p0;
                for (size_t p = 0; p < kc; p++) panel[p * GEMM_NR + j] = src[p];
            } else {
                for (size_t p = 0; p < kc; p++) panel[p * GEMM_NR + j] = 0.0f;
            }
        }
    }
}

static inline size_t gemm_ceil_div(size_t x, size_t y) { return (x + y - 1) / y; }
static inline size_t gemm_round_up(size_t x, size_t y) { return gemm_ceil_div(x, y) * y; }

/* C = beta * C (beta == 0 writes zeros without reading C). */
static void gemm_scale_c(size_t m, size_t n, float beta, float *c, size_t ldc) {
    for (size_t i = 0; i < m; i++) {
        float *row = c + i * ldc;
        if (beta == 0.0f) {
            for (size_t j = 0; j < n; j++) row[j] = 0.0f;
        } else if (beta != 1.0f) {
            for (size_t j = 0; j < n; j++) row[j] *= beta;
        }
    }
}

/* The block sizes this call uses: KC and MC balanced so the last block is not a sliver. */
static void gemm_blocking(size_t m, size_t n, size_t k, size_t *kc, size_t *mc, size_t *nc) {
    *kc = gemm_ceil_div(k, gemm_ceil_div(k, GEMM_KC));
    *mc = gemm_round_up(gemm_ceil_div(m, gemm_ceil_div(m, GEMM_MC)), GEMM_MR);
    const size_t n_rounded = gemm_round_up(n, GEMM_NR);
    *nc = n_rounded < GEMM_NC ? n_rounded : GEMM_NC;
}

/*
 * The blocked product with packing buffers of `pa_cap` and `pb_cap` floats (64-byte aligned). The caller
 * guarantees pa_cap >= MR * kc and pb_cap >= NR * kc for the kc gemm_blocking picks; mc and nc shrink to fit.
 */
GEMM_TARGET static void gemm_blocked(int trans_a, int trans_b, size_t m, size_t n, size_t k, float alpha,
                                     const float *a, size_t lda, const float *b, size_t ldb, float beta,
                                     float *c, size_t ldc, float *pa, size_t pa_cap, float *pb, size_t pb_cap) {
    size_t kc_max, mc_max, nc_max;
    gemm_blocking(m, n, k, &kc_max, &mc_max, &nc_max);
    if (mc_max * kc_max > pa_cap) mc_max = (pa_cap / kc_max) / GEMM_MR * GEMM_MR;
    if (nc_max * kc_max > pb_cap) nc_max = (pb_cap / kc_max) / GEMM_NR * GEMM_NR;
    for (size_t jc = 0; jc < n; jc += nc_max) {
        const size_t nc = n - jc < nc_max ? n - jc : nc_max;
        for (size_t pc = 0; pc < k; pc += kc_max) {
            const size_t kc = k - pc < kc_max ? k - pc : kc_max;
            const float beta_block = pc == 0 ? beta : 1.0f;
            for (size_t ic = 0; ic < m; ic += mc_max) {
                const size_t mc = m - ic < mc_max ? m - ic : mc_max;
                gemm_pack_a(trans_a, a, lda, ic, pc, mc, kc, pa);
                for (size_t jr = 0; jr < nc; jr += GEMM_NR) {
                    const size_t nr = nc - jr < GEMM_NR ? nc - jr : GEMM_NR;
                    /* B is packed on first use, GEMM_B_GROUP micro-panels at a time (as GotoBLAS packs on
                     * the fly): they are still in L1/L2 when the A block sweeps them, instead of the whole
                     * KC x NC block round-tripping L3, and each row of B is still read in runs of lines. */
                    if (ic == 0 && jr % (GEMM_B_GROUP * GEMM_NR) == 0) {
                        const size_t group = nc - jr < GEMM_B_GROUP * GEMM_NR ? nc - jr : GEMM_B_GROUP * GEMM_NR;
                        gemm_pack_b(trans_b, b, ldb, pc, jc + jr, kc, group, pb + jr * kc);
                    }
                    for (size_t ir = 0; ir < mc; ir += GEMM_MR) {
                        const size_t mr = mc - ir < GEMM_MR ? mc - ir : GEMM_MR;
                        gemm_micro_kernel(kc, pa + ir * kc, pb + jr * kc, c + (ic + ir) * ldc + jc + jr, ldc,
                                          alpha, beta_block, mr, nr);
                    }
                }
            }
        }
    }
}

/* Clears packed operands (they may hold model weights or activations) in a way the compiler keeps. */
static void gemm_wipe(void *p, size_t bytes) {
    memset(p, 0, bytes);
    __asm__ __volatile__("" : : "r"(p) : "memory");
}

static inline float *gemm_align64(void *p) { return (float *)(((uintptr_t)p + 63u) & ~(uintptr_t)63u); }

/* Packing through a bounded stack buffer: half for A, half for B (ENCLAVA_GEMM_STACK_BYTES in all). */
GEMM_TARGET static void gemm_with_stack(int trans_a, int trans_b, size_t m, size_t n, size_t k, float alpha,
                                        const float *a, size_t lda, const float *b, size_t ldb, float beta,
                                        float *c, size_t ldc) {
    enum { half_floats = ENCLAVA_GEMM_STACK_BYTES / 2 / sizeof(float) };
    _Static_assert(half_floats >= GEMM_NR * GEMM_KC && half_floats >= GEMM_MR * GEMM_KC, "stack buffer too small");
    float pa[half_floats] __attribute__((aligned(64)));
    float pb[half_floats] __attribute__((aligned(64)));
    gemm_blocked(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, pa, half_floats, pb, half_floats);
    gemm_wipe(pa, sizeof pa);
    gemm_wipe(pb, sizeof pb);
}

size_t GEMM_WS_BYTES_FN(size_t m, size_t n, size_t k) {
    if (m == 0 || n == 0 || k == 0) return 0;
    size_t kc, mc, nc;
    gemm_blocking(m, n, k, &kc, &mc, &nc);
    return (mc * kc + nc * kc) * sizeof(float) + 2 * 64;
}

GEMM_TARGET void GEMM_WS_FN(int trans_a, int trans_b, size_t m, size_t n, size_t k, float alpha, const float *a,
                            size_t lda, const float *b, size_t ldb, float beta, float *c, size_t ldc,
                            void *workspace, size_t workspace_bytes) {
    if (m == 0 || n == 0) return;
    if (k == 0 || alpha == 0.0f) {
        gemm_scale_c(m, n, beta, c, ldc);
        return;
    }
    size_t kc, mc, nc;
    gemm_blocking(m, n, k, &kc, &mc, &nc);
    /* Split the workspace: A's block first (as much of mc as fits after one B micro-panel), then B. */
    const size_t floats = workspace && workspace_bytes > 2 * 64 ? (workspace_bytes - 2 * 64) / sizeof(float) : 0;
    if (floats < (GEMM_MR + GEMM_NR) * kc) {
        gemm_with_stack(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        return;
    }
    size_t pa_cap = mc * kc;
    if (pa_cap > floats - GEMM_NR * kc) pa_cap = (floats - GEMM_NR * kc) / (GEMM_MR * kc) * (GEMM_MR * kc);
    const size_t pb_cap = floats - pa_cap;
    float *pa = gemm_align64(workspace);
    float *pb = gemm_align64(pa + pa_cap);
    gemm_blocked(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, pa, pa_cap, pb, pb_cap);
}

GEMM_TARGET void GEMM_FN(int trans_a, int trans_b, size_t m, size_t n, size_t k, float alpha, const float *a,
                         size_t lda, const float *b, size_t ldb, float beta, float *c, size_t ldc) {
    if (m == 0 || n == 0) return;
    if (k == 0 || alpha == 0.0f) {
        gemm_scale_c(m, n, beta, c, ldc);
        return;
    }
    gemm_with_stack(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

/*
 * Pre-packed B (weights packed once at model load): op(B) (k x n) laid out as the KC blocks
 * gemm_blocking picks for k, each block round_up(n, NR) columns of NR-wide micro-panels. `packed` must be
 * 64-byte aligned.
 */
size_t GEMM_PACKED_B_BYTES_FN(size_t n, size_t k) { return gemm_round_up(n, GEMM_NR) * k * sizeof(float); }

GEMM_TARGET void GEMM_PACK_B_FN(int trans_b, size_t n, size_t k, const float *b, size_t ldb, float *packed) {
    if (n == 0 || k == 0) return;
    size_t kc_max, mc_unused, nc_unused;
    gemm_blocking(1, n, k, &kc_max, &mc_unused, &nc_unused);
    const size_t n_padded = gemm_round_up(n, GEMM_NR);
    for (size_t pc = 0; pc < k; pc += kc_max) {
        const size_t kc = k - pc < kc_max ? k - pc : kc_max;
        gemm_pack_b(trans_b, b, ldb, pc, 0, kc, n, packed + pc * n_padded);
    }
}

/* C[m x n] = alpha * op(A) * B[:, j0 .. j0+n] + beta * C, B pre-packed with `packed_n` columns; j0 is a
 * multiple of NR. The workspace holds A's block only; too small a one falls back to the stack. */
GEMM_TARGET void GEMM_PREPACKED_FN(int trans_a, size_t m, size_t n, size_t k, float alpha, const float *a,
                                   size_t lda, const float *packed_b, size_t packed_n, size_t j0, float beta,
                                   float *c, size_t ldc, void *workspace, size_t workspace_bytes) {
    if (m == 0 || n == 0) return;
    if (k == 0 || alpha == 0.0f) {
        gemm_scale_c(m, n, beta, c, ldc);
        return;
    }
    size_t kc_max, mc_max, nc_unused;
    gemm_blocking(m, n, k, &kc_max, &mc_max, &nc_unused);
    enum { stack_floats = ENCLAVA_GEMM_STACK_BYTES / 2 / sizeof(float) };
    float stack_a[stack_floats] __attribute__((aligned(64)));
    float *pa = stack_a;
    size_t pa_cap = stack_floats;
    const size_t floats = workspace && workspace_bytes > 64 ? (workspace_bytes - 64) / sizeof(float) : 0;
    if (floats >= GEMM_MR * kc_max) {
        pa = gemm_align64(workspace);
        pa_cap = floats;
    }
    if (mc_max * kc_max > pa_cap) mc_max = (pa_cap / kc_max) / GEMM_MR * GEMM_MR;
    const size_t n_padded = gemm_round_up(packed_n, GEMM_NR);
    for (size_t pc = 0; pc < k; pc += kc_max) {
        const size_t kc = k - pc < kc_max ? k - pc : kc_max;
        const float beta_block = pc == 0 ? beta : 1.0f;
        const float *pb = packed_b + pc * n_padded + j0 * kc;
        for (size_t ic = 0; ic < m; ic += mc_max) {
            const size_t mc = m - ic < mc_max ? m - ic : mc_max;
            gemm_pack_a(trans_a, a, lda, ic, pc, mc, kc, pa);
            for (size_t jr = 0; jr < n; jr += GEMM_NR) {
                const size_t nr = n - jr < GEMM_NR ? n - jr : GEMM_NR;
                for (size_t ir = 0; ir < mc; ir += GEMM_MR) {
                    const size_t mr = mc - ir < GEMM_MR ? mc - ir : GEMM_MR;
                    gemm_micro_kernel(kc, pa + ir * kc, pb + jr * kc, c + (ic + ir) * ldc + jr, ldc, alpha,
                                      beta_block, mr, nr);
                }
            }
        }
    }
    if (pa == stack_a) gemm_wipe(stack_a, sizeof stack_a);
}
