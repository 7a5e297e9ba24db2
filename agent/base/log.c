/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Logging: journald with structured fields under systemd, stderr otherwise.
 * log_state() keeps one line per state change so a repeating failure never
 * floods the log.  Messages carry paths and names from outside (the shared
 * tree, the engine, the host): each line is escaped once, on its way out,
 * so a control character can neither forge a line nor drive a terminal.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-journal.h>

#include "base/defs.h"
#include "base/log.h"
#include "base/text.h"

#define LOG_LINE_MAX	1024
#define LOG_STATE_MAX	128	/* distinct state keys remembered */

struct log_state_slot {
	char	*key;
	char	*last;		/* last message logged for the key */
};

static bool		  log_to_journal;
static enum log_level	  log_max = LOG_LVL_INFO;
static struct log_state_slot log_states[LOG_STATE_MAX];

static const char *
log_level_name(enum log_level lvl)
{
	switch (lvl) {
	case LOG_LVL_ERR:	return "error";
	case LOG_LVL_WARN:	return "warning";
	case LOG_LVL_NOTICE:	return "notice";
	case LOG_LVL_INFO:	return "info";
	case LOG_LVL_DEBUG:	return "debug";
	}
	return "?";
}

enum log_level
log_level_from_name(const char *name)
{
	for (int l = LOG_LVL_ERR; l <= LOG_LVL_DEBUG; l++)
		if (name != NULL && strcmp(name, log_level_name((enum log_level)l)) == 0)
			return (enum log_level)l;
	return LOG_LVL_INFO;
}

bool
log_journal_available(void)
{
	/* systemd sets JOURNAL_STREAM when stderr is connected to journald. */
	return getenv("JOURNAL_STREAM") != NULL &&
	    access("/run/systemd/journal/socket", W_OK) == 0;
}

void
log_open(bool to_journal, enum log_level max_level)
{
	log_to_journal = to_journal;
	log_max = max_level;
}

void
log_set_level(enum log_level max_level)
{
	log_max = max_level;
}

static void
log_emit(enum log_level lvl, const char *component, const char *raw)
{
	char text[TEXT_ESCAPE_SIZE(LOG_LINE_MAX)];
	text_escape(raw, text, sizeof text);
	if (log_to_journal) {
		int r = sd_journal_send("MESSAGE=%s", text,
		    "PRIORITY=%d", (int)lvl,
		    "SYSLOG_IDENTIFIER=%s", AGENT_NAME,
		    "WDA_COMPONENT=%s", component,
		    NULL);
		if (r >= 0)
			return;
	}
	/*
	 * Under a service manager that adds its own timestamps the prefix
	 * would be noise; on a terminal or in the start log it helps.
	 */
	char stamp[32] = "";
	struct timespec ts;
	struct tm tm;
	if (clock_gettime(CLOCK_REALTIME, &ts) == 0 &&
	    localtime_r(&ts.tv_sec, &tm) != NULL)
		strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S ", &tm);
	fprintf(stderr, "%s%s: %s: %s: %s\n", stamp, AGENT_NAME,
	    log_level_name(lvl), component, text);
}

static void
log_vformat(char *buf, size_t len, const char *fmt, va_list ap)
{
	int saved = errno;
	vsnprintf(buf, len, fmt, ap);
	errno = saved;
}

void
log_msg(enum log_level lvl, const char *component, const char *fmt, ...)
{
	if (lvl > log_max)
		return;
	char buf[LOG_LINE_MAX];
	va_list ap;
	va_start(ap, fmt);
	log_vformat(buf, sizeof buf, fmt, ap);
	va_end(ap);
	log_emit(lvl, component, buf);
}

static struct log_state_slot *
log_state_slot(const char *key, bool create)
{
	struct log_state_slot *free_slot = NULL;
	for (size_t i = 0; i < LOG_STATE_MAX; i++) {
		if (log_states[i].key == NULL) {
			if (free_slot == NULL)
				free_slot = &log_states[i];
			continue;
		}
		if (strcmp(log_states[i].key, key) == 0)
			return &log_states[i];
	}
	if (!create)
		return NULL;
	if (free_slot == NULL)
		free_slot = &log_states[0];	/* full: recycle, worst case a repeat */
	free(free_slot->key);
	free(free_slot->last);
	free_slot->key = strdup(key);
	free_slot->last = NULL;
	return free_slot->key != NULL ? free_slot : NULL;
}

void
log_state(enum log_level lvl, const char *component, const char *key,
    const char *fmt, ...)
{
	if (fmt == NULL) {
		struct log_state_slot *s = log_state_slot(key, false);
		if (s != NULL) {
			free(s->key);
			free(s->last);
			s->key = s->last = NULL;
		}
		return;
	}
	char buf[LOG_LINE_MAX];
	va_list ap;
	va_start(ap, fmt);
	log_vformat(buf, sizeof buf, fmt, ap);
	va_end(ap);

	struct log_state_slot *s = log_state_slot(key, true);
	if (s != NULL && s->last != NULL && strcmp(s->last, buf) == 0)
		return;
	if (s != NULL) {
		free(s->last);
		s->last = strdup(buf);
	}
	if (lvl <= log_max)
		log_emit(lvl, component, buf);
}

void
log_forget_all(void)
{
	for (size_t i = 0; i < LOG_STATE_MAX; i++) {
		free(log_states[i].key);
		free(log_states[i].last);
		log_states[i].key = log_states[i].last = NULL;
	}
}

void
fatal(int code, const char *fmt, ...)
{
	char buf[LOG_LINE_MAX];
	va_list ap;
	va_start(ap, fmt);
	log_vformat(buf, sizeof buf, fmt, ap);
	va_end(ap);
	char text[TEXT_ESCAPE_SIZE(LOG_LINE_MAX)];
	text_escape(buf, text, sizeof text);
	if (log_to_journal)
		sd_journal_send("MESSAGE=%s", text, "PRIORITY=%d", LOG_LVL_ERR,
		    "SYSLOG_IDENTIFIER=%s", AGENT_NAME, NULL);
	fprintf(stderr, "%s: %s\n", AGENT_NAME, text);
	exit(code);
}
