/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: the engine's view of a path (pathmap.c).  The first
 * line of the input is bind.shared_paths (used when config.c would accept
 * it), the rest is mountinfo.  Any bytes must give a table within its
 * bound whose every entry translates its own prefix to its engine path,
 * and a path the engine sees back to one that translates to it; never a
 * crash, a leak or UB.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <json-c/json.h>

#include "base/pathlist.h"
#include "wire/pathmap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	size_t first = nl != NULL ? (size_t)(nl - data) : size;
	char *shared = strndup((const char *)data, first);
	if (shared == NULL)
		return 0;
	char why[256];
	if (strlen(shared) != first || pathlist_check(shared, why,
	    sizeof why) < 0)
		shared[0] = '\0';

	int fd = memfd_create("mountinfo", MFD_CLOEXEC);
	if (fd < 0)
		abort();
	size_t off = nl != NULL ? first + 1 : size;
	if (size > off && write(fd, data + off, size - off) !=
	    (ssize_t)(size - off))
		abort();
	char path[64];
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);

	struct pathmap_options o = { path, "/nonexistent/virtiofs",
	    PATHMAP_ENGINE_WSL_ROOT, PATHMAP_ENGINE_DRIVE_ROOT, shared };
	struct pathmap *m = pathmap_new(&o);
	if (m == NULL)
		abort();
	struct json_object *a = pathmap_status_json(m);
	size_t n = json_object_array_length(a);
	if (n == 0 || n > PATHMAP_ENTRIES_MAX)
		abort();
	for (size_t i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(a, i), *l, *g;
		json_object_object_get_ex(e, "local", &l);
		json_object_object_get_ex(e, "engine", &g);
		const char *local = json_object_get_string(l);
		char *out;
		enum pathmap_result r = pathmap_translate(m, local, &out);
		if (g == NULL ? r != PATHMAP_EXPOSE :
		    r != PATHMAP_KEEP_AS || strcmp(out,
		    json_object_get_string(g)) != 0)
			abort();
		free(out);
		/* Back: a user path, if any, translates to the same path. */
		char *below, *user, *again = NULL;
		if (g == NULL || asprintf(&below, "%s/x", json_object_get_string(
		    g)) < 0)
			continue;
		user = pathmap_user_path(m, below);
		if (user != NULL && (pathmap_translate(m, user, &again) !=
		    PATHMAP_KEEP_AS || strcmp(again, below) != 0))
			abort();
		free(again);
		free(user);
		free(below);
	}
	json_object_put(a);
	pathmap_free(m);
	close(fd);
	free(shared);
	return 0;
}
