/* SPDX-License-Identifier: Apache-2.0 */
#ifndef WDA_BASE_DEFS_H
#define WDA_BASE_DEFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#define AGENT_NAME "wsl-docker-agent"

/* Exit codes (sysexits-style where one fits; documented in the man page). */
#define EXIT_UNHEALTHY	 1	/* status: something needs attention */
#define EXIT_USAGE	 64	/* EX_USAGE: bad command line */
#define EXIT_CONFIG	 78	/* EX_CONFIG: bad configuration */
#define EXIT_UNAVAILABLE 69	/* EX_UNAVAILABLE: agent not running */
#define EXIT_SOFTWARE	 70	/* EX_SOFTWARE: internal error */
#define EXIT_OSERR	 71	/* EX_OSERR: a system call failed at start */
#define EXIT_NOPERM	 77	/* EX_NOPERM: needs root */
#define EXIT_CONFLICT	 75	/* EX_TEMPFAIL: refused to take over */

/*
 * json-c 0.18 also refuses an integer too large for 64 bits while parsing
 * ("number expected", with the byte); before, it kept it clamped and the
 * agent's own range checks name the key (as they still do for 1e400).
 */
#define JSON_C_REFUSES_HUGE_NUMBERS \
	(JSON_C_VERSION_NUM >= ((0 << 16) | (18 << 8)))

/* Fixed bounds on everything read from outside. */
#define CONFIG_MAX_BYTES	(256 * 1024)
#define JSON_MAX_DEPTH		16
#define CONTROL_MAX_LINE	4096
#define CONTROL_TIMEOUT_S	5	/* seconds, both ends */
#define NAME_MAX_LEN		255

#endif
