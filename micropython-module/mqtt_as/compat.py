# compat.py: the few places where MicroPython and CPython differ: the
# millisecond clock, asyncio's _ms helpers, and where `_mqttas` comes from
# (built into the firmware, or the ctypes binding next to this package on
# CPython). Here MicroPython's; CPython's come from cpython.py, which is
# never frozen into a firmware. Each module global is a slot in this
# module's dict (RAM): what is needed only once is not kept in one.

import asyncio

MICROPYTHON = __import__("sys").implementation.name == "micropython"

if not MICROPYTHON:
    from .cpython import _mqttas, now, sleep_ms, within_ms, Changes, Alarm, spawn  # noqa: F401
else:
    try:
        import _mqttas  # noqa: F401  (the firmware's C module)
    except ImportError:
        raise ImportError(
            "_mqttas is missing from this firmware: build it with the C module"
            " (USER_C_MODULES=/path/to/mqttas on make ports,"
            " /path/to/mqttas/micropython-module/micropython.cmake in a new build"
            " directory on rp2 and esp32): see micropython-module/README.md"
        )

    # The core wants u32 milliseconds that wrap at 2**32. MicroPython's
    # ticks_ms() wraps sooner (2**30 on most ports), so keep our own
    # counter moved on by ticks_diff(), in now()'s default arguments (fast
    # to read).
    import time as _time

    def now(_ms=_time.ticks_ms, _diff=_time.ticks_diff, _s=[_time.ticks_ms(), 0]):
        """Milliseconds, wrapping at 2**32. (_s: the last ticks_ms() and
        the count then.)"""
        t = _ms()
        n = _s[1] = (_s[1] + _diff(t, _s[0])) & 0xFFFFFFFF
        _s[0] = t
        return n

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

    from asyncio import core as _core  # MicroPython's asyncio internals

    class Changes:
        """Something changed: notify() wakes every task in wait() at once.

        The waiting tasks sit in a queue of asyncio's own, as asyncio.Event
        keeps them (the same four lines): neither the asyncio.event module
        (1.2 KiB on the unix port) nor an Event per notification."""

        def __init__(self):
            self._q = _core.TaskQueue()

        def notify(self):
            q = self._q
            while q.peek():
                _core._task_queue.push(q.pop())

        def _park(self):  # async (a generator, as asyncio.Event.wait)
            t = _core.cur_task
            self._q.push(t)
            t.data = self._q  # So that cancelling the task takes it off the queue.
            yield
            return True

        def wait(self, ms=None):
            """Awaitable: True when notified; False after `ms` (None: no
            limit). Without `ms` the waiting generator itself (no coroutine
            around it: a frame less per wait)."""
            if ms is None:
                return self._park()
            return self._wait(ms)

        async def _wait(self, ms):
            try:
                await within_ms(self._park(), ms)
            except asyncio.TimeoutError:
                return False
            return True

    class Alarm:
        """A sleep that other tasks can end early (wake()): in RAM a task
        asleep costs less than one waiting for an Event with a timeout
        (asyncio's wait_for: a second task and two frames), and waking it
        is not latched (the sleeper checks its state before each sleep).
        One task sleeps in an Alarm at a time. wake() cancels the sleep; a
        cancellation from elsewhere (a teardown, the end of asyncio.run)
        goes on as asked."""

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

    # Start a task (CPython's spawn() keeps it referenced too).
    spawn = asyncio.create_task

# The features this _mqttas is built with (the firmware's knobs, see
# micropython-module/features.py); a firmware from before the knobs has all.
FEATURES = getattr(_mqttas, "FEATURES", ("v5", "qos2", "radio", "radio-gateway"))


def need(knob, what):
    """ValueError naming the knob unless _mqttas was built with it."""
    if knob not in FEATURES:
        from .links import missing

        raise missing(knob, what)


def until(deadline, t):
    """Milliseconds from `t` to `deadline`, both wrapping ticks (<= 0 when
    due)."""
    d = (deadline - t) & 0xFFFFFFFF
    return d - 0x100000000 if d & 0x80000000 else d
