# Mistakes raise clear errors before anything is sent; wrong credentials
# raise OSError on the first connect. Second argument: the port of a broker
# that wants user "alice", password "secret".
import sys

from common import MQTTClient, asyncio, cfg, check, done, PORT

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
    c = MQTTClient(cfg())
    await c.connect()
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
