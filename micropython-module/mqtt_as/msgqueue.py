# msgqueue.py: the message queue of mqtt_as's Event interface.
#
#     async for topic, msg, retained in client.queue:      # 3.1.1
#     async for topic, msg, retained, properties in client.queue:  # 5.0
#
# A ring of `size` entries: when it is full the oldest message is dropped
# and counted in `discards` (mqtt_as's policy: resilience first).

import asyncio


class MsgQueue:
    def __init__(self, size):
        self._size = max(1, size)
        self._q = [None] * self._size
        self._ri = 0
        self._n = 0
        self._evt = asyncio.Event()
        self.discards = 0

    def put(self, *v):
        if self._n == self._size:
            self._q[self._ri] = None
            self._ri = (self._ri + 1) % self._size
            self._n -= 1
            self.discards += 1
        self._q[(self._ri + self._n) % self._size] = v
        self._n += 1
        self._evt.set()

    def qsize(self):
        return self._n

    def __aiter__(self):
        return self

    async def __anext__(self):
        while not self._n:
            self._evt.clear()
            await self._evt.wait()
        v = self._q[self._ri]
        self._q[self._ri] = None
        self._ri = (self._ri + 1) % self._size
        self._n -= 1
        return v
