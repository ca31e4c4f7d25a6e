# compat.py: the few places where MicroPython and CPython differ: the
# millisecond clock, asyncio's _ms helpers, printing an exception, and where
# `_mqttas` comes from (built into the firmware, or the ctypes binding next
# to this package on CPython).

import sys

import asyncio

MICROPYTHON = sys.implementation.name == "micropython"

try:
    import _mqttas  # noqa: F401  (the firmware's C module)
except ImportError:
    if MICROPYTHON:
        raise ImportError("_mqttas is missing: build the firmware with USER_C_MODULES=micropython-module")
    # CPython: micropython-module/cpython/_mqttas.py, beside this package.
    _pkg = __file__.replace("\\", "/").rsplit("/", 1)[0]
    sys.path.append(_pkg.rsplit("/", 1)[0] + "/cpython")
    import _mqttas  # noqa: F401

# The core wants u32 milliseconds that wrap at 2**32. MicroPython's
# ticks_ms() wraps sooner (2**30 on most ports), so keep our own counter
# moved on by ticks_diff().
try:
    from time import ticks_ms, ticks_diff

    _last = ticks_ms()
    _now = 0

    def now():
        """Milliseconds, wrapping at 2**32."""
        global _last, _now
        t = ticks_ms()
        _now = (_now + ticks_diff(t, _last)) & 0xFFFFFFFF
        _last = t
        return _now

except ImportError:
    from time import monotonic

    def now():
        """Milliseconds, wrapping at 2**32."""
        return int(monotonic() * 1000) & 0xFFFFFFFF


def until(deadline, t):
    """Milliseconds from `t` to `deadline`, both wrapping ticks (<= 0 when
    due)."""
    d = (deadline - t) & 0xFFFFFFFF
    return d - 0x100000000 if d & 0x80000000 else d


if hasattr(asyncio, "sleep_ms"):
    sleep_ms = asyncio.sleep_ms

    async def wait_ms(event, ms):
        """Wait for `event` at most `ms` milliseconds; True if it was set."""
        try:
            await asyncio.wait_for_ms(event.wait(), ms)
        except asyncio.TimeoutError:
            return False
        return True

else:

    def sleep_ms(ms):
        return asyncio.sleep(ms / 1000)

    async def wait_ms(event, ms):
        """Wait for `event` at most `ms` milliseconds; True if it was set."""
        try:
            await asyncio.wait_for(event.wait(), ms / 1000)
        except asyncio.TimeoutError:
            return False
        return True


def print_exc(e):
    """Print an exception with its traceback, on either Python."""
    if MICROPYTHON:
        sys.print_exception(e)
    else:
        import traceback

        traceback.print_exception(type(e), e, e.__traceback__)


_tasks = set()


class Changes:
    """Something changed: notify() wakes every task in wait() at once.
    `event` is the Event current waiters wait on; it is replaced at each
    notify(), so comparing it tells whether anything changed meanwhile."""

    def __init__(self):
        self.event = asyncio.Event()

    def notify(self):
        ev = self.event
        self.event = asyncio.Event()
        ev.set()

    async def wait(self, ms=None):
        """True when notified; False after `ms` (None: no limit)."""
        ev = self.event
        if ms is None:
            await ev.wait()
            return True
        return await wait_ms(ev, ms)


def spawn(coro):
    """Start a task and keep it referenced until it ends (CPython drops
    unreferenced tasks)."""
    t = asyncio.create_task(coro)
    if not MICROPYTHON:
        _tasks.add(t)
        t.add_done_callback(_tasks.discard)
    return t


def current_task():
    try:
        return asyncio.current_task()
    except RuntimeError:
        return None
