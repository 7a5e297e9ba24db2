/* SPDX-License-Identifier: Apache-2.0 */
#ifndef WDA_BASE_TEXT_H
#define WDA_BASE_TEXT_H

#include <stdbool.h>
#include <stddef.h>

/* Strict UTF-8 (RFC 3629); on failure *bad (may be NULL) is the offset of
 * the offending byte. */
bool	text_utf8_valid(const char *s, size_t len, size_t *bad);
/*
 * Text from outside (paths, names, messages) made safe for logs and
 * status: control characters (C0, DEL, C1) and bytes of invalid UTF-8
 * become "\xNN"; valid UTF-8 is kept.  out (outlen >= 1) is always
 * terminated; what does not fit ends in "...".  Returns strlen(out).
 */
#define TEXT_ESCAPE_SIZE(n)	((n) * 4 + 1)	/* always enough for n bytes */
size_t	text_escape(const char *in, char *out, size_t outlen);
/*
 * A value quoted back in a one-line message (a configuration error): only
 * control characters (C0, DEL) become "\xNN", other bytes are kept; more
 * than TEXT_SHOW_MAX bytes are cut, never inside a UTF-8 sequence, and end
 * in "...".  out holds TEXT_SHOW_SIZE bytes.
 */
#define TEXT_SHOW_MAX	60
#define TEXT_SHOW_SIZE	(TEXT_SHOW_MAX + 8)
void	text_show(const char *s, size_t len, char *out, size_t outlen);
/* Is s one of the '|'-separated words of list? */
bool	text_in_list(const char *list, const char *s);

#endif
