#!/usr/bin/env python3
"""The soak's broker kill (soak.Soak.kill_verified) against a real
mosquitto and the C client: while a subscriber holds messages it has not
finished (the subscriber process stopped), the kill is skipped, says why
and leaves the broker running; once the subscriber has taken everything,
the kill is done. Needs MQTTAS_C_CLIENT (tests/soak/run builds it).

    python3 tests/soak/test_kill_verified.py     (tests/soak/run runs it)
"""

import argparse
import os
import shutil
import signal
import sys
import tempfile
import time
import unittest

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import soak  # noqa: E402


class KillIsVerified(unittest.TestCase):
    def setUp(self):
        if not os.environ.get("MQTTAS_C_CLIENT"):
            self.fail("MQTTAS_C_CLIENT is not set (tests/soak/run sets it)")
        self.wd = tempfile.mkdtemp(prefix="mqttas-soak-kill.")
        a = argparse.Namespace(clients="c", v5="", round=100000, delay=5, kill_settle=2.0)
        self.s = soak.Soak(a, self.wd)

    def tearDown(self):
        self.s.stop()
        shutil.rmtree(self.wd, ignore_errors=True)

    def test_skipped_while_a_subscriber_holds_messages_then_done(self):
        s = self.s
        s.start()
        self.assertIsNotNone(s.wait_healthy(["pub", "sub"], 20), "clients did not connect")
        sub = s.subs["c"].proc
        # The subscriber stops reading: the broker's messages for it stay
        # in flight or queued while the publishers go on.
        sub.send_signal(signal.SIGSTOP)
        try:
            end = time.monotonic() + 10
            while not s.subscriber_records() and time.monotonic() < end:
                time.sleep(0.1)
            self.assertTrue(s.subscriber_records(), "no record for the stopped subscriber")
            self.assertIsNone(s.kill_verified(["pub", "sub"]))
        finally:
            sub.send_signal(signal.SIGCONT)
        self.assertEqual(s.broker.kills, 0)
        self.assertIsNone(s.broker.proc.poll(), "the broker was killed")
        self.assertEqual(len(s.kills), 1)
        self.assertIn("subscribers still had {'QoS ", s.kills[0][1])

        self.assertIsNotNone(s.wait_healthy(["pub", "sub"], 30), "clients not back")
        s.a.kill_settle = 30.0
        self.assertIsNotNone(s.kill_verified(["pub", "sub"]))
        self.assertEqual(s.broker.kills, 1)
        self.assertEqual(s.kills[1][1], None)
        self.assertIsNotNone(s.wait_healthy(["pub", "sub"], 30), "clients not back after the kill")


if __name__ == "__main__":
    unittest.main()
