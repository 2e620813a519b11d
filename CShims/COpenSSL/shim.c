// Wrappers for OpenSSL macros; see copenssl.h. No logic belongs here.
#include "copenssl.h"

void enclava_ossl_free(void *pointer) { OPENSSL_free(pointer); }

long enclava_ossl_bio_get_mem_data(BIO *bio, char **data) { return BIO_get_mem_data(bio, data); }

unsigned long enclava_ossl_xn_flag_rfc2253(void) { return XN_FLAG_RFC2253; }

int enclava_ossl_mbstring_utf8(void) { return MBSTRING_UTF8; }

STACK_OF(X509) *enclava_ossl_sk_x509_new_null(void) { return sk_X509_new_null(); }

int enclava_ossl_sk_x509_push(STACK_OF(X509) *stack, X509 *certificate) { return sk_X509_push(stack, certificate); }

void enclava_ossl_sk_x509_pop_free(STACK_OF(X509) *stack) { sk_X509_pop_free(stack, X509_free); }
