/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: doctor's reading of the docker client's files.  Any
 * bytes, read as a config.json and as a context's meta.json, must give
 * either the facts or one error line naming the file; never a crash or a
 * leak, and nothing left behind by a refusal.  Each fact found in an
 * accepted config.json is a string of its own, and a helper list within
 * its bound.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "main/doctor.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
one_error_line(const char *err)
{
	if (strncmp(err, "fuzz", 4) != 0 || strchr(err, '\n') != NULL)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Not NUL-terminated on purpose: the parsers take a length. */
	char *text = malloc(size > 0 ? size : 1);
	char err[512];
	if (text == NULL)
		return 0;
	memcpy(text, data, size);

	struct docker_config c;
	err[0] = '\0';
	if (docker_config_parse(text, size, "fuzz", &c, err, sizeof err) < 0) {
		one_error_line(err);
		if (c.creds_store != NULL || c.current_context != NULL ||
		    c.helpers != NULL || c.nhelpers != 0)
			abort();
	} else {
		if (c.nhelpers > DOCKER_HELPERS_MAX)
			abort();
		for (size_t i = 0; i < c.nhelpers; i++)
			if (c.helpers[i].registry == NULL ||
			    c.helpers[i].helper == NULL)
				abort();
		if (c.creds_store != NULL)
			(void)docker_helper_name_ok(c.creds_store);
		docker_config_free(&c);
	}

	struct docker_context ctx;
	err[0] = '\0';
	if (docker_context_parse(text, size, "fuzz", &ctx, err,
	    sizeof err) < 0) {
		one_error_line(err);
		if (ctx.name != NULL || ctx.host != NULL)
			abort();
	} else {
		if (ctx.host != NULL)
			(void)docker_host_unix_path(ctx.host);
		docker_context_free(&ctx);
	}
	free(text);
	return 0;
}
