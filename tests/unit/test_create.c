/* SPDX-License-Identifier: Apache-2.0 */
/*
 * create.c: the bind sources of container and volume creates, put to a
 * hook and rewritten, every other byte of the body as it came.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <json-c/json.h>

#include "wire/create.h"

Test(create, bind_spec)
{
	size_t n;
	bool ro;
	cr_assert(create_bind_spec("/home/a b:/w", &n, &ro));
	cr_assert(eq(sz, n, 9));
	cr_assert(not(ro));
	cr_assert(create_bind_spec("/src:/dst:ro", &n, &ro));
	cr_assert(ro);
	cr_assert(create_bind_spec("/src:/dst:z,ro", &n, &ro));
	cr_assert(ro);
	cr_assert(create_bind_spec("/src:/dst:rw,rprivate", &n, &ro));
	cr_assert(not(ro));
	cr_assert(not(create_bind_spec("vol:/dst", &n, &ro)), "named volume");
	cr_assert(not(create_bind_spec("/dst", &n, &ro)), "anonymous volume");
	cr_assert(not(create_bind_spec("/a:/b:ro:x", &n, &ro)), "malformed");
	cr_assert(not(create_bind_spec("/a:", &n, &ro)));
	cr_assert(not(create_bind_spec("/a::ro", &n, &ro)));
}

/*
 * A stand-in for binds.c: /home/... goes to /X/<source> (/X/ro/... when
 * read-only, /X/mk/... when to be made), /missing fails.
 */
static int
fake_bind(void *arg, const struct http_bind_source *s, char **repl,
    char *why, size_t whylen)
{
	int *calls = arg;
	const char *source = s->path;
	bool ro = s->read_only;
	if (s->kind != HTTP_SOURCE_BIND)
		return 0;	/* volumes: see rewrite_volume below */
	(*calls)++;
	if (strncmp(source, "/missing", 8) == 0) {
		snprintf(why, whylen, "bind source path does not exist: %s",
		    source);
		return -1;
	}
	if (strncmp(source, "/home/", 6) != 0)
		return 0;
	if (asprintf(repl, "/X%s%s%s", ro ? "/ro" : "",
	    s->create && s->caller->known ? "/mk" : "", source) < 0)
		return -1;
	return 0;
}

static enum create_result
rewrite(const char *body, char **out, int *calls)
{
	size_t n;
	char why[512];
	*calls = 0;
	static const struct http_caller dev = { true, 1000, 1000 };
	return create_rewrite_container(body, strlen(body), &dev, fake_bind, calls,
	    out, &n, why, sizeof why);
}

/* "Not yet" for every source: a mount is under way for it. */
static int
not_yet(void *arg, const struct http_bind_source *s, char **repl,
    char *why, size_t whylen)
{
	(void)s;
	(void)why;
	(void)whylen;
	(*(int *)arg)++;
	*repl = strdup("/would-be-dropped");
	return 1;
}

/* /home/b is "not yet" the first time; each ask's path and `again'. */
struct passes {
	int	 calls;
	char	 seen[256];
};

static int
b_later(void *arg, const struct http_bind_source *s, char **repl,
    char *why, size_t whylen)
{
	struct passes *p = arg;
	(void)repl;
	(void)why;
	(void)whylen;
	size_t n = strlen(p->seen);
	snprintf(p->seen + n, sizeof p->seen - n, "%s%s ", s->path,
	    s->again ? "(again)" : "");
	return strcmp(s->path, "/home/b") == 0 && p->calls++ == 0 ? 1 : 0;
}

Test(create, a_create_asked_in_passes_marks_what_was_answered_before)
{
	const char *body = "{\"HostConfig\":{\"Binds\":[\"/home/a:/a\","
	    "\"/home/b:/b\",\"/home/c:/c\"]}}";
	struct passes p = { 0, "" };
	char *out = NULL, why[512] = "";
	size_t n = 0, asked = 0;
	cr_assert(eq(int, create_rewrite(false, body, strlen(body), NULL,
	    b_later, &p, &asked, &out, &n, why, sizeof why), CREATE_PENDING));
	cr_assert(eq(sz, asked, 1), "a was answered before b said not yet");
	cr_assert(eq(int, create_rewrite(false, body, strlen(body), NULL,
	    b_later, &p, &asked, &out, &n, why, sizeof why), CREATE_UNCHANGED));
	cr_assert(eq(str, p.seen, "/home/a /home/b /home/a(again) /home/b "
	    "/home/c "), "only a was answered before");
}

Test(create, a_hook_saying_not_yet_leaves_the_create_pending_and_untouched)
{
	const char *body = "{\"HostConfig\":{\"Binds\":[\"/home/a:/a\","
	    "\"/home/b:/b\"]}}";
	char *out = NULL, why[512] = "";
	size_t n = 0;
	int calls = 0;
	cr_assert(eq(int, create_rewrite_container(body, strlen(body), NULL,
	    not_yet, &calls, &out, &n, why, sizeof why), CREATE_PENDING));
	cr_assert(eq(ptr, out, NULL), "no body: the create is asked again");
	cr_assert(eq(int, calls, 1), "the walk stops at the first");
	const char *volume = "{\"Driver\":\"local\",\"DriverOpts\":{"
	    "\"type\":\"none\",\"o\":\"bind\",\"device\":\"/home/v\"}}";
	cr_assert(eq(int, create_rewrite_volume(volume, strlen(volume), NULL,
	    not_yet, &calls, &out, &n, why, sizeof why), CREATE_PENDING),
	    "a volume's device too");
	cr_assert(eq(int, calls, 2));
}

static struct json_object *
host_config(const char *json)
{
	struct json_object *o = json_tokener_parse(json), *hc;
	cr_assert(not(eq(ptr, o, NULL)), "not JSON: %s", json);
	cr_assert(json_object_object_get_ex(o, "HostConfig", &hc));
	json_object_get(hc);
	json_object_put(o);
	return hc;
}

static const char *
array_str(struct json_object *hc, const char *key, size_t i)
{
	struct json_object *a;
	cr_assert(json_object_object_get_ex(hc, key, &a));
	return json_object_get_string(json_object_array_get_idx(a, i));
}

Test(create, binds_with_spaces_unicode_and_options)
{
	const char *body = "{\"Image\":\"bb\",\"HostConfig\":{\"Binds\":["
	    "\"/home/dev/my proj:/w\",\"/home/dév/ünï:/u:ro\","
	    "\"vol:/v\",\"/mnt/wsl/x:/x\",\"/srv:/s:rw\"]},\"Labels\":{\"a\":1.50}}";
	char *out;
	int calls;
	cr_assert(eq(int, rewrite(body, &out, &calls), CREATE_CHANGED));
	cr_assert(eq(int, calls, 4), "named volumes are not asked about");
	struct json_object *hc = host_config(out);
	cr_assert(eq(str, (char *)array_str(hc, "Binds", 0),
	    "/X/mk/home/dev/my proj:/w"), "-v: made when missing");
	cr_assert(eq(str, (char *)array_str(hc, "Binds", 1),
	    "/X/ro/mk/home/dév/ünï:/u:ro"));
	cr_assert(eq(str, (char *)array_str(hc, "Binds", 2), "vol:/v"));
	cr_assert(eq(str, (char *)array_str(hc, "Binds", 3), "/mnt/wsl/x:/x"));
	cr_assert(eq(str, (char *)array_str(hc, "Binds", 4), "/srv:/s:rw"));
	json_object_put(hc);
	/* Other members survive, numbers as written, unicode raw. */
	cr_assert(not(eq(ptr, strstr(out, "\"Labels\":{\"a\":1.50}"), NULL)),
	    "%s", out);
	cr_assert(not(eq(ptr, strstr(out, "ünï"), NULL)));
	free(out);
}

Test(create, mounts_type_bind_only)
{
	const char *body = "{\"HostConfig\":{\"Mounts\":["
	    "{\"Type\":\"bind\",\"Source\":\"/home/dev/a\",\"Target\":\"/a\"},"
	    "{\"Type\":\"bind\",\"Source\":\"/home/dev/b\",\"Target\":\"/b\","
	    "\"ReadOnly\":true},"
	    "{\"Type\":\"volume\",\"Source\":\"/home/dev/c\",\"Target\":\"/c\"},"
	    "{\"Type\":\"bind\",\"Source\":\"rel\",\"Target\":\"/d\"},"
	    "{\"Type\":\"tmpfs\",\"Target\":\"/t\"}]}}";
	char *out;
	int calls;
	cr_assert(eq(int, rewrite(body, &out, &calls), CREATE_CHANGED));
	cr_assert(eq(int, calls, 2));
	struct json_object *hc = host_config(out), *m, *s;
	cr_assert(json_object_object_get_ex(hc, "Mounts", &m));
	json_object_object_get_ex(json_object_array_get_idx(m, 0), "Source", &s);
	cr_assert(eq(str, (char *)json_object_get_string(s), "/X/home/dev/a"));
	json_object_object_get_ex(json_object_array_get_idx(m, 1), "Source", &s);
	cr_assert(eq(str, (char *)json_object_get_string(s),
	    "/X/ro/home/dev/b"));
	json_object_object_get_ex(json_object_array_get_idx(m, 2), "Source", &s);
	cr_assert(eq(str, (char *)json_object_get_string(s), "/home/dev/c"));
	json_object_put(hc);
	free(out);
}

Test(create, create_mountpoint_and_the_caller)
{
	/* --mount: must exist, unless BindOptions.CreateMountpoint says. */
	const char *body = "{\"HostConfig\":{\"Mounts\":["
	    "{\"Type\":\"bind\",\"Source\":\"/home/a\",\"BindOptions\":"
	    "{\"CreateMountpoint\":true}},"
	    "{\"Type\":\"bind\",\"Source\":\"/home/b\",\"bindoptions\":"
	    "{\"createmountpoint\":false}},"
	    "{\"Type\":\"bind\",\"Source\":\"/home/c\",\"BindOptions\":"
	    "{\"CreateMountpoint\":1}}]}}";
	char *out;
	int calls;
	cr_assert(eq(int, rewrite(body, &out, &calls), CREATE_CHANGED));
	cr_assert(eq(int, calls, 3));
	cr_assert(not(eq(ptr, strstr(out, "\"/X/mk/home/a\""), NULL)), "%s", out);
	cr_assert(not(eq(ptr, strstr(out, "\"/X/home/b\""), NULL)), "%s", out);
	cr_assert(not(eq(ptr, strstr(out, "\"/X/home/c\""), NULL)),
	    "not a boolean: %s", out);
	free(out);
	/* The caller reaches the hook; unknown when none is given. */
	char why[64];
	size_t n;
	calls = 0;
	const char *one = "{\"HostConfig\":{\"Binds\":[\"/home/a:/a\"]}}";
	cr_assert(eq(int, create_rewrite_container(one, strlen(one), NULL, fake_bind, &calls, &out, &n, why,
	    sizeof why), CREATE_CHANGED));
	cr_assert(not(eq(ptr, strstr(out, "\"/X/home/a:/a\""), NULL)), "%s", out);
	free(out);
}

Test(create, member_names_match_as_the_engine_reads_them)
{
	/* Go's decoder: any case, and the last of equal names counts. */
	const char *body = "{\"hostconfig\":{\"BINDS\":[\"/home/a:/a\"],"
	    "\"mounts\":[{\"type\":\"bind\",\"source\":\"/home/b\"}]}}";
	char *out;
	int calls;
	cr_assert(eq(int, rewrite(body, &out, &calls), CREATE_CHANGED));
	cr_assert(eq(int, calls, 2));
	cr_assert(eq(str, out, "{\"hostconfig\":{\"BINDS\":[\"/X/mk/home/a:/a\"],"
	    "\"mounts\":[{\"type\":\"bind\",\"source\":\"/X/home/b\"}]}}"));
	free(out);
	body = "{\"HostConfig\":{\"Binds\":[\"/srv:/s\"]},"
	    "\"hostConfig\":{\"Binds\":[\"/home/c:/c\"]}}";
	cr_assert(eq(int, rewrite(body, &out, &calls), CREATE_CHANGED));
	cr_assert(eq(int, calls, 1), "only the last HostConfig counts");
	cr_assert(not(eq(ptr, strstr(out, "/X/mk/home/c:/c"), NULL)));
	free(out);
}

/* What a hook was asked, one "kind:path[:volume]" line each. */
struct asked {
	char	 log[1024];
};

static int
record_hook(void *arg, const struct http_bind_source *s, char **repl,
    char *why, size_t whylen)
{
	struct asked *a = arg;
	static const char *const kinds[] = { "bind", "device", "volume" };
	size_t o = strlen(a->log);
	snprintf(a->log + o, sizeof a->log - o, "%s:%s%s%s%s\n", kinds[s->kind],
	    s->path, s->volume != NULL ? ":" : "",
	    s->volume != NULL ? s->volume : "", s->read_only ? ":ro" : "");
	if (strstr(s->path, "missing") != NULL) {
		snprintf(why, whylen, "refused %s", s->path);
		return -1;
	}
	/* A replacement for a named volume is not used. */
	return asprintf(repl, "/E%s", s->path) < 0 ? -1 : 0;
}

static enum create_result
rewrite_volume(const char *body, char **out, struct asked *a)
{
	size_t n;
	char why[256];
	a->log[0] = '\0';
	*out = NULL;
	return create_rewrite_volume(body, strlen(body), NULL, record_hook,
	    a, out, &n, why, sizeof why);
}

Test(create, a_bind_volume_has_its_device_rewritten)
{
	struct asked a;
	char *out;
	const char *body = "{\"Name\":\"v1\",\"Driver\":\"local\",\"DriverOpts\":"
	    "{\"device\":\"/home/dev/vol\",\"o\":\"bind\",\"type\":\"none\"},"
	    "\"Labels\":{\"com.docker.compose.volume\":\"data\",\"n\":1.50}}";
	cr_assert(eq(int, rewrite_volume(body, &out, &a), CREATE_CHANGED));
	cr_assert(eq(str, a.log, "device:/home/dev/vol:v1\n"));
	cr_assert(eq(str, out, "{\"Name\":\"v1\",\"Driver\":\"local\",\"DriverOpts\":"
	    "{\"device\":\"/E/home/dev/vol\",\"o\":\"bind\",\"type\":\"none\"},"
	    "\"Labels\":{\"com.docker.compose.volume\":\"data\",\"n\":1.50}}"),
	    "every other byte as it was");
	free(out);
	/* No driver (the default), names as Go reads them, rbind,ro. */
	cr_assert(eq(int, rewrite_volume("{\"name\":\"v2\",\"driveropts\":"
	    "{\"type\":\"none\",\"o\":\"rbind,ro\",\"device\":\"/srv/x\"}}",
	    &out, &a), CREATE_CHANGED));
	cr_assert(eq(str, a.log, "device:/srv/x:v2:ro\n"));
	cr_assert(not(eq(ptr, strstr(out, "\"device\":\"/E/srv/x\""), NULL)));
	free(out);
	/* The engine names it. */
	cr_assert(eq(int, rewrite_volume("{\"DriverOpts\":{\"type\":\"none\","
	    "\"o\":\"bind\",\"device\":\"/a\"}}", &out, &a),
	    CREATE_CHANGED));
	cr_assert(eq(str, a.log, "device:/a:\n"));
	free(out);
}

Test(create, other_volumes_are_left_alone)
{
	static const char *const bodies[] = {
		"{\"Name\":\"v\"}",
		"{\"Name\":\"v\",\"Driver\":\"local\",\"DriverOpts\":{}}",
		/* Another driver, another type, no bind, relative, no device. */
		"{\"Driver\":\"nfs\",\"DriverOpts\":{\"type\":\"none\",\"o\":"
		    "\"bind\",\"device\":\"/a\"}}",
		"{\"DriverOpts\":{\"type\":\"nfs\",\"o\":\"addr=1.2.3.4\","
		    "\"device\":\":/a\"}}",
		"{\"DriverOpts\":{\"type\":\"tmpfs\",\"o\":\"size=1m\","
		    "\"device\":\"tmpfs\"}}",
		"{\"DriverOpts\":{\"type\":\"none\",\"o\":\"bindx\","
		    "\"device\":\"/a\"}}",
		"{\"DriverOpts\":{\"type\":\"none\",\"o\":\"bind\","
		    "\"device\":\"./data\"}}",
		"{\"DriverOpts\":{\"type\":\"none\",\"o\":\"bind\"}}",
		"{\"DriverOpts\":{\"type\":\"none\",\"o\":\"bind\","
		    "\"device\":7}}",
	};
	for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
		struct asked a;
		char *out;
		cr_assert(eq(int, rewrite_volume(bodies[i], &out, &a),
		    CREATE_UNCHANGED), "%s", bodies[i]);
		cr_assert(eq(str, a.log, ""), "%s", bodies[i]);
	}
	struct asked a;
	char *out;
	cr_assert(eq(int, rewrite_volume("{\"DriverOpts\":{\"type\":\"none\","
	    "\"o\":\"bind\",\"device\":\"/missing\"}}", &out, &a),
	    CREATE_REFUSED));
	cr_assert(eq(int, rewrite_volume("[]", &out, &a),
	    CREATE_UNREADABLE));
	/* A container create's body means nothing here, and vice versa. */
	cr_assert(eq(int, rewrite_volume("{\"HostConfig\":{\"Binds\":"
	    "[\"/home/a:/a\"]}}", &out, &a), CREATE_UNCHANGED));
}

Test(create, named_volumes_a_container_mounts_are_told)
{
	struct asked a = { "" };
	char *out = NULL;
	size_t n;
	char why[256];
	const char *body = "{\"HostConfig\":{\"Binds\":[\"v1:/data\","
	    "\"/home/a:/a\",\"v2:/d2:ro\",\"/anon\",\":/x\"],\"Mounts\":["
	    "{\"Type\":\"volume\",\"Source\":\"v3\",\"Target\":\"/v3\"},"
	    "{\"Type\":\"volume\",\"Target\":\"/anon2\"},"
	    "{\"Type\":\"volume\",\"Source\":\"/abs\",\"Target\":\"/x\"}]}}";
	cr_assert(eq(int, create_rewrite_container(body, strlen(body), NULL,
	    record_hook, &a, &out, &n, why, sizeof why), CREATE_CHANGED));
	cr_assert(eq(str, a.log, "volume:v1\nbind:/home/a\nvolume:v2\n"
	    "volume:v3\n"));
	cr_assert(not(eq(ptr, strstr(out, "\"v1:/data\""), NULL)),
	    "a named volume is never rewritten: %s", out);
	cr_assert(not(eq(ptr, strstr(out, "\"Source\":\"v3\""), NULL)), "%s", out);
	free(out);
	/* The hook refusing a volume (its exposure cannot be mounted). */
	a.log[0] = '\0';
	const char *refused = "{\"HostConfig\":{\"Binds\":[\"missing:/d\"]}}";
	cr_assert(eq(int, create_rewrite_container(refused, strlen(refused), NULL,
	    record_hook, &a, &out, &n, why, sizeof why), CREATE_REFUSED));
	cr_assert(eq(str, why, "refused missing"));
}

Test(create, unchanged_refused_unreadable)
{
	char *out;
	int calls;
	cr_assert(eq(int, rewrite("{\"Image\":\"bb\"}", &out, &calls),
	    CREATE_UNCHANGED));
	cr_assert(eq(ptr, out, NULL));
	cr_assert(eq(int, rewrite("{\"HostConfig\":{\"Binds\":[\"/srv:/s\"]}}",
	    &out, &calls), CREATE_UNCHANGED));
	cr_assert(eq(int, calls, 1));
	cr_assert(eq(int, rewrite("{\"HostConfig\":{\"Binds\":[\"/missing/x:/"
	    "s\"]}}", &out, &calls), CREATE_REFUSED));
	cr_assert(eq(int, rewrite("{\"HostConfig\":", &out, &calls),
	    CREATE_UNREADABLE));
	cr_assert(eq(int, rewrite("[1,2]", &out, &calls),
	    CREATE_UNREADABLE));
	cr_assert(eq(int, rewrite("{} {}", &out, &calls),
	    CREATE_UNREADABLE));
	cr_assert(eq(int, rewrite("{}\r\n", &out, &calls),
	    CREATE_UNCHANGED));
	cr_assert(eq(int, rewrite("{\"HostConfig\":{\"Binds\":\"/home/x:/y\"}}",
	    &out, &calls), CREATE_UNCHANGED), "Binds not an array");
}
