/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fixed-size blocks from 64 KiB slabs mapped for them.  The proxy keeps
 * its connections here rather than on the heap: libevent keeps a small
 * entry for every descriptor number it has ever watched, and on the heap
 * those entries land between a crowd's connections and keep every page
 * the crowd used resident after it has gone (1.1 MiB of heap after 1,000
 * streams, 180 KB of it in use).  A slab of its own is unmapped as soon
 * as its last block is free.
 *
 * A slab: [struct slab][block][block]...; a block: [its slab][the caller's
 * bytes].  Free blocks are linked through their first word.  Under ASan a
 * free block is poisoned whole, its header too, and only this file
 * unpoisons what it reads, so the sanitizer sees the real free list.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "base/slab.h"

#if SLAB_POISONS
#include <sanitizer/asan_interface.h>
#define slab_poison(p, n)	ASAN_POISON_MEMORY_REGION((p), (n))
#define slab_unpoison(p, n)	ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define slab_poison(p, n)	((void)(p), (void)(n))
#define slab_unpoison(p, n)	((void)(p), (void)(n))
#endif

#define ROUND16(n)	(((n) + 15) & ~(size_t)15)
#define SLAB_HEAD	ROUND16(sizeof(struct slab))
#define BLOCK_HEAD	ROUND16(sizeof(struct slab *))

struct slab {
	LIST_ENTRY(slab) entry;		/* in pool->open while it has room */
	char		*free;		/* first free block (the caller's part) */
	size_t		 used;
};

static size_t
slab_stride(const struct slab_pool *pool)
{
	return BLOCK_HEAD + pool->block_size;
}

static struct slab **
slab_owner(char *b)
{
	return (struct slab **)(void *)(b - BLOCK_HEAD);
}

static char **
slab_link(char *b)
{
	return (char **)(void *)b;
}

int
slab_pool_init(struct slab_pool *pool, size_t block_size)
{
	memset(pool, 0, sizeof *pool);
	if (block_size == 0 || block_size > SLAB_SIZE ||
	    SLAB_HEAD + BLOCK_HEAD + ROUND16(block_size) > SLAB_SIZE) {
		errno = EINVAL;
		return -1;
	}
	pool->block_size = ROUND16(block_size);
	pool->per_slab = (SLAB_SIZE - SLAB_HEAD) / slab_stride(pool);
	LIST_INIT(&pool->open);
	return 0;
}

static struct slab *
slab_map(struct slab_pool *pool)
{
	void *m = mmap(NULL, SLAB_SIZE, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return NULL;
	struct slab *s = m;
	char *first = (char *)m + SLAB_HEAD + BLOCK_HEAD;
	size_t stride = slab_stride(pool);
	s->free = NULL;
	s->used = 0;
	for (size_t i = pool->per_slab; i-- > 0;) {
		char *b = first + i * stride;
		*slab_owner(b) = s;
		*slab_link(b) = s->free;
		s->free = b;
		slab_poison(b - BLOCK_HEAD, stride);
	}
	LIST_INSERT_HEAD(&pool->open, s, entry);
	pool->nslabs++;
	return s;
}

static void
slab_unmap(struct slab_pool *pool, struct slab *s)
{
	LIST_REMOVE(s, entry);
	pool->nslabs--;
	slab_unpoison(s, SLAB_SIZE);	/* the range may be mapped again */
	(void)munmap(s, SLAB_SIZE);
}

void *
slab_alloc(struct slab_pool *pool)
{
	if (pool->block_size == 0) {	/* slab_pool_init() failed */
		errno = EINVAL;
		return NULL;
	}
	struct slab *s = LIST_FIRST(&pool->open);
	if (s == NULL && (s = slab_map(pool)) == NULL)
		return NULL;
	char *b = s->free;
	if (b == NULL) {	/* a listed slab has room: cannot happen */
		errno = ENOMEM;
		return NULL;
	}
	slab_unpoison(b - BLOCK_HEAD, slab_stride(pool));
	s->free = *slab_link(b);
	if (s->free == NULL)
		LIST_REMOVE(s, entry);
	s->used++;
	pool->used++;
	memset(b, 0, pool->block_size);
	return b;
}

void
slab_free(struct slab_pool *pool, void *p)
{
	if (p == NULL)
		return;
	char *b = p;
	slab_unpoison(b - BLOCK_HEAD, BLOCK_HEAD);
	struct slab *s = *slab_owner(b);
	if (s->free == NULL)
		LIST_INSERT_HEAD(&pool->open, s, entry);
	*slab_link(b) = s->free;	/* a second free is reported here */
	s->free = b;
	slab_poison(b - BLOCK_HEAD, slab_stride(pool));
	s->used--;
	pool->used--;
	if (s->used == 0 && pool->nslabs > 1)
		slab_unmap(pool, s);
}

void
slab_trim(struct slab_pool *pool)
{
	struct slab *s, *next;
	for (s = LIST_FIRST(&pool->open); s != NULL; s = next) {
		next = LIST_NEXT(s, entry);
		if (s->used == 0)
			slab_unmap(pool, s);
	}
}

void
slab_stats(const struct slab_pool *pool, struct slab_stats *out)
{
	out->block_size = pool->block_size;
	out->per_slab = pool->per_slab;
	out->slabs = pool->nslabs;
	out->used = pool->used;
	out->free = pool->nslabs * pool->per_slab - pool->used;
	out->mapped = pool->nslabs * (size_t)SLAB_SIZE;
}
