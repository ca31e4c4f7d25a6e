# links/radio_drivers.py: adapters from common MicroPython radio drivers to
# the tiny driver interface RadioLink wants (see links/radio.py):
#     send(frame)            transmit one frame; a failure is a lost frame
#     recv() -> bytes|None   the next received frame, at once
#     poll_ms, start(), stop()
#
# NOT TESTED HERE: the test machine has no radio hardware. The tests run
# RadioLink over udp_radio.UDPRadio; these adapters only translate calls
# and are written against the drivers' published APIs (named below). Check
# them on your hardware before relying on them.
#
# Whatever the radio, the gateway side must carry the same frames: a
# gateway radio adapter behind ports/gateway's FrameIo trait (UDP is the
# one provided), with the same mtu.


class SX127xDriver:
    """Semtech SX1276/77/78/79 LoRa modems through micropython-lib's LoRa
    driver (packages `lora-sync` + `lora-sx127x`: `from lora import SX1276`;
    the SX126x classes of `lora-sx126x` have the same API).

        from machine import SPI, Pin
        from lora import SX1276
        modem = SX1276(SPI(1, baudrate=2000000), Pin(18), dio0=Pin(26),
                       reset=Pin(14), lora_cfg={"freq_khz": 868100, "sf": 7,
                       "bw": "125", "coding_rate": 5, "crc_en": True})
        link = RadioLink(SX127xDriver(modem), node=7, mtu=250, rto_ms=1500)

    Uses the driver's low-level API so that nothing blocks the asyncio
    loop: continuous receive (start_recv(continuous=True), poll_recv()),
    and prepare_send()/start_send()/poll_send() for transmitting, which
    pauses and resumes the receiver. Frames wait in a small queue while the
    modem is busy transmitting. Choose rto_ms above twice the time on air of
    a full frame (modem.get_time_on_air_us(mtu)): at SF7/125 kHz a 250-byte
    frame takes about 400 ms.

    NOT TESTED HERE (no hardware on the test machine).
    """

    poll_ms = 10

    def __init__(self, modem, queue_len=8):
        self._m = modem
        self._q = []
        self._qmax = queue_len
        self._sending = False

    def start(self):
        self._m.start_recv(continuous=True)

    def stop(self):
        self._q = []
        self._sending = False
        self._m.standby()

    def _pump_tx(self):
        m = self._m
        if self._sending:
            if m.poll_send() is True:
                return  # Still on the air.
            self._sending = False
        if self._q:
            m.prepare_send(self._q.pop(0))
            m.start_send()
            self._sending = True

    def send(self, frame):
        if len(self._q) >= self._qmax:
            self._q.pop(0)  # The oldest goes: the ARQ will send it again.
        self._q.append(bytes(frame))
        self._pump_tx()

    def recv(self):
        self._pump_tx()
        rx = self._m.poll_recv()
        if rx is True or rx is None:
            return None  # Receiving, nothing yet.
        if rx is False:
            # Not receiving (a receive was aborted): listen again.
            if not self._sending:
                self._m.start_recv(continuous=True)
            return None
        if getattr(rx, "crc_error", False):
            return None
        return bytes(rx)


class NRF24L01Driver:
    """Nordic nRF24L01(+) through micropython-lib's driver
    (micropython-lib/micropython/drivers/radio/nrf24l01, package `nrf24l01`:
    `from nrf24l01 import NRF24L01`).

        from machine import SPI, Pin
        from nrf24l01 import NRF24L01
        nrf = NRF24L01(SPI(0), Pin(5), Pin(6), channel=46, payload_size=32)
        link = RadioLink(NRF24L01Driver(nrf), node=7, mtu=31, rto_ms=150)

    That driver sends fixed-size payloads (payload_size, at most 32 bytes)
    padded with zeros, so each frame travels with a one-byte length prefix:
    use mtu=31 with payload_size=32. Addressing: the node transmits on the
    gateway's pipe address `gw_addr` and listens on `node_addr` (pipe 1);
    the gateway transmits to the node's address. The chip's own
    auto-acknowledge and retries stay on (the driver's default); a send
    that still fails counts as a lost frame and the ARQ layer sends it
    again. send() blocks for up to `send_timeout_ms` (the driver's send is
    synchronous), a few ms at 250 kbit/s.

    NOT TESTED HERE (no hardware on the test machine).
    """

    poll_ms = 5

    def __init__(self, nrf, gw_addr=b"\xe1\xf0\xf0\xf0\xf0", node_addr=b"\xd2\xf0\xf0\xf0\xf0",
                 send_timeout_ms=50):
        self._nrf = nrf
        self._gw = gw_addr
        self._me = node_addr
        self._timeout = send_timeout_ms
        self._max = nrf.payload_size - 1

    def start(self):
        nrf = self._nrf
        nrf.open_tx_pipe(self._gw)
        nrf.open_rx_pipe(1, self._me)
        nrf.start_listening()

    def stop(self):
        self._nrf.stop_listening()

    def send(self, frame):
        n = len(frame)
        if n > self._max:
            raise OSError(-1, "frame of %d bytes > payload_size - 1: lower the mtu" % n)
        nrf = self._nrf
        nrf.stop_listening()
        try:
            nrf.send(bytes((n,)) + bytes(frame), timeout=self._timeout)
        finally:
            nrf.start_listening()

    def recv(self):
        nrf = self._nrf
        if not nrf.any():
            return None
        buf = nrf.recv()
        n = buf[0]
        if n < 11 or n > len(buf) - 1:
            return None  # Not one of ours, or damaged.
        return bytes(buf[1:1 + n])
