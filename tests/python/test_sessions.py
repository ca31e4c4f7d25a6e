"""Clean and unclean sessions, and a broker restart in the middle of QoS 1
and 2 traffic with nothing lost."""

import asyncio
import re
import subprocess

import pytest

from conftest import client_id, make_cfg, mosquitto_pub, run
from mqtt_as import MQTTClient


async def _pub(broker, topic, msg, qos):
    await asyncio.get_running_loop().run_in_executor(None, mosquitto_pub, broker, topic, msg, qos)


def _offline_messages(broker, first, later):
    """Connect with `first` settings, subscribe, go away; two QoS 1
    messages are published meanwhile; connect again with `later`
    settings (same client id) without subscribing: what arrives?"""
    cid = client_id("sess")
    got = []

    async def main():
        a = MQTTClient(make_cfg(broker, client_id=cid, **first))
        await a.connect()
        await a.subscribe("sess/t", 1)
        await a.disconnect()
        await _pub(broker, "sess/t", "m1", 1)
        await _pub(broker, "sess/t", "m2", 1)
        b = MQTTClient(make_cfg(broker, client_id=cid, subs_cb=lambda t, m, r, p=None: got.append(m), **later))
        await b.connect()
        await asyncio.sleep(0.5)
        await b.disconnect()

    run(main())
    return got


def test_unclean_session_keeps_subscriptions_and_queued_messages(broker):
    got = _offline_messages(broker, {"clean": False}, {"clean_init": False, "clean": False})
    assert got == [b"m1", b"m2"]


def test_clean_session_loses_them(broker):
    assert _offline_messages(broker, {"clean": True}, {"clean": True}) == []


def test_clean_init_clears_an_old_session_at_power_up(broker):
    # clean_init=True, clean=False: the old session is dropped, the new one kept.
    assert _offline_messages(broker, {"clean": False}, {"clean_init": True, "clean": False}) == []


def test_v5_unclean_session(broker):
    got = _offline_messages(
        broker, {"clean": False, "mqttv5": True}, {"clean_init": False, "clean": False, "mqttv5": True}
    )
    assert got == [b"m1", b"m2"]


@pytest.mark.parametrize("v5", [False, True], ids=["3.1.1", "5.0"])
def test_broker_restart_loses_nothing_at_qos_1_and_2(make_broker, v5):
    broker = make_broker(persistence=True)
    n = 150
    got = {1: [], 2: []}

    def sub_cb(topic, msg, retained, props=None):
        got[int(topic[-1:])].append(int(msg))

    async def conn_han(client):
        await client.subscribe("restart/1", 1)
        await client.subscribe("restart/2", 2)

    sub_cfg = make_cfg(broker, clean=False, subs_cb=sub_cb, connect_coro=conn_han, hold_down=0.2, mqttv5=v5)
    pub_cfg = make_cfg(broker, clean=False, hold_down=0.2, mqttv5=v5)

    async def publisher(client, qos):
        for i in range(n):
            await client.publish("restart/%d" % qos, str(i), qos=qos)
            await asyncio.sleep(0.005)

    async def main():
        sub = MQTTClient(sub_cfg)
        pub = MQTTClient(pub_cfg)
        await sub.connect()
        await asyncio.sleep(0.3)
        await pub.connect()
        tasks = [asyncio.create_task(publisher(pub, q)) for q in (1, 2)]
        while len(got[2]) < n // 3:
            await asyncio.sleep(0.01)
        broker.stop()
        await asyncio.sleep(1)
        broker.start()
        await asyncio.gather(*tasks)
        for _ in range(500):
            if len(set(got[1])) == n and len(got[2]) >= n:
                break
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.3)
        await pub.disconnect()
        await sub.disconnect()
        return pub.REPUB_COUNT

    repubs = run(main(), timeout=60)
    print("republished:", repubs, "received:", len(got[1]), len(got[2]))
    assert sorted(set(got[1])) == list(range(n)), "QoS 1 lost messages"
    assert sorted(got[2]) == list(range(n)), "QoS 2 lost or duplicated messages"
    assert "Client %s" % pub_cfg["client_id"] in broker.log()


def test_planned_close_sends_the_pubcomps_it_queued(make_broker):
    # mosquitto (max_inflight_messages 100) sends 100 queued QoS 2 messages
    # at once: the client tracks 64, withholds the rest, and once the
    # broker has released the 64 it closes the connection on purpose to
    # have the others sent again. The PUBCOMPs of the 64 must go out
    # before that close: a broker that misses them keeps the messages
    # awaiting PUBCOMP (mosquitto 2.0 restored from its persistence file
    # sends such messages again as PUBLISHes: duplicates). Seen in the
    # broker's log: a PUBREL sent a second time, on the next connection.
    broker = make_broker(extra=("max_inflight_messages 100",))
    cid = client_id("planned")
    got = []

    async def main():
        a = MQTTClient(make_cfg(broker, client_id=cid, clean=False))
        await a.connect()
        await a.subscribe("planned/t", 2)
        await a.disconnect()
        # One mosquitto_pub, one message a line.
        lines = "".join("%d\n" % i for i in range(100)).encode()
        await asyncio.get_running_loop().run_in_executor(None, lambda: subprocess.run(
            ["mosquitto_pub", "-h", "127.0.0.1", "-p", str(broker.port), "-t", "planned/t",
             "-q", "2", "-l"], input=lines, check=True, timeout=10))
        b = MQTTClient(make_cfg(broker, client_id=cid, clean_init=False, clean=False,
                                subs_cb=lambda t, m, r: got.append(int(m))))
        await b.connect()
        for _ in range(500):
            if len(got) >= 100:
                break
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.3)
        await b.disconnect()

    run(main())
    assert got == list(range(100))
    log = broker.log()
    assert "Sending CONNACK to %s (1, 0)" % cid in log
    rels = re.findall(r"Sending PUBREL to %s \(m(\d+)\)" % re.escape(cid), log)
    assert len(rels) >= 100
    assert len(rels) == len(set(rels)), "PUBRELs sent again: PUBCOMPs lost in a planned close"
