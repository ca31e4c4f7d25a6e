# A stand-in for the firmware's _mqttas C module, for the MicroPython
# from PyPI (which has no user C modules): it records what the mqtt_as
# layer gives it and answers as a client that never connects, so that the
# pure-Python parts (the message queue, compat, the links, 5.0 property
# checks) run under real MicroPython. It checks nothing: the config's
# checks are the C module's (tests/python/apps/app_config.py runs them on a
# firmware).
VERSION_311 = 4
VERSION_5 = 5
STATE_DISCONNECTED = 0
FEATURES = ("v5", "qos2", "radio", "radio-gateway")  # As a firmware built with every knob.


class Client:
    last = None

    def __init__(self, config, sizes):
        Client.last = (config, sizes)
        g = config.get
        self.server = g("server")
        self.ssl = g("ssl", False)
        self.port = g("port", 0) or (8883 if self.ssl else 1883)
        self.ssl_params = g("ssl_params", {})
        self.queue_len = g("queue_len", 0)
        self.link = g("link")
        self.lan = g("lan") or None
        self.ssid = g("ssid")
        self.wifi_pw = g("wifi_pw")
        self.wifi_coro = g("wifi_coro")
        self.connect_coro = g("connect_coro")
        self.cb = g("subs_cb")
        self.mqttv5 = g("mqttv5", False)
        self.mqttv5_con_props = g("mqttv5_con_props")
        self.policy = Reconnect()

    def state(self):
        return STATE_DISCONNECTED

    def handle_link_down(self, now, why=None):
        pass

    def pump(self):
        return None


ACTION_HOLD_DOWN = 1
ACTION_CONNECT = 2
ACTION_BOUNCE_LINK = 3
ACTION_WAIT = 4


class Reconnect:
    pass
