/* The C ABI's declarations live in include/enclava_client.h; the functions are Swift (`@_cdecl`, target
 * EnclavaClientC). This file exists because a SwiftPM C target needs one source file. */
#include "enclava_client.h"
