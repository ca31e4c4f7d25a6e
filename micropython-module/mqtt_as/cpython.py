# cpython.py: compat's definitions for CPython, where they differ from
# MicroPython's; compat takes them from here on CPython only. Never frozen
# into a firmware nor installed by mip (features.py CPYTHON_ONLY).

import asyncio
import sys
import time

try:
    import _mqttas  # noqa: F401
except ImportError:
    # micropython-module/cpython/_mqttas.py (the ctypes binding), beside
    # this package.
    _pkg = __file__.replace("\\", "/").rsplit("/", 1)[0]
    sys.path.append(_pkg.rsplit("/", 1)[0] + "/cpython")
    import _mqttas  # noqa: F401


def now():
    """Milliseconds, wrapping at 2**32."""
    return int(time.monotonic() * 1000) & 0xFFFFFFFF


def sleep_ms(ms):
    return asyncio.sleep(ms / 1000)


def within_ms(aw, ms):
    """Await `aw` at most `ms` milliseconds, else raise
    asyncio.TimeoutError."""
    return asyncio.wait_for(aw, ms / 1000)


def _loop(o):
    """The running loop, kept in `o`: asyncio.get_running_loop() (and so
    asyncio.Event.wait()) asks the kernel for the process id on every call,
    a system call per wait. One loop runs in a thread at a time, so the
    kept one, while it runs, is the caller's."""
    loop = o._loop
    if loop is None or not loop.is_running():
        loop = o._loop = asyncio.get_running_loop()
    return loop


def _ring(f, woken):
    if not f.done():
        f.set_result(woken)


class Changes:
    """Something changed: notify() wakes every task in wait() at once. Each
    waiting task awaits a future of the loop's that notify() or its timer
    sets (no asyncio.Event: see _loop)."""

    _loop = None
    _w = None  # The waiting tasks' futures.

    def notify(self):
        w = self._w
        if w:
            self._w = None
            for f in w:
                _ring(f, True)

    async def wait(self, ms=None):
        """True when notified; False after `ms` (None: no limit)."""
        loop = _loop(self)
        f = loop.create_future()
        w = self._w
        if w is None:
            w = self._w = []
        w.append(f)
        h = None if ms is None else loop.call_later(ms / 1000, _ring, f, False)
        try:
            return await f
        finally:
            if h is not None:
                h.cancel()
            w = self._w
            if w is not None and f in w:  # Timed out or cancelled.
                w.remove(f)


class Alarm:
    """A sleep that other tasks can end early (wake()): the sleeper awaits a
    future of the loop's that wake() or its timer sets. No cancellation
    thrown into the sleeper (and taken back) per wake-up, nor a sleep's
    future beside the timer; a cancellation from elsewhere goes on as
    asked. One task sleeps in an Alarm at a time."""

    _loop = None
    _task = None  # The sleeper's future.

    async def sleep(self, ms=None):
        """Sleep `ms` milliseconds (None: until woken); True when woken."""
        loop = _loop(self)
        f = self._task = loop.create_future()
        h = None if ms is None else loop.call_later(ms / 1000, _ring, f, False)
        try:
            return await f
        finally:
            if self._task is f:
                self._task = None
            if h is not None:
                h.cancel()

    def wake(self):
        f = self._task
        if f is not None:
            self._task = None
            _ring(f, True)


_tasks = set()  # spawn()'s


def spawn(coro):
    """Start a task and keep it referenced until it ends (CPython drops
    unreferenced tasks)."""
    t = asyncio.create_task(coro)
    _tasks.add(t)
    t.add_done_callback(_tasks.discard)
    return t
