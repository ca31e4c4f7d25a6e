# links/udp_radio.py: a radio driver whose "air" is UDP: every frame one
# datagram. For the simulated radio of the tests (tests/links/air.py) and
# for trying the gateway without radio hardware; runs on MicroPython (unix
# port, boards with a network) and CPython.
#
#     from mqtt_as.links.radio import RadioLink
#     from mqtt_as.links.udp_radio import UDPRadio
#     link = RadioLink(UDPRadio(("127.0.0.1", 7000)), node=7)
#
# Frames go to `air` (the air relay, or the gateway's --radio address);
# frames are taken from whoever sends them, as a receiver hears the channel.

import socket
import sys

_MP = sys.implementation.name == "micropython"


class UDPRadio:
    """Driver: send(frame), recv() -> bytes|None (non-blocking)."""

    poll_ms = 5

    def __init__(self, air, bind=("127.0.0.1", 0), max_frame=512):
        self._air_addr = air
        self._bind = bind
        self._max = max_frame
        self._sock = None
        self._air = None
        self._wakeup = None
        self._loop = None

    def start(self):
        if self._sock is not None:
            return
        ai = socket.getaddrinfo(self._air_addr[0], self._air_addr[1], 0, socket.SOCK_DGRAM)[0]
        self._air = ai[-1]
        s = socket.socket(ai[0], socket.SOCK_DGRAM)
        bi = socket.getaddrinfo(self._bind[0], self._bind[1], 0, socket.SOCK_DGRAM)[0]
        s.bind(bi[-1])
        s.setblocking(False)
        self._sock = s
        if self._wakeup is not None:
            self._watch()

    def stop(self):
        s = self._sock
        if s is None:
            return
        self._sock = None
        if self._loop is not None:
            try:
                self._loop.remove_reader(s.fileno())
            except (RuntimeError, ValueError, OSError):
                pass
            self._loop = None
        s.close()

    def set_wakeup(self, callback):
        # CPython: let the event loop watch the socket instead of polling.
        if _MP:
            return
        self._wakeup = callback
        if self._sock is not None:
            self._watch()

    def _watch(self):
        import asyncio

        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        loop.add_reader(self._sock.fileno(), self._wakeup)
        self._loop = loop

    def send(self, frame):
        s = self._sock
        if s is None:
            raise OSError(-1, "UDP radio is off")
        s.sendto(frame, self._air)

    def recv(self):
        s = self._sock
        if s is None:
            return None
        try:
            data = s.recv(self._max)
        except OSError:  # EAGAIN: nothing waiting (or ECONNREFUSED: no one there).
            return None
        return data or None
