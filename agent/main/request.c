/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One request path for both channels that take requests: the control
 * socket (control.c) and the host channel (health.c).  Each channel reads
 * and frames requests its own way and decides, its own way, whether the
 * caller may change the distro; what a request does and what it returns
 * is decided here once, so both channels give the same answer.  The
 * results are those of wsl-docker-agent-protocol(7), REQUESTS.
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <json-c/json.h>

#include "base/defs.h"
#include "base/json.h"
#include "base/util.h"
#include "wire/protocol.h"
#include "io/control.h"
#include "main/request.h"
#include "features/restore.h"
#include "main/agent.h"

static struct json_object *
request_ping(const char *echo)
{
	struct json_object *o = json_object_new_object();

	if (o == NULL)
		return NULL;
	json_object_object_add(o, "pong", json_object_new_boolean(1));
	json_object_object_add(o, "echo",
	    echo != NULL ? json_object_new_string(echo) : NULL);
	json_object_object_add(o, "wall_clock_ms",
	    json_object_new_int64((int64_t)util_wall_ms()));
	return o;
}

static struct json_object *
request_set_disabled(struct agent *a, bool disabled, enum proto_error *e,
    char *why, size_t whylen)
{
	struct json_object *o;

	if (agent_set_disabled(a, disabled, why, whylen) < 0) {
		*e = PROTO_ERR_FAILED;
		return NULL;
	}
	if ((o = json_object_new_object()) != NULL)
		json_object_object_add(o, "disabled",
		    json_object_new_boolean(a->disabled));
	return o;
}

struct json_object *
agent_request(struct agent *a, const struct proto_request_msg *rq,
    bool trusted, const struct request_origin *from, enum proto_error *e,
    char *why, size_t whylen)
{
	struct json_object *result = NULL;
	char reason[128];

	*e = PROTO_OK;
	if (proto_request_changes_state(rq->request) && !trusted) {
		*e = PROTO_ERR_FORBIDDEN;
		snprintf(why, whylen, "%s changes the distro; %s",
		    proto_request_name(rq->request), from->refusal);
		return NULL;
	}
	switch (rq->request) {
	case PROTO_REQ_PING:
		result = request_ping(rq->echo);
		break;
	case PROTO_REQ_RECONCILE:
		snprintf(reason, sizeof reason, "requested %s", from->name);
		agent_reconcile(a, reason);
		/* Asked by hand: bind sources fixed since are brought back too. */
		restore_request(a->restore, reason);
		/* The answer is the status the reconcile left. */
		/* FALLTHROUGH */
	case PROTO_REQ_STATUS:
		result = agent_status_json(a);
		break;
	case PROTO_REQ_DISABLE:
	case PROTO_REQ_ENABLE:
		result = request_set_disabled(a, rq->request ==
		    PROTO_REQ_DISABLE, e, why, whylen);
		if (*e != PROTO_OK)
			return NULL;
		break;
	}
	if (result == NULL) {
		*e = PROTO_ERR_FAILED;
		snprintf(why, whylen, "out of memory");
	}
	return result;
}

/*
 * The status as an ordinary user may see it: bind sources are paths in
 * users' homes, and the containers using them are named after projects,
 * so only the exposures and repairs of sources the asker owns are left
 * (the owner of the source as it is now; one that cannot be stat'ed is
 * not shown), with binds.hidden counting the exposures left out, and
 * binds.error (which may name another user's path) is replaced by a
 * pointer to root's view, as is each problem about a source the asker
 * does not own (its "source" member: restore's, which also name
 * containers) or naming a source left out, and socket.holders (the
 * containers that mount root's socket) is left out.  The parts changed are the
 * status's own copies: what a module keeps is never touched, so root
 * and the host see what they saw before.
 */
static bool
request_owns(const char *source, uid_t uid)
{
	struct stat st;
	return source != NULL && lstat(source, &st) == 0 && st.st_uid == uid;
}

/* parent's member key, an array, replaced by a copy of it; NULL if none. */
static struct json_object *
request_own_copy(struct json_object *parent, const char *key)
{
	struct json_object *v, *copy = NULL;
	if (!json_object_object_get_ex(parent, key, &v) ||
	    !json_object_is_type(v, json_type_array) ||
	    json_object_deep_copy(v, &copy, NULL) != 0)
		return NULL;
	json_object_object_add(parent, key, copy);
	return copy;
}

/*
 * Leave out the elements whose "source" uid does not own; how many.  The
 * sources left out are added to gone (strings), for the problems.
 */
static int64_t
request_drop_others(struct json_object *arr, uid_t uid,
    struct json_object *gone)
{
	int64_t hidden = 0;
	for (size_t i = arr != NULL ? json_object_array_length(arr) : 0;
	    i-- > 0;) {
		const char *src = json_string(json_object_array_get_idx(arr,
		    i), "source");
		if (request_owns(src, uid))
			continue;
		if (src != NULL && src[0] != '\0')
			json_object_array_add(gone, json_object_new_string(src));
		json_object_array_del_idx(arr, i, 1);
		hidden++;
	}
	return hidden;
}

static bool
request_names_gone(const char *text, struct json_object *gone)
{
	for (size_t g = 0; text != NULL && g < json_object_array_length(gone);
	    g++)
		if (strstr(text, json_object_get_string(
		    json_object_array_get_idx(gone, g))) != NULL)
			return true;
	return false;
}

/* A problem about another's source, or naming one left out: told without. */
static void
request_hide_problems(struct json_object *problems, uid_t uid,
    struct json_object *gone)
{
	for (size_t i = 0; problems != NULL &&
	    i < json_object_array_length(problems); i++) {
		struct json_object *p = json_object_array_get_idx(problems, i);
		struct json_object *src;
		bool about = json_object_object_get_ex(p, "source", &src);
		if (about ? request_owns(json_object_get_string(src), uid) :
		    !request_names_gone(json_string(p, "what"), gone) &&
		    !request_names_gone(json_string(p, "fix"), gone))
			continue;
		json_object_object_del(p, "source");
		json_object_object_add(p, "what", json_object_new_string("a bind "
		    "source of another user has a problem (hidden from ordinary "
		    "users: it names their paths and containers)"));
		json_object_object_add(p, "fix", json_object_new_string("run "
		    "'sudo " AGENT_NAME " status'"));
	}
}

void
request_status_for_user(struct json_object *status, uid_t uid)
{
	struct json_object *binds, *err, *restore;
	if (uid == 0)
		return;
	struct json_object *gone = json_object_new_array();
	if (gone == NULL)
		return;
	/* restore.c's repairs name sources too: the same rule. */
	if (json_object_object_get_ex(status, "restore", &restore))
		(void)request_drop_others(request_own_copy(restore, "repairs"),
		    uid, gone);
	if (json_object_object_get_ex(status, "binds", &binds) &&
	    json_object_object_get_ex(binds, "exposures", NULL)) {
		int64_t hidden = request_drop_others(request_own_copy(binds,
		    "exposures"), uid, gone);
		json_object_object_add(binds, "hidden",
		    json_object_new_int64(hidden));
		if (json_object_object_get_ex(binds, "error", &err) &&
		    err != NULL)
			json_object_object_add(binds, "error",
			    json_object_new_string("hidden from ordinary users "
			    "(it may name another user's path): run 'sudo "
			    AGENT_NAME " status'"));
	}
	request_hide_problems(request_own_copy(status, "problems"), uid, gone);
	json_object_put(gone);
	/* Who mounts root's socket is root's to know, as other binds are. */
	struct json_object *socket;
	if (json_object_object_get_ex(status, "socket", &socket))
		json_object_object_del(socket, "holders");
}

const struct request_origin request_host_origin = {
	"by the host",
	"only a host running as root or as the agent's user may ask for it"
};

static const struct request_origin request_control_origin = {
	"on the control socket",
	"only root may change the agent: run it with sudo"
};

struct json_object *
request_on_control(void *arg, struct json_object *req, uid_t uid)
{
	struct agent *a = arg;
	struct proto_request_msg rq = { 0 };
	char why[CONFIG_ERR_LEN];
	enum proto_error e;

	if (!proto_request_by_name(json_string(req, "request"),
	    &rq.request))
		return control_error_reply("unknown-request", "known requests: "
		    "status, ping, reconcile, disable, enable");
	struct json_object *result = agent_request(a, &rq, uid == 0,
	    &request_control_origin, &e, why, sizeof why);
	if (e != PROTO_OK)
		return control_error_reply(proto_error_name(e), why);
	if (rq.request != PROTO_REQ_STATUS)
		return control_ok_reply(result);
	request_status_for_user(result, uid);
	return result;
}
