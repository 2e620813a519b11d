#define _GNU_SOURCE
#include "enclava_secure_memory.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* Slab size classes: 16, 32, ..., 1024 bytes. */
#define CLASS_COUNT 7
#define CHUNK_PAGES 16
/* Freed large blocks kept (wiped, still locked) for reuse, so a request does not pay for mmap, mlock and
   first-touch faults: at most CACHE_SLOTS blocks of at most CACHE_MAX_BLOCK bytes each. */
#define CACHE_SLOTS 8
#define CACHE_MAX_BLOCK ((size_t)4 << 20)
#define CACHE_MAX_TOTAL ((size_t)8 << 20)

typedef struct {
    void *slot;
    int protections;
} free_slot;

typedef struct {
    free_slot *items;
    size_t count;
    size_t capacity;
} free_list;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static free_list free_lists[CLASS_COUNT];
static unsigned char *chunk_next;     /* next uncarved page of the current slab chunk */
static size_t chunk_pages_left;
static int chunk_protections;
static free_slot cache[CACHE_SLOTS];
static size_t cache_sizes[CACHE_SLOTS];
static size_t cache_count;
static size_t cache_bytes;
static void drain_cache(void);
static enclava_secmem_stats stats;
static int verify_release;
static uint64_t released_checked, released_nonzero;

static size_t page_size(void) {
    static size_t cached;
    if (cached == 0) {
        long value = sysconf(_SC_PAGESIZE);
        cached = value > 0 ? (size_t)value : 4096;
    }
    return cached;
}

static int class_index(size_t size) {
    size_t slot = 16;
    for (int index = 0; index < CLASS_COUNT; index++, slot <<= 1) {
        if (size <= slot) return index;
    }
    return -1;
}

static size_t class_size(int index) { return (size_t)16 << index; }

/* Maps `body` bytes between two guard pages, advises and locks them. Caller holds the lock.
   Returns the first body byte, or NULL with errno set. */
static void *map_protected(size_t body, int *protections) {
    size_t page = page_size();
    unsigned char *raw = mmap(NULL, body + 2 * page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) return NULL;
    unsigned char *start = raw + page;
    if (mprotect(start, body, PROT_READ | PROT_WRITE) != 0) {
        int saved = errno;
        munmap(raw, body + 2 * page);
        errno = saved;
        return NULL;
    }
    int bits = 0;
    if (madvise(start, body, MADV_DONTDUMP) == 0) bits |= ENCLAVA_SECMEM_DONTDUMP; else stats.dontdump_failures++;
#ifdef MADV_WIPEONFORK
    if (madvise(start, body, MADV_WIPEONFORK) == 0) bits |= ENCLAVA_SECMEM_WIPEONFORK; else stats.wipeonfork_failures++;
#else
    stats.wipeonfork_failures++;
#endif
    int locked = mlock(start, body) == 0;
    if (!locked && cache_count > 0) {
        /* Idle cached blocks count against RLIMIT_MEMLOCK: give them back and try once more. */
        drain_cache();
        locked = mlock(start, body) == 0;
    }
    if (locked) {
        bits |= ENCLAVA_SECMEM_LOCKED;
    } else {
        stats.lock_failures++;
        stats.last_lock_errno = errno;
        if (stats.require_locked) {
            stats.refused_unlocked++;
            munmap(raw, body + 2 * page);
            errno = ENOMEM;
            return NULL;
        }
        stats.unlocked_bytes += body;
    }
    stats.mapped_bytes += body;
    *protections = bits;
    return start;
}

static void unmap_protected(void *start, size_t body, int protections) {
    size_t page = page_size();
    if (protections & ENCLAVA_SECMEM_LOCKED) munlock(start, body); else stats.unlocked_bytes -= body;
    stats.mapped_bytes -= body;
    munmap((unsigned char *)start - page, body + 2 * page);
}

/* Unmaps every cached block (they are already wiped). Caller holds the lock. */
static void drain_cache(void) {
    while (cache_count > 0) {
        cache_count--;
        unmap_protected(cache[cache_count].slot, cache_sizes[cache_count], cache[cache_count].protections);
    }
    cache_bytes = 0;
}

static int push_slot(free_list *list, void *slot, int protections) {
    if (list->count == list->capacity) {
        size_t capacity = list->capacity ? list->capacity * 2 : 64;
        free_slot *items = realloc(list->items, capacity * sizeof(free_slot));
        if (items == NULL) return -1;
        list->items = items;
        list->capacity = capacity;
    }
    list->items[list->count].slot = slot;
    list->items[list->count].protections = protections;
    list->count++;
    return 0;
}

/* Carves one page of the current chunk (mapping a new chunk when needed) into slots of class `index`. */
static int refill(int index) {
    size_t page = page_size();
    if (chunk_pages_left == 0) {
        int protections = 0;
        void *chunk = map_protected(CHUNK_PAGES * page, &protections);
        if (chunk == NULL) return -1;
        chunk_next = chunk;
        chunk_pages_left = CHUNK_PAGES;
        chunk_protections = protections;
    }
    size_t slot = class_size(index);
    free_list *list = &free_lists[index];
    /* Push in reverse so that slots are handed out in address order. */
    for (size_t offset = page; offset >= slot; offset -= slot) {
        if (push_slot(list, chunk_next + offset - slot, chunk_protections) != 0) {
            errno = ENOMEM;
            return -1;
        }
    }
    chunk_next += page;
    chunk_pages_left--;
    return 0;
}

/* The smallest cached block of body >= `body` and <= 2 * `body`, taken out of the cache; NULL if none. */
static void *take_cached(size_t body, size_t *actual, int *protections) {
    size_t best = CACHE_SLOTS;
    for (size_t index = 0; index < cache_count; index++) {
        if (cache_sizes[index] < body || cache_sizes[index] / 2 > body) continue;
        if (stats.require_locked && !(cache[index].protections & ENCLAVA_SECMEM_LOCKED)) continue;
        if (best == CACHE_SLOTS || cache_sizes[index] < cache_sizes[best]) best = index;
    }
    if (best == CACHE_SLOTS) return NULL;
    void *block = cache[best].slot;
    *protections = cache[best].protections;
    *actual = cache_sizes[best];
    cache_count--;
    cache_bytes -= cache_sizes[best];
    cache[best] = cache[cache_count];
    cache_sizes[best] = cache_sizes[cache_count];
    return block;
}

void *enclava_secmem_alloc(size_t size, int *protections, size_t *actual) {
    if (size == 0) size = 1;
    int index = class_index(size);
    pthread_mutex_lock(&lock);
    void *result = NULL;
    if (index < 0) {
        size_t page = page_size();
        if (size > SIZE_MAX - 3 * page) {
            errno = ENOMEM;
        } else {
            size_t body = (size + page - 1) / page * page;
            result = take_cached(body, actual, protections);
            if (result == NULL) {
                result = map_protected(body, protections);
                *actual = body;
            }
        }
    } else {
        free_list *list = &free_lists[index];
        for (;;) {
            if (list->count == 0 && refill(index) != 0) break;
            free_slot entry = list->items[--list->count];
            /* A slot carved while unlocked memory was allowed is not handed out once it is not. */
            if (stats.require_locked && !(entry.protections & ENCLAVA_SECMEM_LOCKED)) continue;
            result = entry.slot;
            *protections = entry.protections;
            *actual = class_size(index);
            break;
        }
    }
    pthread_mutex_unlock(&lock);
    return result;
}

static void check_released(const unsigned char *bytes, size_t count) {
    if (!verify_release) return;
    released_checked++;
    for (size_t index = 0; index < count; index++) {
        if (bytes[index] != 0) { released_nonzero++; return; }
    }
}

void enclava_secmem_free(void *block, size_t size, int protections) {
    if (block == NULL) return;
    if (size == 0) size = 1;
    int index = class_index(size);
    size_t page = page_size();
    size_t wiped = index < 0 ? (size + page - 1) / page * page : class_size(index);
    explicit_bzero(block, wiped);
    pthread_mutex_lock(&lock);
    check_released(block, wiped);
    if (index < 0) {
        if (cache_count < CACHE_SLOTS && wiped <= CACHE_MAX_BLOCK && cache_bytes + wiped <= CACHE_MAX_TOTAL) {
            cache[cache_count].slot = block;
            cache[cache_count].protections = protections;
            cache_sizes[cache_count] = wiped;
            cache_count++;
            cache_bytes += wiped;
        } else {
            unmap_protected(block, wiped, protections);
        }
    } else if (push_slot(&free_lists[index], block, protections) != 0) {
        /* Out of bookkeeping memory: the (wiped) slot stays mapped and unused. */
    }
    pthread_mutex_unlock(&lock);
}

void enclava_secmem_set_require_locked(int require) {
    pthread_mutex_lock(&lock);
    stats.require_locked = require ? 1 : 0;
    pthread_mutex_unlock(&lock);
}

void enclava_secmem_get_stats(enclava_secmem_stats *out) {
    pthread_mutex_lock(&lock);
    *out = stats;
    pthread_mutex_unlock(&lock);
}

void enclava_secmem_set_verify_release(int enable) {
    pthread_mutex_lock(&lock);
    verify_release = enable ? 1 : 0;
    pthread_mutex_unlock(&lock);
}

void enclava_secmem_get_release_checks(uint64_t *checked, uint64_t *nonzero) {
    pthread_mutex_lock(&lock);
    *checked = released_checked;
    *nonzero = released_nonzero;
    pthread_mutex_unlock(&lock);
}
