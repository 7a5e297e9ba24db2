/* SPDX-License-Identifier: Apache-2.0 */
/*
 * base/sha256.c: SHA-256 (FIPS 180-4) of a string, for the names others
 * derive from one: Docker Desktop's exposures (the sha256 of a bind
 * source's path) and the docker CLI's context directories (of a context's
 * name).
 */
#ifndef WDA_BASE_SHA256_H
#define WDA_BASE_SHA256_H

#define SHA256_HEX_SIZE	65	/* 64 hex digits and the terminator */

/* The sha256 of the string s (its bytes, no terminator), lowercase hex. */
void	sha256_hex(const char *s, char hex[SHA256_HEX_SIZE]);

#endif
