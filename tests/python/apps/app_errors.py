# Mistakes raise clear errors before anything is sent; wrong credentials
# raise OSError on the first connect. Second argument: the port of a broker
# that wants user "alice", password "secret".
import sys

from common import MQTTClient, asyncio, cfg, check, done, PORT, QOS, FEATURES, TLS, without

AUTH_PORT = int(sys.argv[2])


def raises(exc, text, f):
    try:
        f()
    except exc as e:
        return text in str(e)
    return False


async def araises(exc, text, coro):
    try:
        await coro
    except exc as e:
        return text in str(e)
    return False


async def main():
    def bad(**kw):
        return lambda: MQTTClient(cfg(**kw))

    check(raises(ValueError, "config['keepalive']", bad(keepalive=-1)), "bad keepalive")
    check(raises(ValueError, "config['server'] is required", bad(server=None)), "no server")
    check(raises(ValueError, "unknown key", bad(keep_alive=5)), "unknown key")
    check(raises(ValueError, "qos must be 0, 1 or 2", bad(will=("w", "x", False, 7))), "bad will qos")
    # What the firmware is built without is refused, naming its knob.
    knob = "MQTTAS_FEATURES including "
    if "v5" not in FEATURES:
        without("v5", "mqttv5 refused")
        check(raises(ValueError, knob + "v5", bad(mqttv5=True)), "mqttv5 without v5")
    if 2 not in QOS:
        without("qos2", "qos=2 refused")
        check(raises(ValueError, knob + "qos2", bad(will=("w", "x", False, 2))), "will qos 2 without qos2")
    if not TLS:
        without("tls", "ssl refused")
        check(raises(ValueError, knob + "tls", bad(ssl=True, ssl_params={"cert_reqs": 0})), "ssl without tls")
    c = MQTTClient(cfg())
    await c.connect()
    if 2 not in QOS:
        check(await araises(ValueError, knob + "qos2", c.publish("a", "x", qos=2)), "publish qos 2 without qos2")
        check(await araises(ValueError, knob + "qos2", c.subscribe("a", 2)), "subscribe qos 2 without qos2")
    check(await araises(ValueError, "wildcard", c.publish("a/+", "x")), "wildcard in publish")
    check(await araises(ValueError, "qos must be 0, 1 or 2", c.publish("a", "x", qos=3)), "bad qos")
    check(await araises(ValueError, "topic filter 'a/#/b': invalid topic (wildcard in a topic name, misplaced wildcard", c.subscribe("a/#/b", 1)), "bad filter")
    check(c.isconnected(), "still connected")
    await c.disconnect()

    async def login(user, pw):
        c = MQTTClient(cfg(port=AUTH_PORT, user=user, password=pw))
        await c.connect()
        await c.disconnect()

    check(await araises(OSError, "not authorised", login("alice", "wrong")), "wrong password: OSError")
    await login("alice", "secret")
    check(True, "right password")


asyncio.run(main())
done()
