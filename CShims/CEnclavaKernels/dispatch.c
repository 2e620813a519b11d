/*
 * Kernel dispatch: detects the usable ISA once (CPUID + XCR0 on x86, always-NEON on AArch64) and fills
 * an immutable table. SIMD variants slot in by adding a `#if` block to choose_variants(); each must be
 * compiled with `__attribute__((target("...")))` in its own folder (x86/avx2, x86/avx512, arm/neon) and
 * be tested against its reference.
 */
#include "enclava_kernels.h"

#include <pthread.h>

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

static const enclava_kernel_table reference_table = {
    .isa = "ref",
    .cpu_features = 0,
    .f32_gemm = { enclava_f32_gemm__ref, "enclava_f32_gemm__ref" },
    .f32_add = { enclava_f32_add__ref, "enclava_f32_add__ref" },
    .f32_sub = { enclava_f32_sub__ref, "enclava_f32_sub__ref" },
    .f32_mul = { enclava_f32_mul__ref, "enclava_f32_mul__ref" },
    .f32_div = { enclava_f32_div__ref, "enclava_f32_div__ref" },
    .f32_relu = { enclava_f32_relu__ref, "enclava_f32_relu__ref" },
    .f32_sigmoid = { enclava_f32_sigmoid__ref, "enclava_f32_sigmoid__ref" },
    .f32_copy = { enclava_f32_copy__ref, "enclava_f32_copy__ref" },
    .f32_softmax = { enclava_f32_softmax__ref, "enclava_f32_softmax__ref" },
};

static uint64_t detected_features;
static enclava_kernel_table selected_table;
static pthread_once_t detect_once = PTHREAD_ONCE_INIT;
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void run_detection(void) { detected_features = detect_features(); }

uint64_t enclava_cpu_features(void) {
    pthread_once(&detect_once, run_detection);
    return detected_features;
}

/* Starts from the references and replaces entries with the best variant the CPU can run. */
static void choose_variants(enclava_kernel_table *table, uint64_t features) {
    (void)features;
    /* Next issue: e.g.
     *   if ((features & (ENCLAVA_CPU_AVX512F | ENCLAVA_CPU_AVX512BW)) == (ENCLAVA_CPU_AVX512F | ENCLAVA_CPU_AVX512BW)) {
     *       table->f32_gemm = (enclava_f32_gemm_kernel){ enclava_f32_gemm__avx512_6x32, "enclava_f32_gemm__avx512_6x32" };
     *       table->isa = "avx512";
     *   } else if ((features & (ENCLAVA_CPU_AVX2 | ENCLAVA_CPU_FMA)) == (ENCLAVA_CPU_AVX2 | ENCLAVA_CPU_FMA)) { ... }
     */
    table->isa = "ref";
}

static void fill_table(void) {
    enclava_kernel_table table = reference_table;
    table.cpu_features = enclava_cpu_features();
    choose_variants(&table, table.cpu_features);
    selected_table = table;
}

const enclava_kernel_table *enclava_kernels_table(void) {
    pthread_once(&table_once, fill_table);
    return &selected_table;
}

const enclava_kernel_table *enclava_kernels_reference_table(void) {
    return &reference_table;
}
