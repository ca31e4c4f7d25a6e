"""The firmware build files, micropython-module/micropython.mk and
micropython.cmake, driven the way MicroPython's ports drive them (a make
harness that sets what a make port sets and includes micropython.mk; a
CMake project with the pico-sdk's PICO_PLATFORM and compiler flags that
includes micropython.cmake), with the real cargo, Arm GCC and newlib:

- the library linked into a firmware defines no global symbol but
  mqttas_*: Rust's compiler_builtins brings weak memmove, memcmp, strlen,
  log2f, __aeabi_uldivmod, ... which, linked before newlib and libgcc,
  replaced the C library's in the whole firmware (on rp2 moving memmove and
  memcmp from RAM to flash, and math.log2 to Rust's);
- a program linked the way a port links (the library early, newlib and
  libgcc last) gets newlib's memmove and log2f and libgcc's
  __aeabi_uldivmod, and still the Rust core;
- rp2350: pico-sdk compiles with -mfloat-abi=softfp, so the Rust target is
  thumbv8m.main-none-eabi (an ...-eabihf library does not link), and the
  environment variables MQTTAS_RUST_TARGET and MQTTAS_CARGO, which the
  port's make passes on to CMake, are obeyed;
- the board manifests in ports/*/manifest.py include the manifest the
  board builds with by default (a FROZEN_MANIFEST replaces it: Pico W lost
  bundle-networking and aioble, Pyboard D lcd160cr and bundle-networking),
  and the unix and qemu ones asyncio. With MQTTAS_MICROPYTHON_SRC naming a
  MicroPython checkout, MicroPython's own manifest tool checks that each
  freezes everything the board's default manifest does, plus mqtt_as.

Needs arm-none-eabi-gcc with newlib (Debian gcc-arm-none-eabi,
libnewlib-arm-none-eabi), cmake, and the rustup targets thumbv6m-none-eabi
and thumbv8m.main-none-eabi. Cargo's output is kept under
target/fw-harness/ between runs."""

import importlib
import importlib.util
import os
import pathlib
import re
import shutil
import subprocess
import sys

import pytest

from conftest import MODULE, ROOT

CACHE = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "fw-harness"
ARM = "arm-none-eabi-"
NEEDS = "needs arm-none-eabi-gcc with newlib (gcc-arm-none-eabi, libnewlib-arm-none-eabi), cmake and rustup"

# The calls a firmware makes (as _mqttas.c does) and the C library functions
# compiler_builtins also defines.
MAIN_C = r"""
#include <math.h>
#include <stdint.h>
#include <string.h>
#include "mqttas.h"
volatile float f = 8.0f;
volatile uint64_t a = 1000000000000ULL, b = 7;
volatile size_t n = 5;
char buf[16] = "abcdef";
int main(void) {
    memmove(buf + 1, buf, n);
    return (int)mqttas_client_size() + (int)log2f(f) + (int)(a / b) + (int)strlen(buf) + memcmp(buf, buf + 1, n);
}
"""


def tools():
    for t in (ARM + "gcc", ARM + "readelf", "cmake", "cargo", "rustup", "gcc", "readelf"):
        assert shutil.which(t), "%s: %s is missing" % (NEEDS, t)
    installed = subprocess.run(["rustup", "target", "list", "--installed"], capture_output=True, text=True).stdout
    for t in ("thumbv6m-none-eabi", "thumbv8m.main-none-eabi"):
        assert t in installed.split(), "%s: rustup target add %s" % (NEEDS, t)


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    assert r.returncode == 0, "%s\n%s%s" % (" ".join(map(str, cmd)), r.stdout, r.stderr)
    return r.stdout + r.stderr


def symbols(path, readelf):
    """{name: (bind, section index, value)} of the global and weak symbols
    of an object, archive or executable."""
    out = {}
    for line in run([readelf, "-sW", str(path)]).splitlines():
        f = line.split()
        if len(f) >= 8 and f[4] in ("GLOBAL", "WEAK"):
            out.setdefault(f[7], (f[4], f[6], int(f[1], 16)))
    return out


def owner(map_text, addr):
    """The input file whose section holds addr, from a GNU ld map."""
    addr &= ~1  # Thumb function addresses have bit 0 set.
    name = None
    for line in map_text.splitlines():
        m = re.match(r"^ (\.\S+)\s*$", line)
        if m:
            name = m.group(1)
            continue
        m = re.match(r"^ (\.\S+)?\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S.*)$", line)
        if m and (m.group(1) or name):
            start, size = int(m.group(2), 16), int(m.group(3), 16)
            if start <= addr < start + size:
                return m.group(4)
        name = None
    return None


def defined(syms):
    return {n for n, (_, ndx, _) in syms.items() if ndx != "UND"}


def make_harness(name, cc, prefix, cflags, hosted):
    """A Makefile that sets what a make port sets, then includes
    micropython.mk; `make all` builds the library and prints the flags."""
    build = CACHE / name
    harness = build / "harness"
    harness.mkdir(parents=True, exist_ok=True)
    (harness / "Makefile").write_text(
        "BUILD := %s\nCC := %s\nOBJCOPY := %sobjcopy\nAR := %sar\nCFLAGS := %s\n"
        "ECHO := @echo\nQ := @\nMQTTAS_HOSTED := %d\nUSERMOD_DIR := %s\n"
        "all:\ninclude %s/micropython.mk\n"
        "all: $(MQTTAS_LIB)\n\t@echo 'LDFLAGS_USERMOD=$(LDFLAGS_USERMOD)'\n"
        "\t@echo 'CFLAGS_USERMOD=$(CFLAGS_USERMOD)'\n"
        % (build / "out", cc, prefix, prefix, cflags, hosted, MODULE, MODULE))
    return harness


def make_lib(name, cc, prefix, cflags, hosted, features=None):
    """Build libmqttas.a through micropython.mk as a make port would: the
    port's variables, then the include; MQTTAS_FEATURES on the make line
    when `features` is given. Returns the library, LDFLAGS_USERMOD and
    CFLAGS_USERMOD."""
    harness = make_harness(name, cc, prefix, cflags, hosted)
    extra = [] if features is None else ["MQTTAS_FEATURES=" + features]
    out = run(["make", "-C", str(harness)] + extra, timeout=840)
    ldflags = re.search(r"^LDFLAGS_USERMOD=(.*)$", out, re.M).group(1).split()
    cflags_mod = re.search(r"^CFLAGS_USERMOD=(.*)$", out, re.M).group(1).split()
    return CACHE / name / "out" / "mqttas" / "libmqttas.a", ldflags, cflags_mod


@pytest.mark.timeout(900)
def test_make_port_library_exports_only_mqttas_and_leaves_libc_alone(tmp_path):
    tools()
    cflags = "-mthumb -mcpu=cortex-m0plus"  # rp2040's, as a make port gives it
    lib, ldflags, _ = make_lib("mk-thumbv6m", ARM + "gcc", ARM, cflags, 0)
    # Linked as a port links: objects, the module's -u list and the library,
    # then newlib and libgcc.
    (tmp_path / "main.c").write_text(MAIN_C)
    elf = tmp_path / "fw.elf"
    run([ARM + "gcc", *cflags.split(), "-Os", "-I", str(ROOT / "include"), "--specs=nosys.specs",
         "-Wl,--gc-sections", "-Wl,-Map=%s" % (tmp_path / "fw.map"), str(tmp_path / "main.c"),
         *ldflags, "-lm", "-o", str(elf)])
    fw = symbols(elf, ARM + "readelf")
    assert "mqttas_client_size" in defined(fw)
    linked = (tmp_path / "fw.map").read_text()
    for name, lib_name in (("memmove", "libc.a"), ("memcmp", "libc.a"), ("strlen", "libc.a"),
                           ("log2f", "libm.a"), ("__aeabi_uldivmod", "libgcc.a")):
        assert name in defined(fw), name
        where = owner(linked, fw[name][2])
        assert where and lib_name in where, "%s comes from %s, not %s" % (name, where, lib_name)
    syms = symbols(lib, ARM + "readelf")
    others = sorted(defined(syms) - {n for n in syms if n.startswith("mqttas_")})
    assert others == [], "libmqttas.a defines %d symbols besides mqttas_*: %s" % (len(others), others[:20])
    assert len([n for n in defined(syms) if n.startswith("mqttas_")]) > 40


@pytest.mark.timeout(900)
def test_make_hosted_library_exports_only_mqttas():
    tools()
    lib, _, _ = make_lib("mk-host", "gcc", "", "", 1)
    syms = symbols(lib, "readelf")
    others = sorted(defined(syms) - {n for n in syms if n.startswith("mqttas_")})
    assert others == [], "libmqttas.a (std) defines %d symbols besides mqttas_*: %s" % (len(others), others[:20])


# --- the feature knobs (MQTTAS_FEATURES, micropython-module/features.py) ---

FEATURES_PROBE = r"""
#include <stdio.h>
#include "mqttas.h"
int main(void) { printf("%u\n", (unsigned)mqttas_features()); return 0; }
"""


def library_features(lib, tmp_path):
    """mqttas_features() of a hosted libmqttas.a, linked into a program and run."""
    (tmp_path / "probe.c").write_text(FEATURES_PROBE)
    exe = tmp_path / "probe"
    run(["gcc", "-I", str(ROOT / "include"), "-o", str(exe), str(tmp_path / "probe.c"), str(lib),
         "-lgcc_s", "-lpthread", "-lm", "-ldl"])
    return int(run([str(exe)]).strip())


@pytest.mark.timeout(900)
# The library always has the radio's node side (cargo feature ffi-min
# brings it: bit 4); a firmware without the radio knob does not link it, as
# the module makes no radio call (the -u list below).
@pytest.mark.parametrize("features,bits,defines", [
    ("socket", 4, "V5=0 QOS2=0 RADIO=0 RADIO_GATEWAY=0"),
    (None, 1 | 2 | 4, "V5=1 QOS2=1 RADIO=0 RADIO_GATEWAY=0"),  # unset: default, v5 and qos2
    ("default radio-gateway", 1 | 2 | 4 | 8, "V5=1 QOS2=1 RADIO=1 RADIO_GATEWAY=1"),
], ids=["minimal", "default", "full"])
def test_make_knobs_build_the_library_and_module_with_their_features(tmp_path, features, bits, defines):
    tools()
    lib, _, cflags = make_lib("mk-host-knobs", "gcc", "", "", 1, features)
    # The same build directory for all three: a change of knobs rebuilds.
    assert library_features(lib, tmp_path) == bits
    assert [f for f in cflags if f.startswith("-DMQTTAS_WITH_")] == ["-DMQTTAS_WITH_" + d for d in defines.split()]


@pytest.mark.timeout(900)
def test_make_knobs_name_only_the_calls_the_module_makes():
    tools()
    cflags = "-mthumb -mcpu=cortex-m0plus"
    _, minimal, _ = make_lib("mk-thumbv6m-knobs", ARM + "gcc", ARM, cflags, 0, "wlan")
    _, full, _ = make_lib("mk-thumbv6m-knobs", ARM + "gcc", ARM, cflags, 0, "default radio-gateway")
    named = lambda flags: {flags[i + 1] for i, f in enumerate(flags) if f == "-u"}
    left_out = named(full) - named(minimal)
    # Without radio no radio call, without v5 no AUTH and no property reading.
    assert left_out == {n for n in named(full) if n.startswith("mqttas_radio_")} | {"mqttas_auth",
                                                                                     "mqttas_property_next"}
    assert "mqttas_publish_borrowed" in named(minimal) and "mqttas_radio_init" in named(full)


def test_make_unknown_knob_stops_the_build_naming_the_knobs():
    harness = make_harness("mk-host-bad", "gcc", "", "", 1)
    r = subprocess.run(["make", "-C", str(harness), "MQTTAS_FEATURES=v5 qos3"], capture_output=True, text=True)
    assert r.returncode != 0
    assert "unknown knob 'qos3'" in r.stderr and "qos2" in r.stderr, r.stderr


def cmake_project(tmp_path, platform, cflags, env=None, build=False):
    """A CMake project as the rp2 port makes one: PICO_PLATFORM set, the
    compiler flags pico-sdk uses, an INTERFACE library `usermod`, then
    micropython.cmake. Returns the configure (and build) output."""
    src = tmp_path / "src"
    src.mkdir(exist_ok=True)
    (src / "main.c").write_text(MAIN_C)
    (src / "CMakeLists.txt").write_text("""
cmake_minimum_required(VERSION 3.13)
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_C_COMPILER {cc})
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)
project(harness C)
set(PICO_PLATFORM {platform})
set(CMAKE_C_FLAGS "{cflags} -Os")
set(CMAKE_EXE_LINKER_FLAGS "--specs=nosys.specs -Wl,--gc-sections -Wl,-Map=${{CMAKE_BINARY_DIR}}/fw.map")
add_library(usermod INTERFACE)
include({module}/micropython.cmake)
add_executable(fw main.c)
target_include_directories(fw PRIVATE {root}/include)
target_link_libraries(fw mqttas_rust_lib m)
""".format(cc=ARM + "gcc", platform=platform, cflags=cflags, module=MODULE, root=ROOT))
    bdir = CACHE / ("cmake-" + platform)
    shutil.rmtree(bdir / "CMakeFiles", ignore_errors=True)
    (bdir / "CMakeCache.txt").unlink(missing_ok=True)
    e = dict(os.environ)
    for k in ("MQTTAS_RUST_TARGET", "MQTTAS_CARGO", "MQTTAS_FEATURES"):
        e.pop(k, None)
    e.update(env or {})
    r = subprocess.run(["cmake", "-S", str(src), "-B", str(bdir), "-G", "Unix Makefiles"], env=e,
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise ConfigureError(r.stdout + r.stderr)
    out = r.stdout + r.stderr
    if build:
        out += run(["cmake", "--build", str(bdir)], env=e, timeout=840)
    return out, bdir


class ConfigureError(Exception):
    pass


def rust_target(out):
    return re.search(r"_mqttas: Rust target (\S+)", out).group(1)


RP2350_CFLAGS = "-mcpu=cortex-m33 -mthumb -march=armv8-m.main+fp+dsp -mfloat-abi=softfp"


@pytest.mark.timeout(900)
def test_cmake_rp2350_builds_soft_float_and_links(tmp_path):
    tools()
    # MQTTAS_CARGO as the environment gives it: one string, split by CMake.
    out, bdir = cmake_project(tmp_path, "rp2350-arm-s", RP2350_CFLAGS, {"MQTTAS_CARGO": "cargo --locked"},
                              build=True)
    assert rust_target(out) == "thumbv8m.main-none-eabi"
    syms = symbols(bdir / "mqttas" / "libmqttas.a", ARM + "readelf")
    others = sorted(defined(syms) - {n for n in syms if n.startswith("mqttas_")})
    assert others == [], others[:20]
    fw = symbols(bdir / "fw", ARM + "readelf")
    assert "mqttas_client_size" in defined(fw)
    linked = (bdir / "fw.map").read_text()
    for name, lib_name in (("memmove", "libc.a"), ("log2f", "libm.a"), ("__aeabi_uldivmod", "libgcc.a")):
        assert name in defined(fw), name
        where = owner(linked, fw[name][2])
        assert where and lib_name in where, "%s comes from %s, not %s" % (name, where, lib_name)


def test_cmake_target_choice_and_environment(tmp_path):
    tools()
    assert rust_target(cmake_project(tmp_path, "rp2040", "-mcpu=cortex-m0plus -mthumb")[0]) == "thumbv6m-none-eabi"
    assert rust_target(cmake_project(tmp_path, "rp2350", RP2350_CFLAGS)[0]) == "thumbv8m.main-none-eabi"
    # `make MQTTAS_RUST_TARGET=...` reaches CMake in the environment.
    out, _ = cmake_project(tmp_path, "rp2040", "-mcpu=cortex-m0plus -mthumb",
                           {"MQTTAS_RUST_TARGET": "riscv32imc-unknown-none-elf"})
    assert rust_target(out) == "riscv32imc-unknown-none-elf"


def test_cmake_knobs_from_the_environment(tmp_path):
    tools()
    out, _ = cmake_project(tmp_path, "rp2040", "-mcpu=cortex-m0plus -mthumb")
    assert "_mqttas: features ffi-min,v5,qos2\n" in out, out
    out, _ = cmake_project(tmp_path, "rp2040", "-mcpu=cortex-m0plus -mthumb", {"MQTTAS_FEATURES": "wlan radio"})
    assert "_mqttas: features ffi-min,radio\n" in out, out
    with pytest.raises(ConfigureError, match="unknown knob 'v4'"):
        cmake_project(tmp_path, "rp2040", "-mcpu=cortex-m0plus -mthumb", {"MQTTAS_FEATURES": "v4"})


# --- the board manifests ------------------------------------------------------

PORTS = ROOT / "ports"


class Options:
    """The manifest API's `options`: include()'s keyword arguments."""

    def __init__(self, **kw):
        self._kw = kw
        self._defaults = {}

    def defaults(self, **kw):
        self._defaults = kw

    def __getattr__(self, name):
        return self._kw.get(name, self._defaults.get(name))


def record(manifest, env=None, **options):
    """What a manifest asks for, run with stand-ins for the manifest API, in
    its own directory with `options` and the environment `env` (MQTTAS_FEATURES
    unset otherwise), as MicroPython's manifest tool runs it:
    [("include", path[, kwargs]), ("package", name, files, base_path), ...],
    with relative paths made absolute against the manifest and $(VAR) left as
    written."""
    calls = []

    def path(p):
        return p if p.startswith("$(") else str((manifest.parent / p).resolve())

    api = {
        "include": lambda p, **kw: calls.append(("include", path(p)) + ((kw,) if kw else ())),
        "require": lambda name, **kw: calls.append(("require", name)),
        "package": lambda name, files=None, base_path=".", **kw: calls.append(
            ("package", name, tuple(files or ()), path(base_path))),
        "module": lambda name, base_path=".", **kw: calls.append(("module", name, path(base_path))),
        "freeze": lambda p, *a, **kw: calls.append(("freeze", path(p))),
        "options": Options(**options),
        "metadata": lambda **kw: None,
    }
    saved_env = os.environ.pop("MQTTAS_FEATURES", None)
    cwd = os.getcwd()
    try:
        os.environ.update(env or {})
        os.chdir(manifest.parent)
        exec(compile(manifest.read_text(), str(manifest), "exec"), api)
    finally:
        os.chdir(cwd)
        os.environ.pop("MQTTAS_FEATURES", None)
        if saved_env is not None:
            os.environ["MQTTAS_FEATURES"] = saved_env
    return calls


MODULE_MANIFEST = ("include", str(MODULE / "manifest.py"))
# Each board's default links (its README says so too).
LINKS = {"rp2": "wlan", "stm32": "wlan", "esp32": "wlan lan", "unix": None, "qemu": None}

# Per port: what its board manifest must include besides the package, the
# manifest the board (or port, or variant) uses when no FROZEN_MANIFEST is
# given, since a FROZEN_MANIFEST replaces it.
OWN = {
    "rp2": [("include", "$(BOARD_DIR)/manifest.py")],  # Pico W: bundle-networking, aioble
    "stm32": [("include", "$(PORT_DIR)/boards/PYBD_SF2/manifest.py")],  # Pyboard D: lcd160cr, bundle-networking
    "esp32": [("include", "$(PORT_DIR)/boards/manifest.py")],  # ESP32_GENERIC
    "unix": [("include", "$(PORT_DIR)/variants/manifest.py"), ("include", "$(MPY_DIR)/extmod/asyncio")],
    "qemu": [("include", "$(MPY_DIR)/extmod/asyncio"),
             ("package", "asyncio", ("task.py",), "$(MPY_DIR)/extmod")],  # no _asyncio there
}


@pytest.mark.parametrize("port", sorted(OWN))
def test_board_manifest_includes_the_boards_own_and_the_package(port):
    calls = record(PORTS / port / "manifest.py")
    links = LINKS[port]
    assert calls == OWN[port] + [MODULE_MANIFEST + (({"links": links},) if links else ())], calls


BASE = ("__init__.py", "compat.py", "options.py", "msgqueue.py",
        "links/__init__.py", "links/socket.py")


@pytest.mark.parametrize("env,links,extra", [
    (None, "wlan", ("properties.py", "links/wlan.py")),  # Pico W, Pyboard D: default
    (None, "wlan lan", ("properties.py", "links/wlan.py", "links/lan.py")),  # ESP32: default
    (None, None, ("properties.py",)),  # unix, qemu: default
    ("wlan", "wlan", ("links/wlan.py",)),  # minimal
    ("default tls", "wlan", ("properties.py", "links/tls.py", "links/astream.py", "links/wlan.py")),
    ("socket radio-gateway failover", None,
     ("links/failover.py", "links/radio.py", "links/radio_drivers.py", "links/udp_radio.py")),
])
def test_package_manifest_freezes_the_modules_of_the_knobs(env, links, extra):
    kw = {"links": links} if links else {}
    calls = record(MODULE / "manifest.py", {"MQTTAS_FEATURES": env} if env else None, **kw)
    assert len(calls) == 1 and calls[0][:2] == ("package", "mqtt_as") and calls[0][3] == str(MODULE), calls
    assert sorted(calls[0][2]) == sorted(BASE + extra)
    # Every module it names exists, and every module of the package is some knob's.
    assert all((MODULE / "mqtt_as" / f).is_file() for f in calls[0][2])


def test_every_module_of_the_package_belongs_to_a_knob():
    every = record(MODULE / "manifest.py", {"MQTTAS_FEATURES": " ".join(features().KNOBS)})[0][2]
    on_disk = sorted(str(p.relative_to(MODULE / "mqtt_as")) for p in (MODULE / "mqtt_as").rglob("*.py"))
    assert sorted(every) == on_disk


def test_package_manifest_refuses_an_unknown_knob():
    with pytest.raises(ValueError, match="unknown knob 'wifi'"):
        record(MODULE / "manifest.py", {"MQTTAS_FEATURES": "v5 wifi"})


def features():
    spec = importlib.util.spec_from_file_location("mqttas_features", MODULE / "features.py")
    m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m)
    return m


# With MQTTAS_MICROPYTHON_SRC naming a MicroPython checkout (micropython-lib
# in lib/), MicroPython's own manifest tool lists what each manifest
# freezes: ours must freeze everything the board's default manifest does,
# plus mqtt_as and nothing else.
CASES = [  # port, board or variant directory, the file naming its default manifest
    ("rp2", "boards/RPI_PICO_W", "mpconfigboard.cmake"),
    ("rp2", "boards/RPI_PICO2_W", "mpconfigboard.cmake"),
    ("stm32", "boards/PYBD_SF6", "mpconfigboard.mk"),
    ("esp32", "boards/ESP32_GENERIC", "mpconfigboard.cmake"),
    ("unix", "variants/standard", "mpconfigvariant.mk"),
]


def default_manifest(src, port, board, config):
    """The manifest a board builds with when no FROZEN_MANIFEST is given,
    read from its configuration as the port's build does."""
    pdir, bdir = src / "ports" / port, src / "ports" / port / board
    text = (bdir / config).read_text() if (bdir / config).exists() else ""
    m = (re.search(r"^\s*set\(MICROPY_FROZEN_MANIFEST\s+(\S+)\)", text, re.M)
         or re.search(r"^\s*FROZEN_MANIFEST\s*\??=\s*(\S+)", text, re.M))
    if not m:
        return pdir / "boards" / "manifest.py"
    p = m.group(1)
    for var in ("${MICROPY_BOARD_DIR}", "$(BOARD_DIR)", "$(VARIANT_DIR)"):
        p = p.replace(var, str(bdir))
    return pdir / p


def frozen(src, port, board, manifest):
    """The target paths MicroPython's manifest tool freezes for a manifest."""
    tools_dir = str(src / "tools")
    if tools_dir not in sys.path:
        sys.path.insert(0, tools_dir)
    manifestfile = importlib.import_module("manifestfile")
    m = manifestfile.ManifestFile(manifestfile.MODE_FREEZE, {
        "MPY_DIR": str(src), "MPY_LIB_DIR": str(src / "lib" / "micropython-lib"),
        "PORT_DIR": str(src / "ports" / port), "BOARD_DIR": str(src / "ports" / port / board)})
    m.execute(str(manifest))
    return {f.target_path for f in m.files()}


@pytest.mark.skipif(not os.environ.get("MQTTAS_MICROPYTHON_SRC"),
                    reason="MQTTAS_MICROPYTHON_SRC: a MicroPython checkout with lib/micropython-lib")
@pytest.mark.parametrize("port,board,config", CASES, ids=["%s-%s" % (c[0], c[1].split("/")[1]) for c in CASES])
def test_board_manifest_freezes_what_the_board_does(port, board, config):
    src = pathlib.Path(os.environ["MQTTAS_MICROPYTHON_SRC"])
    own = frozen(src, port, board, default_manifest(src, port, board, config))
    ours = frozen(src, port, board, PORTS / port / "manifest.py")
    assert own - ours == set(), "the board's frozen modules lost: %s" % sorted(own - ours)
    added = ours - own
    assert "mqtt_as/__init__.py" in added and all(p.startswith("mqtt_as/") for p in added), sorted(added)
    assert "asyncio/core.py" in ours


@pytest.mark.skipif(not os.environ.get("MQTTAS_MICROPYTHON_SRC"),
                    reason="MQTTAS_MICROPYTHON_SRC: a MicroPython checkout with lib/micropython-lib")
def test_qemu_manifest_freezes_all_of_asyncio():
    src = pathlib.Path(os.environ["MQTTAS_MICROPYTHON_SRC"])
    ours = frozen(src, "qemu", "boards/MPS2_AN500", PORTS / "qemu" / "manifest.py")
    own = frozen(src, "qemu", "boards/MPS2_AN500", src / "extmod" / "asyncio" / "manifest.py")
    # asyncio as other ports freeze it, and task.py, which _asyncio replaces there.
    assert ours - own == {"asyncio/task.py"} | {p for p in ours if p.startswith("mqtt_as/")}, sorted(ours - own)
    assert own <= ours and "mqtt_as/__init__.py" in ours
