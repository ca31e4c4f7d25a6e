# Payloads lent, not copied (issue 14): the core's object (_mqttas.Client:
# the C module on a firmware, the ctypes binding on CPython) keeps the
# object given to publish() and hands it back to be sent after the PUBLISH's
# head, again after an outage, and lets it go once acknowledged. No broker:
# the broker's packets are given as bytes.
import gc
import sys

from common import cfg, check, done, without  # mqtt_as first: on CPython it finds _mqttas
import _mqttas as m

MP = sys.implementation.name == "micropython"


def sent(c, now):
    out = c.poll_transmit(now)
    if type(out) is tuple:
        return out[0] + bytes(out[1])
    return out


c = m.Client(cfg(clean_init=False, clean=False), (256, 1024, 64, 128, 64, 512))
c.connect(0)
sent(c, 0)
c.handle_input(1, b"\x20\x02\x00\x00")
c.pump()
check(c.connack is True, "connected")
big = bytes(range(256)) * 4
slot = c.publish(2, "t", big, qos=1)
head, payload = c.poll_transmit(2)
check(head == b"\x32\x85\x08\x00\x01t\x00\x01" and payload is big, "QoS 1: the head, then the object itself")
c.handle_link_down(3)
c.pump()
c.connect(4)
sent(c, 4)
c.handle_input(5, b"\x20\x02\x01\x00")  # session present: sent again
c.pump()
head, payload = c.poll_transmit(6)
check(head[0] == 0x3A and payload is big, "sent again with DUP from the same object")
c.handle_input(7, b"\x40\x02\x00\x01")
c.pump()
check(slot[0] == 0, "acknowledged")
s = "x" * 300
c.publish(8, "q", s)
head, payload = c.poll_transmit(8)
check(head == b"\x30\xaf\x02\x00\x01q" and bytes(payload) == s.encode(), "QoS 0 str: its bytes after the head")
buf = bytearray(b"abc")
c.publish(9, "t", buf, qos=1)
buf[:] = b"xyz"
check(sent(c, 9).endswith(b"abc"), "a bytearray: as it was when published")
c.handle_input(10, b"\x40\x02\x00\x02")
c.pump()
if "qos2" in m.FEATURES:
    # QoS 2: let go at PUBREC, when only PUBREL is ever sent again, not
    # at PUBCOMP.
    two = bytes(range(200)) * 2
    refs2 = None if MP else sys.getrefcount(two)
    slot = c.publish(10, "t", two, qos=2)
    head, payload = c.poll_transmit(10)
    check(payload is two, "QoS 2: sent from the object")
    payload = None
    if not MP:
        check(sys.getrefcount(two) > refs2, "QoS 2: lent until PUBREC")
    c.handle_input(10, b"\x50\x02\x00\x03")  # PUBREC
    c.pump()
    check(sent(c, 10) == b"\x62\x02\x00\x03", "PUBREL after PUBREC")
    if not MP:
        check(sys.getrefcount(two) == refs2, "QoS 2: let go at PUBREC, before PUBCOMP")
    check(slot[0] is None, "QoS 2: not yet published before PUBCOMP")
    c.handle_input(10, b"\x70\x02\x00\x03")  # PUBCOMP
    c.pump()
    check(slot[0] == 0, "QoS 2: published at PUBCOMP")
else:
    without("qos2", "the QoS 2 payload let go at PUBREC")
# Let go once done: 40 payloads of 2 KiB published and acknowledged leave
# nothing behind (CPython: the reference counts; MicroPython: the heap).
del payload, head, big
gc.collect()
base = gc.mem_alloc() if MP else None
objs = [bytes([i]) * 2048 for i in range(40)]
refs = [sys.getrefcount(o) for o in objs] if not MP else None
for i, o in enumerate(objs):
    pid = c.publish(11, "t", o, qos=1)[1]
    while c.poll_transmit(11):
        pass
    c.handle_input(12, b"\x40\x02" + bytes([pid >> 8, pid & 255]))
    c.pump()
del o
if MP:
    # Kept, they would take 80 KiB; the client's dicts take a little.
    del objs
    gc.collect()
    check(gc.mem_alloc() < base + 10 * 2048, "all let go after their PUBACK (heap %d -> %d)" % (base, gc.mem_alloc()))
else:
    check([sys.getrefcount(o) for o in objs] == refs, "all let go after their PUBACK")
done()
