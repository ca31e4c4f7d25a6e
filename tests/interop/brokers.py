"""The four brokers of tests/interop, each started on 127.0.0.1 on a free
port with a config file of its own in its own directory (log beside it).

    mosquitto 2.0 (Debian)     3.1.1 and 5.0, one listener
    rumqttd 0.20.0 (crates.io) 3.1.1 and 5.0 on two listeners
    aedes 1.2.0 (npm)          3.1.1 (aedes_server.mjs)
    amqtt 0.12.1 (PyPI)        3.1.1

tests/interop/run installs them and says where through the environment:
MQTTAS_INTEROP_RUMQTTD (the binary), MQTTAS_INTEROP_NODE_MODULES (aedes's
node_modules), MQTTAS_INTEROP_AMQTT (the amqtt script in the venv).
"""

import json
import os
import pathlib
import shutil
import signal
import subprocess
import sys

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "lib"))
from mqttas_broker import MOSQUITTO, free_port, wait_port  # noqa: E402


class Broker:
    """One broker process; `port(version)` is where that protocol version
    listens (4: 3.1.1, 5: 5.0). `deviations` names where the broker breaks
    the spec (the tests prove each with paho before they rely on it)."""

    name = None
    versions = (4,)
    deviations = {}

    def __init__(self, workdir):
        self.dir = pathlib.Path(workdir) / self.name
        self.dir.mkdir(parents=True, exist_ok=True)
        self.proc = None
        self.ports = {}

    def port(self, version):
        return self.ports[version]

    def command(self):
        raise NotImplementedError

    def env(self):
        return None

    def start(self):
        log = open(self.dir / "broker.log", "ab")
        self.proc = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT, cwd=self.dir,
                                     env=self.env(), start_new_session=True)
        for p in set(self.ports.values()):
            if not wait_port(p, 30):
                self.stop()
                raise RuntimeError("%s did not listen on %d: %s" % (self.name, p, self.log()[-2000:]))
        return self

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        p, self.proc = self.proc, None
        if p is None or p.poll() is not None:
            return
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(5)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(5)

    def log(self):
        try:
            return (self.dir / "broker.log").read_text(errors="replace")
        except OSError:
            return ""


class Mosquitto(Broker):
    name = "mosquitto"
    versions = (4, 5)

    def __init__(self, workdir):
        super().__init__(workdir)
        port = free_port()
        self.ports = {4: port, 5: port}
        lines = [
            "listener %d 127.0.0.1" % port,
            "allow_anonymous true",
            "log_dest stderr",
            "log_type all",
        ]
        if os.geteuid() == 0:
            # As root mosquitto would switch to user mosquitto.
            lines.append("user root")
        self.conf = self.dir / "mosquitto.conf"
        self.conf.write_text("\n".join(lines) + "\n")

    def command(self):
        return [MOSQUITTO, "-c", str(self.conf)]


class Rumqttd(Broker):
    name = "rumqttd"
    versions = (4, 5)

    def __init__(self, workdir):
        super().__init__(workdir)
        self.ports = {4: free_port(), 5: free_port()}
        server = """
[{v}.1]
name = "{v}-1"
listen = "127.0.0.1:{port}"
next_connection_delay_ms = 1
    [{v}.1.connections]
    connection_timeout_ms = 60000
    max_payload_size = 20480
    max_inflight_count = 100
    dynamic_filters = true
"""
        conf = """id = 0

[router]
id = 0
max_connections = 1000
max_outgoing_packet_count = 200
max_segment_size = 104857600
max_segment_count = 10
"""
        conf += server.format(v="v4", port=self.ports[4]) + server.format(v="v5", port=self.ports[5])
        self.conf = self.dir / "rumqttd.toml"
        self.conf.write_text(conf)

    def command(self):
        return [os.environ.get("MQTTAS_INTEROP_RUMQTTD", "mqttas-interop-rumqttd"), str(self.conf)]


class Aedes(Broker):
    name = "aedes"

    def __init__(self, workdir):
        super().__init__(workdir)
        self.ports = {4: free_port()}
        self.conf = self.dir / "aedes.json"
        self.conf.write_text(json.dumps({"host": "127.0.0.1", "port": self.ports[4], "broker": {}}))

    def command(self):
        return [shutil.which("node") or "node", str(HERE / "aedes_server.mjs"), str(self.conf)]

    def env(self):
        env = dict(os.environ)
        env["NODE_PATH"] = os.environ.get("MQTTAS_INTEROP_NODE_MODULES", "")
        return env


class Amqtt(Broker):
    name = "amqtt"
    deviations = {
        "offline_queue": "amqtt 0.12.1 keeps a clean=False session (session present, subscriptions) but drops "
                         "the QoS 1/2 messages that match it while the client is away (MQTT-3.1.2-5: the server "
                         "MUST store them)",
        "clean_session_kept": "amqtt 0.12.1 answers session present 1 to a clean=False CONNECT whose client "
                              "id last had a clean session, which ended with its connection (MQTT-3.1.2-6, "
                              "MQTT-3.2.2-2); not always: on a loaded machine it answered 0 once",
        "v5_connect": "amqtt 0.12.1 answers a 5.0 CONNECT that carries properties with nothing and leaves the "
                      "connection open (it reads it as 3.1.1; MQTT-3.1.2-2: CONNACK 0x01, then close)",
    }

    def __init__(self, workdir):
        super().__init__(workdir)
        self.ports = {4: free_port()}
        self.conf = self.dir / "amqtt.yaml"
        self.conf.write_text(
            "listeners:\n"
            "  default:\n"
            "    type: tcp\n"
            "    bind: 127.0.0.1:%d\n"
            "plugins:\n"
            "  amqtt.plugins.authentication.AnonymousAuthPlugin:\n"
            "    allow_anonymous: true\n" % self.ports[4]
        )

    def command(self):
        return [os.environ.get("MQTTAS_INTEROP_AMQTT", "amqtt"), "-c", str(self.conf)]


BROKERS = {b.name: b for b in (Mosquitto, Rumqttd, Aedes, Amqtt)}
