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


class Changes:
    """Something changed: notify() wakes every task in wait() at once. An
    asyncio.Event, replaced at each notify() that has a task waiting in it
    (most have none: no Event is made then)."""

    _waited = False  # A task waits in the Event (or did).

    def __init__(self):
        self._q = asyncio.Event()

    def notify(self):
        if self._waited:
            q = self._q
            self._waited = False
            self._q = asyncio.Event()
            q.set()

    async def wait(self, ms=None):
        """True when notified; False after `ms` (None: no limit)."""
        self._waited = True
        w = self._q.wait()
        try:
            await (w if ms is None else within_ms(w, ms))
        except asyncio.TimeoutError:
            return False
        return True


def _ring(f, woken):
    if not f.done():
        f.set_result(woken)


class Alarm:
    """A sleep that other tasks can end early (wake()): the sleeper awaits a
    future of the loop's that wake() or its timer sets. No cancellation
    thrown into the sleeper (and taken back) per wake-up, nor a sleep's
    future beside the timer; a cancellation from elsewhere goes on as
    asked. One task sleeps in an Alarm at a time."""

    _task = None  # The sleeper's future.

    async def sleep(self, ms=None):
        """Sleep `ms` milliseconds (None: until woken); True when woken."""
        loop = asyncio.get_running_loop()
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
