#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""fuse-tree.py: a hostile FUSE file system, as an ordinary user can serve one.

The shared /mnt/wsl tree is hostile (wsl-docker-agent(8), SECURITY): where
any distro's /etc/fuse.conf has user_allow_other, an ordinary user can
mount FUSE with allow_other below /mnt/wsl while Docker Desktop's tree is
absent, and the mount reaches every distro.  Such a file system reports
whatever owner and mode its server likes.  This script plays that user for
the end-to-end tests (tests/e2e/hostile-fuse.sh): it is started as root,
mounts exactly as fusermount would for a user (fd=N, rootmode, user_id=,
group_id=, allow_other; MS_NOSUID|MS_NODEV), drops to the ordinary user,
and then serves one of two trees in which everything claims to be root's:

  desktop   Docker Desktop's tree: cli-tools/ (a mount point for the cli
            tree), shared-sockets/guest-services/docker.proxy.sock
  cli       cli-tools: usr/bin/docker, a script that records that it ran

or, with --silent, answers nothing at all (not even the kernel's INIT), so
that any call into the file system hangs until the mount goes.

No libfuse: the kernel's protocol (linux/fuse.h) spoken over /dev/fuse.

Usage: fuse-tree.py MOUNTPOINT --tree desktop|cli [--uid N] [--silent]
                    [--ready FILE] [--mark FILE]
  --ready FILE  written once the mount is made (before any request is read)
  --mark FILE   where the planted docker appends a line when it runs
"""

import argparse
import ctypes
import errno
import os
import signal
import stat
import struct
import sys

FUSE_LOOKUP, FUSE_FORGET, FUSE_GETATTR = 1, 2, 3
FUSE_READLINK, FUSE_OPEN, FUSE_READ = 5, 14, 15
FUSE_STATFS, FUSE_RELEASE, FUSE_FLUSH, FUSE_INIT = 17, 18, 25, 26
FUSE_OPENDIR, FUSE_READDIR, FUSE_RELEASEDIR = 27, 28, 29
FUSE_ACCESS, FUSE_INTERRUPT, FUSE_BATCH_FORGET = 34, 36, 42

IN_HEADER = struct.Struct("<IIQQIIII")          # len opcode unique nodeid uid gid pid pad
OUT_HEADER = struct.Struct("<IiQ")              # len error unique
ATTR = struct.Struct("<QQQQQQIIIIIIIIII")       # struct fuse_attr, 88 bytes
READ_IN = struct.Struct("<QQII")                # fh offset size read_flags (prefix)
MS_NOSUID, MS_NODEV = 2, 4


class Node:
    def __init__(self, ino, mode, data=b"", children=None):
        self.ino, self.mode, self.data = ino, mode, data
        self.children = children if children is not None else {}


def build(tree, mark):
    nodes = {}

    def add(mode, data=b"", children=None):
        n = Node(len(nodes) + 1, mode, data, children)
        nodes[n.ino] = n
        return n

    d = stat.S_IFDIR | 0o755
    if tree == "desktop":
        root = add(d)
        root.children["cli-tools"] = add(d)
        socks = add(d)
        guest = add(d)
        root.children["shared-sockets"] = socks
        socks.children["guest-services"] = guest
        guest.children["docker.proxy.sock"] = add(stat.S_IFSOCK | 0o660)
    else:
        root = add(d)
        usr, bin_ = add(d), add(d)
        root.children["usr"] = usr
        usr.children["bin"] = bin_
        script = ('#!/bin/sh\necho "planted docker ran as $(id -u)" >>%s\n'
                  % mark).encode()
        bin_.children["docker"] = add(stat.S_IFREG | 0o755, script)
    return nodes


def attr(n):
    nlink = 2 if stat.S_ISDIR(n.mode) else 1
    # Everything "root's": owner 0, group 0, whatever the server's user is.
    return ATTR.pack(n.ino, len(n.data), (len(n.data) + 511) // 512,
                     0, 0, 0, 0, 0, 0, n.mode, nlink, 0, 0, 0, 4096, 0)


def entry(n):
    return struct.pack("<QQQQII", n.ino, 0, 1, 1, 0, 0) + attr(n)


def dirents(n, offset):
    names = [(".", n), ("..", n)] + list(n.children.items())
    out = b""
    for i, (name, child) in enumerate(names):
        if i < offset:
            continue
        raw = name.encode()
        ent = struct.pack("<QQII", child.ino, i + 1, len(raw),
                          (child.mode & 0o170000) >> 12) + raw
        out += ent + b"\0" * ((8 - len(ent) % 8) % 8)
    return out


def serve(fd, nodes):
    while True:
        try:
            req = os.read(fd, 1 << 20)
        except OSError as e:
            if e.errno in (errno.ENODEV, errno.EBADF):
                return          # unmounted
            if e.errno in (errno.EINTR, errno.ENOENT, errno.EAGAIN):
                continue        # an interrupted request
            raise
        if len(req) < IN_HEADER.size:
            continue
        _, op, unique, nodeid, _, _, _, _ = IN_HEADER.unpack_from(req)
        body = req[IN_HEADER.size:]
        if op in (FUSE_FORGET, FUSE_BATCH_FORGET, FUSE_INTERRUPT):
            continue            # no answer expected
        err, out = 0, b""
        node = nodes.get(nodeid)
        if op == FUSE_INIT:
            # major 7, minor 31; max_write 64 KiB; nothing optional.
            out = struct.pack("<IIIIHHIIHHI", 7, 31, 0, 0, 16, 12, 65536,
                              1, 1, 0, 0) + b"\0" * 28
        elif node is None:
            err = errno.ENOENT
        elif op == FUSE_LOOKUP:
            child = node.children.get(body.split(b"\0", 1)[0].decode())
            err, out = (0, entry(child)) if child else (errno.ENOENT, b"")
        elif op == FUSE_GETATTR:
            out = struct.pack("<QII", 1, 0, 0) + attr(node)
        elif op in (FUSE_OPEN, FUSE_OPENDIR):
            out = struct.pack("<QII", 0, 0, 0)
        elif op == FUSE_READ:
            _, off, size, _ = READ_IN.unpack_from(body)
            out = node.data[off:off + size]
        elif op == FUSE_READDIR:
            _, off, size, _ = READ_IN.unpack_from(body)
            out = dirents(node, off)[:size]
        elif op in (FUSE_ACCESS, FUSE_RELEASE, FUSE_RELEASEDIR, FUSE_FLUSH):
            pass
        elif op == FUSE_STATFS:
            out = struct.pack("<QQQQQIIII", 0, 0, 0, 0, 0, 4096, 255, 4096, 0) \
                + b"\0" * 24
        else:
            err = errno.ENOSYS
        reply = OUT_HEADER.pack(OUT_HEADER.size + len(out), -err, unique) + out
        try:
            os.write(fd, reply)
        except OSError as e:
            if e.errno != errno.ENOENT:     # the request was interrupted
                raise


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("mountpoint")
    ap.add_argument("--tree", choices=("desktop", "cli"), default="desktop")
    ap.add_argument("--uid", type=int, default=65534)
    ap.add_argument("--silent", action="store_true")
    ap.add_argument("--ready")
    ap.add_argument("--mark", default="/tmp/fuse-tree-pwned")
    a = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("fuse-tree.py: run as root: it mounts as fusermount would, "
                 "then serves as --uid")
    fd = os.open("/dev/fuse", os.O_RDWR)
    opts = ("fd=%d,rootmode=40755,user_id=%d,group_id=%d,allow_other"
            % (fd, a.uid, a.uid)).encode()
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.mount(b"/dev/fuse", a.mountpoint.encode(), b"fuse",
                  MS_NOSUID | MS_NODEV, opts) != 0:
        e = ctypes.get_errno()
        sys.exit("fuse-tree.py: mount on %s: %s" % (a.mountpoint, os.strerror(e)))
    if a.ready:
        with open(a.ready, "w") as f:
            f.write("%d\n" % os.getpid())
    os.setgroups([])
    os.setgid(a.uid)
    os.setuid(a.uid)
    if a.silent:
        while True:             # hold the connection, read nothing
            signal.pause()
    serve(fd, build(a.tree, a.mark))


if __name__ == "__main__":
    main()
