#ifndef ENCLAVA_COPENSSL_H
#define ENCLAVA_COPENSSL_H
#include <openssl/evp.h>
#endif
