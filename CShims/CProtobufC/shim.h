/* System library: protobuf-c (Debian: libprotobuf-c-dev). No logic here. */
#ifndef ENCLAVA_CPROTOBUFC_SHIM_H
#define ENCLAVA_CPROTOBUFC_SHIM_H
#include <protobuf-c/protobuf-c.h>
#endif
