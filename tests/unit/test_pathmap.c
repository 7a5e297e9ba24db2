/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The engine's view of a path (pathmap.c): the table built from real WSL 2
 * mountinfo lines and the configuration, and what it makes of paths at,
 * below and beside each prefix.
 *
 * Where a line comes from is said next to it.  Threads quote /proc/mounts
 * or mount(8) more often than mountinfo; such a mount is written here as
 * mountinfo shows it (its ids and propagation made up, its source, type,
 * mount point and super options as quoted: they are the same text in both
 * files).
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "base/config.h"
#include "sys/wsl.h"
#include "wire/pathmap.h"

/* microsoft/WSL#7152, `grep wsl /proc/self/mountinfo' in a WSL 2 distro. */
#define MI_SHARED \
	"82 86 0:35 / /mnt/wsl rw,relatime shared:1 - tmpfs none rw,huge=advise\n"
#define MI_DRIVERS \
	"83 86 0:37 / /usr/lib/wsl/drivers ro,nosuid,nodev,noatime - 9p drivers " \
	"ro,aname=drivers;fmask=222;dmask=222,cache=0x5,access=client," \
	"msize=65536,trans=fd,rfd=8,wfd=8\n"
#define MI_WSLG \
	"87 86 0:41 / /mnt/wslg rw,relatime shared:2 - tmpfs none rw,huge=advise\n"
/* lamyj/wsl-path-converter#4, WSL 2's /proc/mounts: "C:\134 /mnt/c 9p ...". */
#define MI_C \
	"95 86 0:52 / /mnt/c rw,noatime shared:40 - 9p C:\\134 rw,dirsync," \
	"aname=drvfs;path=C:\\;uid=1000;gid=1000;symlinkroot=/mnt/,mmap," \
	"access=client,msize=65536,trans=fd,rfd=8,wfd=8\n"
/* The same line for D: (a second drive is mounted the same way). */
#define MI_D \
	"96 86 0:53 / /mnt/d rw,noatime shared:41 - 9p D:\\134 rw,dirsync," \
	"aname=drvfs;path=D:\\;uid=1000;gid=1000;symlinkroot=/mnt/,mmap," \
	"access=client,msize=65536,trans=fd,rfd=8,wfd=8\n"
/*
 * microsoft/WSL#5302 (the options init logs for 9p over virtio, source
 * "drvfs"): "aname=drvfs;path=F:\;uid=1000;gid=1000;symlinkroot=/mnt/".
 */
#define MI_F_VIRTIO \
	"97 86 0:54 / /mnt/f rw,noatime - 9p drvfs rw,dirsync,mmap," \
	"access=client,msize=262144,trans=virtio," \
	"aname=drvfs;path=F:\\;uid=1000;gid=1000;symlinkroot=/mnt/\n"
/*
 * microsoft/WSL#10056, Docker Desktop's own mount of a Windows folder:
 * spaces in the super options, unescaped.
 */
#define MI_DOCKER_HOST \
	"98 86 0:55 / /Docker/host rw,noatime - 9p drvfs rw,dirsync,noatime," \
	"aname=drvfs;path=C:\\Program Files\\Docker\\Docker\\resources;" \
	"symlinkroot=/mnt/,mmap,access=client,msize=262144,trans=virtio\n"

static char dir[64];
static char mi[PATH_MAX];
static char tags[PATH_MAX];
static struct pathmap *map;

static void
setup(void)
{
	snprintf(dir, sizeof dir, "/tmp/wda-pathmap-XXXXXX");
	cr_assert(ne(ptr, mkdtemp(dir), NULL));
	snprintf(mi, sizeof mi, "%s/mountinfo", dir);
	snprintf(tags, sizeof tags, "%s/virtiofs", dir);
	cr_assert(eq(int, mkdir(tags, 0755), 0));
	map = NULL;
}

static void
teardown(void)
{
	pathmap_free(map);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	(void)!system(cmd);
}

static void
write_mountinfo(const char *text)
{
	FILE *f = fopen(mi, "w");
	cr_assert(ne(ptr, f, NULL));
	cr_assert(eq(sz, fwrite(text, 1, strlen(text), f), strlen(text)));
	cr_assert(eq(int, fclose(f), 0));
}

/* The table for this mountinfo text and configuration. */
static void
build(const char *text, const char *wsl_root, const char *drive_root,
    const char *shared)
{
	write_mountinfo(text);
	struct pathmap_options o = { mi, tags, wsl_root, drive_root, shared };
	pathmap_free(map);
	map = pathmap_new(&o);
	cr_assert(ne(ptr, map, NULL));
}

static void
build_default(const char *text)
{
	build(text, PATHMAP_ENGINE_WSL_ROOT, PATHMAP_ENGINE_DRIVE_ROOT, "");
}

/* path is KEEP_AS want (want NULL: EXPOSE). */
static void
expect(const char *path, const char *want)
{
	char *out = (char *)"unset";
	enum pathmap_result r = pathmap_translate(map, path, &out);
	if (want == NULL) {
		cr_expect(eq(int, r, PATHMAP_EXPOSE), "%s is re-exposed", path);
		cr_expect(eq(ptr, out, NULL));
		return;
	}
	cr_expect(eq(int, r, PATHMAP_KEEP_AS), "the engine sees %s", path);
	if (r == PATHMAP_KEEP_AS)
		cr_expect(eq(str, out, (char *)want), "%s", path);
	free(out);
}

/* The table as "local>engine(kind)" lines, sorted. */
static char *
table(void)
{
	struct json_object *a = pathmap_status_json(map);
	static char buf[4096];
	size_t o = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		struct json_object *e = json_object_array_get_idx(a, i), *l, *g, *k;
		cr_assert(json_object_object_get_ex(e, "local", &l));
		cr_assert(json_object_object_get_ex(e, "engine", &g));
		cr_assert(json_object_object_get_ex(e, "kind", &k));
		o += (size_t)snprintf(buf + o, sizeof buf - o, "%s>%s(%s)\n",
		    json_object_get_string(l),
		    g != NULL ? json_object_get_string(g) : "-",
		    json_object_get_string(k));
	}
	json_object_put(a);
	return buf;
}

TestSuite(pathmap, .init = setup, .fini = teardown);

Test(pathmap, docker_desktop_layout)
{
	build_default(MI_SHARED MI_DRIVERS MI_WSLG MI_C MI_D MI_DOCKER_HOST);
	cr_assert(eq(str, table(),
	    "/mnt/c>/run/desktop/mnt/host/c(drive)\n"
	    "/mnt/d>/run/desktop/mnt/host/d(drive)\n"
	    "/mnt/wsl>/run/desktop/mnt/host/wsl(shared-tree)\n"));
	cr_assert(eq(str, (char *)pathmap_shared_root(map), "/mnt/wsl"));

	/* At, below and beside each prefix. */
	expect("/mnt/c", "/run/desktop/mnt/host/c");
	expect("/mnt/c/Users/me/proj", "/run/desktop/mnt/host/c/Users/me/proj");
	expect("/mnt/cx", NULL);
	expect("/mnt/cx/y", NULL);
	expect("/mnt/d/data", "/run/desktop/mnt/host/d/data");
	expect("/mnt/wsl", "/run/desktop/mnt/host/wsl");
	expect("/mnt/wsl/docker-desktop-bind-mounts/Ubuntu/ab12",
	    "/run/desktop/mnt/host/wsl/docker-desktop-bind-mounts/Ubuntu/ab12");
	expect("/mnt/wslg/x", NULL);	/* another shared tmpfs, not the tree */
	expect("/mnt", NULL);
	expect("/", NULL);
	expect("/home/me/app", NULL);
	expect("/usr/lib/wsl/drivers", NULL);	/* 9p, but not drvfs */
	expect("/Docker/host", NULL);	/* a folder of C:, not a drive */
	expect("relative/mnt/c", NULL);
}

/* The engine's path back to this distro's: want NULL for none. */
static void
expect_user(const char *engine, const char *want)
{
	char *got = pathmap_user_path(map, engine);
	if (want == NULL)
		cr_expect(eq(ptr, got, NULL), "%s stays: %s", engine, got);
	else if (got == NULL)
		cr_expect(false, "%s should be %s", engine, want);
	else
		cr_expect(eq(str, got, (char *)want), "%s", engine);
	free(got);
}

Test(pathmap, engine_paths_back_in_the_distros_terms)
{
	build_default(MI_SHARED MI_C MI_D
	    "120 95 0:70 / /mnt/c/tmp rw - tmpfs tmpfs rw\n");
	expect_user("/run/desktop/mnt/host/c", "/mnt/c");
	expect_user("/run/desktop/mnt/host/c/Users/me", "/mnt/c/Users/me");
	expect_user("/run/desktop/mnt/host/wsl/x y", "/mnt/wsl/x y");
	expect_user("/run/desktop/mnt/host/cx", NULL);
	expect_user("/run/desktop/mnt/host", NULL);
	expect_user("/var/lib/docker/volumes/v/_data", NULL);
	expect_user("relative", NULL);
	/* Hidden by a mount over the drive: not the same place here. */
	expect_user("/run/desktop/mnt/host/c/tmp/x", NULL);
	/* The engine sees the tree where the distro does: nothing to do. */
	build(MI_SHARED MI_C, "/mnt/wsl", PATHMAP_ENGINE_DRIVE_ROOT, "");
	expect_user("/mnt/wsl/x", NULL);
	expect_user("/run/desktop/mnt/host/c/x", "/mnt/c/x");
	/* Configured, to the engine's "/": never everything. */
	build(MI_SHARED, PATHMAP_ENGINE_WSL_ROOT, "", "/srv/data=/");
	expect_user("/etc", NULL);
	expect_user("/run/desktop/mnt/host/wsl/a", "/mnt/wsl/a");
}

Test(pathmap, automount_root_slash)
{
	/*
	 * [automount] root=/: the tree at /wsl, drives at /c.  The 9p
	 * options are microsoft/WSL#4774's ("C: on /c type 9p (rw,relatime,
	 * dirsync,aname=drvfs;path=C:;symlinkroot=/,...)"), path=C: without
	 * a backslash as older builds wrote it.
	 */
	build_default(
	    "82 86 0:35 / /wsl rw,relatime shared:1 - tmpfs none rw\n"
	    "95 86 0:52 / /c rw,relatime - 9p C: rw,dirsync,"
	    "aname=drvfs;path=C:;symlinkroot=/,mmap,access=client,msize=65536,"
	    "trans=fd,rfd=3,wfd=3\n");
	expect("/c/src", "/run/desktop/mnt/host/c/src");
	expect("/wsl/x", "/run/desktop/mnt/host/wsl/x");
	expect("/mnt/c/src", NULL);
	expect("/mnt/wsl/x", NULL);
	cr_assert(eq(str, (char *)pathmap_shared_root(map), "/wsl"));
}

Test(pathmap, virtiofs_and_virtio_9p)
{
	/* microsoft/WSL#14301: "drvfsC0 on /mnt/c type virtiofs (rw,noatime)". */
	/*
	 * Later WSL tags each share with a GUID and links
	 * /run/wsl/virtiofs/<tag> to the Windows path ("E:\"), as
	 * SaveVirtiofsTagMapping in microsoft/WSL src/linux/init/drvfs.cpp does.
	 */
	char link[PATH_MAX + 64];
	snprintf(link, sizeof link, "%s/0c4e7a52-2f7b-4a43-9a51-3b3f0e6a1d2c",
	    tags);
	cr_assert(eq(int, symlink("E:\\", link), 0));
	snprintf(link, sizeof link, "%s/7f1d3c1e-0000-4000-8000-000000000001",
	    tags);
	cr_assert(eq(int, symlink("C:\\Users", link), 0));
	build_default(MI_SHARED
	    "100 86 0:60 / /mnt/c rw,noatime - virtiofs drvfsC0 rw\n"
	    "101 86 0:61 / /mnt/e rw,noatime - virtiofs "
	    "0c4e7a52-2f7b-4a43-9a51-3b3f0e6a1d2c rw\n"
	    /* A folder share, and the aggregate device (microsoft/WSL#41129). */
	    "102 86 0:62 / /mnt/users rw,noatime - virtiofs "
	    "7f1d3c1e-0000-4000-8000-000000000001 rw\n"
	    "103 86 0:63 / /run/wsl/virtiofs-mounts/drvfsa rw - virtiofs drvfsa rw\n"
	    "104 86 0:64 / /mnt/q rw - virtiofs ../../etc rw\n"
	    MI_F_VIRTIO);
	expect("/mnt/c/x", "/run/desktop/mnt/host/c/x");
	expect("/mnt/e/x", "/run/desktop/mnt/host/e/x");
	expect("/mnt/f/x", "/run/desktop/mnt/host/f/x");
	expect("/mnt/users/x", NULL);
	expect("/run/wsl/virtiofs-mounts/drvfsa/x", NULL);
	expect("/mnt/q", NULL);
}

Test(pathmap, wsl1_drvfs)
{
	/* lamyj/wsl-path-converter#4, WSL 1: "C: /mnt/c drvfs rw,noatime,...". */
	build_default(MI_SHARED
	    "95 86 0:52 / /mnt/c rw,noatime - drvfs C: rw,noatime,uid=1000,"
	    "gid=1000,case=off\n"
	    "96 86 0:53 / /mnt/z rw,noatime - drvfs \\\\\\\\srv\\\\share rw\n");
	expect("/mnt/c/x", "/run/desktop/mnt/host/c/x");
	expect("/mnt/z/x", NULL);	/* a UNC share: no drive letter */
}

Test(pathmap, escapes_and_binds_of_a_drive_folder)
{
	build_default(MI_SHARED MI_C
	    /* The drive bound at a path with a space, as mountinfo escapes it. */
	    "110 86 0:52 / /home/me/win\\040c rw,noatime - 9p C:\\134 rw,"
	    "aname=drvfs;path=C:\\;uid=1000\n"
	    /* mount --bind /mnt/c/Users/me /home/me/cu: root is the folder. */
	    "111 86 0:52 /Users/me\\040too /home/me/cu rw,noatime - 9p C:\\134 rw,"
	    "aname=drvfs;path=C:\\;uid=1000\n");
	expect("/home/me/win c/f", "/run/desktop/mnt/host/c/f");
	expect("/home/me/win\\040c/f", NULL);
	expect("/home/me/cu/proj", "/run/desktop/mnt/host/c/Users/me too/proj");
}

Test(pathmap, mounts_over_a_drive_hide_it)
{
	build_default(MI_SHARED MI_C MI_D
	    "120 95 0:70 / /mnt/c/tmp rw - tmpfs tmpfs rw\n"
	    "121 96 0:71 / /mnt/d rw - tmpfs tmpfs rw\n");
	expect("/mnt/c/x", "/run/desktop/mnt/host/c/x");
	expect("/mnt/c/tmp", NULL);
	expect("/mnt/c/tmp/x", NULL);
	expect("/mnt/c/tmpx", "/run/desktop/mnt/host/c/tmpx");
	expect("/mnt/d/x", NULL);
	cr_assert(eq(str, table(),
	    "/mnt/c>/run/desktop/mnt/host/c(drive)\n"
	    "/mnt/c/tmp>-(local)\n"
	    "/mnt/wsl>/run/desktop/mnt/host/wsl(shared-tree)\n"));
	/* A mount at /mnt hides every drive below it. */
	build_default(MI_SHARED MI_C "130 86 0:72 / /mnt rw - tmpfs tmpfs rw\n");
	expect("/mnt/c/x", NULL);
	/* Nothing found in mountinfo replaces the shared tree's entry. */
	build_default(MI_SHARED
	    "100 86 0:60 / /mnt/wsl rw - virtiofs drvfsC0 rw\n"
	    "130 86 0:72 / /mnt rw - tmpfs tmpfs rw\n");
	expect("/mnt/wsl/x", "/run/desktop/mnt/host/wsl/x");
	/* A drive mounted again over a hole brings it back. */
	build_default(MI_SHARED MI_C "120 95 0:70 / /mnt/c/tmp rw - tmpfs t rw\n"
	    MI_C);
	expect("/mnt/c/tmp/x", "/run/desktop/mnt/host/c/tmp/x");
}

Test(pathmap, longest_prefix_wins)
{
	/* microsoft/WSL#6196 bound /mnt/c at /mnt/wsl/c. */
	build(MI_SHARED MI_C
	    "140 82 0:52 / /mnt/wsl/c rw,noatime - 9p C:\\134 rw,"
	    "aname=drvfs;path=C:\\;uid=1000\n",
	    PATHMAP_ENGINE_WSL_ROOT, PATHMAP_ENGINE_DRIVE_ROOT,
	    "/mnt:/mnt/c/Users/me/proj=/work/proj");
	expect("/mnt/wsl/c/x", "/run/desktop/mnt/host/c/x");
	expect("/mnt/wsl/cx", "/run/desktop/mnt/host/wsl/cx");
	expect("/mnt/c/Users/me/proj/a", "/work/proj/a");
	expect("/mnt/c/Users/me/projx", "/run/desktop/mnt/host/c/Users/me/projx");
	expect("/mnt/other", "/mnt/other");
	expect("/mntx", NULL);
}

Test(pathmap, configured_entries_override)
{
	build(MI_SHARED MI_C, PATHMAP_ENGINE_WSL_ROOT, PATHMAP_ENGINE_DRIVE_ROOT,
	    "/mnt/c/:/srv:/data=/engine/data/:/x=/");
	cr_assert(eq(str, table(),
	    "/data>/engine/data(configured)\n"
	    "/mnt/c>/mnt/c(configured)\n"
	    "/mnt/wsl>/run/desktop/mnt/host/wsl(shared-tree)\n"
	    "/srv>/srv(configured)\n"
	    "/x>/(configured)\n"));
	expect("/mnt/c/x", "/mnt/c/x");
	expect("/srv", "/srv");
	expect("/srv/a b", "/srv/a b");
	expect("/data/db", "/engine/data/db");
	expect("/data", "/engine/data");
	expect("/x/a", "/a");
	expect("/x", "/");
	/* "/" as a prefix (a drive is mounted there), at and below it. */
	build_default("1 0 0:1 / / rw - 9p C:\\134 aname=drvfs;path=C:\\\n"
	    MI_SHARED);
	expect("/", "/run/desktop/mnt/host/c");
	expect("/a", "/run/desktop/mnt/host/c/a");
	expect("/mnt/wsl/a", "/run/desktop/mnt/host/wsl/a");
	/* Even the shared tree: the lab's simple flavour sees it at /mnt/wsl. */
	build(MI_SHARED, "/mnt/wsl", PATHMAP_ENGINE_DRIVE_ROOT, "");
	expect("/mnt/wsl/docker-desktop-bind-mounts/d/x",
	    "/mnt/wsl/docker-desktop-bind-mounts/d/x");
	build(MI_SHARED, PATHMAP_ENGINE_WSL_ROOT, "/host/", "/mnt/wsl=/other");
	expect("/mnt/wsl/a", "/other/a");
	cr_assert(eq(str, (char *)pathmap_shared_root(map), "/mnt/wsl"),
	    "still where exposures go here");
}

Test(pathmap, drive_mapping_off_and_other_roots)
{
	build(MI_SHARED MI_C MI_D, PATHMAP_ENGINE_WSL_ROOT, "", "");
	expect("/mnt/c/x", NULL);
	expect("/mnt/wsl/x", "/run/desktop/mnt/host/wsl/x");
	cr_assert(eq(str, table(),
	    "/mnt/wsl>/run/desktop/mnt/host/wsl(shared-tree)\n"));
	build(MI_SHARED MI_C, "/engine/wsl/", "/drives/", "");
	expect("/mnt/c/x", "/drives/c/x");
	expect("/mnt/wsl/x", "/engine/wsl/x");
	build(MI_SHARED MI_C, NULL, NULL, NULL);
	expect("/mnt/c/x", NULL);
	expect("/mnt/wsl/x", "/run/desktop/mnt/host/wsl/x");
}

Test(pathmap, no_tree_in_mountinfo)
{
	build_default(MI_DRIVERS);
	cr_assert(eq(str, (char *)pathmap_shared_root(map), "/mnt/wsl"),
	    "where the tree would be, as bind.c assumed");
	expect("/mnt/wsl/x", "/run/desktop/mnt/host/wsl/x");
	expect("/mnt/c", NULL);
}

/*
 * mountinfo that cannot be read (EMFILE in the agent, say) tells nothing:
 * no table, and the reason, so exposures.c keeps the one it had (issue 19).
 * Before, the shared tree was taken to be /mnt/wsl and no drive was seen.
 */
Test(pathmap, an_unreadable_mountinfo_builds_nothing)
{
	struct pathmap_options o = { "/nonexistent/mountinfo", tags,
	    PATHMAP_ENGINE_WSL_ROOT, PATHMAP_ENGINE_DRIVE_ROOT, "" };
	errno = 0;
	map = pathmap_new(&o);
	cr_assert(eq(ptr, map, NULL), "a table from nothing: shared root %s",
	    pathmap_shared_root(map));
	cr_assert(eq(int, errno, ENOENT));
	/* Opened but not readable: a directory (EISDIR at the first read). */
	o.mountinfo = tags;
	errno = 0;
	map = pathmap_new(&o);
	cr_assert(eq(ptr, map, NULL));
	cr_assert(eq(int, errno, EISDIR));
	errno = 0;
	cr_assert(eq(ptr, wsl_find_shared_root(tags), NULL));
	cr_assert(eq(int, errno, EISDIR), "not \"none\": unread");
	write_mountinfo(MI_DRIVERS);
	errno = EBADF;
	cr_assert(eq(ptr, wsl_find_shared_root(mi), NULL));
	cr_assert(eq(int, errno, 0), "read, and none there");
}

Test(pathmap, malformed_lines_are_ignored)
{
	char *text = malloc(20000);
	cr_assert(ne(ptr, text, NULL));
	size_t o = (size_t)snprintf(text, 20000, "%s",
	    "garbage\n"
	    "\n"
	    "1 2 3\n"
	    "1 2 3 4 5 6 7 8\n"			/* no " - " */
	    "1 2 0:1 / /mnt/e rw -\n"		/* no file system type */
	    "1 2 0:1 / /mnt/g rw - 9p\n"		/* no source, no options */
	    "1 2 0:1 / /mnt/h rw - 9p C:\\134 aname=drvfs\n"
	    "1 2 0:1 / /mnt/i rw - 9p C:\\134 aname=drvfs;path=\n"
	    "1 2 0:1 / /mnt/j rw - 9p C:\\134 aname=drvfs;path=:\\\n"
	    "1 2 0:1 / /mnt/k rw - 9p C:\\134 xaname=drvfs;path=K:\\\n"
	    "1 2 0:1 / /mnt/l rw - 9p C:\\134 aname=drvfsx;path=L:\\\n"
	    "1 2 0:1 / /mnt/m rw - 9p C:\\134 aname=drvfs;uid=1,path=M:\\\n"
	    "1 2 0:1 / /mnt/n rw - virtiofs drvfsN rw\n"
	    "1 2 0:1 / /mnt/o rw - virtiofs drvfs1 rw\n"
	    "1 2 0:1 / /mnt/p rw - drvfs 1: rw\n"
	    "1 2 0:1 rel /mnt/r rw - 9p C:\\134 aname=drvfs;path=R:\\\n"
	    "1 2 0:1 / rel/s rw - 9p C:\\134 aname=drvfs;path=S:\\\n"
	    "1 2 0:1 / /mnt/t\\777 rw - 9p C:\\134 aname=drvfs;path=T:\\;\\\n");
	/* A line longer than any mountinfo line: skipped as a whole. */
	o += (size_t)snprintf(text + o, 20000 - o, "1 2 0:1 / /mnt/u rw - 9p "
	    "C:\\134 aname=drvfs;path=U:\\;");
	memset(text + o, 'x', 10000);
	o += 10000;
	snprintf(text + o, 20000 - o, "\n%s", MI_SHARED MI_D);
	build_default(text);
	free(text);
	cr_assert(eq(str, table(),
	    "/mnt/d>/run/desktop/mnt/host/d(drive)\n"
	    "/mnt/t\\777>/run/desktop/mnt/host/t(drive)\n"
	    "/mnt/wsl>/run/desktop/mnt/host/wsl(shared-tree)\n"),
	    "only the well-formed drive lines count");
	expect("/mnt/d/x", "/run/desktop/mnt/host/d/x");
	expect("/mnt/u", NULL);
	/* A last line without its newline still counts. */
	build_default(MI_SHARED "95 86 0:52 / /mnt/c rw - 9p C:\\134 "
	    "aname=drvfs;path=C:\\");
	expect("/mnt/c/x", "/run/desktop/mnt/host/c/x");
}

Test(pathmap, bounded)
{
	size_t cap = (PATHMAP_ENTRIES_MAX + 50) * 80;
	char *text = malloc(cap);
	cr_assert(ne(ptr, text, NULL));
	size_t o = (size_t)snprintf(text, cap, "%s", MI_SHARED);
	for (int i = 0; i < PATHMAP_ENTRIES_MAX + 40; i++)
		o += (size_t)snprintf(text + o, cap - o, "1 2 0:1 / /mnt/c%d rw "
		    "- 9p C:\\134 aname=drvfs;path=C:\\\n", i);
	build_default(text);
	free(text);
	struct json_object *a = pathmap_status_json(map);
	cr_assert(eq(sz, json_object_array_length(a), PATHMAP_ENTRIES_MAX));
	json_object_put(a);
	expect("/mnt/wsl/x", "/run/desktop/mnt/host/wsl/x");
}

Test(pathmap, status_json)
{
	build(MI_SHARED MI_C "120 95 0:70 / /mnt/c/tmp rw - tmpfs tmpfs rw\n",
	    PATHMAP_ENGINE_WSL_ROOT, PATHMAP_ENGINE_DRIVE_ROOT, "/srv");
	struct json_object *a = pathmap_status_json(map);
	cr_assert(eq(str, (char *)json_object_to_json_string_ext(a,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE),
	    "[{\"local\":\"/mnt/c\",\"engine\":\"/run/desktop/mnt/host/c\","
	    "\"kind\":\"drive\"},"
	    "{\"local\":\"/mnt/c/tmp\",\"engine\":null,\"kind\":\"local\"},"
	    "{\"local\":\"/mnt/wsl\",\"engine\":\"/run/desktop/mnt/host/wsl\","
	    "\"kind\":\"shared-tree\"},"
	    "{\"local\":\"/srv\",\"engine\":\"/srv\",\"kind\":\"configured\"}]"));
	json_object_put(a);
	a = pathmap_status_json(NULL);
	cr_assert(eq(sz, json_object_array_length(a), 0));
	json_object_put(a);
}

Test(pathmap, config_keys)
{
	struct config c;
	char err[CONFIG_ERR_LEN];
	config_init(&c);
	cr_assert(eq(str, c.bind_engine_wsl_root, "/run/desktop/mnt/host/wsl"));
	cr_assert(eq(str, c.bind_engine_drive_root, "/run/desktop/mnt/host"));
	cr_assert(eq(str, c.bind_shared_paths, ""));
	cr_assert(eq(int, config_load_string(&c, "{\"bind\": {\"engine_wsl_root\": "
	    "\"/mnt/wsl\", \"engine_drive_root\": \"\", \"shared_paths\": "
	    "\"/srv:/mnt/c=/run/desktop/mnt/host/c\"}}", "t", err, sizeof err),
	    0), "%s", err);
	cr_assert(eq(str, c.bind_engine_wsl_root, "/mnt/wsl"));
	cr_assert(eq(str, c.bind_engine_drive_root, ""));
	cr_assert(eq(int, config_set(&c, "bind.engine_drive_root", "host", err,
	    sizeof err), -1));
	cr_assert(ne(ptr, strstr(err, "bind.engine_drive_root"), NULL), "%s", err);
	cr_assert(ne(ptr, strstr(err, "absolute"), NULL), "%s", err);
	cr_assert(eq(int, config_set(&c, "bind.engine_wsl_root", "", err,
	    sizeof err), -1));
	cr_assert(eq(int, config_set(&c, "bind.shared_paths", "/a=b", err,
	    sizeof err), -1));
	cr_assert(ne(ptr, strstr(err, "LOCAL=ENGINE"), NULL), "%s", err);
	cr_assert(eq(int, config_set(&c, "bind.shared_paths", "/a=", err,
	    sizeof err), -1));
	cr_assert(eq(int, config_set(&c, "bind.shared_paths", "=/a", err,
	    sizeof err), -1));
	cr_assert(eq(int, config_set(&c, "bind.shared_paths", "/a:", err,
	    sizeof err), -1));
	cr_assert(ne(ptr, strstr(err, "ends with ':'"), NULL), "%s", err);
	cr_assert(eq(int, config_set(&c, "bind.shared_paths", "/a::/b", err,
	    sizeof err), -1));
	cr_assert(eq(str, c.bind_shared_paths,
	    "/srv:/mnt/c=/run/desktop/mnt/host/c"), "a refused value changes nothing");
	config_free(&c);
}
