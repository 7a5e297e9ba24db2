/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The slab allocator (slab.c): blocks come zeroed, aligned and apart;
 * a full slab maps another; an empty one goes back unless it is the only
 * one, and slab_trim() returns that one too.  In ASan builds free blocks
 * are poisoned, and touching one after slab_free() is reported.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "base/slab.h"

#if SLAB_POISONS
#include <sanitizer/asan_interface.h>
#endif

/* About a proxy connection's size: ~60 blocks to a slab. */
#define BLOCK	1000

static struct slab_pool pool;

static void
pool_setup(void)
{
	cr_assert(eq(int, slab_pool_init(&pool, BLOCK), 0));
}

static void
pool_teardown(void)
{
	slab_trim(&pool);
}

TestSuite(slab, .init = pool_setup, .fini = pool_teardown, .timeout = 30);

static struct slab_stats
stats(void)
{
	struct slab_stats st;
	slab_stats(&pool, &st);
	return st;
}

/* Is the page holding p mapped?  mincore() says ENOMEM when it is not. */
static bool
mapped(const void *p)
{
	unsigned char vec;
	void *page = (void *)((uintptr_t)p & ~((uintptr_t)getpagesize() - 1));
	return mincore(page, 1, &vec) == 0 || errno != ENOMEM;
}

/* n blocks, each filled with its own byte. */
static void
alloc_filled(void **b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		b[i] = slab_alloc(&pool);
		cr_assert(not(eq(ptr, b[i], NULL)), "block %zu: %s", i,
		    strerror(errno));
		memset(b[i], (int)(i % 251) + 1, BLOCK);
	}
}

static void
free_all(void **b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		slab_free(&pool, b[i]);
}

static int
by_address(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t)*(void *const *)a;
	uintptr_t y = (uintptr_t)*(void *const *)b;
	return x < y ? -1 : x > y;
}

Test(slab, a_pool_sizes_its_blocks_to_fit_its_slabs)
{
	struct slab_stats st = stats();
	cr_assert(eq(sz, st.block_size, 1008));		/* rounded to 16 */
	/* The slab's own header takes 32 bytes, each block's 16. */
	cr_assert(eq(sz, st.per_slab, (SLAB_SIZE - 32) / (1008 + 16)));
	cr_assert(eq(sz, st.slabs, 0));
	cr_assert(eq(sz, st.mapped, 0));
}

Test(slab, a_block_too_big_for_a_slab_or_of_no_size_is_refused)
{
	struct slab_pool p;
	cr_assert(eq(int, slab_pool_init(&p, SLAB_SIZE), -1));
	cr_assert(eq(int, errno, EINVAL));
	cr_assert(eq(ptr, slab_alloc(&p), NULL));
	cr_assert(eq(int, errno, EINVAL));
	cr_assert(eq(int, slab_pool_init(&p, 0), -1));
	cr_assert(eq(int, slab_pool_init(&p, SLAB_SIZE - 64), 0));
	void *b = slab_alloc(&p);
	cr_assert(not(eq(ptr, b, NULL)));
	cr_assert(eq(sz, p.per_slab, 1));
	slab_free(&p, b);
	slab_trim(&p);
	cr_assert(eq(sz, p.nslabs, 0));
}

Test(slab, blocks_come_zeroed_aligned_and_never_overlap)
{
	size_t n = 3 * stats().per_slab + 5;
	void **b = calloc(n, sizeof *b);
	cr_assert(not(eq(ptr, b, NULL)));
	alloc_filled(b, n);
	/* Every block still holds its own byte: none was written over. */
	for (size_t i = 0; i < n; i++) {
		const unsigned char *c = b[i];
		cr_assert(eq(sz, (uintptr_t)b[i] % 16, 0), "block %zu", i);
		for (size_t j = 0; j < BLOCK; j++)
			cr_assert(eq(int, c[j], (int)(i % 251) + 1),
			    "block %zu byte %zu", i, j);
	}
	qsort(b, n, sizeof *b, by_address);
	for (size_t i = 0; i + 1 < n; i++)
		cr_assert(le(uptr, (uintptr_t)b[i] + BLOCK,
		    (uintptr_t)b[i + 1]), "blocks %p and %p overlap", b[i],
		    b[i + 1]);
	free_all(b, n);
	/* A block handed out again is zeroed whatever it held. */
	unsigned char *again = slab_alloc(&pool);
	for (size_t j = 0; j < stats().block_size; j++)
		cr_assert(eq(int, again[j], 0), "byte %zu", j);
	slab_free(&pool, again);
	free(b);
}

Test(slab, a_full_slab_maps_another)
{
	size_t per = stats().per_slab;
	void **b = calloc(per + 1, sizeof *b);
	alloc_filled(b, per);
	struct slab_stats st = stats();
	cr_assert(eq(sz, st.slabs, 1));
	cr_assert(eq(sz, st.used, per));
	cr_assert(eq(sz, st.free, 0));
	alloc_filled(b + per, 1);
	st = stats();
	cr_assert(eq(sz, st.slabs, 2));
	cr_assert(eq(sz, st.used, per + 1));
	cr_assert(eq(sz, st.free, per - 1));
	cr_assert(eq(sz, st.mapped, 2 * (size_t)SLAB_SIZE));
	free_all(b, per + 1);
	free(b);
}

Test(slab, an_empty_slab_is_unmapped_unless_it_is_the_last)
{
	size_t per = stats().per_slab;
	void **b = calloc(2 * per, sizeof *b);
	alloc_filled(b, 2 * per);
	cr_assert(eq(sz, stats().slabs, 2));
	/* The second slab's blocks, all but one: it stays. */
	free_all(b + per, per - 1);
	cr_assert(eq(sz, stats().slabs, 2));
	cr_assert(mapped(b[2 * per - 1]));
	slab_free(&pool, b[2 * per - 1]);
	cr_assert(eq(sz, stats().slabs, 1));
	cr_assert(not(mapped(b[2 * per - 1])), "an empty slab stayed mapped");
	/* The first one empties too, but it is the pool's only slab. */
	free_all(b, per);
	struct slab_stats st = stats();
	cr_assert(eq(sz, st.slabs, 1));
	cr_assert(eq(sz, st.used, 0));
	cr_assert(mapped(b[0]));
	slab_trim(&pool);
	cr_assert(eq(sz, stats().slabs, 0));
	cr_assert(not(mapped(b[0])), "slab_trim left an empty slab mapped");
	free(b);
}

Test(slab, trim_keeps_every_slab_with_a_block_in_use)
{
	size_t per = stats().per_slab;
	void **b = calloc(3 * per, sizeof *b);
	alloc_filled(b, 3 * per);
	/* One block kept in each slab: every other freed. */
	for (size_t i = 0; i < 3 * per; i++)
		if (i % per != 0)
			slab_free(&pool, b[i]);
	slab_trim(&pool);
	struct slab_stats st = stats();
	cr_assert(eq(sz, st.slabs, 3));
	cr_assert(eq(sz, st.used, 3));
	for (size_t i = 0; i < 3 * per; i += per)
		cr_assert(eq(int, *(unsigned char *)b[i], (int)(i % 251) + 1));
	/* The holes fill before a fourth slab is mapped. */
	for (size_t i = 0; i < 3 * per; i++)
		if (i % per != 0)
			alloc_filled(b + i, 1);
	cr_assert(eq(sz, stats().slabs, 3));
	free_all(b, 3 * per);
	cr_assert(eq(sz, stats().slabs, 1));
	free(b);
}

Test(slab, the_last_block_freed_is_the_next_handed_out)
{
	void *a = slab_alloc(&pool), *b = slab_alloc(&pool);
	slab_free(&pool, a);
	cr_assert(eq(ptr, slab_alloc(&pool), a));
	slab_free(&pool, NULL);		/* does nothing */
	cr_assert(eq(sz, stats().used, 2));
	slab_free(&pool, b);
	slab_free(&pool, a);
	cr_assert(eq(sz, stats().used, 0));
}

#if SLAB_POISONS
/*
 * Run what in a child with its stderr captured: the test passes when
 * AddressSanitizer stops it with a report that names `kind'.
 */
static void
assert_asan_reports(void (*what)(void *), void *arg, const char *kind)
{
	int fds[2];
	cr_assert(eq(int, pipe(fds), 0));
	pid_t pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		(void)dup2(fds[1], 2);
		close(fds[0]);
		what(arg);
		_exit(0);
	}
	close(fds[1]);
	static char out[64 * 1024];
	size_t len = 0;
	ssize_t n;
	while (len < sizeof out - 1 &&
	    (n = read(fds[0], out + len, sizeof out - 1 - len)) > 0)
		len += (size_t)n;
	out[len] = '\0';
	close(fds[0]);
	int status;
	cr_assert(eq(int, waitpid(pid, &status, 0), pid));
	bool clean_exit = WIFEXITED(status) && WEXITSTATUS(status) == 0;
	cr_assert(not(clean_exit), "the child ran on unreported");
	cr_assert(not(eq(ptr, strstr(out, kind), NULL)),
	    "no %s report in: %.2000s", kind, out);
}

static void
read_freed_block(void *arg)
{
	volatile char *b = slab_alloc(arg);
	slab_free(arg, (void *)b);
	(void)b[100];
}

static void
free_twice(void *arg)
{
	void *b = slab_alloc(arg);
	slab_free(arg, b);
	slab_free(arg, b);
}

Test(slab, free_blocks_are_poisoned_and_blocks_in_use_are_not)
{
	void *a = slab_alloc(&pool), *b = slab_alloc(&pool);
	cr_assert(eq(ptr, __asan_region_is_poisoned(a, BLOCK), NULL));
	slab_free(&pool, a);
	cr_assert(__asan_address_is_poisoned(a));
	cr_assert(__asan_address_is_poisoned((char *)a + BLOCK - 1));
	cr_assert(eq(ptr, __asan_region_is_poisoned(b, BLOCK), NULL));
	slab_free(&pool, b);
	/* The rest of a fresh slab waits poisoned too. */
	cr_assert(__asan_address_is_poisoned((char *)b + 2 * 1024));
}

Test(slab, reading_a_freed_block_is_reported)
{
	assert_asan_reports(read_freed_block, &pool, "use-after-poison");
}

Test(slab, freeing_a_block_twice_is_reported)
{
	assert_asan_reports(free_twice, &pool, "use-after-poison");
}
#endif
