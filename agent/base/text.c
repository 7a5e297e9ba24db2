/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Text from outside: strict UTF-8 (RFC 3629), made safe for logs, status
 * and terminals (control characters and invalid bytes as "\\xNN"), values
 * quoted back in a message, and the '|'-separated word lists the tables
 * use.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "base/text.h"

/* Text: strict UTF-8, no raw control characters */

bool
text_utf8_valid(const char *text, size_t len, size_t *bad)
{
	const unsigned char *s = (const unsigned char *)text;

	for (size_t i = 0; i < len;) {
		unsigned c = s[i];
		size_t n;
		uint32_t cp, min;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1, cp = c & 0x1f, min = 0x80;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2, cp = c & 0x0f, min = 0x800;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3, cp = c & 0x07, min = 0x10000;
		} else
			goto invalid;
		if (len - i <= n)
			goto invalid;
		for (size_t k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				goto invalid;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		/* Overlong forms, surrogates and beyond U+10FFFF. */
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			goto invalid;
		i += n + 1;
		continue;
invalid:
		if (bad != NULL)
			*bad = i;
		return false;
	}
	return true;
}

/*
 * The next piece of s: one byte, or one whole UTF-8 sequence that is kept.
 * C1 controls (U+0080..U+009F) act on terminals too, so they are escaped.
 */
static size_t
text_escape_piece(const unsigned char *s, size_t left, bool *keep)
{
	size_t n = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc0 ? 2 : 1;

	if (s[0] < 0x80) {
		*keep = s[0] >= 0x20 && s[0] < 0x7f;
		return 1;
	}
	*keep = n > 1 && n <= left &&
	    text_utf8_valid((const char *)s, n, NULL) &&
	    !(s[0] == 0xc2 && s[1] < 0xa0);
	return *keep ? n : 1;
}

/* Escaping for logs and status */

size_t
text_escape(const char *in, char *out, size_t outlen)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s;
	size_t len = strlen(in), total = 0, o = 0, n;
	bool keep;

	if (outlen == 0)
		return 0;
	s = (const unsigned char *)in;
	for (size_t left = len; left > 0; s += n, left -= n) {
		n = text_escape_piece(s, left, &keep);
		total += keep ? n : 4;
	}
	/* What does not fit is cut at a piece's end and marked "...". */
	size_t reserve = total < outlen || outlen < 4 ? 0 : 3;
	s = (const unsigned char *)in;
	for (size_t left = len; left > 0; s += n, left -= n) {
		n = text_escape_piece(s, left, &keep);
		if (o + (keep ? n : 4) + reserve >= outlen)
			break;
		if (keep) {
			memcpy(out + o, s, n);
			o += n;
		} else {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[s[0] >> 4];
			out[o++] = hex[s[0] & 0xf];
		}
	}
	if (reserve > 0) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
	return o;
}

/* Quoting a value back in a message */

void
text_show(const char *s, size_t len, char *out, size_t outlen)
{
	size_t o = 0;
	bool cut = false;

	if (outlen < 4) {
		if (outlen > 0)
			out[0] = '\0';
		return;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		char piece[8];
		size_t n = 1;
		if (ch < 0x20 || ch == 0x7f)
			n = (size_t)snprintf(piece, sizeof piece, "\\x%02x", ch);
		else
			piece[0] = (char)ch;
		if (o + n > TEXT_SHOW_MAX || o + n + 4 > outlen) {
			cut = true;
			break;
		}
		memcpy(out + o, piece, n);
		o += n;
	}
	if (cut) {
		/* Drop a multi-byte character whose tail did not fit. */
		size_t lead = o;
		while (lead > 0 && ((unsigned char)out[lead - 1] & 0xc0) == 0x80)
			lead--;
		if (lead > 0 && (unsigned char)out[lead - 1] >= 0xc0) {
			unsigned char c0 = (unsigned char)out[lead - 1];
			size_t want = c0 >= 0xf0 ? 4 : c0 >= 0xe0 ? 3 : 2;
			if (o - (lead - 1) < want)
				o = lead - 1;
		}
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
}

/* Word lists */

bool
text_in_list(const char *list, const char *s)
{
	size_t n = strlen(s);

	for (const char *p = list; p != NULL; p = strchr(p, '|')) {
		if (*p == '|')
			p++;
		if (strncmp(p, s, n) == 0 && (p[n] == '|' || p[n] == '\0'))
			return true;
	}
	return false;
}
