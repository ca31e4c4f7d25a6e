"""The README demo: an mqtt_as application on CPython over the Rust core.

Starts a mosquitto of its own on 127.0.0.1 (free port, persistence in a
temporary directory), publishes numbered messages at QoS 1 and QoS 2 and
receives them back through its own subscriptions, restarts the broker in
the middle, and ends by counting what was lost and what was duplicated.

    ports/unix/demo            (installs mosquitto, builds the library, runs this)
    python3 ports/unix/demo.py [--count N] [--v5]
"""

import argparse
import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "micropython-module"))

from mqtt_as import MQTTClient, config  # noqa: E402


class Broker:
    """mosquitto on 127.0.0.1, restartable on the same port."""

    def __init__(self, workdir):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        self.port = s.getsockname()[1]
        s.close()
        self.dir = workdir
        self.conf = os.path.join(workdir, "mosquitto.conf")
        with open(self.conf, "w") as f:
            f.write("listener %d 127.0.0.1\nallow_anonymous true\n" % self.port)
            f.write("persistence true\npersistence_location %s/\n" % workdir)
            f.write("log_dest file %s/mosquitto.log\n" % workdir)
            if os.geteuid() == 0:
                f.write("user root\n")
        self.proc = None
        self.exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"

    def start(self):
        self.proc = subprocess.Popen([self.exe, "-c", self.conf], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise SystemExit("mosquitto did not start (see %s/mosquitto.log)" % self.dir)

    def stop(self):
        if self.proc is not None:
            self.proc.send_signal(signal.SIGTERM)  # mosquitto saves its sessions
            self.proc.wait(10)
            self.proc = None


class Demo:
    def __init__(self, count, broker, v5):
        self.count = count
        self.broker = broker
        self.received = {1: [], 2: []}
        self.sent = {1: 0, 2: 0}
        self.outages = 0
        self.status = "connecting"
        self.tty = sys.stdout.isatty()
        config["server"] = "127.0.0.1"
        config["port"] = broker.port
        config["client_id"] = "mqttas-demo"
        config["clean"] = False  # Keep the session (and its messages) across outages.
        config["keepalive"] = 10
        config["response_time"] = 3
        config["subs_cb"] = self.sub_cb
        config["wifi_coro"] = self.wifi_han
        config["connect_coro"] = self.conn_han
        config["mqttv5"] = v5
        self.client = MQTTClient(config)

    def sub_cb(self, topic, msg, retained, properties=None):
        self.received[int(topic[-1:])].append(int(msg))

    async def wifi_han(self, up):
        if not up:
            self.outages += 1
            self.status = "outage: reconnecting"
        else:
            self.status = "connected"

    async def conn_han(self, client):
        await client.subscribe("demo/qos1", 1)
        await client.subscribe("demo/qos2", 2)

    def show(self, end=False):
        line = "sent  QoS1 %4d  QoS2 %4d   received  QoS1 %4d  QoS2 %4d   outages %d   %s" % (
            self.sent[1], self.sent[2], len(self.received[1]), len(self.received[2]), self.outages,
            self.status)
        if self.tty:
            sys.stdout.write("\r" + line.ljust(100) + ("\n" if end else ""))
            sys.stdout.flush()
        else:
            print(line)

    async def publisher(self, qos):
        window = asyncio.Semaphore(8)  # Up to 8 messages of each QoS in flight.

        async def one(i):
            async with window:
                await self.client.publish("demo/qos%d" % qos, str(i), qos=qos)
                self.sent[qos] += 1

        tasks = []
        for i in range(self.count):
            await window.acquire()
            window.release()
            tasks.append(asyncio.create_task(one(i)))
            await asyncio.sleep(0.01)
        await asyncio.gather(*tasks)

    async def ticker(self):
        while True:
            self.show()
            await asyncio.sleep(0.25 if self.tty else 1)

    async def main(self):
        await self.client.connect()
        await asyncio.sleep(0.3)  # Subscriptions in place.
        ticker = asyncio.create_task(self.ticker())
        pubs = [asyncio.create_task(self.publisher(q)) for q in (1, 2)]
        while min(self.sent.values()) < self.count // 2:
            await asyncio.sleep(0.05)
        self.status = "broker restarting"
        self.broker.stop()
        await asyncio.sleep(1.5)
        self.broker.start()
        await asyncio.gather(*pubs)
        for _ in range(300):  # Let the last messages arrive.
            if all(len(set(self.received[q])) >= self.count for q in (1, 2)):
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)
        ticker.cancel()
        self.status = "done"
        self.show(end=True)
        await self.client.disconnect()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=300, help="messages per QoS (default 300)")
    ap.add_argument("--v5", action="store_true", help="use MQTT 5.0")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="mqttas-demo-") as workdir:
        broker = Broker(workdir)
        broker.start()
        print("mosquitto on 127.0.0.1:%d (MQTT %s); %d messages at QoS 1 and at QoS 2, "
              "broker restart half way" % (broker.port, "5.0" if args.v5 else "3.1.1", args.count))
        demo = Demo(args.count, broker, args.v5)
        try:
            asyncio.run(demo.main())
        finally:
            demo.client.close()
            broker.stop()
    bad = 0
    for qos in (1, 2):
        got = demo.received[qos]
        lost = len(set(range(args.count)) - set(got))
        dup = len(got) - len(set(got))
        note = ""
        if qos == 1 and dup:
            # At least once: a broker stopped after delivering a message but
            # before reading its PUBACK delivers it again after the restart.
            note = " (allowed at QoS 1: at least once)"
        print("QoS %d: sent %d, received %d, lost %d, duplicated %d%s" % (qos, args.count, len(got), lost, dup, note))
        bad += lost + (dup if qos == 2 else 0)
    print("republished after the outage: %d, outages: %d" % (demo.client.REPUB_COUNT, demo.outages))
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
