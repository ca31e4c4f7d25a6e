#!/usr/bin/env python3
"""The hostile suite's runner: every scenario of scenarios.py against every
client, each run with a fake broker (broker.py) of its own on 127.0.0.1.

    python3 tests/hostile/hostile.py [--clients rust,c,c-asan,python]
        [--scenarios REGEX] [--versions 4,5] [-j JOBS] [--keep] [--list]

The clients are command lines with the options of ports/unix/mqttas_client.c
(tests/faults/README.md): MQTTAS_HOSTILE_RUST, MQTTAS_HOSTILE_C,
MQTTAS_HOSTILE_C_ASAN, MQTTAS_HOSTILE_PY (tests/hostile/run sets them).
Each runs as a subscriber (-m sub -t 'hostile/#' -q 2 -n 0) with fast
settings: keep alive 4 s (2 s where a scenario says), response time
1.5 s, hold-down 100 ms, backoff 150 ms to 1200 ms, no jitter, no bounce.

Per run, beside the scenario's own expectations: no crash (exit 0 after
SIGTERM, no sanitizer report), no spin (CPU share while the client waits,
at most IDLE_CPU_SHARE), memory flat (RSS at the end minus RSS at the first
SUBSCRIBE within RSS_SLACK_KB), a clean DISCONNECT on SIGTERM.

The last line: `hostile: N runs, N passed, N failed`. Exit status 1 if any
run failed.
"""

import argparse
import asyncio
import os
import re
import shlex
import shutil
import signal
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import broker as B  # noqa: E402
import scenarios as S  # noqa: E402

CLIENTS = ("rust", "c", "c-asan", "python")
ENV = {"rust": "MQTTAS_HOSTILE_RUST", "c": "MQTTAS_HOSTILE_C",
       "c-asan": "MQTTAS_HOSTILE_C_ASAN", "python": "MQTTAS_HOSTILE_PY"}

# Client settings (ms unless said).
KEEPALIVE_S = 4
RESPONSE_MS = 1500
HOLD_MS = 100
BASE_MS = 150
CAP_MS = 1200

# Limits. Generous: the machine may be loaded.
CLOSE_WITHIN_S = 5.0  # The client closes after a protocol violation.
RECONNECT_WITHIN_S = 10.0
PRINT_WITHIN_S = 10.0
EXIT_WITHIN_S = 15.0  # After SIGTERM.
IDLE_WINDOW_S = 0.5
IDLE_CPU_SHARE = 0.25  # Of one core, while the client has nothing to do.
# Seen: at most 140 kB (C), 90 kB (ASan), 130 kB (CPython, 100k messages).
RSS_SLACK_KB = {"rust": 512, "c": 512, "c-asan": 2048, "python": 2048}
REPEAT_MAX_CONNS = 10  # Fault connections, at most, to see the backoff grow.
REPEAT_MAX_S = 15.0
STOPPED_AFTER_S = CAP_MS / 1000 + 3.0  # No attempt for this long: it stopped.

SANITIZER = re.compile(r"ERROR: (Address|Leak)Sanitizer|runtime error:|UndefinedBehaviorSanitizer")
MSG_LINE = re.compile(rb"^(hostile/\S*) (\d) (\d) (.*)$")
CLK_TCK = os.sysconf("SC_CLK_TCK")


def log(msg):
    print("[%s] %s" % (time.strftime("%H:%M:%S"), msg), file=sys.stderr, flush=True)


def proc_cpu(pid):
    """CPU seconds (user + system) of a live process, None once it is gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK
    except (OSError, IndexError, ValueError):
        return None


def proc_rss_kb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return None


class Output:
    """The client's stdout, read as it grows: message lines counted by
    payload and by topic."""

    def __init__(self, path):
        self.path = path
        self.pos = 0
        self.rest = b""
        self.payloads = {}
        self.topics = {}

    def update(self):
        try:
            with open(self.path, "rb") as f:
                f.seek(self.pos)
                data = f.read()
        except OSError:
            return
        self.pos += len(data)
        data = self.rest + data
        lines = data.split(b"\n")
        self.rest = lines.pop()
        for line in lines:
            m = MSG_LINE.match(line)
            if m:
                t, p = m.group(1), m.group(4)
                self.payloads[p] = self.payloads.get(p, 0) + 1
                self.topics[t] = self.topics.get(t, 0) + 1


class Run:
    """One scenario against one client in one MQTT version."""

    def __init__(self, scn, client, version, cmd, work):
        self.scn = scn
        self.client = client
        self.version = version
        self.cmd = cmd
        self.id = "%s.%s.v%d" % (scn.name, client, version)
        self.dir = os.path.join(work, self.id)
        os.makedirs(self.dir)
        self.failures = []
        self.notes = []
        self.proc = None
        self.server = None
        self.out = Output(os.path.join(self.dir, "stdout"))
        self.kind = scn.kind
        self.reason = scn.reason_for(version)
        self.text = scn.text_for(version)
        self.keepalive = scn.args.get("-k", KEEPALIVE_S)
        self.response_s = scn.args.get("-W", RESPONSE_MS) / 1000
        self.rss_first = None
        self.idles = []
        self.exited_early = None  # Exit status when the client left by itself.
        self.t_start = None
        self.seconds = 0.0
        self._new_conn = asyncio.Event()

    # -- what the scenarios call (ctx) --

    def fail(self, msg):
        self.failures.append(msg)

    def check(self, cond, msg):
        if not cond:
            self.fail(msg)

    def note(self, msg):
        self.notes.append(msg)

    def expect(self, kind=None, reason=None, text=None):
        """A scenario changes what this run expects (it learnt something
        from the client's CONNECT)."""
        if kind is not None:
            self.kind = kind
        if reason is not None:
            self.reason = reason if self.version == 5 else S.NONE
        if text is not None:
            self.text = text

    async def idle(self, label, secs=IDLE_WINDOW_S):
        await self.idle_during(asyncio.sleep(secs), label)

    async def idle_during(self, coro, label):
        pid = self.proc.pid
        c0, t0 = proc_cpu(pid), time.monotonic()
        result = await coro
        c1, t1 = proc_cpu(pid), time.monotonic()
        if c0 is not None and c1 is not None and t1 > t0:
            share = (c1 - c0) / (t1 - t0)
            self.idles.append((label, share))
            self.check(share <= IDLE_CPU_SHARE,
                       "spins: %.0f%% CPU while %s" % (share * 100, label))
        return result

    async def printed(self, payload, timeout=PRINT_WITHIN_S, topic=None, conn=None):
        """Wait until the client has printed a message with this payload
        (False after `timeout`, or 1 s after `conn` closed)."""
        end = time.monotonic() + timeout
        while True:
            self.out.update()
            if self.count(payload) and (topic is None or self.count_topic(topic)):
                return True
            if conn is not None and conn.closed:
                end = min(end, conn.t_closed + 1.0)
            if time.monotonic() > end or self.proc.returncode is not None:
                return False
            await asyncio.sleep(0.05)

    def count(self, payload):
        return self.out.payloads.get(payload, 0)

    def count_topic(self, topic):
        return self.out.topics.get(topic.encode(), 0)

    def on_packet(self, conn, p):
        if self.rss_first is None and p.kind == B.SUBSCRIBE and self.proc:
            self.rss_first = proc_rss_kb(self.proc.pid)
        if p.kind == B.CONNECT and not p.error and p.version != self.version:
            self.fail("CONNECT with protocol level %d, asked for %d" % (p.version, self.version))

    # -- the run --

    def args(self, port):
        a = {"-m": "sub", "-h": "127.0.0.1", "-p": port, "-i": "hostile-%d" % os.getpid(),
             "-t": "hostile/#", "-q": 2, "-n": 0, "-V": self.version, "-k": KEEPALIVE_S,
             "-W": RESPONSE_MS, "-H": HOLD_MS, "-B": 0, "-b": BASE_MS, "-X": CAP_MS, "-j": 0}
        a.update(self.scn.args)
        out = []
        for k, v in a.items():
            out += [k, str(v)]
        if self.client == "python":
            out.append("-v")  # mqtt_as's DEBUG: it prints why a connection ended.
        return out

    async def handle(self, conn):
        self._new_conn.set()
        await self.scn.serve(self, conn)

    async def next_conn(self, index, timeout):
        end = time.monotonic() + timeout
        while len(self.server.conns) <= index:
            left = end - time.monotonic()
            if left <= 0 or self.proc.returncode is not None:
                return None
            self._new_conn.clear()
            try:
                await asyncio.wait_for(self._new_conn.wait(), min(left, 0.2))
            except asyncio.TimeoutError:
                pass
        return self.server.conns[index]

    async def go(self):
        self.t_start = time.monotonic()
        self.server = await B.Server(self.handle, self.on_packet).start()
        env = dict(os.environ)
        if self.client == "c-asan":
            env["ASAN_OPTIONS"] = "detect_leaks=1:halt_on_error=1:exitcode=86"
            env["UBSAN_OPTIONS"] = "print_stacktrace=1:halt_on_error=1"
        with open(os.path.join(self.dir, "cmd"), "w") as f:
            f.write(shlex.join(self.cmd + self.args(self.server.port)) + "\n")
        self.proc = await asyncio.create_subprocess_exec(
            *self.cmd, *self.args(self.server.port), env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=open(os.path.join(self.dir, "stdout"), "wb"),
            stderr=open(os.path.join(self.dir, "stderr"), "wb"))
        try:
            await asyncio.wait_for(self.drive(), self.scn.limit)
        except asyncio.TimeoutError:
            self.fail("the run did not finish within %d s" % self.scn.limit)
        await self.finish()
        self.seconds = time.monotonic() - self.t_start

    async def drive(self):
        startup = 30.0 if self.client == "python" else 15.0
        c0 = await self.next_conn(0, startup)
        if c0 is None:
            self.fail("the client never connected")
            return
        if self.kind == "repeat":
            await self.drive_repeat()
            return
        await c0.served.wait()
        if self.kind == "close":
            await self.drive_close(c0)
        else:
            await self.drive_keep(c0)
        if self.proc.returncode is None:
            await self.idle("connected, with nothing to do")

    async def drive_close(self, c0):
        limit = CLOSE_WITHIN_S
        if self.reason == S.ERROR_OR_NONE or self.scn.reason == S.ERROR_OR_NONE:
            limit += self.keepalive * 1.5 + self.response_s  # Timeouts.
        t = time.monotonic()
        if not await c0.wait_closed(limit):
            self.fail("did not close the connection within %.1f s of the fault"
                      % (time.monotonic() - t))
            return
        self.check_reason(c0)
        c1 = await self.next_conn(1, RECONNECT_WITHIN_S)
        if c1 is None:
            self.fail("did not reconnect within %.0f s" % RECONNECT_WITHIN_S)
            return
        await c1.served.wait()
        if not await self.printed(b"recovered"):
            self.fail("no message received on the next connection")

    async def drive_keep(self, c0):
        if c0.closed:
            self.check_reason(c0)
            self.fail("closed the connection (a fault the spec lets it accept)")
            return
        await c0.send(B.publish(c0.v5, "hostile/alive", b"alive"))
        if not await self.printed(b"alive"):
            self.fail("no message received after the fault on the same connection")
        if c0.closed:
            self.check_reason(c0)
            self.fail("closed the connection (a fault the spec lets it accept)")
        if len(self.server.conns) > 1:
            self.fail("connected again (%d connections)" % len(self.server.conns))

    async def drive_repeat(self):
        """A good session, then the fault on every connection, until the
        waits between attempts reach the cap twice, the client stops
        trying (no attempt for STOPPED_AFTER_S), a permanent
        refusal is retried early, or REPEAT_MAX_CONNS/REPEAT_MAX_S."""
        cap = CAP_MS / 1000
        t_first = None
        while self.proc.returncode is None:
            faults = self.server.conns[1:]
            gaps = self.gaps(faults)
            now = time.monotonic()
            if faults and t_first is None:
                t_first = now
            last = faults[-1] if faults else None
            if len(gaps) >= 2 and min(gaps[-2:]) >= 0.9 * cap:
                break
            if self.scn.backoff == "permanent" and gaps and gaps[0] < 0.9 * cap:
                break
            if last is not None and last.t_end is not None and now - last.t_end > STOPPED_AFTER_S:
                break
            if len(faults) >= REPEAT_MAX_CONNS or (t_first and now - t_first > REPEAT_MAX_S):
                break
            await asyncio.sleep(0.05)
        faults = list(self.server.conns[1:])
        for c in faults:
            await c.served.wait()
            await c.wait_closed(2.0)
            self.check_reason(c)
        gaps = self.gaps(faults)
        shown = [int(g * 1000) for g in gaps]
        self.note("attempts after the good session %d, waits between them (ms): %s"
                  % (len(faults), shown))
        if self.proc.returncode is not None:
            self.exited_early = self.proc.returncode
        stopped = self.proc.returncode is not None or (
            faults and faults[-1].t_end is not None
            and time.monotonic() - faults[-1].t_end > STOPPED_AFTER_S)
        at_cap = len(gaps) >= 2 and min(gaps[-2:]) >= 0.9 * cap
        b = self.scn.backoff
        if not faults:
            self.fail("never came back after the first session")
        elif b == "grow":
            self.check(at_cap and not stopped, "waits between attempts do not grow to the "
                       "backoff cap (%d ms): %s ms" % (CAP_MS, shown))
        elif b == "permanent":
            self.check(stopped or (gaps and min(gaps) >= 0.9 * cap),
                       "a permanent refusal retried sooner than the backoff cap "
                       "(%d ms): waits %s ms" % (CAP_MS, shown))
        else:
            self.check(stopped or at_cap, "retries neither back off to the cap (%d ms) nor "
                       "stop: waits %s ms" % (CAP_MS, shown))

    @staticmethod
    def gaps(conns):
        """Waits between one connection's end and the next one's start."""
        return [b.t_open - a.t_end for a, b in zip(conns, conns[1:]) if a.t_end is not None]

    def check_reason(self, conn):
        """The DISCONNECTs the client sent on a connection it ended because
        of the fault."""
        discs = conn.packets("DISCONNECT")
        want = self.reason
        codes = ["0x%02x" % d.reason for d in discs]
        if want == S.ANY:
            return
        if want == S.NONE:
            self.check(not discs, "sent DISCONNECT %s where the spec wants none%s"
                       % (",".join(codes), " (3.1.1: DISCONNECT is a clean end)"
                          if self.version == 4 else ""))
        elif want == S.ERROR_OR_NONE:
            self.check(all(d.reason in S.CLIENT_ERROR_CODES for d in discs),
                       "sent DISCONNECT %s: not an error code a client sends"
                       % ",".join(codes))
        else:
            wanted = "/".join("0x%02x" % r for r in sorted(want))
            if not discs:
                self.fail("closed without DISCONNECT %s" % wanted)
            else:
                self.check(len(discs) == 1 and discs[0].reason in want,
                           "sent DISCONNECT %s, expected %s" % (",".join(codes), wanted))

    async def finish(self):
        pid = self.proc.pid
        if self.proc.returncode is None:
            rss_end = proc_rss_kb(pid)
            if self.rss_first and rss_end:
                growth = rss_end - self.rss_first
                self.note("RSS %d kB after the first SUBSCRIBE, %d kB at the end"
                          % (self.rss_first, rss_end))
                slack = RSS_SLACK_KB[self.client]
                self.check(growth <= slack, "memory grew by %d kB (RSS %d -> %d kB; "
                           "allowed %d kB)" % (growth, self.rss_first, rss_end, slack))
            cpu = proc_cpu(pid)
            if cpu is not None:
                self.note("CPU %.2f s in %.1f s" % (cpu, time.monotonic() - self.t_start))
            last = self.server.conns[-1] if self.server.conns else None
            graceful = last is not None and not last.closed and last.served.is_set() \
                and last.packets("SUBSCRIBE") and self.kind != "repeat"
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), EXIT_WITHIN_S)
            except asyncio.TimeoutError:
                self.fail("still running %d s after SIGTERM" % EXIT_WITHIN_S)
                self.proc.kill()
                await self.proc.wait()
            rc = self.proc.returncode
            if rc < 0:
                self.fail("killed by signal %d" % -rc)
            elif rc != 0:
                self.fail("exit status %d after SIGTERM" % rc)
            if graceful and rc == 0:
                await last.wait_closed(3.0)
                discs = last.packets("DISCONNECT")
                if not discs:
                    self.fail("SIGTERM: closed without DISCONNECT")
                elif self.version == 5 and discs[-1].reason != 0:
                    self.fail("SIGTERM: DISCONNECT 0x%02x, expected 0x00" % discs[-1].reason)
        else:
            rc = self.proc.returncode
            if rc < 0:
                self.fail("crashed: killed by signal %d" % -rc)
            elif self.exited_early is None or rc == 86:
                self.fail("exited by itself with status %d" % rc)
        await self.server.stop()
        self.out.update()
        with open(os.path.join(self.dir, "stderr"), "rb") as f:
            err = f.read().decode(errors="replace")
        with open(os.path.join(self.dir, "stdout"), "rb") as f:
            out = f.read(4 << 20).decode(errors="replace")
        san = SANITIZER.search(err)
        if san:
            line = err[san.start():].splitlines()[0]
            self.fail("sanitizer: %s" % line[:200])
        both = out + "\n" + err
        if self.text and not re.search(self.text, both):
            self.fail("no error text matching /%s/" % self.text)
        if self.scn.forbid and re.search(self.scn.forbid, both):
            m = re.search(self.scn.forbid, both)
            line = both[both.rfind("\n", 0, m.start()) + 1:both.find("\n", m.end())]
            self.fail("says %r, which it must not" % line.strip()[:160])
        self.write_trace()

    def write_trace(self):
        with open(os.path.join(self.dir, "trace"), "w") as f:
            f.write("%s: %s\n" % (self.id, "FAIL" if self.failures else "ok"))
            for m in self.failures:
                f.write("  FAIL %s\n" % m)
            for m in self.notes:
                f.write("  note %s\n" % m)
            for label, share in self.idles:
                f.write("  idle %.0f%% CPU while %s\n" % (share * 100, label))
            t0 = self.t_start
            for c in self.server.conns:
                f.write("  conn %d open +%.3f end %s%s\n" % (
                    c.index, c.t_open - t0,
                    "+%.3f" % (c.t_end - t0) if c.t_end else "-",
                    " (broker closed)" if c.closed_by_broker else ""))
                for p in c.log:
                    f.write("    +%.3f %r%s\n" % (p.t - t0, p, " ERROR " + p.error if p.error else ""))

    def summary_line(self):
        s = "%-4s %-36s %-7s %s  %5.1fs" % ("ok" if not self.failures else "FAIL",
                                            self.scn.name, self.client, "3.1.1" if self.version == 4 else "5.0",
                                            self.seconds)
        if self.failures:
            s += "  " + "; ".join(self.failures)
        return s


def describe(s):
    """A scenario and what it expects, for --list."""
    vs = " ".join("3.1.1" if v == 4 else "5.0" for v in s.versions)
    exp = [{"close": "the client closes", "keep": "the client keeps the connection",
            "repeat": "every connection"}[s.kind]]
    if 5 in s.versions and s.reason != S.ANY:
        r = s.reason
        exp.append("5.0 DISCONNECT " + (r if isinstance(r, str) else
                                         "/".join("0x%02x" % c for c in sorted(r))))
    if s.backoff:
        exp.append("backoff: " + s.backoff)
    for v in s.versions:
        t = s.text_for(v)
        if t:
            exp.append("%stext /%s/" % ("" if s.text_for(9 - v) == t or len(s.versions) == 1
                                         else ("3.1.1 " if v == 4 else "5.0 "), t))
            if s.text_for(9 - v) == t:
                break
    if s.forbid:
        exp.append("not /%s/" % s.forbid)
    return "%s [%s]%s\n    %s\n    expects: %s\n    spec: %s" % (
        s.name, vs, " (issue 12 defect %s)" % s.defect if s.defect else "", s.doc,
        "; ".join(exp), s.spec)


def plan(args):
    runs = []
    pattern = re.compile(args.scenarios) if args.scenarios else None
    versions = [int(v) for v in args.versions.split(",")]
    for scn in S.SCENARIOS:
        if pattern and not pattern.search(scn.name):
            continue
        for v in scn.versions:
            if v not in versions:
                continue
            for client in args.clients.split(","):
                runs.append((scn, client, v))
    # The long ones first, so that they overlap the many short ones.
    def weight(r):
        scn, client, v = r
        return (not scn.heavy, scn.kind != "repeat", client != "python")
    runs.sort(key=weight)
    return runs


async def main_async(args, work):
    cmds = {}
    for client in args.clients.split(","):
        if client not in CLIENTS:
            raise SystemExit("unknown client %r (known: %s)" % (client, ", ".join(CLIENTS)))
        cmd = os.environ.get(ENV[client])
        if not cmd:
            raise SystemExit("%s is not set: the %s client's command" % (ENV[client], client))
        cmds[client] = shlex.split(cmd)
    todo = plan(args)
    log("hostile: %d runs (%d scenarios, clients %s), %d at a time"
        % (len(todo), len({r[0].name for r in todo}), args.clients, args.jobs))
    sem = asyncio.Semaphore(args.jobs)
    # Heavy runs (10 MB, flood) take CPU: two at a time at most.
    heavy = asyncio.Semaphore(2)
    done = []

    async def one(scn, client, v):
        async with sem:
            run = Run(scn, client, v, cmds[client], work)
            if scn.heavy:
                async with heavy:
                    await run.go()
            else:
                await run.go()
            done.append(run)
            print(run.summary_line(), flush=True)

    await asyncio.gather(*(one(*r) for r in todo))
    return done


def report(done, seconds, args):
    clients = args.clients.split(",")
    failed = [r for r in done if r.failures]
    rows = {}
    for r in done:
        rows.setdefault((r.scn.name, r.version), {})[r.client] = r
    print("\nscenario (MQTT version)                   " + " ".join("%-7s" % c for c in clients))
    for scn in S.SCENARIOS:
        for v in scn.versions:
            row = rows.get((scn.name, v))
            if not row:
                continue
            cells = []
            for c in clients:
                r = row.get(c)
                cells.append("%-7s" % ("-" if r is None else "FAIL" if r.failures else "ok"))
            tag = " (defect %s)" % scn.defect if scn.defect and any(
                x.failures for x in row.values()) else ""
            print("%-41s %s%s" % ("%s (%s)" % (scn.name, "3.1.1" if v == 4 else "5.0"),
                                  " ".join(cells), tag))
    if failed:
        print("\nfailures:")
        for r in sorted(failed, key=lambda r: (r.scn.name, r.version, r.client)):
            print("  %s" % r.summary_line())
    print("\nhostile: %d runs, %d passed, %d failed (%d s)"
          % (len(done), len(done) - len(failed), len(failed), seconds), flush=True)
    return not failed


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clients", default=",".join(CLIENTS))
    ap.add_argument("--scenarios", help="a regular expression on scenario names")
    ap.add_argument("--versions", default="4,5")
    ap.add_argument("-j", "--jobs", type=int, default=10)
    ap.add_argument("--keep", action="store_true", help="keep every run's files")
    ap.add_argument("--list", action="store_true", help="print the scenario table")
    args = ap.parse_args()
    S.check_table()
    if args.list:
        for s in S.SCENARIOS:
            print(describe(s))
        return 0
    work = tempfile.mkdtemp(prefix="mqttas-hostile.")
    t0 = time.monotonic()
    done = asyncio.run(main_async(args, work))
    ok = report(done, time.monotonic() - t0, args)
    if ok and not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    else:
        # Only the failed runs' files are worth keeping.
        if not args.keep:
            for r in done:
                if not r.failures:
                    shutil.rmtree(r.dir, ignore_errors=True)
        log("hostile: each run's command, output and packet trace are in %s" % work)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
