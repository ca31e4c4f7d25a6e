# options.py: the `config` dict of mqtt_as and its defaults.
#
# MicroPython- and CPython-compatible. The dict stays a dict (programs
# written for mqtt_as 0.8.3 fill it in place); MQTTClient checks every key
# when it is constructed (the core's object, _mqttas.Client, does: a
# ValueError naming the key), so a mistake is reported before anything is
# sent. Keys left out take the defaults below.
#
# The keys (defaults in brackets):
#
# Network (WLAN link only; ignored where there is no `network` module)
#   ssid [None]           Wi-Fi network name.
#   wifi_pw [None]        Wi-Fi password.
#   lan [None]            Wired Ethernet instead (links/lan.py): True for
#                         the board's own network.LAN() (STM32, mimxrt);
#                         a dict of network.LAN keyword arguments (ESP32:
#                         {'mdc': 23, 'mdio': 18, 'power': 12,
#                         'phy_type': 'LAN8720', 'phy_addr': 0}); or a
#                         ready network.LAN object. wifi_coro is called on
#                         its changes as on Wi-Fi's.
#
# MQTT
#   client_id [unique]    bytes or str: machine.unique_id() in hex on a
#                         board, a random id elsewhere.
#   server [None]         Broker host name or IP address. Required.
#   port [0]              0 means 1883, or 8883 with ssl.
#   user ['']             User name ('' for none).
#   password ['']         Password; needs a user.
#   keepalive [60]        Seconds (0..65535) before the broker regards the
#                         client as dead and publishes the will.
#   ping_interval [0]     Seconds between pings when idle; 0 means a
#                         quarter of keepalive (20 s when keepalive is 0).
#   ssl [False]           Use TLS (over any stream link: docs/links.md).
#   ssl_params [{}]       TLS settings, as mqtt_as's (ssl.wrap_socket's):
#                         cadata (CA certificate, PEM or DER bytes),
#                         cert and key (client certificate and its key,
#                         PEM or DER bytes, or file names), cert_reqs
#                         (ssl.CERT_NONE/OPTIONAL/REQUIRED),
#                         server_hostname (default: server), and on either
#                         Python cafile, certfile, keyfile (file names).
#                         The broker's certificate is verified (chain and
#                         name) by default: against cadata/cafile, or on
#                         CPython the system's CAs; on MicroPython a CA
#                         is required unless cert_reqs=ssl.CERT_NONE.
#   response_time [10]    Seconds to wait for any reply (CONNACK, PUBACK,
#                         SUBACK, PINGRESP) before the connection is
#                         presumed dead.
#   clean_init [True]     Clean session on the first connection.
#   clean [True]          Clean session on reconnection. With
#                         clean_init=True and clean=False the first
#                         connection clears the old session and later ones
#                         keep it: connect clean, disconnect, reconnect
#                         (5.0 with a session expiry that never ends, unless
#                         mqttv5_con_props gives 0x11).
#   max_repubs [4]        3.1.1: times an unacknowledged QoS 1/2 message is
#                         sent again on the same connection before it is
#                         presumed dead (5.0 forbids resending on the same
#                         connection).
#   will [None]           (topic, msg, retain=False, qos=0): last will.
#
# Interface
#   queue_len [0]         > 0 selects the Event interface: client.up,
#                         client.down and `async for ... in client.queue`.
#   subs_cb               Callback interface: subs_cb(topic, msg, retained)
#                         (5.0: a fourth argument, properties).
#   wifi_coro             async wifi_coro(state): the link went up or down.
#   connect_coro          async connect_coro(client): connected to the
#                         broker (subscribe here); cancelled if that
#                         connection ends before it does.
#   gateway [False]       mqtt_as's ESP-NOW gateway: not supported here.
#
# MQTT 5.0
#   mqttv5 [False]        Use MQTT 5.0.
#   mqttv5_con_props [None]  CONNECT properties, a dict keyed by property
#                         identifier (0x11 session expiry, 0x21 receive
#                         maximum, 0x22 topic alias maximum, 0x27 maximum
#                         packet size, 0x26 user properties, ...).
#
# Extensions of this implementation (all optional)
#   chunk_cb [None]       Receive messages larger than rx_size in pieces:
#                         chunk_cb(topic, data, offset, total, retained,
#                         properties) per piece. Without it such messages
#                         are assembled and delivered whole.
#   rx_size [board: 256, 1024 with mqttv5; host: 16384]   Receive buffer:
#                         the largest packet taken whole (host: CPython or
#                         unix MicroPython). Larger messages arrive in
#                         pieces, assembled (or given to chunk_cb).
#   tx_size [board: 256, more if the CONNECT needs it; host: 65536]
#                         Transmit buffer: control packets and the head
#                         (topic, properties) of a QoS 0 publication; its
#                         payload goes from the object given to publish().
#                         A larger head raises ValueError.
#   store_size [board: 512; host: 262144]  QoS 1/2 messages awaiting
#                         acknowledgement, kept across reconnections: each
#                         as its head (about 30 bytes and the topic), the
#                         payload object kept referenced, not copied, until
#                         acknowledged (a bytearray or memoryview is copied
#                         once to bytes). When full, publish() waits; a
#                         larger head raises ValueError.
#                         Why these board sizes: see BOARD_SIZES below.
#   max_inflight [8]      QoS 1/2 publications on the wire at once.
#   max_packet_size [65536]  Largest message packet accepted, in bytes
#                         (topic, properties and payload); 0: no limit.
#                         With mqttv5 it is announced to the broker
#                         (CONNECT property 0x27; a 0x27 in
#                         mqttv5_con_props takes precedence), which then
#                         never sends a larger one (one that does breaks
#                         the protocol: the client disconnects with 0x95).
#                         3.1.1 cannot announce it: a larger message is
#                         skipped as it arrives (never assembled, so RAM
#                         stays bounded), acknowledged so that it is not
#                         sent again, and a line is printed: "mqtt_as:
#                         message on 'topic' skipped: N bytes, above
#                         max_packet_size (65536)". Raise it (or 0) to
#                         receive larger messages, with chunk_cb on a board.
#   hold_down [1]         Seconds the link is held down after an outage
#                         before reconnecting (and after a link bounce).
#   tcp_attempts [3]      Failed connection attempts in a row before the
#                         link itself (WiFi) is bounced: down, hold_down,
#                         up; 0: never. The host socket link has nothing to
#                         bounce: there a bounce only holds down.
#   backoff_base [0.5]    Seconds waited after the first failed attempt,
#                         doubling after each further one...
#   backoff_cap [30]      ...up to this many seconds. Also the wait after
#                         a permanent refusal (bad credentials, not
#                         authorised, banned, server moved: CONNACK 3.1.1
#                         1, 2, 4, 5; 5.0 0x81-0x87, 0x8A, 0x8C, 0x90, 0x95,
#                         0x99-0x9B, 0x9D): after a first successful
#                         connection such a refusal is printed and retried
#                         only this often (the first connect() raises it).
#   stable_time [None]    Seconds a connection must stay up before its loss
#                         starts the backoff over; one lost sooner (a broker
#                         that drops every connection, two devices with one
#                         client id) counts as a failed attempt, so the
#                         waits grow to backoff_cap. None: keepalive (60 s
#                         when keepalive is 0). A broker DISCONNECT asking
#                         to back off (server busy, session taken over,
#                         quota or rate exceeded, ...) always counts.
#   jitter [20]           Each wait is shortened by a random 0 to this many
#                         percent, so devices do not reconnect in step.
#   attempt_timeout [30]  Seconds an attempt may take before it counts as
#                         failed; 0: no limit. (An attempt also fails when
#                         no CONNACK comes within response_time.)
#   reconnect_seed [None] Seed of the jitter; None: from the client id.
#                         The outage policy is the core's (_mqttas.Reconnect),
#                         the same in the C and Rust clients.
#   dns_server ['8.8.8.8']  Server wan_ok() queries: 'host' or (host, port).
#   link [None]           A link object (see mqtt_as/links, docs/links.md),
#                         e.g. links.failover.FailoverLink([lan, wlan]);
#                         None picks the LAN link when config['lan'] is
#                         set, the WLAN link where `network` exists, else
#                         the host socket link.

import sys

_HOST = sys.implementation.name != "micropython" or sys.platform in ("linux", "darwin", "win32")


async def eliza(*_):  # The "do little" coroutine of mqtt_as.
    return None


def _null_cb(*_):
    return None


def defaults(client_id):
    """A fresh config dict with every key at its default."""
    return {
        "client_id": client_id,
        "server": None,
        "port": 0,
        "user": "",
        "password": "",
        "keepalive": 60,
        "ping_interval": 0,
        "ssl": False,
        "ssl_params": {},
        "response_time": 10,
        "clean_init": True,
        "clean": True,
        "max_repubs": 4,
        "will": None,
        "subs_cb": _null_cb,
        "wifi_coro": eliza,
        "connect_coro": eliza,
        "ssid": None,
        "wifi_pw": None,
        "queue_len": 0,
        "gateway": False,
        "mqttv5": False,
        "mqttv5_con_props": None,
    }


# Buffer sizes on a board (rx, rx with mqttv5, tx, store, inbound QoS 2
# ids, outbound topic aliases), in bytes (ids: 2 bytes each): the client's
# largest use of RAM, so sized from what mqtt_as programs do.
# - rx: the largest packet taken whole. In 3.1.1 the broker sends nothing
#   longer than 5 bytes but PUBLISH, and a PUBLISH larger than rx arrives
#   in pieces (assembled for subs_cb): 256 holds its head with a topic of
#   up to 240 bytes. In 5.0 CONNACK and the acknowledgements may carry
#   properties (reason strings, user properties) and must fit whole: 1024.
# - tx: control packets and the head of each QoS 0 publication (QoS 1/2
#   ones are sent from the store); payloads are lent, sent from the
#   caller's object after the head, so a message of any size needs room
#   for its head only: 256 takes a SUBSCRIBE or a PUBLISH head with a
#   topic of up to about 240 bytes; more when the CONNECT (the client id,
#   credentials and will) would not fit.
# - store: QoS 1/2 publications until acknowledged, kept across outages,
#   as their heads (a 14-byte record, the payload's token and length, the
#   PUBLISH head): publish() awaits its acknowledgement, so each
#   publishing coroutine has one message in the store; 512 keeps two with
#   topics of up to about 220 bytes (a coroutine waits while it is full).
# - Inbound QoS 2 messages tracked until released: at least the receive
#   maximum, more for brokers beyond it (mosquitto 2.0.11 sends up to 153
#   against 16).
# - 5.0: the topics of the application's topic aliases (publish with
#   0x23), so that an alias can be sent on any connection.
BOARD_SIZES = (256, 1024, 256, 512, 64, 512)
# A host (CPython, or MicroPython's unix port) has RAM to spare.
HOST_SIZES = (16384, 16384, 65536, 262144, 256, 4096)
