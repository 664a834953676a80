#include "convkit_kernels.h"
