/*
 * Enclava compute kernels (DESIGN.md §5).
 *
 * Every op has a scalar reference variant, `enclava_<type>_<op>__ref`, that is always built. Faster
 * variants are named after their ISA and shape (`enclava_f32_gemm__avx512_6x32`) and live in per-ISA
 * folders (x86/avx2, x86/avx512, arm/neon); each is compiled with `__attribute__((target(...)))` on the
 * function, never with global ISA flags. The variant used for each op is chosen ONCE, at the first call
 * of enclava_kernels_table(), from CPUID and XCR0 (an ISA counts only when the OS saves its registers),
 * into an immutable table that is then safe to read from any thread.
 *
 * OUT-OF-BOUNDS CONTRACT (every variant, present and future):
 *   - A kernel reads only the elements inside the extents its arguments describe and writes only the
 *     elements of its output extent. It never reads past the end of an input and never writes past the
 *     end of an output, not even "harmless" over-reads of a vector tail: buffers may end at a guard page
 *     (SealedRegion), so tails must use masked or scalar loads.
 *   - Extents are element counts (not bytes). Strides (`lda`, `inc_*`) are in elements. An increment of
 *     0 broadcasts one element.
 *   - n == 0 (or m, n == 0) is allowed and touches no memory; a pointer may then be NULL.
 *   - Aliasing: elementwise and softmax kernels allow `y == x` (or `y == a` / `y == b` with increment 1),
 *     exactly in place; any other overlap is undefined. GEMM's C must not overlap A or B.
 *   - Kernels do not allocate, do not block and have no global state; they are safe to call concurrently
 *     on disjoint outputs.
 *   - Callers (EnclaveKernels in Swift) check every extent against the buffer sizes before calling.
 *   - The packed GEMM variants need packing buffers but never allocate: pass a workspace through the
 *     `_ws` entry (size from the `_workspace` query), or use the plain entry, which packs through at most
 *     ENCLAVA_GEMM_STACK_BYTES of stack. Prefetch hints stay inside the operands' extents too.
 *   - Threads: kernels are single-threaded; EnclaveKernels splits a GEMM across threads by giving each
 *     thread whole micro-tiles of C and a workspace of its own.
 *
 * ACCURACY of the SIMD variants against the references (measured over random and special inputs, and
 * enforced with these bounds by Tests/EnclaveKernelsTests):
 *   - add, sub, mul, div, copy, relu, reduce_max: bit-identical.
 *   - exp <= 2 ulp (measured 1), erf and tanh <= 3 ulp (measured 2), sigmoid <= 4 ulp (measured 3), for
 *     every float input including subnormal results, +-inf and NaN (NaN in, NaN out).
 *   - gelu: |error| <= 2.4e-7 * max(1, |x|) (the reference's own 1 + erf cancels for x << 0).
 *   - softmax <= 1e-6 absolute; layernorm <= 4e-6 * max(1, |y|); reduce_sum / reduce_mean within
 *     1e-6 * sum |x| (vector lanes add in a different order than the serial reference).
 *   - gemm: each output within about k float roundings of the reference (different summation order).
 */
#ifndef ENCLAVA_KERNELS_H
#define ENCLAVA_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* MARK: kernel signatures */

/**
 * C[m x n] = alpha * op(A) * op(B) + beta * C, row-major.
 * op(A) is m x k: A is m x k with row stride lda (trans_a == 0) or k x m with row stride lda (trans_a != 0).
 * op(B) is k x n: B is k x n with row stride ldb (trans_b == 0) or n x k with row stride ldb (trans_b != 0).
 * When beta == 0, C is not read (it may hold NaN or garbage).
 */
typedef void (*enclava_f32_gemm_fn)(int trans_a, int trans_b, size_t m, size_t n, size_t k, float alpha,
                                    const float *a, size_t lda, const float *b, size_t ldb, float beta,
                                    float *c, size_t ldc);

/** y[i] = a[i * inc_a] (op) b[i * inc_b] for i < n; y is contiguous. */
typedef void (*enclava_f32_binary_fn)(size_t n, const float *a, size_t inc_a, const float *b, size_t inc_b, float *y);

/** y[i] = f(x[i]) for i < n, contiguous. */
typedef void (*enclava_f32_unary_fn)(size_t n, const float *x, float *y);

/** y[i] = x[i * inc_x] for i < n (inc_x == 0 broadcasts x[0]); y is contiguous. */
typedef void (*enclava_f32_copy_fn)(size_t n, const float *x, size_t inc_x, float *y);

/**
 * Softmax over the middle axis of a contiguous [outer, axis, inner] view:
 * y[o, a, i] = exp(x[o, a, i] - max_a x[o, ., i]) / sum_a exp(x[o, ., i] - max).
 */
typedef void (*enclava_f32_softmax_fn)(size_t outer, size_t axis, size_t inner, const float *x, float *y);

/**
 * The same product as enclava_f32_gemm_fn, packing A and B into a caller-supplied workspace (the packed,
 * cache-blocked variants need one; the reference ignores it). `workspace` needs no particular alignment;
 * `workspace_bytes` should be at least what the variant's enclava_f32_gemm_workspace_fn returns for
 * (m, n, k). A smaller workspace is still correct: the kernel shrinks its blocks to fit, and below one
 * micro-panel it falls back to a bounded stack buffer (see ENCLAVA_GEMM_STACK_BYTES).
 */
typedef void (*enclava_f32_gemm_ws_fn)(int trans_a, int trans_b, size_t m, size_t n, size_t k, float alpha,
                                       const float *a, size_t lda, const float *b, size_t ldb, float beta,
                                       float *c, size_t ldc, void *workspace, size_t workspace_bytes);

/** Workspace bytes a gemm variant wants for an m x n x k product (0 for the reference). */
typedef size_t (*enclava_f32_gemm_workspace_fn)(size_t m, size_t n, size_t k);

/*
 * Pre-packed B, for weights that are packed once at model load and reused by every request:
 *   bytes  = packed_b_bytes(n, k)                      (variant-specific layout and size)
 *   pack_b(trans_b, n, k, b, ldb, packed)              packs op(B) (k x n); `packed` 64-byte aligned
 *   prepacked(trans_a, m, n, k, alpha, a, lda, packed, packed_n, j0, beta, c, ldc, workspace, bytes)
 *       C[m x n] = alpha * op(A) * op(B)[:, j0 .. j0+n] + beta * C, for a B packed with packed_n columns;
 *       j0 must be a multiple of the variant's nr (threads split n on tile boundaries). The workspace
 *       (workspace_bytes(m, n, k) is enough) holds A's packed block; a smaller one falls back to the stack.
 * A packed B is only valid with the variant that packed it.
 */
typedef size_t (*enclava_f32_gemm_packed_b_bytes_fn)(size_t n, size_t k);
typedef void (*enclava_f32_gemm_pack_b_fn)(int trans_b, size_t n, size_t k, const float *b, size_t ldb, float *packed);
typedef void (*enclava_f32_gemm_prepacked_fn)(int trans_a, size_t m, size_t n, size_t k, float alpha, const float *a,
                                              size_t lda, const float *packed_b, size_t packed_n, size_t j0,
                                              float beta, float *c, size_t ldc, void *workspace,
                                              size_t workspace_bytes);

/**
 * Stack the packed GEMM variants use when called through enclava_f32_gemm_fn (no workspace), or with a
 * workspace too small for one micro-panel: at most this many bytes of packing buffers on the stack.
 */
#define ENCLAVA_GEMM_STACK_BYTES (96u * 1024u)

/**
 * Layer normalisation over the last axis of a contiguous [rows, cols] matrix:
 * y[r, j] = (x[r, j] - mean_r) / sqrt(var_r + epsilon) * gamma[j] + beta[j], with the biased variance
 * (ONNX LayerNormalization, axis = -1). `beta` may be NULL (no bias). y == x is allowed.
 */
typedef void (*enclava_f32_layernorm_fn)(size_t rows, size_t cols, const float *x, const float *gamma,
                                         const float *beta, float epsilon, float *y);

/** y[r] = reduce_j x[r, j] over the last axis of a contiguous [rows, cols] matrix (cols >= 1). */
typedef void (*enclava_f32_reduce_fn)(size_t rows, size_t cols, const float *x, float *y);

/* MARK: reference variants (always built, ref/) */

void enclava_f32_gemm__ref(int trans_a, int trans_b, size_t m, size_t n, size_t k, float alpha,
                           const float *a, size_t lda, const float *b, size_t ldb, float beta,
                           float *c, size_t ldc);
void enclava_f32_add__ref(size_t n, const float *a, size_t inc_a, const float *b, size_t inc_b, float *y);
void enclava_f32_sub__ref(size_t n, const float *a, size_t inc_a, const float *b, size_t inc_b, float *y);
void enclava_f32_mul__ref(size_t n, const float *a, size_t inc_a, const float *b, size_t inc_b, float *y);
void enclava_f32_div__ref(size_t n, const float *a, size_t inc_a, const float *b, size_t inc_b, float *y);
void enclava_f32_relu__ref(size_t n, const float *x, float *y);
void enclava_f32_sigmoid__ref(size_t n, const float *x, float *y);
void enclava_f32_copy__ref(size_t n, const float *x, size_t inc_x, float *y);
void enclava_f32_softmax__ref(size_t outer, size_t axis, size_t inner, const float *x, float *y);
void enclava_f32_gemm_ws__ref(int trans_a, int trans_b, size_t m, size_t n, size_t k, float alpha,
                              const float *a, size_t lda, const float *b, size_t ldb, float beta,
                              float *c, size_t ldc, void *workspace, size_t workspace_bytes);
size_t enclava_f32_gemm_workspace__ref(size_t m, size_t n, size_t k);
size_t enclava_f32_gemm_packed_b_bytes__ref(size_t n, size_t k);
void enclava_f32_gemm_pack_b__ref(int trans_b, size_t n, size_t k, const float *b, size_t ldb, float *packed);
void enclava_f32_gemm_prepacked__ref(int trans_a, size_t m, size_t n, size_t k, float alpha, const float *a,
                                     size_t lda, const float *packed_b, size_t packed_n, size_t j0, float beta,
                                     float *c, size_t ldc, void *workspace, size_t workspace_bytes);
void enclava_f32_exp__ref(size_t n, const float *x, float *y);
void enclava_f32_tanh__ref(size_t n, const float *x, float *y);
/** erf(x), as libm's erff. */
void enclava_f32_erf__ref(size_t n, const float *x, float *y);
/** GELU, exact (erf) form, as onnxruntime's Gelu: 0.5 * x * (1 + erf(x / sqrt(2))). */
void enclava_f32_gelu__ref(size_t n, const float *x, float *y);
void enclava_f32_layernorm__ref(size_t rows, size_t cols, const float *x, const float *gamma, const float *beta,
                                float epsilon, float *y);
void enclava_f32_reduce_sum__ref(size_t rows, size_t cols, const float *x, float *y);
void enclava_f32_reduce_mean__ref(size_t rows, size_t cols, const float *x, float *y);
/** Maximum; a NaN anywhere in the row gives NaN. */
void enclava_f32_reduce_max__ref(size_t rows, size_t cols, const float *x, float *y);

/*
 * MARK: SIMD variants (x86/avx2, x86/avx512, arm/neon). Declared on every platform; defined only where
 * the ISA exists, and reached only through the tables below (never call one the CPU cannot run).
 * Each ISA provides the same set: gemm (+ _ws/_workspace), add/sub/mul/div, relu, sigmoid, exp, tanh,
 * erf, gelu, copy, softmax, layernorm, reduce_sum/mean/max.
 */
#define ENCLAVA_DECLARE_SIMD_VARIANTS(isa, gemm_shape)                                                              \
    void enclava_f32_gemm__##isa##_##gemm_shape(int, int, size_t, size_t, size_t, float, const float *, size_t,       \
                                               const float *, size_t, float, float *, size_t);                     \
    void enclava_f32_gemm_ws__##isa##_##gemm_shape(int, int, size_t, size_t, size_t, float, const float *, size_t,    \
                                                  const float *, size_t, float, float *, size_t, void *, size_t);  \
    size_t enclava_f32_gemm_workspace__##isa##_##gemm_shape(size_t, size_t, size_t);                                \
    size_t enclava_f32_gemm_packed_b_bytes__##isa##_##gemm_shape(size_t, size_t);                                  \
    void enclava_f32_gemm_pack_b__##isa##_##gemm_shape(int, size_t, size_t, const float *, size_t, float *);        \
    void enclava_f32_gemm_prepacked__##isa##_##gemm_shape(int, size_t, size_t, size_t, float, const float *, size_t, \
                                                         const float *, size_t, size_t, float, float *, size_t,    \
                                                         void *, size_t);                                          \
    void enclava_f32_add__##isa(size_t, const float *, size_t, const float *, size_t, float *);                     \
    void enclava_f32_sub__##isa(size_t, const float *, size_t, const float *, size_t, float *);                     \
    void enclava_f32_mul__##isa(size_t, const float *, size_t, const float *, size_t, float *);                     \
    void enclava_f32_div__##isa(size_t, const float *, size_t, const float *, size_t, float *);                     \
    void enclava_f32_relu__##isa(size_t, const float *, float *);                                                  \
    void enclava_f32_sigmoid__##isa(size_t, const float *, float *);                                               \
    void enclava_f32_exp__##isa(size_t, const float *, float *);                                                   \
    void enclava_f32_tanh__##isa(size_t, const float *, float *);                                                  \
    void enclava_f32_erf__##isa(size_t, const float *, float *);                                                   \
    void enclava_f32_gelu__##isa(size_t, const float *, float *);                                                  \
    void enclava_f32_copy__##isa(size_t, const float *, size_t, float *);                                          \
    void enclava_f32_softmax__##isa(size_t, size_t, size_t, const float *, float *);                               \
    void enclava_f32_layernorm__##isa(size_t, size_t, const float *, const float *, const float *, float, float *); \
    void enclava_f32_reduce_sum__##isa(size_t, size_t, const float *, float *);                                    \
    void enclava_f32_reduce_mean__##isa(size_t, size_t, const float *, float *);                                   \
    void enclava_f32_reduce_max__##isa(size_t, size_t, const float *, float *);

ENCLAVA_DECLARE_SIMD_VARIANTS(avx2, 6x16)
ENCLAVA_DECLARE_SIMD_VARIANTS(avx512, 6x32)
ENCLAVA_DECLARE_SIMD_VARIANTS(neon, 6x16)

/* MARK: the dispatch table */

/** One table entry: the function and its variant name (for logs, benchmarks and tests). */
/**
 * The GEMM entry: `fn` (no workspace; packs through a bounded stack buffer), `fn_ws` (caller workspace),
 * `workspace_bytes` (what fn_ws wants), the micro-tile `mr` x `nr` (1 x 1 for the reference), which
 * callers splitting work across threads use to cut on tile boundaries, and the pre-packed-B entries.
 */
typedef struct enclava_f32_gemm_kernel {
    enclava_f32_gemm_fn fn;
    const char *name;
    enclava_f32_gemm_ws_fn fn_ws;
    enclava_f32_gemm_workspace_fn workspace_bytes;
    size_t mr, nr;
    enclava_f32_gemm_packed_b_bytes_fn packed_b_bytes;
    enclava_f32_gemm_pack_b_fn pack_b;
    enclava_f32_gemm_prepacked_fn fn_prepacked;
} enclava_f32_gemm_kernel;
typedef struct enclava_f32_binary_kernel { enclava_f32_binary_fn fn; const char *name; } enclava_f32_binary_kernel;
typedef struct enclava_f32_unary_kernel { enclava_f32_unary_fn fn; const char *name; } enclava_f32_unary_kernel;
typedef struct enclava_f32_copy_kernel { enclava_f32_copy_fn fn; const char *name; } enclava_f32_copy_kernel;
typedef struct enclava_f32_softmax_kernel { enclava_f32_softmax_fn fn; const char *name; } enclava_f32_softmax_kernel;
typedef struct enclava_f32_layernorm_kernel { enclava_f32_layernorm_fn fn; const char *name; } enclava_f32_layernorm_kernel;
typedef struct enclava_f32_reduce_kernel { enclava_f32_reduce_fn fn; const char *name; } enclava_f32_reduce_kernel;

/** The kernels in use. Never modified after it is filled. Every entry is non-NULL. */
typedef struct enclava_kernel_table {
    const char *isa;                       /* best ISA the table uses: "ref", "avx2", "avx512", "neon" */
    uint64_t cpu_features;                 /* ENCLAVA_CPU_* bits detected at start */
    enclava_f32_gemm_kernel f32_gemm;
    enclava_f32_binary_kernel f32_add;
    enclava_f32_binary_kernel f32_sub;
    enclava_f32_binary_kernel f32_mul;
    enclava_f32_binary_kernel f32_div;
    enclava_f32_unary_kernel f32_relu;
    enclava_f32_unary_kernel f32_sigmoid;
    enclava_f32_copy_kernel f32_copy;
    enclava_f32_softmax_kernel f32_softmax;
    enclava_f32_unary_kernel f32_exp;
    enclava_f32_unary_kernel f32_tanh;
    enclava_f32_unary_kernel f32_erf;
    enclava_f32_unary_kernel f32_gelu;
    enclava_f32_layernorm_kernel f32_layernorm;
    enclava_f32_reduce_kernel f32_reduce_sum;
    enclava_f32_reduce_kernel f32_reduce_mean;
    enclava_f32_reduce_kernel f32_reduce_max;
} enclava_kernel_table;

/* CPU feature bits (usable = CPUID says present AND XCR0 says the OS saves the state). */
#define ENCLAVA_CPU_SSE42     (1ull << 0)
#define ENCLAVA_CPU_AVX       (1ull << 1)
#define ENCLAVA_CPU_AVX2      (1ull << 2)
#define ENCLAVA_CPU_FMA       (1ull << 3)
#define ENCLAVA_CPU_F16C      (1ull << 4)
#define ENCLAVA_CPU_AVX512F   (1ull << 5)
#define ENCLAVA_CPU_AVX512BW  (1ull << 6)
#define ENCLAVA_CPU_AVX512DQ  (1ull << 7)
#define ENCLAVA_CPU_AVX512VL  (1ull << 8)
#define ENCLAVA_CPU_NEON      (1ull << 16)

/** Usable CPU features (detected once; later calls return the cached value). */
uint64_t enclava_cpu_features(void);

/** The dispatch table: chosen once on first use (thread-safe), then immutable. */
const enclava_kernel_table *enclava_kernels_table(void);

/** The table of reference variants only (what every variant is tested against). */
const enclava_kernel_table *enclava_kernels_reference_table(void);

/**
 * The table of one ISA's variants ("avx2", "avx512", "neon"; "ref" gives the reference table), or NULL
 * when this CPU (CPUID + XCR0) cannot run it or the build does not contain it. For tests and benchmarks.
 */
const enclava_kernel_table *enclava_kernels_isa_table(const char *isa);

#ifdef __cplusplus
}
#endif

#endif /* ENCLAVA_KERNELS_H */
