#include "onnx_loader.h"
