/* SPDX-License-Identifier: Apache-2.0 */
/*
 * slab.c: fixed-size blocks carved from 64 KiB anonymous mappings.  A slab
 * goes back to the kernel when its last block is freed, unless it is the
 * pool's only one; slab_trim() gives that one back too.  Blocks come
 * zeroed.  Under AddressSanitizer free blocks are poisoned, so a use after
 * slab_free() is reported like a use after free().
 */
#ifndef WDA_SLAB_H
#define WDA_SLAB_H

#include <stddef.h>
#include <sys/queue.h>

#define SLAB_SIZE	(64 * 1024)

/* 1 when built with -fsanitize=address: free blocks are poisoned. */
#if defined(__SANITIZE_ADDRESS__)
#define SLAB_POISONS	1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SLAB_POISONS	1
#endif
#endif
#ifndef SLAB_POISONS
#define SLAB_POISONS	0
#endif

struct slab;

struct slab_pool {
	size_t		 block_size;	/* asked for, rounded up to 16 */
	size_t		 per_slab;	/* blocks in one slab */
	size_t		 nslabs;	/* mapped now */
	size_t		 used;		/* blocks handed out */
	LIST_HEAD(, slab) open;		/* slabs with a free block */
};

struct slab_stats {
	size_t		 block_size;
	size_t		 per_slab;
	size_t		 slabs;
	size_t		 used;
	size_t		 free;		/* blocks mapped and not handed out */
	size_t		 mapped;	/* bytes */
};

/* A pool of block_size blocks; -1 (EINVAL) if one would not fit a slab. */
int	slab_pool_init(struct slab_pool *, size_t block_size);
/* A zeroed block, or NULL with errno set. */
void	*slab_alloc(struct slab_pool *);
/* Give a block from slab_alloc() on this pool back; NULL does nothing. */
void	slab_free(struct slab_pool *, void *);
/* Unmap every slab with no block in use. */
void	slab_trim(struct slab_pool *);
void	slab_stats(const struct slab_pool *, struct slab_stats *);

#endif
