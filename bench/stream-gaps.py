#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""bench/stream-gaps.py: the measuring side of bench/stream-gaps.sh, run
inside a lab distro whose agent proxies /run/docker.sock and re-exposes
bind sources.

  stream-gaps.py ENGINE AGENT ROUNDS CREATES THREADS OUT
  stream-gaps.py report OUT FLAVOUR

ENGINE is the engine's socket (for what the measurement must not go
through: the flooding container, the removes, the anchor), AGENT the
agent's.  A container floods its stdout (busybox yes); a reader process
follows its log through AGENT (GET /containers/ID/logs?follow=1) and
notes when each recv() returns.  Then ROUNDS rounds (after one of
warm-up, left out), each:

  creates  CREATES container creates through AGENT, THREADS at a time (one
           connection each, as several docker CLIs make them), each with a
           bind source never exposed before, so the agent must mount a new
           exposure below /mnt/wsl/docker-desktop-bind-mounts (and save its
           manifest) before it can answer;
  settle   (not measured) until the agent has seen every new container
           (binds.exposures[].pending_creates 0 in `status --json`);
  release  the containers removed on ENGINE, until the agent has let
           their exposures go (an unmount and a manifest save each; the
           polling of `status` is in it too);
  direct   the anchor: as many creates straight to ENGINE (the engine's
           share of the work and the machine's, with no exposure to wait
           for), removed at once, not measured;
  quiet    as long as that round's creates window, with nothing going on.

A gap is the time between two successive recv() returns; it counts in
every window it overlaps.  OUT gets one JSON object: per
round and window, the gaps' count, p99.9 and longest (ms), the stream's
MiB/s and the CPU the agent used (its loop, the main thread, which also
carries the stream; and all its threads); per round the creates' own
latencies, through the agent and straight; over the run, the agent's
reconciles that its tree's events caused (agent.tree_reconciles).  The
main side exits 1 with the reason when a create is not answered 201 or
the stream breaks (ends, fails, or gives nothing for STALL_S seconds).
"report" prints OUT's figures: per round to stderr, and the medians over
the rounds as a table (Markdown) on stdout.
"""
import array
import bisect
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time

PIDFILE = "/run/wsl-docker-agent.pid"   # written by `start`
STALL_S = 10            # no byte for this long: the stream broke
SETTLE_S = 30           # the agent sees the containers, lets exposures go
LINE = "wda-stream-gaps " + "0123456789" * 7     # 86 bytes a line
API = "/v1.41"
LOG_CONFIG = {"Type": "json-file",     # the flood's log, bounded
              "Config": {"max-size": "20m", "max-file": "2"}}


def fail(msg):
    sys.stderr.write("stream-gaps.py: %s\n" % msg)
    sys.exit(1)


def request(path, method, url, body=None):
    """One request on a connection of its own; (status, body)."""
    data = b"" if body is None else json.dumps(body).encode()
    s = socket.socket(socket.AF_UNIX)
    try:
        s.connect(path)
        s.sendall(("%s %s HTTP/1.1\r\nHost: docker\r\nContent-Type: "
                   "application/json\r\nContent-Length: %d\r\nConnection: "
                   "close\r\n\r\n" % (method, url, len(data))).encode() + data)
        with s.makefile("rb") as f:
            buf = f.read()
    finally:
        s.close()
    head, _, rest = buf.partition(b"\r\n\r\n")
    try:
        return int(head.split()[1]), rest
    except (IndexError, ValueError):
        return 0, buf


def agent_status():
    r = subprocess.run(["wsl-docker-agent", "status", "--json"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        return json.loads(r.stdout)
    except ValueError:
        fail("`wsl-docker-agent status --json` gave no JSON (exit %d): %s"
             % (r.returncode, r.stderr.decode(errors="replace").strip()))


def exposures(st):
    return {x.get("source"): x
            for x in (st.get("binds") or {}).get("exposures") or []}


def tree_reconciles():
    return (agent_status().get("agent") or {}).get("tree_reconciles", 0)


def check_agent():
    st = agent_status()
    sock, binds = st.get("socket") or {}, st.get("binds") or {}
    if sock.get("mode") != "proxy" or sock.get("state") != "ok" \
            or binds.get("active") is not True:
        fail("the agent must proxy /run/docker.sock with binds active; "
             "status says socket mode %s, state %s (%s), binds active %s"
             % (sock.get("mode"), sock.get("state"), sock.get("detail"),
                binds.get("active")))


def agent_pid():
    try:
        with open(PIDFILE) as f:
            return int(f.read())
    except (OSError, ValueError) as e:
        fail("cannot read the agent's pid from %s: %s" % (PIDFILE, e))


def cpu_ns(pid):
    """CPU time so far of the agent's loop (its main thread) and of all
    its threads (the loop and any worker), in ns."""
    loop = total = 0
    for tid in os.listdir("/proc/%d/task" % pid):
        with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
            ns = int(f.read().split()[0])
        total += ns
        if int(tid) == pid:
            loop = ns
    return loop, total


class Window:
    """A stretch of time, and the agent's CPU over it."""

    def __init__(self, apid):
        self.apid = apid
        self.cpu0 = cpu_ns(apid)
        self.a = time.monotonic_ns()

    def end(self, at=None):
        self.b = time.monotonic_ns() if at is None else at
        c = cpu_ns(self.apid)
        self.loop_ns, self.agent_ns = (c[0] - self.cpu0[0],
                                       c[1] - self.cpu0[1])
        return self


def wait_until(what, cond, limit=SETTLE_S):
    end = time.monotonic() + limit
    while not cond():
        if time.monotonic() > end:
            fail("%s: not within %d s" % (what, limit))
        time.sleep(0.02)


# ------------------------------------------------------------ the stream --

class Stop(Exception):
    pass


def stop_reading(signum, frame):
    raise Stop()


def reader(agent, cid, ts_path, ready_fd):
    """The child: follow the log, note each recv()'s return and size."""
    stamps, sizes = array.array("q"), array.array("q")
    signal.signal(signal.SIGUSR1, stop_reading)
    why = None
    try:
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(STALL_S)
        s.connect(agent)
        s.sendall(("GET %s/containers/%s/logs?follow=1&stdout=1&tail=0 "
                   "HTTP/1.1\r\nHost: docker\r\n\r\n" % (API, cid)).encode())
        head = b""
        while b"\r\n\r\n" not in head:
            got = s.recv(4096)
            if not got:
                raise OSError("the connection ended before the answer's head")
            head += got
        if head.split()[1] != b"200":
            raise OSError("answered %s" % head.split(b"\r\n")[0].decode())
        # Kept alive, as the docker CLI keeps it: the end of the answer
        # (the container stopped) is its last chunk, not the connection's.
        chunked = b"\r\ntransfer-encoding: chunked" in head.lower()
        os.write(ready_fd, b"R")
        os.close(ready_fd)
        buf = bytearray(65536)
        mono = time.monotonic_ns
        last = b""
        while True:
            n = s.recv_into(buf)
            if n == 0:
                raise OSError("the engine or the agent closed it")
            stamps.append(mono())
            sizes.append(n)
            if chunked:
                last = (last + buf[max(0, n - 7):n])[-7:]
                if last == b"\r\n0\r\n\r\n":
                    raise OSError("the engine ended the answer (did the "
                                  "flooding container stop?)")
    except Stop:
        pass
    except socket.timeout:
        why = "no byte for %d s" % STALL_S
    except OSError as e:
        why = str(e)
    signal.signal(signal.SIGUSR1, signal.SIG_IGN)
    if why is not None:
        sys.stderr.write("stream-gaps.py: the followed log through %s broke "
                         "after %d reads: %s\n" % (agent, len(stamps), why))
        os._exit(2)
    with open(ts_path, "wb") as f:
        stamps.tofile(f)
        sizes.tofile(f)
    os._exit(0)


class Reader:
    """The reader process, from the parent's side."""

    def __init__(self, agent, cid, ts_path):
        r, w = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:
            os.close(r)
            try:
                reader(agent, cid, ts_path, w)
            finally:
                os._exit(3)
        os.close(w)
        ok = os.read(r, 1)
        os.close(r)
        if ok != b"R":
            self.reaped(os.waitpid(self.pid, 0)[1])
            fail("could not follow the flooding container's log through %s"
                 % agent)

    def reaped(self, status):
        self.pid = None
        return os.waitstatus_to_exitcode(status)

    def check(self):
        done, status = os.waitpid(self.pid, os.WNOHANG)
        if done != 0:
            fail("the followed stream broke (the reader exited with %d); "
                 "see above" % self.reaped(status))

    def stop(self):
        os.kill(self.pid, signal.SIGUSR1)
        code = self.reaped(os.waitpid(self.pid, 0)[1])
        if code != 0:
            fail("the followed stream broke (the reader exited with %d); "
                 "see above" % code)

    def kill(self):
        if self.pid is not None:
            os.kill(self.pid, signal.SIGKILL)
            self.reaped(os.waitpid(self.pid, 0)[1])


# ------------------------------------------------------------- the work --

def creates(path, sources, threads, apid):
    """All creates through PATH, THREADS at a time; (ids, latencies ms,
    errors, window)."""
    ids, lat, errors = [], [], []
    lock = threading.Lock()
    todo = list(sources)

    def one():
        while True:
            with lock:
                if not todo or errors:
                    return
                src = todo.pop()
            t0 = time.monotonic()
            try:
                code, out = request(path, "POST", API + "/containers/create",
                                    {"Image": "bb", "Cmd": ["true"],
                                     "HostConfig": {"Binds": [src + ":/w"]}})
            except OSError as e:
                code, out = 0, str(e).encode()
            ms = (time.monotonic() - t0) * 1e3
            with lock:
                if code != 201:
                    errors.append("create with bind %s through %s: %s %s"
                                  % (src, path, code or "no answer",
                                     out.decode(errors="replace").strip()))
                    return
                ids.append(json.loads(out)["Id"])
                lat.append(ms)

    pool = [threading.Thread(target=one) for _ in range(threads)]
    w = Window(apid)
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return ids, lat, errors, w.end()


def remove(engine, ids):
    for cid in ids:
        code, out = request(engine, "DELETE",
                            API + "/containers/%s?force=1" % cid)
        if code != 204:
            fail("removing %s on %s: %s %s" % (cid[:12], engine, code,
                                               out.decode(errors="replace")))


def settle_and_release(engine, ids, sources, apid):
    """The agent sees the containers; they go; so do their exposures."""
    want = set(sources)

    def all_seen():
        x = exposures(agent_status())
        return all(s in x and x[s].get("pending_creates") == 0 for s in want)
    wait_until("the agent seeing the %d new containers" % len(ids), all_seen)
    w = Window(apid)
    remove(engine, ids)
    wait_until("the agent letting their exposures go",
               lambda: not want & set(exposures(agent_status())))
    return w.end()


# ----------------------------------------------------------- the figures --

def figures(stamps, sizes, w, what):
    """The gaps that overlap window W (a stall that began before it or
    ends after it counts), and the bytes read in it."""
    a, b = w.a, w.b
    lo = max(bisect.bisect_right(stamps, a), 1)        # ends after a
    hi = min(bisect.bisect_left(stamps, b) + 1, len(stamps))  # starts before b
    gaps = sorted(stamps[i] - stamps[i - 1] for i in range(lo, hi))
    n = len(gaps)
    if n == 0:
        fail("nothing was read from the followed log around a %s window: "
             "the stream stalled or broke" % what)
    k = min(n - 1, max(0, -(-999 * n // 1000) - 1))      # ceil(0.999 n) - 1
    read = sum(sizes[bisect.bisect_left(stamps, a):
                     bisect.bisect_left(stamps, b)])
    return {"gaps": n, "p999_ms": gaps[k] / 1e6, "max_ms": gaps[-1] / 1e6,
            "mib_s": read / 1048576 / ((b - a) / 1e9),
            "loop_ms": w.loop_ns / 1e6, "agent_ms": w.agent_ns / 1e6}


def main():
    if len(sys.argv) != 7:
        fail("usage: stream-gaps.py ENGINE AGENT ROUNDS CREATES THREADS OUT")
    engine, agent = sys.argv[1], sys.argv[2]
    rounds, ncreate, threads = map(int, sys.argv[3:6])
    out = sys.argv[6]
    check_agent()
    apid = agent_pid()
    base = "/home/dev/wda-gaps-%d-%d" % (os.getpid(), time.time())
    ts_path = "/tmp/wda-stream-gaps.%d" % os.getpid()

    code, body = request(engine, "POST", API + "/containers/create",
                         {"Image": "bb", "Cmd": ["yes", LINE],
                          "HostConfig": {"LogConfig": LOG_CONFIG}})
    if code != 201:
        fail("creating the flooding container on %s: %s %s"
             % (engine, code, body.decode(errors="replace")))
    flood = json.loads(body)["Id"]
    rd = None
    try:
        code, body = request(engine, "POST",
                             API + "/containers/%s/start" % flood)
        if code != 204:
            fail("starting the flooding container: %s %s"
                 % (code, body.decode(errors="replace")))
        rd = Reader(agent, flood, ts_path)
        result = run_rounds(engine, agent, base, rounds, ncreate, threads,
                            rd, apid)
        rd.stop()
        stamps, sizes = array.array("q"), array.array("q")
        with open(ts_path, "rb") as f:
            raw = f.read()
        half = len(raw) // 2
        stamps.frombytes(raw[:half])
        sizes.frombytes(raw[half:])
        for r in result["rounds"]:
            for kind in ("quiet", "creates", "direct", "release"):
                r[kind] = figures(stamps, sizes, r.pop(kind + "_window"), kind)
        result["reads"] = len(stamps)
        with open(out, "w") as f:
            json.dump(result, f)
    finally:
        if rd is not None:
            rd.kill()
        request(engine, "DELETE", API + "/containers/%s?force=1" % flood)
        if os.path.exists(ts_path):
            os.unlink(ts_path)


def run_rounds(engine, agent, base, rounds, ncreate, threads, rd, apid):
    result = {"rounds": [], "creates": ncreate, "threads": threads,
              "tree_reconciles": tree_reconciles()}
    # Round 0 warms up (the agent's first exposure, its event stream); its
    # figures are dropped.
    for rnd in range(rounds + 1):
        sources = ["%s/r%d-%d" % (base, rnd, i) for i in range(ncreate)]
        for s in sources:
            os.makedirs(s)
        rd.check()
        ids, lat, errors, cw = creates(agent, sources, threads, apid)
        if errors:
            remove(engine, ids)
            fail(errors[0])
        rw = settle_and_release(engine, ids, sources, apid)
        rd.check()
        # The anchor: the same creates straight to the engine, which has
        # the same work to do but no exposure to wait for.
        ids, dlat, errors, dw = creates(
            engine, [s.replace("/r", "/direct-r", 1) for s in sources],
            threads, apid)
        remove(engine, ids)
        if errors:
            fail(errors[0])
        rd.check()
        qw = Window(apid)
        time.sleep(max(0, qw.a + (cw.b - cw.a) - time.monotonic_ns()) / 1e9)
        qw.end(qw.a + (cw.b - cw.a))
        rd.check()
        for s in sources:
            os.rmdir(s)
        if rnd == 0:
            continue
        lat.sort()
        dlat.sort()
        result["rounds"].append({
            "creates_window": cw, "release_window": rw, "quiet_window": qw,
            "direct_window": dw,
            "window_s": (cw.b - cw.a) / 1e9, "direct_s": (dw.b - dw.a) / 1e9,
            "create_ms_median": lat[len(lat) // 2],
            "create_ms_max": lat[-1],
            "direct_ms_median": dlat[len(dlat) // 2]})
    os.rmdir(base)
    result["tree_reconciles"] = tree_reconciles() - result["tree_reconciles"]
    return result


# -------------------------------------------------------------- the table --

def med(rounds, kind, key):
    v = [r[kind][key] for r in rounds if r[kind][key] is not None]
    return statistics.median(v) if v else None


def fmt(v, p=2):
    return "-" if v is None else "%.*f" % (p, v)


def ratio(a, b):
    return "-" if a is None or b is None or b <= 0 else "%.2fx" % (a / b)


def report(path, flavour):
    """The figures in OUT: per round to stderr, the medians as a table."""
    with open(path) as f:
        res = json.load(f)
    R, creates, threads = res["rounds"], res["creates"], res["threads"]
    err = sys.stderr.write
    for i, r in enumerate(R, 1):
        err("round %d: creates %.0f ms through the agent (each %.0f ms "
            "median, %.0f ms longest), %.0f ms straight (each %.0f ms)\n"
            % (i, r["window_s"] * 1e3, r["create_ms_median"],
               r["create_ms_max"], r["direct_s"] * 1e3,
               r["direct_ms_median"]))
        for k in ("quiet", "direct", "creates", "release"):
            w = r[k]
            err("  %-8s %6d gaps  p99.9 %7s ms  longest %7s ms  %5.1f MiB/s"
                "  agent on CPU %6.1f ms (its loop %6.1f)\n"
                % (k, w["gaps"], fmt(w["p999_ms"]), fmt(w["max_ms"]),
                   w["mib_s"], w["agent_ms"], w["loop_ms"]))
    err("the agent's reconciles caused by its tree's events: %d over the "
        "run (%d rounds of %d creates, the warm-up's included)\n"
        % (res["tree_reconciles"], len(R) + 1, creates))
    print("| stream gaps, %s: %d rounds of %d creates, %d at a time, each "
          "with a new exposure (medians) | quiet | creates straight to the "
          "engine | creates through the agent | through the agent / quiet "
          "| / straight |" % (flavour, len(R), creates, threads))
    print("| --- | --- | --- | --- | --- | --- |")
    for label, key, p in (("p99.9 gap, ms", "p999_ms", 2),
                          ("longest gap, ms", "max_ms", 1),
                          ("gaps a window", "gaps", 0),
                          ("stream, MiB/s", "mib_s", 1)):
        q, d, c = (med(R, k, key) for k in ("quiet", "direct", "creates"))
        print("| %s | %s | %s | %s | %s | %s |" % (
            label, fmt(q, p), fmt(d, p), fmt(c, p), ratio(c, q), ratio(c, d)))
    w = statistics.median(r["window_s"] for r in R) * 1e3
    dw = statistics.median(r["direct_s"] for r in R) * 1e3
    print("| window, ms | %.0f | %.0f | %.0f | | |" % (w, dw, w))
    dc = statistics.median(r["direct_ms_median"] for r in R)
    cc = statistics.median(r["create_ms_median"] for r in R)
    print("| a create, ms (median) | | %.1f | %.1f | | %s |"
          % (dc, cc, ratio(cc, dc)))


if __name__ == "__main__":
    if sys.argv[1:2] == ["report"] and len(sys.argv) == 4:
        report(sys.argv[2], sys.argv[3])
    else:
        main()
