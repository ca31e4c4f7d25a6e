"""Counts the system calls of a traced bench run between its marks.

    strace -f -qq -o TRACE python bench.py SIDE PORT QOS N ...
    python syscalls.py TRACE PORT N [--all]

TRACE is strace's output (-f: every thread, one line per call, a call
split over two lines by another thread's counted once). Only the calls
between bench.py's two marks count (the timed publishing, not the start-up
and connection). Prints one line of figures per message, N messages (--all: every call of the trace, for a program without
the marks: then its start-up and connection count too):
  calls     every system call
  sends     send/sendto/sendmsg/write on the socket to the broker (PORT)
  B/send    bytes per such send (what the calls returned)
  recvs     recv/recvfrom/recvmsg/read on that socket
  wakeups   waits for readiness (select, poll, epoll_wait and kin)
  futex     futex calls (threads waking each other: paho's loop thread)
as "calls=.. sends=.. bytes_per_send=.. recvs=.. wakeups=.. futex=..".
"""

import re
import sys

from mark import MARK
CALL = re.compile(r"^(\d+\s+)?(\w+)\((\d+)?")
RET = re.compile(r"= (-?\d+)")
SENDS = ("send", "sendto", "sendmsg", "write")
RECVS = ("recv", "recvfrom", "recvmsg", "read")
WAITS = ("select", "pselect6", "poll", "ppoll", "epoll_wait", "epoll_pwait", "epoll_pwait2")


def count(lines, port, everything=False):
    sock = set()
    inside = everything
    calls = sends = sent = recvs = waits = futex = 0
    pending = {}  # pid -> (name, fd) of a call left <unfinished ...>
    for line in lines:
        if "connect(" in line and "htons(%d)" % port in line:
            m = CALL.match(line)
            if m and m.group(3):
                sock.add(int(m.group(3)))
        if MARK + "start" in line:
            inside = True
            continue
        if MARK + "end" in line:
            break
        if not inside:
            continue
        pid = line.split(None, 1)[0]
        if "<... " in line and " resumed>" in line:
            name, fd = pending.pop(pid, (None, None))
        else:
            m = CALL.match(line)
            if not m:
                continue  # A signal, an exit.
            name, fd = m.group(2), int(m.group(3)) if m.group(3) else None
            calls += 1
            if name in WAITS:
                waits += 1
            elif name == "futex":
                futex += 1
            if "<unfinished ...>" in line:
                pending[pid] = (name, fd)
                continue
        if name is None or fd not in sock:
            continue
        r = RET.search(line.rsplit(")", 1)[-1] if ")" in line else line)
        if name in SENDS:
            sends += 1
            if r and int(r.group(1)) > 0:
                sent += int(r.group(1))
        elif name in RECVS:
            recvs += 1
    return calls, sends, sent, recvs, waits, futex


def main():
    path, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    with open(path) as f:
        calls, sends, sent, recvs, waits, futex = count(f, port, sys.argv[4:] == ["--all"])
    if not calls:
        raise SystemExit("%s: no calls between the marks" % path)
    print("calls=%.2f sends=%.2f bytes_per_send=%.1f recvs=%.2f wakeups=%.2f futex=%.2f"
          % (calls / n, sends / n, sent / max(sends, 1), recvs / n, waits / n, futex / n))


if __name__ == "__main__":
    main()
