# A stand-in for the firmware's _mqttas C module, for the MicroPython
# from PyPI (which has no user C modules): it records what the mqtt_as
# layer asks for, so that the pure-Python parts (config validation, topics,
# properties, the message queue) run under real MicroPython.
VERSION_311 = 4
VERSION_5 = 5
STATE_DISCONNECTED = 0
FEATURES = ("v5", "qos2", "radio", "radio-gateway")  # As a firmware built with every knob.


class Client:
    last = None

    def __init__(self, **kw):
        Client.last = kw

    def state(self):
        return STATE_DISCONNECTED

    def qos2_stats(self):
        return (0, 0, 0, 0)

    def stats(self):
        return {"republished": 0}


ACTION_HOLD_DOWN = 1
ACTION_CONNECT = 2
ACTION_BOUNCE_LINK = 3
ACTION_WAIT = 4


class Reconnect:
    last = None

    def __init__(self, **kw):
        Reconnect.last = kw
