# links/wlan.py: the broker over Wi-Fi (ESP32, Pico W, Pyboard D, ...),
# with mqtt_as 0.8.3's behaviour: connect with ssid/wifi_pw, check that the
# connection stays up for a few seconds unless `quick`, disconnect the
# interface after every outage before connecting again. Only this module
# imports `network`.

import sys

import asyncio
import network

from .socket import SocketLink

_PLATFORM = sys.platform
ESP32 = _PLATFORM == "esp32"
RP2 = _PLATFORM == "rp2"
PYBOARD = _PLATFORM == "pyboard"
ESP8266 = _PLATFORM == "esp8266"


class WLANLink(SocketLink):
    # Wi-Fi loss is seen by polling the interface, as mqtt_as does.
    poll_ms = 1000

    def __init__(self, ssid, wifi_pw, log=None):
        self._ssid = ssid
        self._pw = wifi_pw
        self._log = log or (lambda *_: None)
        self._sta = network.WLAN(network.STA_IF)
        self._sta.active(True)
        if ESP8266:
            import esp

            esp.sleep_type(0)  # Connection integrity over power saving.

    def isconnected(self):
        return self._sta.isconnected()

    async def up(self, quick=False):
        s = self._sta
        if ESP8266:
            await self._up_esp8266()
        else:
            s.active(True)
            if RP2:  # Disable power saving (Pico W datasheet 3.6.3).
                s.config(pm=0xA11140)
            s.connect(self._ssid, self._pw)
            for _ in range(60):  # Until connected or failed, once a second.
                await asyncio.sleep(1)
                if s.isconnected():
                    break
                if ESP32:
                    # Error statuses are below STAT_IDLE (200..204).
                    if s.status() < network.STAT_IDLE:
                        await asyncio.sleep(1)
                        break
                elif PYBOARD or RP2:
                    if not 1 <= s.status() <= 2:
                        break
            else:  # Still connecting after a minute.
                s.disconnect()
                await asyncio.sleep(1)
        if not s.isconnected():
            raise OSError(-1, "Wi-Fi connect to %r failed" % (self._ssid,))
        if not quick:
            # A link at the edge of range may come up and drop at once.
            self._log("Checking WiFi integrity.")
            for _ in range(5):
                if not s.isconnected():
                    raise OSError(-1, "Wi-Fi connection unstable")
                await asyncio.sleep(1)
            self._log("Got reliable connection")

    async def _up_esp8266(self):
        s = self._sta
        if s.isconnected():
            return
        s.active(True)
        s.connect()  # The ESP8266 remembers its network.
        for _ in range(60):
            if s.status() != network.STAT_CONNECTING:
                break
            await asyncio.sleep(1)
        if s.status() == network.STAT_CONNECTING:
            s.disconnect()
            await asyncio.sleep(1)
        if not s.isconnected() and self._ssid is not None and self._pw is not None:
            s.connect(self._ssid, self._pw)
            while s.status() == network.STAT_CONNECTING:
                await asyncio.sleep(1)

    async def down(self):
        try:
            self._sta.disconnect()
        except OSError:
            self._log("Wi-Fi not started, unable to disconnect interface")

    def close(self):
        try:
            self._sta.disconnect()
        except OSError:
            self._log("Wi-Fi not started, unable to disconnect interface")
        self._sta.active(False)
