# The config dict's checks and what they make of it: the core's object
# (_mqttas.Client) parses the config, so on a firmware it is the C module's
# code and on CPython the ctypes binding's: both must say the same. No
# broker is used (the port argument is only in the config). A firmware
# built without v5 or tls leaves out the checks that need them and says so
# (app_errors.py checks that it refuses them).
from common import MQTTClient, cfg, check, done, FEATURES, TLS, without

from mqtt_as import options

MISTAKES = (
    ({"server": None}, "config['server'] is required"),
    ({"server": ""}, "config['server'] is required"),
    ({"keepalive": 70000}, "config['keepalive'] must be an integer in 0..65535, got 70000"),
    ({"keepalive": "60"}, "config['keepalive'] must be an integer"),
    ({"keepalive": True}, "config['keepalive'] must be an integer"),
    ({"port": -1}, "config['port'] must be an integer in 0..65535"),
    ({"response_time": 0}, "config['response_time'] must be a number of seconds in 0..1000000, not 0"),
    ({"ping_interval": -5}, "config['ping_interval'] must be a number of seconds"),
    ({"max_repubs": 300}, "config['max_repubs'] must be an integer in 0..255"),
    ({"clean": "yes"}, "config['clean'] must be True or False"),
    ({"password": "pw"}, "a password needs a user"),
    ({"client_id": 12}, "config['client_id'] must be str or bytes"),
    ({"client_id": b"\xff"}, "config['client_id']: string argument is not valid UTF-8"),
    ({"user": b"\xfe", "password": "x"}, "config['user'] or config['password']: string argument is not valid UTF-8"),
    ({"will": ("a/#", "x")}, "config['will']: invalid topic (wildcard"),
    ({"will": ("t", "x", False, 3)}, "config['will'] qos must be 0, 1 or 2"),
    ({"will": ("t", 5)}, "config['will'] message must be str or bytes"),
    ({"will": "t"}, "config['will'] must be None or (topic, msg"),
    ({"queue_len": -1}, "config['queue_len'] must be an integer"),
    ({"subs_cb": 5}, "config['subs_cb'] must be callable"),
    ({"chunk_cb": 5}, "config['chunk_cb'] must be callable"),
    ({"gateway": True}, "config['gateway'] is not supported"),
    ({"mqttv5_con_props": {0x11: 10}}, "config['mqttv5_con_props'] needs config['mqttv5'] = True"),
    ({"mqttv5": True, "mqttv5_con_props": {0x11: -1}}, "property 0x11 must be an integer"),
    ({"mqttv5": True, "mqttv5_con_props": {0x02: 1}}, "0x02 is not allowed in CONNECT"),
    ({"keep_alive": 60}, "config: unknown key 'keep_alive'; known keys: client_id, server"),
    ({"ssl_params": None}, "config['ssl_params'] must be a dict"),
    ({"rx_size": 10}, "config['rx_size'] must be an integer in 64..1073741824"),
    ({"store_size": -1}, "config['store_size'] must be an integer in 0..1073741824"),
    ({"dns_server": 53}, "config['dns_server'] must be 'host' or ('host', port)"),
    ({"stable_time": -1}, "config['stable_time'] must be a number of seconds in 0..86400"),
    ({"backoff_cap": 0.1}, "config['backoff_cap'] must not be below config['backoff_base']"),
    ({"jitter": 101}, "config['jitter'] must be an integer in 0..100"),
    ({"reconnect_seed": "x"}, "config['reconnect_seed'] must be None or an int"),
    ({"lan": "eth0"}, "config['lan'] must be None, True, a dict"),
    ({"lan": True, "link": object()}, "config['lan'] and config['link'] are both set"),
    ({"tx_size": 100, "will": ("w", "x" * 3000)}, "the CONNECT is larger than config['tx_size'] (100)"),
)

V5 = "v5" in FEATURES
if not V5:
    without("v5", "the 5.0 checks left out")
for change, text in MISTAKES:
    if change.get("mqttv5") and not V5:
        continue
    try:
        MQTTClient(cfg(**change))
        got = "no error"
    except ValueError as e:
        got = str(e)
    check(text in got, "%r: %r in %r" % (change, text, got))
try:
    MQTTClient([("server", "x")])
    got = "no error"
except TypeError as e:
    got = str(e)
check("config dict" in got, "not a dict: %r" % got)


def settings(**kw):
    return MQTTClient(cfg(**kw))._core.settings()


s = settings(keepalive=60, ping_interval=0)
check(s["ping_interval_ms"] == 15000 and s["stable_ms"] == 60000 and s["keep_alive"] == 60, "keepalive 60")
check(settings(keepalive=60, ping_interval=5)["ping_interval_ms"] == 5000, "ping_interval 5")
check(settings(keepalive=60, ping_interval=100)["ping_interval_ms"] == 15000, "ping_interval above a quarter")
s = settings(keepalive=0)
check(s["ping_interval_ms"] == 20000 and s["stable_ms"] == 60000, "keepalive 0")
check(settings(keepalive=5, stable_time=0.5)["stable_ms"] == 500, "stable_time")
s = settings(hold_down=0.25, tcp_attempts=2, backoff_base=1, backoff_cap=4, jitter=0, attempt_timeout=7,
             reconnect_seed=77, response_time=1.5)
check((s["hold_down_ms"], s["tcp_attempts_before_bounce"], s["backoff_base_ms"], s["backoff_cap_ms"],
       s["jitter_percent"], s["attempt_timeout_ms"], s["seed"], s["response_time_ms"])
      == (250, 2, 1000, 4000, 0, 7000, 77, 1500), "outage policy %r" % (s,))
if V5:
    props = {0x11: 3600, 0x21: 100, 0x22: 5, 0x27: 2048, 0x26: {"a": "b"}}
    s = settings(mqttv5=True, mqttv5_con_props=props, clean=False)
    check((s["session_expiry"], s["receive_maximum"], s["topic_alias_maximum"], s["maximum_packet_size"],
           s["alias_size"], s["version"], s["clean"]) == (3600, 32, 5, 2048, 660, 5, False), "5.0 CONNECT properties")
    check(settings(mqttv5=True, clean=False)["session_expiry"] == 0xFFFFFFFF, "5.0 session kept across outages")
    check(settings(mqttv5=True)["session_expiry"] is None, "5.0 clean: no session expiry")
s = settings(rx_size=64, tx_size=100, store_size=0, max_inflight=3, max_packet_size=0)
check((s["rx_size"], s["tx_size"], s["store_size"], s["max_inflight"], s["maximum_packet_size"])
      == (64, 100, 0, 3, 0), "sizes given")
options._HOST = False  # A board's defaults.
rx, rx5, tx, store, qos2_ids, out_aliases = options.BOARD_SIZES
s = settings()
check((s["rx_size"], s["tx_size"], s["store_size"], s["qos2_ids"], s["out_alias_size"])
      == (rx, tx, store, qos2_ids, 0), "board sizes")
if V5:
    s = settings(mqttv5=True)
    check((s["rx_size"], s["out_alias_size"]) == (rx5, out_aliases), "board sizes, 5.0")
check(settings(will=("w", "x" * 3000))["tx_size"] > 3000, "tx room for the CONNECT")
if TLS:
    c = MQTTClient(cfg(ssl=True, port=0, ssl_params={"cert_reqs": 0}))
    check(c.port == 8883 and c.server == "127.0.0.1" and c.mqttv5 is False, "port for TLS, attributes")
else:
    without("tls", "the TLS port check left out")
    c = MQTTClient(cfg(port=0))
    check(c.port == 1883 and c.server == "127.0.0.1" and c.mqttv5 is False, "default port, attributes")
done()
