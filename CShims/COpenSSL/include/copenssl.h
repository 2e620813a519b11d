// COpenSSL: the thin C edge between EnclavaCrypto and the system OpenSSL 3 (libssl-dev).
//
// Swift calls OpenSSL functions directly. This header only adds `enclava_ossl_*` wrappers for what
// Swift cannot import: function-like macros, safestack macros and composite flag constants.
// The wrappers hold no logic. Only EnclavaCrypto imports this module (`internal import COpenSSL`).
#ifndef ENCLAVA_COPENSSL_H
#define ENCLAVA_COPENSSL_H

#include <stddef.h>
#include <openssl/opensslv.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include <openssl/bn.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/ec.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <openssl/x509_vfy.h>
#include <openssl/objects.h>
#include <openssl/core_names.h>

#if OPENSSL_VERSION_MAJOR < 3
#error "Enclava needs OpenSSL 3.0 or later (install libssl-dev)"
#endif

/// OPENSSL_free (a macro).
void enclava_ossl_free(void *pointer);

/// BIO_get_mem_data (a macro): points `*data` at the BIO's bytes and returns their count.
long enclava_ossl_bio_get_mem_data(BIO *bio, char **data);

/// XN_FLAG_RFC2253 (a composite macro), for X509_NAME_print_ex.
unsigned long enclava_ossl_xn_flag_rfc2253(void);

/// MBSTRING_UTF8 (a macro), for X509_NAME_add_entry_by_txt.
int enclava_ossl_mbstring_utf8(void);

/// sk_X509_new_null (a safestack macro).
STACK_OF(X509) *enclava_ossl_sk_x509_new_null(void);

/// sk_X509_push (a safestack macro). Returns the new count, or 0 on failure.
int enclava_ossl_sk_x509_push(STACK_OF(X509) *stack, X509 *certificate);

/// sk_X509_pop_free(stack, X509_free) (a safestack macro).
void enclava_ossl_sk_x509_pop_free(STACK_OF(X509) *stack);

#endif
