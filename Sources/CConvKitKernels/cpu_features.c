#include "internal.h"

int ck_has_avx2_fma(void) {
#if CK_X86
    // Cheap (reads a table the runtime fills at load time), so callers may ask per call.
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return 0;
#endif
}
