/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: the configuration parser.  Any bytes must give either
 * a configuration that round-trips through config_to_json, or one error
 * line; never a crash, a leak or a change to the running configuration.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "base/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';

	struct config cfg;
	char err[CONFIG_ERR_LEN];
	config_init(&cfg);
	struct json_object *before = config_to_json(&cfg);
	if (config_load_string(&cfg, text, "fuzz", err, sizeof err) < 0) {
		/* A refused load leaves everything as it was, with one line. */
		struct json_object *after = config_to_json(&cfg);
		if (!json_object_equal(before, after) || err[0] == '\0' ||
		    strchr(err, '\n') != NULL)
			abort();
		json_object_put(after);
	} else {
		/* What was accepted loads back the same. */
		struct json_object *out = config_to_json(&cfg);
		const char *again = json_object_to_json_string(out);
		struct config cfg2;
		config_init(&cfg2);
		if (config_load_string(&cfg2, again, "again", err, sizeof err) < 0)
			abort();
		struct json_object *out2 = config_to_json(&cfg2);
		if (!json_object_equal(out, out2))
			abort();
		json_object_put(out2);
		json_object_put(out);
		config_free(&cfg2);
	}
	json_object_put(before);
	config_free(&cfg);
	free(text);
	return 0;
}
