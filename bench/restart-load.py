#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""bench/restart-load.py: clients that connect all the time, for run.sh's
"agent restart under load" row.

  restart-load.py SOCKET WORKERS OUT

WORKERS threads each connect to SOCKET, send GET /_ping and read the whole
answer, again and again, until the file OUT.stop exists.  Every attempt is
one line of OUT: "phase wait_ms ok|refused|error", phase "steady" until
the file OUT.mark exists and "restart" after, wait_ms from connect() to
the end of the answer.  A client
that waits in the listen backlog while the agent is away shows as a long
wait, one that finds no listener as refused.
"""
import os
import socket
import sys
import threading
import time

REQ = b"GET /_ping HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n"


def worker(path, stop, mark, out, lock):
    lines = []
    while not os.path.exists(stop):
        phase = "restart" if os.path.exists(mark) else "steady"
        start = time.monotonic()
        what = "ok"
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(60)
        try:
            s.connect(path)
            s.sendall(REQ)
            got = b""
            while True:
                b = s.recv(4096)
                if not b:
                    break
                got += b
            if not got.startswith(b"HTTP/1.1 200"):
                what = "error"
        except (ConnectionRefusedError, FileNotFoundError):
            what = "refused"
        except OSError:
            what = "error"
        finally:
            s.close()
        end = time.monotonic()
        lines.append("%s %.2f %s\n" % (phase, (end - start) * 1000, what))
        if what != "ok":
            time.sleep(0.001)   # a refusal returns at once: no busy loop
    with lock:
        out.writelines(lines)


def main():
    path, n, outpath = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    lock = threading.Lock()
    with open(outpath, "w") as out:
        ts = [threading.Thread(target=worker,
                               args=(path, outpath + ".stop", outpath + ".mark",
                                     out, lock))
              for _ in range(n)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()


if __name__ == "__main__":
    main()
