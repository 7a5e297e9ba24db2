/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the files of the configuration share (config.c, config-keys.c,
 * config-check.c); included by them only.  Everyone else reads config.h.
 */
#ifndef WDA_BASE_CONFIG_INT_H
#define WDA_BASE_CONFIG_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "base/config.h"

struct json_object;

#define CFG(field)	offsetof(struct config, field)

#define CONFIG_NAME_MAX		128	/* longest dotted name we build */
#define CONFIG_LIST_MAX		32	/* values or keys listed in a message */

/* Where an error happened, for messages: "origin: name: what; fix". */
struct config_ctx {
	const char	*origin;	/* file, label or NULL (a flag) */
	char		*err;
	size_t		 errlen;
};

struct config_token {
	const char	*p;
	size_t		 n;
};

/* config.c: messages, storing */
void	config_fail(const struct config_ctx *, const char *name,
	    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Replace a text field; NULL means auto.  Fails only for lack of memory. */
int	config_store_text(struct config *, const struct config_key *,
	    const char *text);

/* config-keys.c: what the table says about a key, and finding keys */
/* Split "a|b|c" into tokens. */
size_t	config_enum_tokens(const char *allowed, struct config_token *,
	    size_t max);
int	config_enum_index(const struct config_key *, const char *);
void	config_int_range(const struct config_key *, long long *lo,
	    long long *hi);
bool	config_enum_is_text(const struct config_key *);
bool	config_is_text(const struct config_key *);
/* A key without a default may be null: "auto", worked out at start. */
bool	config_is_auto(const struct config_key *);
/* Is `name' an object holding keys, such as "socket"? */
bool	config_is_section(const char *name);
/* The names an object allows: for "socket", path, mode, group, ... */
size_t	config_section_children(const char *prefix, struct config_token *,
	    size_t max);

/* config-check.c: checking values, the closest key */
/*
 * The known name closest to `typed', if a few edits away.  With flags, the
 * candidates are the flags; otherwise the dotted keys and the objects
 * ("socket") that hold them.
 */
bool	config_closest(const char *typed, bool flags,
	    struct config_token *best);
/*
 * Check and store a text value (from a JSON string or a flag); `len' is
 * the length json-c decoded, which exceeds strlen() when it held \u0000.
 */
int	config_apply_text(struct config *, const struct config_key *,
	    const char *name, const char *s, size_t len,
	    const struct config_ctx *);
int	config_apply_int(struct config *, const struct config_key *,
	    const char *name, long long v, const char *shown,
	    const struct config_ctx *);
/* Strict: optional '-', then decimal digits, nothing else. */
int	config_parse_int(const char *s, long long *out);
/* The keys of a JSON object (below `prefix'), checked and stored. */
int	config_apply_object(struct config *, struct json_object *obj,
	    const char *prefix, const struct config_ctx *);
/* "a string", "an array", ... for messages. */
const char *config_json_kind(struct json_object *);

/* A key's field in struct config, by the table's offset. */
static inline char **
config_text_field(struct config *c, const struct config_key *k)
{
	return (char **)(void *)((char *)c + k->offset);
}

static inline int *
config_int_field(struct config *c, const struct config_key *k)
{
	return (int *)(void *)((char *)c + k->offset);
}

static inline const char *
config_text_value(const struct config *c, const struct config_key *k)
{
	return *(char *const *)(const void *)((const char *)c + k->offset);
}

static inline int
config_int_value(const struct config *c, const struct config_key *k)
{
	return *(const int *)(const void *)((const char *)c + k->offset);
}

#endif
