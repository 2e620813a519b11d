/*
 * Kernel dispatch: detects the usable ISA once (CPUID + XCR0 on x86, always-NEON on AArch64) and fills
 * an immutable table: AVX-512F (with AVX2 + FMA) if CPUID reports it and XCR0 has opmask/ZMM state
 * enabled, else AVX2 + FMA (XCR0 YMM state), else NEON on AArch64, else the scalar references. Each ISA's
 * kernels are compiled with `__attribute__((target("...")))` in their own folder (x86/avx2, x86/avx512,
 * arm/neon) and tested against the references through enclava_kernels_isa_table().
 */
#include "enclava_kernels.h"

#include <pthread.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

/* XGETBV(0): which register states the OS saves on context switch. */
__attribute__((target("xsave")))
static uint64_t read_xcr0(void) {
    uint32_t eax = 0, edx = 0;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((uint64_t)edx << 32) | eax;
}

static uint64_t detect_features(void) {
    unsigned int eax = 0, ebx = 0, ecx = 0, edx = 0;
    if (!__get_cpuid(0, &eax, &ebx, &ecx, &edx)) return 0;
    const unsigned int max_leaf = eax;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return 0;
    uint64_t features = 0;
    if (ecx & (1u << 20)) features |= ENCLAVA_CPU_SSE42;
    const int osxsave = (ecx & (1u << 27)) != 0;
    const int has_avx = (ecx & (1u << 28)) != 0;
    const int has_fma = (ecx & (1u << 12)) != 0;
    const int has_f16c = (ecx & (1u << 29)) != 0;
    if (!osxsave) return features; /* without OSXSAVE, XCR0 cannot be read and no AVX state is saved */
    const uint64_t xcr0 = read_xcr0();
    const int ymm_saved = (xcr0 & 0x6) == 0x6;      /* XMM (bit 1) and YMM (bit 2) */
    const int zmm_saved = (xcr0 & 0xe6) == 0xe6;    /* + opmask (5), ZMM_Hi256 (6), Hi16_ZMM (7) */
    if (!ymm_saved || !has_avx) return features;
    features |= ENCLAVA_CPU_AVX;
    if (has_fma) features |= ENCLAVA_CPU_FMA;
    if (has_f16c) features |= ENCLAVA_CPU_F16C;
    if (max_leaf >= 7) {
        __cpuid_count(7, 0, eax, ebx, ecx, edx);
        if (ebx & (1u << 5)) features |= ENCLAVA_CPU_AVX2;
        if (zmm_saved) {
            if (ebx & (1u << 16)) features |= ENCLAVA_CPU_AVX512F;
            if (ebx & (1u << 17)) features |= ENCLAVA_CPU_AVX512DQ;
            if (ebx & (1u << 30)) features |= ENCLAVA_CPU_AVX512BW;
            if (ebx & (1u << 31)) features |= ENCLAVA_CPU_AVX512VL;
        }
    }
    return features;
}
#elif defined(__aarch64__)
static uint64_t detect_features(void) { return ENCLAVA_CPU_NEON; } /* Advanced SIMD is mandatory on AArch64 */
#else
static uint64_t detect_features(void) { return 0; }
#endif

#define ENCLAVA_ENTRY(op, variant) { enclava_f32_##op##__##variant, "enclava_f32_" #op "__" #variant }
#define ENCLAVA_GEMM_ENTRY(variant, mr_, nr_)                                                                 \
    { .fn = enclava_f32_gemm__##variant, .name = "enclava_f32_gemm__" #variant,                              \
      .fn_ws = enclava_f32_gemm_ws__##variant, .workspace_bytes = enclava_f32_gemm_workspace__##variant,     \
      .mr = (mr_), .nr = (nr_), .packed_b_bytes = enclava_f32_gemm_packed_b_bytes__##variant,                 \
      .pack_b = enclava_f32_gemm_pack_b__##variant, .fn_prepacked = enclava_f32_gemm_prepacked__##variant }
/* Every kernel but GEMM, for one ISA suffix. */
#define ENCLAVA_ROW_ENTRIES(variant)                                                                        \
    .f32_add = ENCLAVA_ENTRY(add, variant), .f32_sub = ENCLAVA_ENTRY(sub, variant),                          \
    .f32_mul = ENCLAVA_ENTRY(mul, variant), .f32_div = ENCLAVA_ENTRY(div, variant),                          \
    .f32_relu = ENCLAVA_ENTRY(relu, variant), .f32_sigmoid = ENCLAVA_ENTRY(sigmoid, variant),                \
    .f32_copy = ENCLAVA_ENTRY(copy, variant), .f32_softmax = ENCLAVA_ENTRY(softmax, variant),                \
    .f32_exp = ENCLAVA_ENTRY(exp, variant), .f32_tanh = ENCLAVA_ENTRY(tanh, variant),                        \
    .f32_erf = ENCLAVA_ENTRY(erf, variant), .f32_gelu = ENCLAVA_ENTRY(gelu, variant),                        \
    .f32_layernorm = ENCLAVA_ENTRY(layernorm, variant), .f32_reduce_sum = ENCLAVA_ENTRY(reduce_sum, variant), \
    .f32_reduce_mean = ENCLAVA_ENTRY(reduce_mean, variant), .f32_reduce_max = ENCLAVA_ENTRY(reduce_max, variant)

static const enclava_kernel_table reference_table = {
    .isa = "ref",
    .cpu_features = 0,
    .f32_gemm = ENCLAVA_GEMM_ENTRY(ref, 1, 1),
    ENCLAVA_ROW_ENTRIES(ref),
};

#if defined(__x86_64__) || defined(__i386__)
static const enclava_kernel_table avx2_table = {
    .isa = "avx2",
    .f32_gemm = ENCLAVA_GEMM_ENTRY(avx2_6x16, 6, 16),
    ENCLAVA_ROW_ENTRIES(avx2),
};
static const enclava_kernel_table avx512_table = {
    .isa = "avx512",
    .f32_gemm = ENCLAVA_GEMM_ENTRY(avx512_6x32, 6, 32),
    ENCLAVA_ROW_ENTRIES(avx512),
};
#define ENCLAVA_AVX2_FEATURES (ENCLAVA_CPU_AVX | ENCLAVA_CPU_AVX2 | ENCLAVA_CPU_FMA)
#define ENCLAVA_AVX512_FEATURES (ENCLAVA_AVX2_FEATURES | ENCLAVA_CPU_AVX512F)
#endif

#if defined(__aarch64__)
static const enclava_kernel_table neon_table = {
    .isa = "neon",
    .f32_gemm = ENCLAVA_GEMM_ENTRY(neon_6x16, 6, 16),
    ENCLAVA_ROW_ENTRIES(neon),
};
#endif

static uint64_t detected_features;
static enclava_kernel_table selected_table;
static pthread_once_t detect_once = PTHREAD_ONCE_INIT;
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void run_detection(void) { detected_features = detect_features(); }

uint64_t enclava_cpu_features(void) {
    pthread_once(&detect_once, run_detection);
    return detected_features;
}

/* The ISA table this CPU can run, by name ("ref" always; others only when CPUID + XCR0 allow). */
static const enclava_kernel_table *table_for(const char *isa, uint64_t features) {
    if (strcmp(isa, "ref") == 0) return &reference_table;
#if defined(__x86_64__) || defined(__i386__)
    if (strcmp(isa, "avx512") == 0 && (features & ENCLAVA_AVX512_FEATURES) == ENCLAVA_AVX512_FEATURES) return &avx512_table;
    if (strcmp(isa, "avx2") == 0 && (features & ENCLAVA_AVX2_FEATURES) == ENCLAVA_AVX2_FEATURES) return &avx2_table;
#endif
#if defined(__aarch64__)
    if (strcmp(isa, "neon") == 0 && (features & ENCLAVA_CPU_NEON)) return &neon_table;
#endif
    (void)features;
    return NULL;
}

/* The best table the CPU can run: AVX-512, then AVX2 + FMA, then NEON, else the references. */
static void choose_variants(enclava_kernel_table *table, uint64_t features) {
    static const char *const preference[] = { "avx512", "avx2", "neon" };
    for (size_t i = 0; i < sizeof preference / sizeof preference[0]; i++) {
        const enclava_kernel_table *best = table_for(preference[i], features);
        if (best) {
            *table = *best;
            return;
        }
    }
    *table = reference_table;
}

static void fill_table(void) {
    enclava_kernel_table table;
    const uint64_t features = enclava_cpu_features();
    choose_variants(&table, features);
    table.cpu_features = features;
    selected_table = table;
}

const enclava_kernel_table *enclava_kernels_table(void) {
    pthread_once(&table_once, fill_table);
    return &selected_table;
}

const enclava_kernel_table *enclava_kernels_reference_table(void) {
    return &reference_table;
}

const enclava_kernel_table *enclava_kernels_isa_table(const char *isa) {
    if (!isa) return NULL;
    return table_for(isa, enclava_cpu_features());
}
