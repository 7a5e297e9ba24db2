/* SPDX-License-Identifier: Apache-2.0 */
#ifndef WDA_BASE_LOG_H
#define WDA_BASE_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

/* log.c */

enum log_level { LOG_LVL_ERR = 3, LOG_LVL_WARN = 4, LOG_LVL_NOTICE = 5,
		 LOG_LVL_INFO = 6, LOG_LVL_DEBUG = 7 };

/* Where log lines go: journald (structured) or stderr. */
void	log_open(bool to_journal, enum log_level max_level);
void	log_set_level(enum log_level max_level);
enum log_level log_level_from_name(const char *);	/* config's log_level */
bool	log_journal_available(void);
void	log_msg(enum log_level lvl, const char *component, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
/*
 * Log a state line only when the state named by `key' changes: repeating
 * failures are logged once, then again when the message differs.  Pass
 * NULL fmt to forget the key (the state cleared) without logging.
 */
void	log_state(enum log_level lvl, const char *component, const char *key,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void	log_forget_all(void);

#define log_err(c, ...)		log_msg(LOG_LVL_ERR, c, __VA_ARGS__)
#define log_warn(c, ...)	log_msg(LOG_LVL_WARN, c, __VA_ARGS__)
#define log_notice(c, ...)	log_msg(LOG_LVL_NOTICE, c, __VA_ARGS__)
#define log_info(c, ...)	log_msg(LOG_LVL_INFO, c, __VA_ARGS__)
#define log_debug(c, ...)	log_msg(LOG_LVL_DEBUG, c, __VA_ARGS__)

/* Start-up only: print and exit. */
void	fatal(int code, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3), noreturn));

#endif
