# links/failover.py: several links in order of preference, e.g. wired
# Ethernet first and Wi-Fi when the cable is out:
#
#     from mqtt_as.links.failover import FailoverLink
#     from mqtt_as.links.lan import LANLink
#     from mqtt_as.links.wlan import WLANLink
#     config['link'] = FailoverLink([LANLink(params={...}), WLANLink(ssid, pw)])
#
# The client sees one link. up() brings up the first link that comes up,
# trying them in order, and takes down each one that failed. After an
# outage the client takes the link down and up again (its outage policy):
# up() then starts again from the first (preferred) link, so the client
# returns to it at the next outage after it is back. When a link came up
# but the broker never answered through it (a dead router behind a working
# interface: the policy bounces the link after tcp_attempts failures), the
# next up() starts from the link after it instead.


class _Watched:
    # The broker answered through this link once bytes arrive.
    def __init__(self, inner, owner):
        self._inner = inner
        self._owner = owner
        b = getattr(inner, "buffered", None)
        if b is not None:  # Bytes not yet sent, where the stream tells.
            self.buffered = b

    async def read(self, n):
        data = await self._inner.read(n)
        if data:
            self._owner._answered = True
        return data

    def write(self, data):
        self._inner.write(data)

    async def drain(self):
        await self._inner.drain()

    def close(self):
        self._inner.close()


class FailoverLink:
    def __init__(self, links, log=None, names=None):
        """`links`: link objects, the preferred first. `names`: one per
        link for messages (default: their class names)."""
        if not links:
            raise ValueError("FailoverLink needs at least one link")
        self.links = list(links)
        self.names = list(names) if names else [type(x).__name__ for x in self.links]
        self._log = log or (lambda *_: None)
        self._i = 0  # The link in use.
        self._answered = False  # The broker has answered through it since its up().
        self._skip = False  # The next up() starts after the link in use.
        self.switches = 0  # How often another link than the last was brought up.

    @property
    def current(self):
        """The link in use (or last used)."""
        return self.links[self._i]

    @property
    def name(self):
        return self.names[self._i]

    @property
    def poll_ms(self):
        return self.current.poll_ms

    def isconnected(self):
        return self.current.isconnected()

    async def up(self, quick=False):
        n = len(self.links)
        start = (self._i + 1) % n if self._skip else 0
        self._skip = False
        errors = []
        for k in range(n):
            i = (start + k) % n
            link = self.links[i]
            try:
                await link.up(quick)
            except OSError as e:
                errors.append("%s: %s" % (self.names[i], e))
                self._log("Link %s did not come up: %s", self.names[i], e)
                try:
                    await link.down()
                except OSError:
                    pass
                continue
            if i != self._i:
                self.switches += 1
                self._log("Link %s in use (was %s)", self.names[i], self.names[self._i])
            self._i = i
            self._answered = False
            return
        raise OSError(-1, "no link came up: " + "; ".join(errors))

    async def down(self):
        # Down without an answer from the broker since up(): this link does
        # not reach it, so the next up() tries the others first.
        self._skip = not self._answered
        await self.current.down()

    def close(self):
        for link in self.links:
            try:
                link.close()
            except OSError:
                pass

    def resolve(self, host, port):
        return self.current.resolve(host, port)

    async def open(self, addr, ssl=False, ssl_params=None, timeout_ms=10000):
        stream = await self.current.open(addr, ssl, ssl_params, timeout_ms)
        return _Watched(stream, self)

    async def dns_probe(self, server, packet, timeout_ms):
        return await self.current.dns_probe(server, packet, timeout_ms)
