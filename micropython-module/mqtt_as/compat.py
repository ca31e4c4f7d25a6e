# compat.py: the few places where MicroPython and CPython differ: the
# millisecond clock, asyncio's _ms helpers, and where `_mqttas` comes from
# (built into the firmware, or the ctypes binding next to this package on
# CPython). Each module global is a slot in this module's dict (RAM): what
# is needed only once is not kept in one.

import asyncio

MICROPYTHON = __import__("sys").implementation.name == "micropython"

try:
    import _mqttas  # noqa: F401  (the firmware's C module)
except ImportError:
    if MICROPYTHON:
        raise ImportError(
            "_mqttas is missing from this firmware: build it with the C module"
            " (USER_C_MODULES=/path/to/mqttas on make ports,"
            " /path/to/mqttas/micropython-module/micropython.cmake in a new build"
            " directory on rp2 and esp32): see micropython-module/README.md"
        )
    # CPython: micropython-module/cpython/_mqttas.py, beside this package.
    import sys

    _pkg = __file__.replace("\\", "/").rsplit("/", 1)[0]
    sys.path.append(_pkg.rsplit("/", 1)[0] + "/cpython")
    import _mqttas  # noqa: F401

# The features this _mqttas is built with (the firmware's knobs, see
# micropython-module/features.py); a firmware from before the knobs has all.
FEATURES = getattr(_mqttas, "FEATURES", ("v5", "qos2", "radio", "radio-gateway"))


def need(knob, what):
    """ValueError naming the knob unless _mqttas was built with it."""
    if knob not in FEATURES:
        from .links import missing

        raise missing(knob, what)


# The core wants u32 milliseconds that wrap at 2**32. MicroPython's
# ticks_ms() wraps sooner (2**30 on most ports), so keep our own counter
# moved on by ticks_diff(), in now()'s default arguments (fast to read).
import time as _time

if hasattr(_time, "ticks_ms"):

    def now(_ms=_time.ticks_ms, _diff=_time.ticks_diff, _s=[_time.ticks_ms(), 0]):
        """Milliseconds, wrapping at 2**32. (_s: the last ticks_ms() and
        the count then.)"""
        t = _ms()
        n = _s[1] = (_s[1] + _diff(t, _s[0])) & 0xFFFFFFFF
        _s[0] = t
        return n

else:

    def now():
        """Milliseconds, wrapping at 2**32."""
        return int(_time.monotonic() * 1000) & 0xFFFFFFFF


def until(deadline, t):
    """Milliseconds from `t` to `deadline`, both wrapping ticks (<= 0 when
    due)."""
    d = (deadline - t) & 0xFFFFFFFF
    return d - 0x100000000 if d & 0x80000000 else d


if hasattr(asyncio, "sleep_ms"):
    sleep_ms = asyncio.sleep_ms

    async def within_ms(aw, ms):
        """Await `aw` (a coroutine) at most `ms` milliseconds, else raise
        asyncio.TimeoutError. asyncio.wait_for_ms() without its module
        (1.3 KiB of RAM on the unix port once loaded) and with one task
        less: a watchdog that cancels this one when the time is up."""
        me = asyncio.current_task()
        fired = []

        async def dog():
            await sleep_ms(ms)
            fired.append(1)
            me.cancel()

        d = asyncio.create_task(dog())
        try:
            return await aw
        except asyncio.CancelledError:
            if fired:
                raise asyncio.TimeoutError
            raise
        finally:
            if not fired:
                d.cancel()

else:

    def sleep_ms(ms):
        return asyncio.sleep(ms / 1000)

    def within_ms(aw, ms):
        """Await `aw` at most `ms` milliseconds, else raise
        asyncio.TimeoutError."""
        return asyncio.wait_for(aw, ms / 1000)


try:
    from asyncio import core as _core  # MicroPython's asyncio internals

    if not (MICROPYTHON and hasattr(_core, "TaskQueue") and hasattr(_core, "_task_queue")):
        _core = None
except ImportError:
    _core = None


class Changes:
    """Something changed: notify() wakes every task in wait() at once.

    On MicroPython the waiting tasks sit in a queue of asyncio's own, as
    asyncio.Event keeps them (the same four lines): neither the
    asyncio.event module (1.2 KiB on the unix port) nor an Event per
    notification. Elsewhere an asyncio.Event, replaced at each notify()
    that has a task waiting in it (most have none: no Event is made then)."""

    _waited = False  # Elsewhere: a task waits in the Event (or did).

    def __init__(self):
        self._q = _core.TaskQueue() if _core else asyncio.Event()

    def notify(self):
        q = self._q
        if _core:
            while q.peek():
                _core._task_queue.push(q.pop())
        elif self._waited:
            self._waited = False
            self._q = asyncio.Event()
            q.set()

    def _park(self):  # async (a generator, as asyncio.Event.wait on MicroPython)
        t = _core.cur_task
        self._q.push(t)
        t.data = self._q  # So that cancelling the task takes it off the queue.
        yield
        return True

    def wait(self, ms=None):
        """Awaitable: True when notified; False after `ms` (None: no
        limit). On MicroPython without `ms` the waiting generator itself
        (no coroutine around it: a frame less per wait)."""
        if ms is None and _core:
            return self._park()
        return self._wait(ms)

    async def _wait(self, ms):
        if _core:
            w = self._park()
        else:
            self._waited = True
            w = self._q.wait()
        if ms is None:
            await w
            return True
        try:
            await within_ms(w, ms)
        except asyncio.TimeoutError:
            return False
        return True


class Alarm:
    """A sleep that other tasks can end early (wake()): in RAM a task asleep
    costs less than one waiting for an Event with a timeout (asyncio's
    wait_for: a second task and two frames), and waking it is not latched
    (the sleeper checks its state before each sleep). One task sleeps in an
    Alarm at a time. wake() cancels the sleep; a cancellation from elsewhere
    (a teardown, the end of asyncio.run) goes on as asked."""

    # Class attributes until first set: an Alarm never slept in has an
    # empty dict (RAM).
    _task = None
    _woken = False

    async def sleep(self, ms=None):
        """Sleep `ms` milliseconds (None: until woken); True when woken."""
        t = asyncio.current_task()
        self._task = t
        self._woken = False
        try:
            await sleep_ms(1 << 28 if ms is None else ms)  # None: until woken (or for 3 days)
        except asyncio.CancelledError:
            if not self._woken:
                raise
            # CPython counts cancellations: take back ours, and end if
            # another one came too.
            uncancel = getattr(t, "uncancel", None)
            if uncancel is not None and uncancel() > 0:
                raise
            return True
        finally:
            if self._task is t:  # Another task may sleep in it by now.
                self._task = None
        return False

    def wake(self):
        t = self._task
        if t is not None:
            self._task = None
            self._woken = True
            t.cancel()


if not MICROPYTHON:
    _tasks = set()  # spawn()'s

    def _ring(f, woken):
        if not f.done():
            f.set_result(woken)

    class Alarm:  # noqa: F811
        """The Alarm on CPython: the sleeper awaits a future of the loop's
        that wake() or its timer sets. No cancellation thrown into the
        sleeper (and taken back) per wake-up, nor a sleep's future beside
        the timer; a cancellation from elsewhere goes on as asked."""

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


def spawn(coro):
    """Start a task and keep it referenced until it ends (CPython drops
    unreferenced tasks)."""
    t = asyncio.create_task(coro)
    if not MICROPYTHON:
        _tasks.add(t)
        t.add_done_callback(_tasks.discard)
    return t
