#include "enclava_kernels.h"
