"""Event-loop rounds per message on CPython (issue 15): publishing one
message after another at QoS 1 against a real mosquitto, counted as
calls of the loop's selector (one per round, each an epoll_wait). A task
released by an acknowledgement runs before the writer is woken, so the
writer finds the next publication's bytes in one round instead of waking
for nothing first: QoS 1 took 4 rounds per message, then 3 (QoS 2: 7,
then 6). On CPython the received bytes go to the core in the transport's
callback (links/astream.py hand()), not through a reader task woken for
them: one round per acknowledgement less, QoS 1 now 2 (QoS 2 4; under
load the two overlap, so only QoS 1 is asserted).
A loaded machine adds rounds (a task preempted mid-round, the broker's
answer split), so the figure is the least of a few batches: one batch in
quiet is enough, and there the counts do not depend on timing (each round
runs what the last one made ready)."""

import asyncio

from conftest import make_cfg, run
from mqtt_as import MQTTClient

BATCHES = 8
N = 25  # Messages per batch.


def rounds_per_message(broker, qos):
    async def main():
        client = MQTTClient(make_cfg(broker))
        await client.connect()
        try:
            sel = asyncio.get_running_loop()._selector
            select = sel.select
            count = [0]

            def counted(timeout=None):
                count[0] += 1
                return select(timeout)

            sel.select = counted
            least = None
            try:
                for _ in range(BATCHES):
                    count[0] = 0
                    for _ in range(N):
                        await client.publish("rounds/t", b"x" * 32, qos=qos)
                    r = count[0] / N
                    least = r if least is None else min(least, r)
            finally:
                del sel.select
            return least
        finally:
            await client.disconnect()

    return run(main())


def test_publishing_one_after_another_takes_two_loop_rounds(broker):
    # Before: 4.0 in quiet, 4.06-4.8 under load; then 3.0 in quiet, up to
    # 3.64 under load (the least of the batches, load average 2 on 2 cores);
    # now 2.0 in quiet.
    r = rounds_per_message(broker, 1)
    assert r <= 2.75, "%.2f event-loop rounds per QoS 1 message (at most 2.75)" % r
