"""tests/interop: each test runs once per broker x protocol version x
client (rust, c, python). The brokers start once per run (brokers.py), each
test uses topics and client ids of its own. At the end a matrix broker x
client x feature is printed and written to MQTTAS_INTEROP_MATRIX.

Markers:
  v5            MQTT 5.0 only, on the brokers that have it
  v5_missing    MQTT 5.0 against the brokers that do not have it
"""

import os
import pathlib
import sys

import pytest

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from brokers import BROKERS  # noqa: E402
from harness import Client, Paho, unique  # noqa: E402

CLIENTS = [c for c in os.environ.get("MQTTAS_INTEROP_CLIENTS", "rust,c,python").split(",") if c]
BROKER_NAMES = [b for b in os.environ.get("MQTTAS_INTEROP_BROKERS", ",".join(BROKERS)).split(",") if b]


def client_command(kind):
    if kind == "rust":
        return [os.environ["MQTTAS_INTEROP_RUST"]]
    if kind == "c":
        return [os.environ["MQTTAS_INTEROP_C"]]
    if kind == "python":
        return [sys.executable, str(HERE / "drivers" / "py_driver.py")]
    raise ValueError(kind)


def pytest_configure(config):
    config.addinivalue_line("markers", "v5: MQTT 5.0 only, on the brokers that have it")
    config.addinivalue_line("markers", "v5_missing: MQTT 5.0 against brokers without it")
    config._interop_results = {}


def pytest_generate_tests(metafunc):
    if "broker" not in metafunc.fixturenames:
        return
    v5 = metafunc.definition.get_closest_marker("v5") is not None
    missing = metafunc.definition.get_closest_marker("v5_missing") is not None
    combos, ids = [], []
    for name in BROKER_NAMES:
        versions = BROKERS[name].versions
        if missing:
            versions = () if 5 in versions else (5,)
        elif v5:
            versions = tuple(v for v in versions if v == 5)
        for v in versions:
            for kind in CLIENTS:
                combos.append((name, v, kind))
                ids.append("%s-v%s-%s" % (name, "5" if v == 5 else "311", kind))
    metafunc.parametrize("broker_name,version,kind", combos, ids=ids)


@pytest.fixture(scope="session")
def workdir(tmp_path_factory):
    d = os.environ.get("MQTTAS_INTEROP_WORKDIR")
    if d:
        pathlib.Path(d).mkdir(parents=True, exist_ok=True)
        return pathlib.Path(d)
    return tmp_path_factory.mktemp("interop")


@pytest.fixture(scope="session")
def broker_pool(workdir):
    """Each broker started on first use, stopped at the end of the run."""
    started, failed = {}, {}

    def get(name):
        if name in failed:  # Once is enough to wait for a broker that does not start.
            raise RuntimeError(failed[name])
        b = started.get(name)
        if b is None or not b.alive():
            if b is not None:
                sys.stderr.write("%s had died; its log ends:\n%s\n" % (name, b.log()[-3000:]))
            try:
                b = BROKERS[name](workdir).start()
            except (OSError, RuntimeError) as e:
                failed[name] = "%s did not start: %s" % (name, e)
                raise
            started[name] = b
        return b

    yield get
    for b in started.values():
        b.stop()


@pytest.fixture
def broker(broker_pool, broker_name):
    b = broker_pool(broker_name)
    yield b
    assert b.alive(), "%s died during the test; its log ends:\n%s" % (b.name, b.log()[-3000:])


@pytest.fixture
def port(broker, version):
    # A 5.0 client tries a 3.1.1-only broker on its one listener.
    return broker.ports.get(version, broker.ports[4])


@pytest.fixture
def topic(request):
    """A topic prefix of the test's own."""
    return "it/" + unique(request.node.originalname.replace("test_", ""))


@pytest.fixture
def client_factory(kind, workdir, request):
    made = []

    def make():
        name = "%s-%d" % (request.node.name.replace("/", "_").replace("[", "_").rstrip("]"), len(made))
        c = Client(kind, client_command(kind), str(workdir), name)
        made.append(c)
        return c

    yield make
    for c in made:
        c.close()


@pytest.fixture
def ours(client_factory):
    return client_factory()


@pytest.fixture
def paho_factory(port, version):
    made = []

    def make(**kw):
        p = Paho(port, version, **kw)
        made.append(p)
        return p

    yield make
    for p in made:
        try:
            p.close()
        except Exception:  # noqa: BLE001 (a broker that closed first)
            pass


@pytest.fixture
def paho(paho_factory):
    return paho_factory()


@pytest.fixture(scope="session")
def _proven():
    return {}


@pytest.fixture
def prove(_proven, broker_name, version):
    """prove(what, check): run check() (a paho proof of a broker deviation)
    once per broker, version and `what`; later calls repeat its outcome."""

    def run(what, check):
        key = (broker_name, version, what)
        if key not in _proven:
            try:
                check()
                _proven[key] = None
            except AssertionError as e:
                _proven[key] = e
        if _proven[key] is not None:
            raise _proven[key]

    return run


@pytest.fixture
def note(request):
    """note(text): a broker deviation to show in the matrix."""

    def add(text):
        request.node.user_properties.append(("deviation", text))

    return add


# ---- the matrix ----


def _feature(item):
    name = item.originalname.replace("test_", "")
    params = getattr(item, "callspec", None)
    extra = [str(v) for k, v in (params.params.items() if params else ()) if k not in
             ("broker_name", "version", "kind")]
    return "-".join([name] + extra)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    params = getattr(item, "callspec", None)
    # A test with no broker to run on (MQTTAS_INTEROP_BROKERS without one
    # it needs) has an empty parameter set: no row of the matrix.
    if params is None or params.params.get("broker_name") not in BROKERS:
        return
    if rep.when == "call" or (rep.when == "setup" and rep.outcome != "passed") or \
            (rep.when == "teardown" and rep.outcome == "failed"):
        if hasattr(rep, "wasxfail"):
            result = "xfail"
        else:
            result = {"passed": "pass", "failed": "FAIL", "skipped": "skip"}[rep.outcome]
        dev = [v for k, v in item.user_properties if k == "deviation"]
        if dev and result == "pass":
            result = "pass*"
        key = (params.params["broker_name"], params.params["version"], _feature(item))
        results = item.config._interop_results
        prev = results.setdefault(key, {}).get(params.params["kind"])
        if prev != "FAIL":
            results[key][params.params["kind"]] = result
        if dev:
            item.config._interop_devs = getattr(item.config, "_interop_devs", set()) | {
                "%s v%s %s: %s" % (key[0], "5" if key[1] == 5 else "3.1.1", key[2], d) for d in dev}


def pytest_terminal_summary(terminalreporter, config):
    results = config._interop_results
    if not results:
        return
    lines = ["interop matrix (pass* = passed with a broker deviation noted, xfail = broker deviation proven with "
             "paho, feature not verifiable there)", ""]
    lines.append("%-10s %-6s %-24s %s" % ("broker", "MQTT", "feature", "  ".join("%-7s" % c for c in CLIENTS)))
    for (b, v, f) in sorted(results, key=lambda k: (BROKER_NAMES.index(k[0]), k[1], k[2])):
        row = results[(b, v, f)]
        lines.append("%-10s %-6s %-24s %s" % (b, "5.0" if v == 5 else "3.1.1", f,
                                             "  ".join("%-7s" % row.get(c, "") for c in CLIENTS)))
    devs = sorted(getattr(config, "_interop_devs", ()))
    if devs:
        lines += ["", "broker deviations:"] + ["  " + d for d in devs]
    text = "\n".join(lines) + "\n"
    terminalreporter.write_sep("=", "interop matrix")
    terminalreporter.write(text)
    path = os.environ.get("MQTTAS_INTEROP_MATRIX")
    if path:
        pathlib.Path(path).write_text(text)
