/*
 * The plumbing every module shares (util.c): unix socket addresses, file
 * and abstract; making a path's parent directories; capped, jittered
 * backoff; reading a string member of a JSON object.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "agent.h"
#include "testlib.h"

static char dir[64];

static void
make_dir(void)
{
	snprintf(dir, sizeof dir, "/tmp/wda-util-XXXXXX");
	cr_assert(ne(ptr, mkdtemp(dir), NULL), "mkdtemp: %s", strerror(errno));
}

static void
remove_dir(void)
{
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	(void)!system(cmd);
}

/* ------------------------------------------------------------------ */
/* util_sockaddr_un */

Test(sockaddr, file_name_keeps_its_nul)
{
	struct sockaddr_un sun;
	socklen_t len = util_sockaddr_un(&sun, "/run/x.sock");
	cr_assert(eq(u32, (uint32_t)len, (uint32_t)(offsetof(struct sockaddr_un,
	    sun_path) + strlen("/run/x.sock") + 1)));
	cr_assert(eq(int, sun.sun_family, AF_UNIX));
	cr_assert(eq(str, sun.sun_path, "/run/x.sock"));
}

Test(sockaddr, abstract_name_has_a_leading_nul_and_no_terminator)
{
	struct sockaddr_un sun;
	socklen_t len = util_sockaddr_un(&sun, "@wda/notify");
	cr_assert(eq(u32, (uint32_t)len, (uint32_t)(offsetof(struct sockaddr_un,
	    sun_path) + strlen("@wda/notify"))));
	cr_assert(eq(chr, sun.sun_path[0], '\0'));
	cr_assert(eq(int, memcmp(sun.sun_path + 1, "wda/notify", 10), 0));
}

Test(sockaddr, longest_names_fit_and_one_more_byte_does_not)
{
	struct sockaddr_un sun;
	char name[sizeof sun.sun_path + 2];
	/* A file: sun_path less its NUL. */
	memset(name, 'a', sizeof name);
	name[0] = '/';
	name[sizeof sun.sun_path - 1] = '\0';
	cr_assert(ne(u32, (uint32_t)util_sockaddr_un(&sun, name), 0));
	name[sizeof sun.sun_path - 1] = 'a';
	name[sizeof sun.sun_path] = '\0';
	errno = 0;
	cr_assert(eq(u32, (uint32_t)util_sockaddr_un(&sun, name), 0));
	cr_assert(eq(int, errno, ENAMETOOLONG));
	/* Abstract: all of sun_path, there is no NUL to keep. */
	name[0] = '@';
	cr_assert(eq(u32, (uint32_t)util_sockaddr_un(&sun, name),
	    (uint32_t)sizeof sun));
	name[sizeof sun.sun_path] = 'a';
	name[sizeof sun.sun_path + 1] = '\0';
	errno = 0;
	cr_assert(eq(u32, (uint32_t)util_sockaddr_un(&sun, name), 0));
	cr_assert(eq(int, errno, ENAMETOOLONG));
}

Test(sockaddr, empty_names_are_refused)
{
	struct sockaddr_un sun;
	errno = 0;
	cr_assert(eq(u32, (uint32_t)util_sockaddr_un(&sun, ""), 0));
	cr_assert(eq(int, errno, EINVAL));
	errno = 0;
	cr_assert(eq(u32, (uint32_t)util_sockaddr_un(&sun, "@"), 0));
	cr_assert(eq(int, errno, EINVAL));
}

Test(sockaddr, an_abstract_socket_is_reached_by_its_name)
{
	char name[64];
	snprintf(name, sizeof name, "@wda-test-%ld", (long)getpid());
	struct sockaddr_un sun;
	socklen_t len = util_sockaddr_un(&sun, name);
	int l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert(ge(int, l, 0));
	cr_assert(eq(int, bind(l, (struct sockaddr *)&sun, len), 0), "bind: %s",
	    strerror(errno));
	cr_assert(eq(int, listen(l, 1), 0));
	int c = util_unix_connect(name);
	cr_assert(ge(int, c, 0), "connect %s: %s", name, strerror(errno));
	int s = accept_within(l, 2000);
	write_all(c, "x", 1);
	char b;
	read_exactly(s, &b, 1, 2000);
	cr_assert(eq(chr, b, 'x'));
	close(s);
	close(c);
	close(l);
}

Test(sockaddr, a_file_socket_is_reached_by_its_path, .init = make_dir,
    .fini = remove_dir)
{
	char path[128];
	snprintf(path, sizeof path, "%s/s.sock", dir);
	int l = unix_listen(path, 1);
	struct stat st;
	cr_assert(eq(int, lstat(path, &st), 0));
	cr_assert(eq(int, S_ISSOCK(st.st_mode) ? 1 : 0, 1), "no socket at %s", path);
	int c = util_unix_connect(path);
	cr_assert(ge(int, c, 0), "connect %s: %s", path, strerror(errno));
	close(accept_within(l, 2000));
	close(c);
	close(l);
}
