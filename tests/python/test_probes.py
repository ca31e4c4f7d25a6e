"""broker_up() and wan_ok(): wan_ok's DNS server is configurable, so a
responder on 127.0.0.1 stands in for 8.8.8.8."""

import asyncio
import socket
import threading

from conftest import run
from mqtt_as import MQTTClient


class DnsResponder:
    """Answers every UDP query with a minimal DNS response (same id, QR set)."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.queries = []
        self.running = True
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while self.running:
            try:
                q, addr = self.sock.recvfrom(512)
            except socket.timeout:
                continue
            self.queries.append(q)
            # Header: id, flags QR|RD|RA, 1 question, 1 answer; then the question.
            self.sock.sendto(q[:2] + b"\x81\x80\x00\x01\x00\x01\x00\x00\x00\x00" + q[12:], addr)

    def close(self):
        self.running = False
        self.thread.join()
        self.sock.close()


def test_wan_ok_with_and_without_a_dns_server(cfg):
    dns = DnsResponder()
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))  # Takes queries, never answers.
    try:

        async def main(server):
            c = dict(cfg, dns_server=server)
            client = MQTTClient(c)
            before = await client.wan_ok()  # Not connected yet.
            await client.connect()
            ok = await client.wan_ok()
            await client.disconnect()
            return before, ok

        assert run(main(("127.0.0.1", dns.port))) == (False, True)
        assert dns.queries and b"\x03www\x06google\x03com" in dns.queries[0]
        assert run(main(("127.0.0.1", silent.getsockname()[1]))) == (False, False)
    finally:
        dns.close()
        silent.close()


def test_broker_up(broker, cfg):
    async def main():
        client = MQTTClient(cfg)
        await client.connect()
        assert await client.broker_up()  # Data in the last second.
        await asyncio.sleep(1.1)
        assert await client.broker_up()  # A ping and its response.
        broker.stop()
        await asyncio.sleep(0.3)
        down = await client.broker_up()
        client.close()
        return down

    assert run(main()) is False


def test_an_idle_connection_does_not_poll(broker, cfg):
    # Reader, writer and timer sleep until bytes, commands or the core's
    # deadline: two idle seconds (one ping at a 1 s ping interval) cost
    # next to no CPU. A polling loop would burn a core here.
    import time

    cfg.update(keepalive=60, ping_interval=1, queue_len=1)

    async def main():
        client = MQTTClient(cfg)
        await client.connect()
        await client.subscribe("idle/t", 1)
        t0 = time.process_time()
        await asyncio.sleep(2.0)
        used = time.process_time() - t0
        assert client.isconnected()
        assert await client.broker_up()
        await client.disconnect()
        await client.connect()  # A second connect() after disconnect() idles too.
        t1 = time.process_time()
        await asyncio.sleep(1.0)
        used2 = time.process_time() - t1
        await client.disconnect()
        return used, used2

    used, used2 = run(main())
    assert used < 0.2 and used2 < 0.1, (used, used2)
