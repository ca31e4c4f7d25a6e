#!/usr/bin/env python3
"""packet_trace.py on traces written as proxy.py writes them: each cause
of a repeated QoS 1 send, the table reconnection, a QoS 2 flow.

    python3 tests/soak/test_packet_trace.py     (tests/soak/run runs it)
"""

import os
import shutil
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import packet_trace as pt  # noqa: E402

T = "soak/c/q1/r0"


def line(t, conn, d, fate, typ, *fields):
    return "\t".join(["%.6f" % t, str(conn), d, fate, typ] + [str(f) for f in fields]) + "\n"


class Causes(unittest.TestCase):
    maxDiff = None

    def setUp(self):
        self.wd = tempfile.mkdtemp(prefix="mqttas-trace.")

    def tearDown(self):
        shutil.rmtree(self.wd, ignore_errors=True)

    def write(self, name, lines):
        path = os.path.join(self.wd, name)
        with open(path, "w") as f:
            f.writelines(lines)
        return path

    def test_each_cause_of_a_repeated_qos1_send(self):
        sub = self.write("sub", [
            line(1.0, 1, "c2b", "fwd", "CONNECT", "soak-sub-c"),
            line(1.1, 1, "b2c", "fwd", "CONNACK", 1, 0),
            # 1: acknowledged, PUBACK forwarded, link gone: sent again with DUP.
            line(2.0, 1, "b2c", "fwd", "PUBLISH", 5, 1, 0, T, 1),
            line(2.1, 1, "c2b", "fwd", "PUBACK", 5),
            # 2: acknowledged, PUBACK dropped by a blackhole.
            line(2.2, 1, "b2c", "fwd", "PUBLISH", 6, 1, 0, T, 2),
            line(2.3, 1, "c2b", "drop", "PUBACK", 6),
            # 3: never acknowledged.
            line(2.4, 1, "b2c", "fwd", "PUBLISH", 7, 1, 0, T, 3),
            # 4: the publisher sent it twice: a new id, no DUP.
            line(2.5, 1, "b2c", "fwd", "PUBLISH", 8, 1, 0, T, 4),
            line(2.6, 1, "c2b", "fwd", "PUBACK", 8),
            line(2.7, 1, "b2c", "fwd", "PUBLISH", 9, 1, 0, T, 4),
            line(2.8, 1, "c2b", "fwd", "PUBACK", 9),
            line(4.0, 2, "c2b", "fwd", "CONNECT", "soak-sub-c"),
            line(4.1, 2, "b2c", "fwd", "CONNACK", 1, 0),
            line(4.2, 2, "b2c", "fwd", "PUBLISH", 5, 1, 1, T, 1),
            line(4.3, 2, "b2c", "fwd", "PUBLISH", 6, 1, 1, T, 2),
            line(4.4, 2, "b2c", "fwd", "PUBLISH", 7, 1, 1, T, 3),
            # 5: acknowledged, then the broker was killed (at 5.0).
            line(4.5, 2, "b2c", "fwd", "PUBLISH", 10, 1, 0, T, 5),
            line(4.6, 2, "c2b", "fwd", "PUBACK", 10),
            line(6.0, 3, "c2b", "fwd", "CONNECT", "soak-sub-c"),
            line(6.1, 3, "b2c", "fwd", "PUBLISH", 10, 1, 1, T, 5),
        ])
        pub = self.write("pub", [
            line(1.9, 3, "c2b", "fwd", "PUBLISH", 40, 1, 0, T, 4),
            line(2.45, 3, "c2b", "fwd", "PUBLISH", 40, 1, 1, T, 4),
        ])
        dups = {(T, str(n)): 1 for n in range(1, 6)}
        dups[(T, "6")] = 1  # a duplicate the trace cannot show
        sends, conns = pt.subscriber_side(sub, set(dups))
        publisher = pt.publisher_sends(pub, set(dups))
        causes, flags, untraced = pt.qos1_causes(sends, dups, publisher, [5.0])
        self.assertEqual(dict(causes), {
            "acknowledged on the socket, PUBACK forwarded; the link went before the broker took it": 1,
            "acknowledged on the socket, PUBACK lost in the fault (drop)": 1,
            "not acknowledged: the link went before the subscriber's PUBACK": 1,
            "publisher sent it twice (the broker's PUBACK to it was lost)": 1,
            "acknowledged on the socket, PUBACK forwarded; broker killed before saving it": 1,
        })
        self.assertEqual(dict(flags), {"with DUP": 4, "without DUP": 1})
        self.assertEqual(untraced, 1)
        self.assertEqual(sorted(conns), [1, 2, 3])

    def test_table_reconnection_and_qos2_flow(self):
        q2 = "soak/rust/q2/r0"
        lines = [line(1.0, 1, "c2b", "fwd", "CONNECT", "soak-sub-rust")]
        for pid in range(1, pt.QOS2_TABLE + 1):
            lines.append(line(1.0 + pid / 1000, 1, "b2c", "fwd", "PUBLISH", pid, 2, 0, q2, pid))
            lines.append(line(1.0 + pid / 1000, 1, "c2b", "fwd", "PUBREC", pid))
        for pid in range(1, pt.QOS2_TABLE + 1):
            lines.append(line(2.0, 1, "b2c", "fwd", "PUBREL", pid))
            lines.append(line(2.0, 1, "c2b", "fwd", "PUBCOMP", pid))
        # A second connection that a fault ended: the table never filled.
        lines.append(line(3.0, 2, "c2b", "fwd", "CONNECT", "soak-sub-rust"))
        lines.append(line(3.1, 2, "b2c", "fwd", "PUBLISH", 1, 2, 1, q2, 1))
        lines.append(line(3.2, 2, "c2b", "cut", "PUBREC", 1))
        sub = self.write("sub", lines)
        key = (q2, "1")
        sends, conns = pt.subscriber_side(sub, {key})
        self.assertEqual(conns[1]["peak"], pt.QOS2_TABLE)
        events = [{"conn": 1, "ev": "close", "by": "client", "t": 2.5},
                  {"conn": 2, "ev": "reset", "t": 3.2}]
        table, ended = pt.churn(conns, events)
        self.assertEqual((dict(table), dict(ended)), ({"soak-sub-rust": 1}, {"soak-sub-rust": 2}))
        text = pt.explain_qos2(sends, key, [2.7])
        self.assertEqual(text, "PUBLISH at 1.001 conn 1 id 1 dup 0: PUBREC fwd at 1.001, PUBREL fwd at"
                         " 2.000, PUBCOMP fwd at 2.000; broker killed at 2.700; PUBLISH at 3.100 conn"
                         " 2 id 1 dup 1: PUBREC cut at 3.200, PUBREL none, PUBCOMP none")


if __name__ == "__main__":
    unittest.main()
