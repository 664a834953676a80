#include "internal.h"
#include <math.h>

float ck_activate(const ck_epilogue *epilogue, float x) {
    if (!epilogue) return x;
    switch (epilogue->code) {
    case CK_ACT_RELU:
        return x != x ? x : (0.0f >= x ? 0.0f : x);
    case CK_ACT_RELU6:
    case CK_ACT_CLAMP: {
        if (x != x) return x;
        const float low = epilogue->lower >= x ? epilogue->lower : x;
        return epilogue->upper < low ? epilogue->upper : low;
    }
    case CK_ACT_LEAKY_RELU:
        return x >= 0.0f ? x : epilogue->alpha * x;
    case CK_ACT_SIGMOID:
        return 1.0f / (1.0f + expf(-x));
    case CK_ACT_TANH:
        return tanhf(x);
    default:
        return x;
    }
}

void ck_apply_epilogue(const ck_epilogue *epilogue, float *values, ptrdiff_t count) {
    if (!epilogue || epilogue->code == CK_ACT_IDENTITY) return;
    for (ptrdiff_t index = 0; index < count; index++) values[index] = ck_activate(epilogue, values[index]);
}
