#ifndef CONVKIT_KERNELS_INTERNAL_H
#define CONVKIT_KERNELS_INTERNAL_H

#include "convkit_kernels.h"

#if defined(__x86_64__) || defined(__i386__)
#define CK_X86 1
#include <immintrin.h>
// Applied per function so the rest of the target (and every Swift caller) keeps the
// baseline ISA; the runtime check in ck_has_avx2_fma guards every call.
#define CK_AVX2 __attribute__((target("avx2,fma")))
#else
#define CK_X86 0
#endif

static inline int ck_min(int a, int b) { return a < b ? a : b; }
static inline int ck_max(int a, int b) { return a > b ? a : b; }

#endif
