/*
 * enclava_secure_memory.h — the allocator behind EnclavaCrypto's SecureBytes (DESIGN.md §5, "secrets
 * outside regions"): every byte it hands out lives in anonymous pages that are mlocked (kept out of swap),
 * MADV_DONTDUMP (kept out of core dumps) and MADV_WIPEONFORK (zero in a forked child), and is wiped with
 * explicit_bzero before it is reused or unmapped.
 *
 * Small blocks (<= ENCLAVA_SECMEM_SMALL_MAX bytes) come from slab pages carved out of 64 KiB locked chunks;
 * free slots are tracked out of band, so a freed slot is entirely zero. Larger blocks get a mapping of their
 * own between two PROT_NONE guard pages and are unmapped when freed.
 *
 * Nothing here is ever silent: each allocation says which protections it got, and process-wide counters
 * record every page that could not be locked or advised. In "require locked" mode an allocation whose pages
 * cannot be locked fails (NULL, errno ENOMEM) instead of falling back to swappable memory.
 * Thread-safe (one mutex). Used on both sides of the trust boundary (enclave and client).
 */
#ifndef ENCLAVA_SECURE_MEMORY_H
#define ENCLAVA_SECURE_MEMORY_H

#include <stddef.h>
#include <stdint.h>

/* Blocks up to this size share slab pages; larger ones get their own guarded mapping. */
#define ENCLAVA_SECMEM_SMALL_MAX 1024

/* Protection bits an allocation reports. */
#define ENCLAVA_SECMEM_LOCKED      0x1  /* mlock succeeded */
#define ENCLAVA_SECMEM_DONTDUMP    0x2  /* MADV_DONTDUMP succeeded */
#define ENCLAVA_SECMEM_WIPEONFORK  0x4  /* MADV_WIPEONFORK succeeded */

typedef struct {
    uint64_t mapped_bytes;          /* bytes currently mapped for secrets (slab chunks + large blocks) */
    uint64_t unlocked_bytes;        /* of those, bytes whose mlock failed (may reach swap) */
    uint64_t lock_failures;         /* mappings whose mlock failed, ever */
    uint64_t dontdump_failures;     /* mappings whose MADV_DONTDUMP failed, ever */
    uint64_t wipeonfork_failures;   /* mappings whose MADV_WIPEONFORK failed, ever */
    uint64_t refused_unlocked;      /* allocations refused in require-locked mode, ever */
    int last_lock_errno;            /* errno of the latest mlock failure, 0 if none */
    int require_locked;             /* the current mode */
} enclava_secmem_stats;

/* A zeroed block of at least `size` bytes (16-byte aligned), or NULL with errno set (ENOMEM when the
   pages cannot be mapped, or cannot be locked in require-locked mode). `*protections` receives the
   ENCLAVA_SECMEM_* bits of the pages holding the block, `*actual` its usable size (>= size: the slot or
   the whole pages). Slab pages are never unmapped (their number is bounded by the peak of small secrets);
   up to 8 freed large blocks of up to 4 MiB (8 MiB in all) are kept, wiped and locked, for reuse, and
   given back when a new mapping cannot be locked. */
void *enclava_secmem_alloc(size_t size, int *protections, size_t *actual);

/* Wipes the block (all of its slot or pages) and releases it. `size` is the `*actual` size and
   `protections` the bits enclava_secmem_alloc reported. NULL is ignored. */
void enclava_secmem_free(void *block, size_t size, int protections);

/* 1: allocations whose pages cannot be locked fail; 0: they are kept unlocked and counted. */
void enclava_secmem_set_require_locked(int require);

/* A consistent snapshot of the counters. */
void enclava_secmem_get_stats(enclava_secmem_stats *stats);

/* Testing aid: when enabled, every release checks, after the wipe and before the memory can be reused or
   unmapped, that the whole block reads zero; `released_checked` and `released_nonzero` count the results. */
void enclava_secmem_set_verify_release(int enable);
void enclava_secmem_get_release_checks(uint64_t *released_checked, uint64_t *released_nonzero);

#endif
