# The marks around a bench app's timed part (cpython-py/bench.py,
# micropython-py/bench.py): a stat() of MARK + "start" and of MARK + "end",
# paths that do not exist, which strace shows and syscalls.py looks for.
# Runs on CPython and MicroPython.
import os

MARK = "/nonexistent/mqttas-bench-"


def mark(what):
    try:
        os.stat(MARK + what)
    except OSError:
        pass
