"""The firmware's feature knobs: one place that says what each one builds.

A firmware with mqttas carries only the features it is built with, chosen by
one variable on the port's make line (or in the environment):

    make ... MQTTAS_FEATURES="v5 qos2 wlan tls"

A list of knobs (spaces or commas between them); the word `default` stands
for the board's default set: v5 and qos2, and the link its board manifest
names (ports/*/manifest.py: wlan on the Pico W and Pyboard D, wlan and lan
on ESP32, none on unix and qemu, where the host socket link serves). Unset,
MQTTAS_FEATURES is `default`. The knobs:

    v5             MQTT 5.0 (cargo feature v5; the C module's property
                   conversions; mqtt_as/properties.py)
    qos2           QoS 2 (cargo feature qos2)
    tls            TLS over any link (mqtt_as/links/tls.py)
    wlan           the Wi-Fi link (links/wlan.py)
    lan            the Ethernet link (links/lan.py)
    failover       several links in turn (links/failover.py)
    radio          packet radio, node side (cargo feature radio; the C
                   module's Radio type; links/radio.py, radio_drivers.py,
                   udp_radio.py)
    radio-gateway  the radio's gateway side too (cargo feature
                   radio-gateway; Radio(gateway=True)); implies radio
    socket         the host socket link: always there (the other links are
                   built on it), named for the unix and qemu sets

What reads it: micropython.mk and micropython.cmake (the cargo features,
the C module's -D flags, the library functions the module calls), the
package's manifest.py (the modules frozen), and tests/bench/footprint. Run
by the build's python3 (and imported by the manifest tool): CPython only.

    python3 features.py knobs|cargo|cflags|modules|symbols [--links L] SPEC
    python3 features.py cpython

prints the knobs SPEC resolves to, the cargo features, the C flags, the
package's files, or the mqttas_* functions _mqttas.c calls with them; or
the package's CPython-only files. An unknown knob is an error (exit status
2) naming the known ones.
"""

import os
import re
import sys

# In the order they are printed.
KNOBS = ("v5", "qos2", "tls", "wlan", "lan", "failover", "radio", "radio-gateway", "socket")

# Knobs that bring others.
IMPLIES = {"radio-gateway": ("radio",)}

# The protocol part of every board's default set; the board adds its links.
DEFAULT_PROTOCOL = ("v5", "qos2")

# Knobs that change the Rust library and the C module, with their cargo
# feature and C macro. The others choose Python modules only.
NATIVE = {
    "v5": ("v5", "MQTTAS_WITH_V5"),
    "qos2": ("qos2", "MQTTAS_WITH_QOS2"),
    "radio": ("radio", "MQTTAS_WITH_RADIO"),
    "radio-gateway": ("radio-gateway", "MQTTAS_WITH_RADIO_GATEWAY"),
}

# The package's files (relative to mqtt_as/): always, then per knob.
BASE_MODULES = (
    "__init__.py", "compat.py", "options.py", "msgqueue.py",
    "links/__init__.py", "links/socket.py",
)
MODULES = {
    "v5": ("properties.py",),
    "tls": ("links/tls.py",),
    "wlan": ("links/wlan.py",),
    "lan": ("links/lan.py",),
    "failover": ("links/failover.py",),
    "radio": ("links/radio.py", "links/radio_drivers.py", "links/udp_radio.py"),
}

# The package's files that only CPython imports (compat.py, links/socket.py
# and links/tls.py take CPython's definitions from them): never frozen, and
# in no mip unit (package.json and the others install onto MicroPython).
CPYTHON_ONLY = ("cpython.py", "links/astream.py", "links/tls_cpython.py")

HERE = os.path.dirname(os.path.abspath(__file__))


class KnobError(ValueError):
    pass


def resolve(spec, links=""):
    """The knobs `spec` (a str of knob names, or None for `default`)
    selects, with `links` the board's default links; in KNOBS order."""
    words = re.split(r"[\s,]+", (spec if spec is not None and spec.strip() else "default").strip())
    chosen = set()
    for w in words:
        if w == "default":
            chosen.update(DEFAULT_PROTOCOL)
            chosen.update(x for x in re.split(r"[\s,]+", links or "") if x)
        elif w in KNOBS:
            chosen.add(w)
        else:
            raise KnobError("MQTTAS_FEATURES: unknown knob %r; the knobs are %s, and 'default' for the board's "
                            "default set (micropython-module/README.md)" % (w, ", ".join(KNOBS)))
    for k in list(chosen):
        chosen.update(IMPLIES.get(k, ()))
    bad = [x for x in chosen if x not in KNOBS]
    if bad:
        raise KnobError("default links: unknown knob %r (a board manifest's links=)" % bad[0])
    return [k for k in KNOBS if k in chosen]


def cargo(knobs):
    """The cargo features of the no_std C library (`std` is added for a
    hosted port)."""
    return ",".join(["ffi-min"] + [NATIVE[k][0] for k in knobs if k in NATIVE])


def cflags(knobs):
    """-D flags for _mqttas.c: every native knob, 1 or 0."""
    return " ".join("-D%s=%d" % (m, k in knobs) for k, (_, m) in NATIVE.items())


def modules(knobs):
    """The package's files (relative to mqtt_as/) the knobs freeze."""
    out = list(BASE_MODULES)
    for k in knobs:
        out.extend(MODULES.get(k, ()))
    return out


_DIRECTIVE = re.compile(r"^\s*#\s*(if|ifdef|ifndef|elif|else|endif)\b(.*)$")


def _condition(kind, expr, macros):
    """True, False, or None (not ours: both branches count)."""
    expr = expr.split("//")[0].split("/*")[0].strip()
    if kind in ("ifdef", "ifndef"):
        if expr not in macros:
            return None
        return kind == "ifdef"
    names = re.findall(r"[A-Za-z_]\w*", expr)
    if not names or any(n not in macros and n != "defined" for n in names):
        return None
    py = re.sub(r"defined\s*\(?\s*(\w+)\s*\)?", lambda m: "1", expr)
    py = re.sub(r"[A-Za-z_]\w*", lambda m: str(macros[m.group(0)]), py)
    py = py.replace("&&", " and ").replace("||", " or ").replace("!", " not ")
    try:
        return bool(eval(py, {"__builtins__": {}}))  # Digits, not, and, or, parentheses.
    except SyntaxError:
        return None


def symbols(knobs, path=os.path.join(HERE, "_mqttas.c")):
    """The mqttas_* functions _mqttas.c calls when compiled with these
    knobs: its #if blocks on MQTTAS_WITH_* resolved (others kept whole).
    A bare-metal port names them to the linker (-u), which then takes them
    and what they need from the library wherever it stands on the line."""
    macros = {m: int(k in knobs) for k, (_, m) in NATIVE.items()}
    stack = []  # Per open #if: [live now, a branch was taken, ours].
    found = set()
    text = open(path).read()
    # Comments go (a call named in one is no call), their lines stay.
    text = re.sub(r"/\*.*?\*/", lambda m: "\n" * m.group(0).count("\n"), text, flags=re.S)
    for line in text.splitlines():
        d = _DIRECTIVE.match(line)
        if d:
            kind, rest = d.group(1), d.group(2)
            if kind in ("if", "ifdef", "ifndef"):
                c = _condition(kind, rest, macros)
                stack.append([c is not False, c is True, c is not None])
            elif kind in ("elif", "else") and stack and stack[-1][2]:
                top = stack[-1]
                c = True if kind == "else" else _condition("if", rest, macros)
                top[0] = not top[1] and c is not False
                top[1] = top[1] or c is True
            elif kind == "endif" and stack:
                stack.pop()
            continue
        if all(s[0] for s in stack):
            found.update(re.findall(r"\b(mqttas_[a-z0-9_]+)\s*\(", line.split("//")[0]))
    return sorted(found)


def main(argv):
    args = list(argv[1:])
    links = ""
    if "--links" in args:
        i = args.index("--links")
        links = args[i + 1]
        del args[i:i + 2]
    if args == ["cpython"]:
        print(" ".join(CPYTHON_ONLY))
        return 0
    if not args or args[0] not in ("knobs", "cargo", "cflags", "modules", "symbols") or len(args) > 2:
        sys.stderr.write("usage: features.py knobs|cargo|cflags|modules|symbols [--links L] SPEC | cpython\n")
        return 2
    try:
        knobs = resolve(args[1] if len(args) > 1 else None, links)
    except KnobError as e:
        sys.stderr.write("error: %s\n" % e)
        return 2
    out = {
        "knobs": lambda: " ".join(knobs),
        "cargo": lambda: cargo(knobs),
        "cflags": lambda: cflags(knobs),
        "modules": lambda: " ".join(modules(knobs)),
        "symbols": lambda: " ".join(symbols(knobs)),
    }[args[0]]()
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
