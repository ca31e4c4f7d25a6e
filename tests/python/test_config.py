"""The config dict: defaults as mqtt_as 0.8.3 has them, and every mistake
reported by MQTTClient(config) with the key's name, before any I/O (the
core's object, _mqttas.Client, checks it: here the ctypes binding's; the
firmware's C module runs the same checks in apps/app_config.py)."""

import asyncio

import pytest

import mqtt_as
from mqtt_as import MQTTClient, config
from mqtt_as import options
from conftest import make_cfg, mosquitto_pub, run


def good(**kw):
    c = dict(config)
    c["server"] = "127.0.0.1"
    c.update(kw)
    return c


def settings(cfg):
    """What the config made of the core's configuration, buffers and outage
    policy."""
    return MQTTClient(cfg)._core.settings()


def test_module_attributes_and_defaults():
    assert mqtt_as.VERSION == (0, 8, 3)
    from mqtt_as import MQTTException  # Made when first asked for, once.

    assert issubclass(MQTTException, Exception) and mqtt_as.MQTTException is MQTTException
    assert MQTTClient.DEBUG is False and MQTTClient.REPUB_COUNT == 0
    expected = {
        "client_id", "server", "port", "user", "password", "keepalive", "ping_interval", "ssl",
        "ssl_params", "response_time", "clean_init", "clean", "max_repubs", "will", "subs_cb",
        "wifi_coro", "connect_coro", "ssid", "wifi_pw", "queue_len", "gateway", "mqttv5",
        "mqttv5_con_props",
    }
    assert set(config) == expected
    assert config["server"] is None and config["port"] == 0 and config["keepalive"] == 60
    assert config["response_time"] == 10 and config["max_repubs"] == 4 and config["queue_len"] == 0
    assert config["clean"] is True and config["clean_init"] is True and config["mqttv5"] is False
    assert isinstance(config["client_id"], bytes) and config["client_id"]
    for name in ("ESP32", "RP2", "ESP8266", "PYBOARD"):
        assert getattr(mqtt_as, name) is False


def test_a_good_config_constructs_without_io():
    c = MQTTClient(good(will=("t", "bye")))
    assert c.server == "127.0.0.1" and c.port == 1883
    assert MQTTClient(good(ssl=True)).port == 8883
    assert not c.isconnected()


@pytest.mark.parametrize(
    "change, message",
    [
        ({"server": None}, "config['server'] is required"),
        ({"server": ""}, "config['server'] is required"),
        ({"keepalive": 70000}, "config['keepalive'] must be an integer in 0..65535"),
        ({"keepalive": "60"}, "config['keepalive'] must be an integer"),
        ({"port": -1}, "config['port'] must be an integer in 0..65535"),
        ({"response_time": 0}, "config['response_time'] must be a number of seconds"),
        ({"ping_interval": -5}, "config['ping_interval']"),
        ({"max_repubs": 300}, "config['max_repubs']"),
        ({"clean": "yes"}, "config['clean'] must be True or False"),
        ({"password": "pw"}, "a password needs a user"),
        ({"client_id": 12}, "config['client_id'] must be str or bytes"),
        ({"will": ("a/#", "x")}, "wildcard"),
        ({"will": ("t", "x", False, 3)}, "qos must be 0, 1 or 2"),
        ({"will": "t"}, "config['will'] must be None or (topic, msg"),
        ({"queue_len": -1}, "config['queue_len']"),
        ({"subs_cb": 5}, "config['subs_cb'] must be callable"),
        ({"gateway": True}, "config['gateway'] is not supported"),
        ({"mqttv5_con_props": {0x11: 10}}, "needs config['mqttv5'] = True"),
        ({"mqttv5": True, "mqttv5_con_props": {0x11: -1}}, "property 0x11 must be an integer"),
        ({"mqttv5": True, "mqttv5_con_props": {0x02: 1}}, "0x02 is not allowed in CONNECT"),
        ({"mqttv5": True, "mqttv5_con_props": {999: 1}}, "not an MQTT 5.0 property identifier"),
        ({"keep_alive": 60}, "unknown key 'keep_alive'"),
        ({"ssl_params": None}, "config['ssl_params'] must be a dict"),
        ({"rx_size": 10}, "config['rx_size'] must be an integer in 64"),
        ({"dns_server": 53}, "config['dns_server']"),
        ({"stable_time": -1}, "config['stable_time'] must be a number of seconds"),
    ],
)
def test_mistakes_raise_valueerror_naming_the_key(change, message):
    with pytest.raises(ValueError) as e:
        MQTTClient(good(**change))
    assert message in str(e.value)


def test_not_a_dict():
    with pytest.raises(TypeError, match="config dict"):
        MQTTClient([("server", "x")])


def test_missing_keys_take_defaults():
    c = MQTTClient({"server": "localhost"})
    s = c._core.settings()
    assert c.port == 1883 and c.server == "localhost" and s["keep_alive"] == 60 and s["max_repubs"] == 4
    assert s["hold_down_ms"] == 1000 and s["backoff_cap_ms"] == 30000 and s["jitter_percent"] == 20


def test_ping_interval_follows_mqtt_as():
    assert settings(good(keepalive=60, ping_interval=0))["ping_interval_ms"] == 15000
    assert settings(good(keepalive=60, ping_interval=5))["ping_interval_ms"] == 5000
    assert settings(good(keepalive=60, ping_interval=100))["ping_interval_ms"] == 15000
    assert settings(good(keepalive=0, ping_interval=0))["ping_interval_ms"] == 20000


def test_stable_time_follows_the_keepalive():
    # A connection that lived through a keep alive period resets the
    # backoff; one lost sooner counts as a failed attempt.
    assert settings(good(keepalive=60))["stable_ms"] == 60000
    assert settings(good(keepalive=5))["stable_ms"] == 5000
    assert settings(good(keepalive=0))["stable_ms"] == 60000
    assert settings(good(keepalive=5, stable_time=0.5))["stable_ms"] == 500


def test_connect_properties_set_the_core_configuration():
    # 0x11, 0x21, 0x22, 0x27 go to the core's configuration (it sends
    # them); 5.0 with clean=False keeps the session across outages.
    props = {0x11: 3600, 0x21: 100, 0x22: 5, 0x27: 2048, 0x26: {"a": "b"}}
    s = settings(good(mqttv5=True, mqttv5_con_props=props, clean=False))
    assert (s["session_expiry"], s["receive_maximum"], s["topic_alias_maximum"], s["maximum_packet_size"]) \
        == (3600, 32, 5, 2048)
    assert s["alias_size"] == 5 * 132 and s["version"] == 5 and s["clean"] is False
    s = settings(good(mqttv5=True, clean=False))
    assert s["session_expiry"] == 0xFFFFFFFF and s["receive_maximum"] == 16
    assert settings(good(mqttv5=True))["session_expiry"] is None


def board(monkeypatch):
    # The buffer defaults of a board (CPython and unix MicroPython take the
    # host's).
    monkeypatch.setattr(options, "_HOST", False)


def test_board_buffer_defaults(monkeypatch):
    board(monkeypatch)
    rx, rx5, tx, store, qos2_ids, out_aliases = options.BOARD_SIZES
    s = settings(good())
    assert (s["rx_size"], s["tx_size"], s["store_size"], s["qos2_ids"], s["out_alias_size"]) \
        == (rx, tx, store, qos2_ids, 0)
    s = settings(good(mqttv5=True))
    assert (s["rx_size"], s["out_alias_size"]) == (rx5, out_aliases)
    # A CONNECT larger than the default transmit buffer raises it...
    assert settings(good(will=("w", "x" * 3000)))["tx_size"] > 3000
    props = {0x26: {"k" * 800: "v" * 800}}
    assert settings(good(mqttv5=True, mqttv5_con_props=props))["tx_size"] > 1600
    # ...but not one given, which must then hold it.
    assert settings(good(tx_size=100, rx_size=64, store_size=0))["tx_size"] == 100
    with pytest.raises(ValueError, match=r"the CONNECT is larger than config\['tx_size'\] \(100\)"):
        MQTTClient(good(tx_size=100, will=("w", "x" * 3000)))


@pytest.mark.parametrize("v5", [False, True])
def test_board_defaults_carry_what_mqtt_as_programs_send(broker, monkeypatch, v5):
    # With a board's buffers: a CONNECT with a large will and user
    # properties, messages far larger than the receive buffer delivered
    # whole, QoS 0 and QoS 1 messages of the documented 1 KiB under long
    # topics, two QoS 1 ones in the store at once.
    board(monkeypatch)
    got = []
    will = ("board/will", "w" * 600, False, 1)
    kw = {"mqttv5": True, "mqttv5_con_props": {0x26: {"u" * 300: "p" * 300}}} if v5 else {}
    cfg = make_cfg(broker, will=will, subs_cb=lambda t, m, r, *p: got.append((t, m)), **kw)
    big = "0123456789abcdef" * 320  # 5 KiB, sent by another client
    t0 = "board/q0/" + "t" * 200  # 1 KiB payloads under long topics
    t1 = "board/q1/" + "t" * 200

    async def main():
        client = MQTTClient(cfg)
        await client.connect()
        await client.subscribe("board/#", 1)
        await client.publish(t0, b"0" * 1024, qos=0)
        # Two publishing coroutines: both messages in the store at once.
        await asyncio.gather(client.publish(t1, b"1" * 1024, qos=1), client.publish(t1, b"2" * 1024, qos=1))
        mosquitto_pub(broker, "board/big", big)
        for _ in range(200):
            if len(got) == 4:
                break
            await asyncio.sleep(0.02)
        await client.disconnect()

    run(main())
    assert sorted(got) == [(b"board/big", big.encode()), (t0.encode(), b"0" * 1024), (t1.encode(), b"1" * 1024), (t1.encode(), b"2" * 1024)]
