/*
 * _mqttas: the mqttas C API (include/mqttas.h) as a MicroPython type.
 *
 * A thin layer: it parses mqtt_as's config dict into the C API's
 * configuration (every key checked, a ValueError naming it), converts
 * MicroPython objects to the C API's values and back, hands the core's
 * events to mqtt_as's callbacks and waiting commands (pump), and owns the
 * client's buffers on the GC heap. No I/O and no protocol logic here; the
 * asyncio side is the frozen `mqtt_as` package. The same interface exists
 * for CPython as micropython-module/cpython/_mqttas.py (ctypes), whose
 * docstring documents it in full:
 *
 *   Client(config, sizes)    config: mqtt_as's dict; sizes: buffer defaults
 *                            (rx, rx 5.0, tx, store, qos2 ids, out aliases)
 *   .server .port .ssl .ssl_params .mqttv5 ... .policy .cb .connack .disc
 *   .dispatched (the last pump() took an event: a waiting task may go on)
 *   .connect(now)
 *   .publish(now, topic, payload, qos=0, retain=False, properties=None) -> None | [None, pid]
 *   .subscribe(now, [(filter, qos[, no_local, rap, retain_handling]), ...], properties=None) -> [None, pid]
 *   .unsubscribe(now, [filter, ...], properties=None) -> [None, pid]
 *   .pump() -> None | the loss's text   .take_cause() -> CAUSE_*   .settings() -> dict
 *   .ping(now)  .disconnect(now, reason=0, properties=None)  .auth(now, reason, properties=None)
 *   .handle_input(now, data) -> taken   .handle_timeout(now)   .handle_link_down(now, why=None)
 *   .poll_transmit(now) -> bytes | (head, payload) | None   .poll_event() -> tuple | None
 *   .poll_deadline() -> int | None   .state()   .pending()   .assigned_client_id()
 *   .qos2_stats() -> (peak_unreleased, beyond_receive_maximum, untracked, withheld)
 *   .stats() -> {"republished": n}
 *   Reconnect(hold_down_ms, tcp_attempts_before_bounce, backoff_base_ms,
 *             backoff_cap_ms, jitter_percent, attempt_timeout_ms, stable_ms, seed=0)
 *   .handle_lost(now, cause=CAUSE_OUTAGE) .handle_attempt_failed(now, cause=CAUSE_OUTAGE)
 *   .handle_connected(now) .poll_action(now) -> (ACTION_*, until) | None   .poll_deadline()
 *   .stats()
 *   Radio(node, gateway=False, mtu=32, window=4, rto_ms=400, max_retries=10,
 *         keepalive_ms=3000, epoch=1, tx_size=1024, rx_size=1024)
 *   .open(now) .close(now) .set_epoch(e) .is_up() .write(now, data) -> taken
 *   .read(n) -> bytes   .handle_frame(now, frame)   .poll_frame(now) -> bytes | None
 *   .handle_timeout(now)   .poll_deadline() -> int | None
 *   .poll_event() -> None | ("up",) | ("down", reason)   .stats() -> dict
 *   .writable() .readable()   radio_frame_node(frame) -> (node, downlink) | None
 *
 * Errors: ValueError for bad input (mqttas_result_is_bad_input), OSError(code,
 * text) for refusals of the session (not connected, store full, ...), with
 * mqttas_strerror's text.
 */

#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include "py/obj.h"
#include "py/objint.h"
#include "py/objstr.h"
#include "py/objtuple.h"
#include "py/runtime.h"

#include "mqttas.h"

#if MICROPY_ROM_TEXT_COMPRESSION && !defined(NO_QSTR)
// MP_MAX_UNCOMPRESSED_TEXT_LEN, as py/objexcept.c takes it.
#define MP_MATCH_COMPRESSED(...)
#define MP_COMPRESSED_DATA(...)
#include "genhdr/compressed.data.h"
#undef MP_MATCH_COMPRESSED
#undef MP_COMPRESSED_DATA
#endif

// The features built in: micropython.mk / micropython.cmake give
// -DMQTTAS_WITH_*=0|1 from the knobs (MQTTAS_FEATURES, see features.py
// here) and build the library with the same ones; without them, all, as
// the library's `ffi` feature has. `FEATURES` lists them for mqtt_as.
#ifndef MQTTAS_WITH_V5
#define MQTTAS_WITH_V5 (1)
#endif
#ifndef MQTTAS_WITH_QOS2
#define MQTTAS_WITH_QOS2 (1)
#endif
#ifndef MQTTAS_WITH_RADIO
#define MQTTAS_WITH_RADIO (1)
#endif
#ifndef MQTTAS_WITH_RADIO_GATEWAY
#define MQTTAS_WITH_RADIO_GATEWAY (1)
#endif

typedef struct _client_obj_t {
    mp_obj_base_t base;
    // The client state, aligned inside `storage`, a GC block referenced
    // here so that the collector keeps it while the client lives.
    mqttas_client *client;
    uint8_t *storage;
    // What mqttas_client_init was given (init again after the trial
    // CONNECT). The buffers are GC blocks that `bufs` keeps alive.
    mqttas_config config;
    mqttas_buffers bufs;
    // What connect(now) sends: the config's client id, credentials (None
    // when empty), will (topic, msg, retain, qos) and CONNECT properties.
    mp_obj_t client_id;
    mp_obj_t user;
    mp_obj_t password;
    mp_obj_t will;
    mp_obj_t con_props;
    // Settings the Python layer reads (attributes of the same names).
    mp_obj_t server;
    mp_obj_t ssl_params;
    mp_obj_t dns_server;
    mp_obj_t link;
    mp_obj_t lan;
    mp_obj_t ssid;
    mp_obj_t wifi_pw;
    mp_obj_t wifi_coro;
    mp_obj_t connect_coro;
    mp_obj_t policy;  // the Reconnect made from the outage keys
    // Event dispatch (pump): the message callback (subs_cb, or what `cb`
    // is set to) and chunk_cb; QoS 1/2 publications and subscribe or
    // unsubscribe requests awaiting their acknowledgement, pid -> slot.
    mp_obj_t cb;
    mp_obj_t chunk_cb;
    mp_obj_t pubs;
    mp_obj_t reqs;
    // Payloads lent to the core (mqttas_publish_borrowed), referenced here
    // so that the collector keeps them while the core needs them: QoS 1/2
    // by packet id until their PUBLISHED event, the last QoS 0 one until
    // the next QoS 0 publication, the connection's loss or connect().
    mp_obj_t lent;
    mp_obj_t lent0;
    // None while a CONNECT awaits its CONNACK, True once accepted, else
    // why the attempt ended (the LOST text).
    mp_obj_t connack;
    // The Python layer's words for a link going down (handle_link_down).
    mp_obj_t down_why;
    // A message arriving in pieces: [topic, total, retained, props,
    // offset], and its bytes when assembled here (no chunk_cb).
    mp_obj_t chunk;
    vstr_t assembled;
    uint32_t beyond;  // QoS 2 messages beyond our Receive Maximum, reported so far
    uint16_t port;
    uint16_t queue_len;
    uint16_t alias_max;  // the broker's Topic Alias Maximum (CONNACK)
    uint8_t cause;  // the outage policy's cause of the last loss, until taken
    bool ssl;
    bool disc;  // DISCONNECT handed out (after disconnect())
    bool dispatched;  // the last pump() took an event
} client_obj_t;

typedef struct _reconnect_obj_t {
    mp_obj_base_t base;
    // The machine, aligned inside `storage` (a GC block kept alive here).
    mqttas_reconnect *r;
    uint8_t *storage;
    // What it was made with (Client.settings()).
    mqttas_reconnect_policy policy;
    uint32_t seed;
} reconnect_obj_t;

extern const mp_obj_type_t type_reconnect;

// ---- fields -----------------------------------------------------------------
//
// The tables below (config keys, attributes, settings, Reconnect's and
// Radio's arguments) name a field of a client (CF), of its outage policy
// (RF) or of a radio's configuration (RADIO_F) in 16 bits: the offset, the
// field's size (1, 2, 4 or 8 bytes), whether it holds an object or a bool,
// and which of two bases it is in. One loop over a table then does what a
// line of code per field did.
#define F_OFFSET (0x7FF)
#define F_OBJ (0x800)  // an mp_obj_t
#define F_BOOL (0x4000)  // read as True or False
#define F_POLICY (0x8000)  // in the reconnect_obj_t, else the client_obj_t
#define F_SIZE(t, f) (sizeof(((t *)0)->f) == 1 ? 0 : sizeof(((t *)0)->f) == 2 ? 1 : sizeof(((t *)0)->f) == 4 ? 2 : 3)
#define CF(f) ((uint16_t)(offsetof(client_obj_t, f) | F_SIZE(client_obj_t, f) << 12))
#define RF(f) ((uint16_t)(offsetof(reconnect_obj_t, f) | F_SIZE(reconnect_obj_t, f) << 12 | F_POLICY))
MP_STATIC_ASSERT(sizeof(client_obj_t) <= F_OFFSET && sizeof(reconnect_obj_t) <= F_OFFSET);

static void *field(void *const *bases, uint16_t at) {
    return (char *)bases[at >> 15] + (at & F_OFFSET);
}

static uint32_t field_get(void *const *bases, uint16_t at) {
    void *p = field(bases, at);
    switch ((at >> 12) & 3) {
        case 0: return *(uint8_t *)p;
        case 1: return *(uint16_t *)p;
        case 2: return *(uint32_t *)p;
        default: return (uint32_t)*(uint64_t *)p;
    }
}

static void field_set(void *const *bases, uint16_t at, uint32_t v) {
    void *p = field(bases, at);
    switch ((at >> 12) & 3) {
        case 0: *(uint8_t *)p = (uint8_t)v; break;
        case 1: *(uint16_t *)p = (uint16_t)v; break;
        case 2: *(uint32_t *)p = v; break;
        default: *(uint64_t *)p = v; break;
    }
}

// The field as an object: itself (F_OBJ), True or False (F_BOOL), an int.
static mp_obj_t field_obj(void *const *bases, uint16_t at) {
    if (at & F_OBJ) {
        return *(mp_obj_t *)field(bases, at);
    }
    uint32_t v = field_get(bases, at);
    return at & F_BOOL ? mp_obj_new_bool(v) : mp_obj_new_int_from_uint(v);
}

// The largest value a field of `at`'s size holds (8 bytes: 32 bits here).
static uint32_t field_max(uint16_t at) {
    unsigned size = (at >> 12) & 3;
    return size >= 2 ? 0xFFFFFFFF : (1u << (8 << size)) - 1;
}

// ---- errors ---------------------------------------------------------------

static MP_NOINLINE void check(mqttas_result r) {
    if (r == MQTTAS_OK) {
        return;
    }
    const char *text = mqttas_strerror(r);
    if (mqttas_result_is_bad_input(r)) {
        mp_raise_msg_varg(&mp_type_ValueError, MP_ERROR_TEXT("%s"), text);
    }
    mp_obj_t args[2] = {
        MP_OBJ_NEW_SMALL_INT(r),
        mp_obj_new_str(text, strlen(text)),
    };
    nlr_raise(mp_obj_new_exception_args(&mp_type_OSError, 2, args));
}

// Texts are MP_ERROR_TEXT, compressed where the port compresses them:
// mp_vprintf to `p` with a format so given.
static void print_text(const mp_print_t *p, mp_rom_error_text_t fmt, va_list args) {
    #if MICROPY_ROM_TEXT_COMPRESSION && !defined(NO_QSTR)
    byte plain[MP_MAX_UNCOMPRESSED_TEXT_LEN + 1];
    if (MP_IS_COMPRESSED_ROM_STRING(fmt)) {
        mp_decompress_rom_string(plain, fmt);
        fmt = (mp_rom_error_text_t)plain;
    }
    #endif
    mp_vprintf(p, (const char *)fmt, args);
}

static void printf_text(const mp_print_t *p, mp_rom_error_text_t fmt, ...) {
    va_list args;
    va_start(args, fmt);
    print_text(p, fmt, args);
    va_end(args);
}

// ---- arguments ------------------------------------------------------------

// An integer in 0..max, or ValueError naming the argument.
static uint32_t get_u32(mp_obj_t o, uint32_t max, qstr name) {
    mp_uint_t v = 0;
    bool ok = false;
    if (mp_obj_is_small_int(o)) {
        mp_int_t i = MP_OBJ_SMALL_INT_VALUE(o);
        ok = i >= 0;
        v = (mp_uint_t)i;
    } else if (mp_obj_is_int(o)) {
        ok = mp_obj_int_sign(o) >= 0;
        if (ok) {
            v = mp_obj_int_get_uint_checked(o);  // OverflowError beyond mp_uint_t
        }
    }
    if (!ok || v > max) {
        mp_raise_msg_varg(&mp_type_ValueError, MP_ERROR_TEXT("%q must be an integer in 0..%u"), name, (unsigned)max);
    }
    return (uint32_t)v;
}

// Milliseconds from a clock that wraps at 2**32: big ints are truncated.
static uint32_t get_now(mp_obj_t o) {
    return (uint32_t)mp_obj_get_int_truncated(o);
}

static mp_buffer_info_t get_bytes(mp_obj_t o) {
    mp_buffer_info_t b;
    mp_get_buffer_raise(o, &b, MP_BUFFER_READ);
    return b;
}

// A str or bytes-like argument, or TypeError naming it.
static mp_buffer_info_t get_text(mp_obj_t o, qstr name) {
    mp_buffer_info_t b;
    if (!mp_get_buffer(o, &b, MP_BUFFER_READ)) {
        mp_raise_msg_varg(&mp_type_TypeError, MP_ERROR_TEXT("%q must be str or bytes"), name);
    }
    return b;
}

// Properties given as a dict keyed by identifier; user properties (0x26)
// as a dict or a list of pairs. The array borrows from the objects.
typedef struct {
    mqttas_property items[MQTTAS_MAX_PROPERTIES];
    size_t len;
} props_t;

#if MQTTAS_WITH_V5
static mqttas_property *props_add(props_t *p) {
    if (p->len >= MQTTAS_MAX_PROPERTIES) {
        mp_raise_msg_varg(&mp_type_ValueError, MP_ERROR_TEXT("too many properties (at most %d)"), MQTTAS_MAX_PROPERTIES);
    }
    mqttas_property *q = &p->items[p->len++];
    memset(q, 0, sizeof(*q));
    return q;
}

static void props_pair(props_t *p, mp_obj_t name, mp_obj_t value) {
    mqttas_property *q = props_add(p);
    mp_buffer_info_t k = get_bytes(name);
    mp_buffer_info_t v = get_bytes(value);
    q->id = MQTTAS_PROP_USER_PROPERTY;
    q->data = k.buf;
    q->data_len = k.len;
    q->data2 = v.buf;
    q->data2_len = v.len;
}

#endif

static void props_from(props_t *p, mp_obj_t obj) {
    p->len = 0;
    if (obj == mp_const_none) {
        return;
    }
    #if !MQTTAS_WITH_V5
    mp_raise_ValueError(MP_ERROR_TEXT("properties need MQTT 5.0, which this firmware is built without (knob v5)"));
    #else
    if (!mp_obj_is_type(obj, &mp_type_dict)) {
        mp_raise_TypeError(MP_ERROR_TEXT("properties must be a dict keyed by property identifier"));
    }
    mp_map_t *map = mp_obj_dict_get_map(obj);
    for (size_t i = 0; i < map->alloc; i++) {
        if (!mp_map_slot_is_filled(map, i)) {
            continue;
        }
        mp_obj_t key = map->table[i].key;
        mp_obj_t value = map->table[i].value;
        uint8_t id = (uint8_t)get_u32(key, 255, MP_QSTR_properties);
        if (id == MQTTAS_PROP_USER_PROPERTY && mp_obj_is_type(value, &mp_type_dict)) {
            mp_map_t *pairs = mp_obj_dict_get_map(value);
            for (size_t j = 0; j < pairs->alloc; j++) {
                if (mp_map_slot_is_filled(pairs, j)) {
                    props_pair(p, pairs->table[j].key, pairs->table[j].value);
                }
            }
        } else if (id == MQTTAS_PROP_USER_PROPERTY
                   && (mp_obj_is_type(value, &mp_type_list) || mp_obj_is_type(value, &mp_type_tuple))) {
            size_t n;
            mp_obj_t *items;
            mp_obj_get_array(value, &n, &items);
            for (size_t j = 0; j < n; j++) {
                mp_obj_t *pair;
                mp_obj_get_array_fixed_n(items[j], 2, &pair);
                props_pair(p, pair[0], pair[1]);
            }
        } else if (mp_obj_is_int(value) || mp_obj_is_bool(value)) {
            mqttas_property *q = props_add(p);
            q->id = id;
            q->value = mp_obj_is_bool(value) ? (uint32_t)mp_obj_is_true(value)
                                             : get_u32(value, 0xFFFFFFFF, MP_QSTR_properties);
        } else {
            mqttas_property *q = props_add(p);
            mp_buffer_info_t b = get_bytes(value);
            q->id = id;
            q->data = b.buf;
            q->data_len = b.len;
        }
    }
    #endif
}

// Raw 5.0 property bytes of an event to a dict, None when there are none.
static mp_obj_t props_to(const uint8_t *raw, size_t len) {
    #if !MQTTAS_WITH_V5
    (void)raw;
    (void)len;
    return mp_const_none;
    #else
    if (len == 0) {
        return mp_const_none;
    }
    mp_obj_t d = mp_obj_new_dict(0);
    mp_obj_t users = MP_OBJ_NULL;
    size_t cursor = 0;
    mqttas_property p;
    while (mqttas_property_next(raw, len, &cursor, &p) == MQTTAS_OK && p.id != 0) {
        mp_obj_t key = MP_OBJ_NEW_SMALL_INT(p.id);
        switch (p.kind) {
            case MQTTAS_PROPERTY_KIND_STRING_PAIR:
                if (users == MP_OBJ_NULL) {
                    users = mp_obj_new_dict(0);
                    mp_obj_dict_store(d, key, users);
                }
                mp_obj_dict_store(users, mp_obj_new_str((const char *)p.data, p.data_len),
                    mp_obj_new_str((const char *)p.data2, p.data2_len));
                break;
            case MQTTAS_PROPERTY_KIND_STRING:
                mp_obj_dict_store(d, key, mp_obj_new_str((const char *)p.data, p.data_len));
                break;
            case MQTTAS_PROPERTY_KIND_BINARY:
                mp_obj_dict_store(d, key, mp_obj_new_bytes(p.data, p.data_len));
                break;
            default:
                mp_obj_dict_store(d, key, mp_obj_new_int_from_uint(p.value));
                break;
        }
    }
    return d;
    #endif
}

static uint8_t get_qos(mp_obj_t o) {
    mp_int_t q = mp_obj_get_int(o);
    if (q < 0 || q > 2) {
        mp_raise_ValueError(MP_ERROR_TEXT("qos must be 0, 1 or 2"));
    }
    return (uint8_t)q;
}

// ---- the type ---------------------------------------------------------------

static client_obj_t *get_client(mp_obj_t self_in) {
    return MP_OBJ_TO_PTR(self_in);
}

// Storage for a client, radio or outage policy: `size` bytes aligned to
// `align` (their mqttas_*_size() and _align()) inside a new GC block,
// which `*block` keeps alive. The collector scans the block conservatively
// for the object's life: mqttas_*_init zeroes the storage and writes its
// value in place, so no stale pointer from the stack lands there.
static void *new_storage(size_t size, size_t align, uint8_t **block) {
    *block = m_new(uint8_t, size + align);
    return (void *)(((uintptr_t)*block + align - 1) & ~(uintptr_t)(align - 1));
}

// ---- the config dict ---------------------------------------------------------
//
// Client(config, sizes) takes mqtt_as's config dict: every key checked, a
// mistake a ValueError naming it (TypeError for a config that is not a
// dict). Keys left out take mqtt_as's defaults. Converting the values is
// all that happens here; what they mean to MQTT the core checks (a trial
// CONNECT when the client is made).

// How each key's value is checked and stored: K_KEY ones are checked by
// code of their own after the loop.
enum { K_KEY, K_BOOL, K_INT, K_SEC, K_TEXT, K_CALL, K_DICT, K_ANY };
#define NONE_OK (0x80)  // None is as if the key were left out

// Ranges of K_INT (lo..hi) and K_SEC (0..hi seconds, not 0 when lo is 1).
enum { R_U16, R_U8, R_INFLIGHT, R_PACKET, R_PERCENT, R_BUF, R_STORE, R_PING, R_RESPONSE, R_HOUR, R_DAY };
static const struct {
    uint32_t lo, hi;
} cfg_ranges[] = {
    { 0, 0xFFFF }, { 0, 255 }, { 1, 0xFFFF }, { 0, 268435460 }, { 0, 100 }, { 64, 1 << 30 }, { 0, 1 << 30 },
    { 0, 1000000 }, { 1, 1000000 }, { 0, 3600 }, { 0, 86400 },
};

// The keys a config may hold (mqtt_as 0.8.3's and the extensions), in the
// order the "known keys" of an unknown one lists them: where each value
// goes and how it is checked. Left out, a value keeps the default set
// before the loop (objects: None).
static const struct {
    uint16_t key;
    uint16_t at;
    uint8_t kind;
    uint8_t range;
} cfg_keys[] = {
    { MP_QSTR_client_id, CF(client_id), K_TEXT, 0 },
    { MP_QSTR_server, CF(server), K_TEXT | NONE_OK, 0 },
    { MP_QSTR_port, CF(port), K_INT, R_U16 },
    { MP_QSTR_user, CF(user), K_TEXT | NONE_OK, 0 },
    { MP_QSTR_password, CF(password), K_TEXT | NONE_OK, 0 },
    { MP_QSTR_keepalive, CF(config.keep_alive), K_INT, R_U16 },
    { MP_QSTR_ping_interval, CF(config.ping_interval_ms), K_SEC, R_PING },
    { MP_QSTR_ssl, CF(ssl), K_BOOL, 0 },
    { MP_QSTR_ssl_params, CF(ssl_params), K_DICT, 0 },
    { MP_QSTR_response_time, CF(config.response_time_ms), K_SEC, R_RESPONSE },
    { MP_QSTR_clean_init, CF(config.clean_init), K_BOOL, 0 },
    { MP_QSTR_clean, CF(config.clean), K_BOOL, 0 },
    { MP_QSTR_max_repubs, CF(config.max_repubs), K_INT, R_U8 },
    { MP_QSTR_will, 0, K_KEY, 0 },
    { MP_QSTR_subs_cb, CF(cb), K_CALL, 0 },
    { MP_QSTR_wifi_coro, CF(wifi_coro), K_CALL, 0 },
    { MP_QSTR_connect_coro, CF(connect_coro), K_CALL, 0 },
    { MP_QSTR_ssid, CF(ssid), K_TEXT | NONE_OK, 0 },
    { MP_QSTR_wifi_pw, CF(wifi_pw), K_TEXT | NONE_OK, 0 },
    { MP_QSTR_queue_len, CF(queue_len), K_INT, R_U16 },
    { MP_QSTR_gateway, 0, K_KEY, 0 },
    { MP_QSTR_mqttv5, CF(config.version), K_BOOL, 0 },  // 0 or 1 here, the version after the loop
    { MP_QSTR_mqttv5_con_props, CF(con_props), K_ANY, 0 },
    { MP_QSTR_chunk_cb, CF(chunk_cb), K_CALL | NONE_OK, 0 },
    { MP_QSTR_rx_size, CF(bufs.rx_len), K_INT | NONE_OK, R_BUF },
    { MP_QSTR_tx_size, CF(bufs.tx_len), K_INT | NONE_OK, R_BUF },
    { MP_QSTR_store_size, CF(bufs.store_len), K_INT | NONE_OK, R_STORE },
    { MP_QSTR_max_inflight, CF(config.max_inflight), K_INT, R_INFLIGHT },
    { MP_QSTR_max_packet_size, CF(config.maximum_packet_size), K_INT, R_PACKET },
    { MP_QSTR_hold_down, RF(policy.hold_down_ms), K_SEC, R_HOUR },
    { MP_QSTR_tcp_attempts, RF(policy.tcp_attempts_before_bounce), K_INT, R_U16 },
    { MP_QSTR_backoff_base, RF(policy.backoff_base_ms), K_SEC, R_HOUR },
    { MP_QSTR_backoff_cap, RF(policy.backoff_cap_ms), K_SEC, R_HOUR },
    { MP_QSTR_jitter, RF(policy.jitter_percent), K_INT, R_PERCENT },
    { MP_QSTR_attempt_timeout, RF(policy.attempt_timeout_ms), K_SEC, R_HOUR },
    { MP_QSTR_stable_time, RF(policy.stable_ms), K_SEC | NONE_OK, R_DAY },
    { MP_QSTR_reconnect_seed, 0, K_KEY, 0 },
    { MP_QSTR_dns_server, 0, K_KEY, 0 },
    { MP_QSTR_link, CF(link), K_ANY, 0 },
    { MP_QSTR_lan, 0, K_KEY, 0 },
};

// ValueError "config['key'] <what>, got <value>" (value MP_OBJ_NULL: no "got").
static NORETURN void bad_key(mp_obj_t value, qstr key, mp_rom_error_text_t fmt, ...) {
    vstr_t v;
    mp_print_t p;
    vstr_init_print(&v, 80, &p);
    mp_printf(&p, "config['%q'] ", key);
    va_list args;
    va_start(args, fmt);
    print_text(&p, fmt, args);
    va_end(args);
    if (value != MP_OBJ_NULL) {
        mp_print_str(&p, ", got ");
        mp_obj_print_helper(&p, value, PRINT_REPR);
    }
    nlr_raise(mp_obj_new_exception_arg1(&mp_type_ValueError, mp_obj_new_str_from_vstr(&v)));
}

// The value of `key`, or MP_OBJ_NULL when left out.
static mp_obj_t cfg_get(mp_map_t *m, qstr key) {
    mp_map_elem_t *e = mp_map_lookup(m, MP_OBJ_NEW_QSTR(key), MP_MAP_LOOKUP);
    return e ? e->value : MP_OBJ_NULL;
}

// An int (not a bool) in lo..hi, whatever its size.
static bool int_in(mp_obj_t v, mp_uint_t lo, mp_uint_t hi) {
    return mp_obj_is_int(v)
           && mp_obj_is_true(mp_binary_op(MP_BINARY_OP_MORE_EQUAL, v, mp_obj_new_int_from_uint(lo)))
           && mp_obj_is_true(mp_binary_op(MP_BINARY_OP_LESS_EQUAL, v, mp_obj_new_int_from_uint(hi)));
}

static bool is_bool(mp_obj_t v) {
    return v == mp_const_true || v == mp_const_false || v == MP_OBJ_NEW_SMALL_INT(0) || v == MP_OBJ_NEW_SMALL_INT(1);
}

static bool is_text(mp_obj_t v) {
    return mp_obj_is_str(v) || mp_obj_is_type(v, &mp_type_bytes);
}

// Every key of the table into the fields of `bases` (client, policy).
static void cfg_parse(mp_map_t *m, void *const *bases) {
    for (size_t i = 0; i < MP_ARRAY_SIZE(cfg_keys); i++) {
        qstr key = cfg_keys[i].key;
        unsigned kind = cfg_keys[i].kind & ~NONE_OK;
        mp_obj_t v = cfg_get(m, key);
        bool left_out = v == MP_OBJ_NULL || (v == mp_const_none && (cfg_keys[i].kind & NONE_OK));
        if (kind == K_KEY) {
            continue;
        }
        if (kind >= K_TEXT) {
            if (left_out) {
                v = mp_const_none;
            } else if (kind == K_TEXT) {
                // str or bytes (a bytearray copied); at most 65535 bytes.
                // (The core checks UTF-8 in the trial CONNECT.)
                if (mp_obj_is_type(v, &mp_type_bytearray)) {
                    mp_buffer_info_t b = get_bytes(v);
                    v = mp_obj_new_bytes(b.buf, b.len);
                }
                if (!is_text(v)) {
                    bad_key(v, key, MP_ERROR_TEXT("must be %sstr or bytes"), cfg_keys[i].kind & NONE_OK ? "None, " : "");
                }
                if (get_bytes(v).len > 0xFFFF) {
                    bad_key(MP_OBJ_NULL, key, MP_ERROR_TEXT("is longer than 65535 bytes"));
                }
            } else if (kind == K_CALL && !mp_obj_is_callable(v)) {
                bad_key(v, key, MP_ERROR_TEXT("must be callable"));
            } else if (kind == K_DICT && !mp_obj_is_type(v, &mp_type_dict)) {
                bad_key(v, key, MP_ERROR_TEXT("must be a dict"));
            }
            *(mp_obj_t *)field(bases, cfg_keys[i].at) = v;
            continue;
        }
        if (left_out) {
            continue;
        }
        uint32_t lo = cfg_ranges[cfg_keys[i].range].lo;
        uint32_t hi = cfg_ranges[cfg_keys[i].range].hi;
        uint32_t x = 0;
        bool ok = true;
        if (kind == K_BOOL) {
            if (!is_bool(v)) {
                bad_key(v, key, MP_ERROR_TEXT("must be True or False"));
            }
            x = mp_obj_is_true(v);
        } else if (int_in(v, lo, hi)) {
            x = (uint32_t)mp_obj_get_int_truncated(v) * (kind == K_SEC ? 1000 : 1);
        } else {
            ok = false;
            #if MICROPY_PY_BUILTINS_FLOAT
            if (kind == K_SEC && mp_obj_is_float(v)) {
                mp_float_t f = mp_obj_get_float(v);
                ok = f >= 0 && f <= hi && (lo == 0 || f != 0);
                x = (uint32_t)(f * 1000);
            }
            #endif
        }
        if (!ok) {
            if (kind == K_INT) {
                bad_key(v, key, MP_ERROR_TEXT("must be an integer in %u..%u"), (unsigned)lo, (unsigned)hi);
            }
            bad_key(v, key, MP_ERROR_TEXT("must be a number of seconds in 0..%u%s"), (unsigned)hi, lo ? ", not 0" : "");
        }
        field_set(bases, cfg_keys[i].at, x);
    }
}

static size_t text_len(mp_obj_t o) {
    return o == mp_const_none ? 0 : get_bytes(o).len;
}

// An upper bound of the CONNECT packet's size, for the transmit buffer.
static size_t connect_bound(client_obj_t *self, props_t *props) {
    size_t n = 32 + text_len(self->client_id) + text_len(self->user) + text_len(self->password);
    if (self->will != mp_const_none) {
        mp_obj_t *w;
        mp_obj_get_array_fixed_n(self->will, 4, &w);
        n += 8 + text_len(w[0]) + text_len(w[1]);
    }
    for (size_t i = 0; i < props->len; i++) {
        n += 5 + props->items[i].data_len + props->items[i].data2_len;
    }
    return n;
}

// config['will']: None or (topic, msg, retain=False, qos=0), as
// (topic, msg, retain, qos).
static mp_obj_t cfg_will(mp_map_t *m) {
    mp_obj_t v = cfg_get(m, MP_QSTR_will);
    if (v == MP_OBJ_NULL || v == mp_const_none) {
        return mp_const_none;
    }
    size_t n = 0;
    mp_obj_t *w = NULL;
    if (mp_obj_is_type(v, &mp_type_tuple) || mp_obj_is_type(v, &mp_type_list)) {
        mp_obj_get_array(v, &n, &w);
    }
    if (n < 2 || n > 4) {
        bad_key(v, MP_QSTR_will, MP_ERROR_TEXT("must be None or (topic, msg, retain=False, qos=0)"));
    }
    mp_obj_t t[4] = { w[0], w[1], n > 2 ? w[2] : mp_const_false, n > 3 ? w[3] : MP_OBJ_NEW_SMALL_INT(0) };
    if (!is_text(t[0])) {
        bad_key(t[0], MP_QSTR_will, MP_ERROR_TEXT("topic must be str or bytes"));
    }
    if (!is_text(t[1])) {
        if (!mp_obj_is_type(t[1], &mp_type_bytearray)) {
            bad_key(t[1], MP_QSTR_will, MP_ERROR_TEXT("message must be str or bytes"));
        }
        mp_buffer_info_t b = get_bytes(t[1]);
        t[1] = mp_obj_new_bytes(b.buf, b.len);
    }
    if (!is_bool(t[2])) {
        bad_key(t[2], MP_QSTR_will, MP_ERROR_TEXT("retain must be True or False"));
    }
    if (!int_in(t[3], 0, 2)) {
        bad_key(t[3], MP_QSTR_will, MP_ERROR_TEXT("qos must be 0, 1 or 2"));
    }
    return mp_obj_new_tuple(4, t);
}

// The config's CONNECT properties, without the four the core sends from
// its configuration (session expiry, receive maximum, topic alias
// maximum, maximum packet size).
static void connect_props(client_obj_t *self, props_t *p) {
    props_from(p, self->con_props);
    size_t n = 0;
    for (size_t i = 0; i < p->len; i++) {
        uint8_t id = p->items[i].id;
        if (id != MQTTAS_PROP_SESSION_EXPIRY_INTERVAL && id != MQTTAS_PROP_RECEIVE_MAXIMUM
            && id != MQTTAS_PROP_TOPIC_ALIAS_MAXIMUM && id != MQTTAS_PROP_MAXIMUM_PACKET_SIZE) {
            p->items[n++] = p->items[i];
        }
    }
    p->len = n;
}

// A CONNECT property's integer value into `*v`; false (`*v` as it was)
// when the config has none.
static bool con_prop(mp_obj_t props, uint8_t id, uint32_t *v) {
    mp_map_elem_t *e = props == mp_const_none ? NULL
        : mp_map_lookup(mp_obj_dict_get_map(props), MP_OBJ_NEW_SMALL_INT(id), MP_MAP_LOOKUP);
    if (e) {
        *v = get_u32(e->value, 0xFFFFFFFF, MP_QSTR_mqttv5_con_props);
    }
    return e != NULL;
}

static mqttas_result client_send_connect(client_obj_t *self, uint32_t now, size_t upto);

// Queue the CONNECT of the config: its client id, then (as `upto` grows)
// the credentials, the will and the properties.
static mqttas_result client_send_connect(client_obj_t *self, uint32_t now, size_t upto) {
    mqttas_connect_options o;
    memset(&o, 0, sizeof(o));
    mp_buffer_info_t b = get_bytes(self->client_id);
    o.client_id = b.buf;
    o.client_id_len = b.len;
    if (upto >= 1 && self->user != mp_const_none) {
        b = get_bytes(self->user);
        o.username = b.buf;
        o.username_len = b.len;
        if (self->password != mp_const_none) {
            b = get_bytes(self->password);
            o.password = b.buf;
            o.password_len = b.len;
        }
    }
    if (upto >= 2 && self->will != mp_const_none) {
        mp_obj_t *w;
        mp_obj_get_array_fixed_n(self->will, 4, &w);
        b = get_bytes(w[0]);
        o.will_topic = b.buf;
        o.will_topic_len = b.len;
        b = get_bytes(w[1]);
        o.will_payload = b.buf;
        o.will_payload_len = b.len;
        o.will_retain = mp_obj_is_true(w[2]);
        o.will_qos = (uint8_t)MP_OBJ_SMALL_INT_VALUE(w[3]);
    }
    props_t props;
    props.len = 0;
    if (upto >= 3) {
        connect_props(self, &props);
    }
    o.properties = props.items;
    o.properties_len = props.len;
    return mqttas_connect(self->client, now, &o);
}

static void client_init(client_obj_t *self) {
    check(mqttas_client_init(self->client, mqttas_client_size(), &self->config, &self->bufs));
}

static void *alloc(size_t n) {
    return n ? m_new(uint8_t, n) : NULL;
}

static reconnect_obj_t *reconnect_alloc(void);
static mp_obj_t reconnect_start(reconnect_obj_t *self, uint32_t seed);

// A size from the config, else `dflt`.
#define SIZE_UNSET ((size_t)-1)
static size_t size_or(size_t v, size_t dflt) {
    return v == SIZE_UNSET ? dflt : v;
}

// Client(config, sizes): see the top of this file and cpython/_mqttas.py.
static mp_obj_t client_make_new(const mp_obj_type_t *type, size_t n_args, size_t n_kw, const mp_obj_t *args) {
    mp_arg_check_num(n_args, n_kw, 2, 2, false);
    if (!mp_obj_is_type(args[0], &mp_type_dict)) {
        mp_raise_TypeError(MP_ERROR_TEXT("MQTTClient needs a config dict (start from mqtt_as.config)"));
    }
    mp_map_t *m = mp_obj_dict_get_map(args[0]);
    for (size_t i = 0; i < m->alloc; i++) {
        if (!mp_map_slot_is_filled(m, i)) {
            continue;
        }
        mp_obj_t k = m->table[i].key;
        size_t j = 0;
        while (j < MP_ARRAY_SIZE(cfg_keys) && !mp_obj_equal(k, MP_OBJ_NEW_QSTR(cfg_keys[j].key))) {
            j++;
        }
        if (j == MP_ARRAY_SIZE(cfg_keys)) {
            vstr_t v;
            mp_print_t p;
            vstr_init_print(&v, 64, &p);
            mp_print_str(&p, "config: unknown key ");
            mp_obj_print_helper(&p, k, PRINT_REPR);
            mp_print_str(&p, "; known keys: ");
            for (j = 0; j < MP_ARRAY_SIZE(cfg_keys); j++) {
                mp_printf(&p, j ? ", %q" : "%q", cfg_keys[j].key);
            }
            nlr_raise(mp_obj_new_exception_arg1(&mp_type_ValueError, mp_obj_new_str_from_vstr(&v)));
        }
    }
    mp_obj_t *sizes;
    mp_obj_get_array_fixed_n(args[1], 6, &sizes);

    client_obj_t *self = m_new0(client_obj_t, 1);
    self->base.type = type;
    reconnect_obj_t *rec = reconnect_alloc();
    mqttas_config *c = &self->config;
    mqttas_reconnect_policy *p = &rec->policy;
    // Defaults: the core's where they are mqtt_as's, else these.
    check(mqttas_config_default(c));
    c->version = 0;
    c->maximum_packet_size = 65536;
    p->stable_ms = 0xFFFFFFFF;
    self->bufs.rx_len = self->bufs.tx_len = self->bufs.store_len = SIZE_UNSET;
    void *const bases[2] = { self, rec };
    cfg_parse(m, bases);

    if (self->server == mp_const_none || get_bytes(self->server).len == 0) {
        bad_key(cfg_get(m, MP_QSTR_server), MP_QSTR_server, MP_ERROR_TEXT("is required: the broker's host name or IP address"));
    }
    if (!mp_obj_is_str(self->server)) {
        mp_buffer_info_t b = get_bytes(self->server);
        self->server = mp_obj_new_str(b.buf, b.len);
    }
    if (self->port == 0) {
        self->port = self->ssl ? 8883 : 1883;
    }
    if (self->ssl_params == mp_const_none) {
        self->ssl_params = mp_obj_new_dict(0);
    }
    if (self->client_id == mp_const_none) {
        bad_key(MP_OBJ_NULL, MP_QSTR_client_id, MP_ERROR_TEXT("is required"));
    }
    if (text_len(self->user) == 0) {
        if (text_len(self->password) != 0) {
            mp_raise_ValueError(MP_ERROR_TEXT("config['password'] is set but config['user'] is empty: a password needs a user"));
        }
        self->user = mp_const_none;
    }
    // mqtt_as: a given ping interval shorter than a quarter of the keep
    // alive (20 s without one), else that quarter.
    uint32_t ka_ms = (uint32_t)c->keep_alive * 1000;
    uint32_t pi_dflt = ka_ms ? ka_ms / 4 : 20000;
    uint32_t pi = c->ping_interval_ms;
    c->ping_interval_ms = pi && pi < pi_dflt ? pi : pi_dflt;
    mp_obj_t v = cfg_get(m, MP_QSTR_gateway);
    if (v != MP_OBJ_NULL && mp_obj_is_true(v)) {
        bad_key(v, MP_QSTR_gateway, MP_ERROR_TEXT("is not supported by this mqtt_as (no ESP-NOW gateway): leave it False"));
    }
    bool v5 = c->version;
    c->version = v5 ? MQTTAS_VERSION_5 : MQTTAS_VERSION_311;
    v = self->con_props;
    if (v != mp_const_none) {
        if (!v5) {
            bad_key(v, MP_QSTR_mqttv5_con_props, MP_ERROR_TEXT("needs config['mqttv5'] = True"));
        }
        if (!mp_obj_is_type(v, &mp_type_dict)) {
            bad_key(v, MP_QSTR_mqttv5_con_props, MP_ERROR_TEXT("must be a dict keyed by property identifier"));
        }
    }
    self->will = cfg_will(m);

    // What CONNECT properties set, the core sends itself.
    mp_obj_t props = self->con_props;
    c->has_session_expiry = con_prop(props, MQTTAS_PROP_SESSION_EXPIRY_INTERVAL, &c->session_expiry);
    if (!c->has_session_expiry && v5 && !c->clean) {
        // Keep the session across outages, the first (clean) one too.
        c->has_session_expiry = true;
        c->session_expiry = 0xFFFFFFFF;
    }
    uint32_t rx_max = 16;
    con_prop(props, MQTTAS_PROP_RECEIVE_MAXIMUM, &rx_max);
    c->receive_maximum = (uint16_t)(rx_max < 1 ? 1 : rx_max > 32 ? 32 : rx_max);
    con_prop(props, MQTTAS_PROP_MAXIMUM_PACKET_SIZE, &c->maximum_packet_size);
    uint32_t alias_max = 0;
    con_prop(props, MQTTAS_PROP_TOPIC_ALIAS_MAXIMUM, &alias_max);
    c->topic_alias_maximum = (uint16_t)alias_max;

    if (p->backoff_cap_ms < p->backoff_base_ms) {
        bad_key(cfg_get(m, MP_QSTR_backoff_cap), MP_QSTR_backoff_cap, MP_ERROR_TEXT("must not be below config['backoff_base']"));
    }
    if (p->stable_ms == 0xFFFFFFFF) {
        p->stable_ms = ka_ms ? ka_ms : 60000;
    }
    // The jitter's seed: given, else from the client id.
    uint32_t seed = 0;
    v = cfg_get(m, MP_QSTR_reconnect_seed);
    if (v == MP_OBJ_NULL || v == mp_const_none) {
        mp_buffer_info_t b = get_bytes(self->client_id);
        for (size_t i = 0; i < b.len; i++) {
            seed = seed * 31 + ((const uint8_t *)b.buf)[i];
        }
    } else if (mp_obj_is_int(v)) {
        seed = (uint32_t)mp_obj_get_int_truncated(v);
    } else {
        bad_key(v, MP_QSTR_reconnect_seed, MP_ERROR_TEXT("must be None or an int"));
    }
    self->policy = reconnect_start(rec, seed);

    v = cfg_get(m, MP_QSTR_dns_server);
    if (v == MP_OBJ_NULL) {
        v = mp_obj_new_str("8.8.8.8", 7);
    }
    if (mp_obj_is_str(v)) {
        mp_obj_t t[2] = { v, MP_OBJ_NEW_SMALL_INT(53) };
        self->dns_server = mp_obj_new_tuple(2, t);
    } else {
        size_t n = 0;
        mp_obj_t *t = NULL;
        if (mp_obj_is_type(v, &mp_type_tuple)) {
            mp_obj_get_array(v, &n, &t);
        }
        if (n != 2 || !mp_obj_is_str(t[0]) || !mp_obj_is_int(t[1])) {
            bad_key(v, MP_QSTR_dns_server, MP_ERROR_TEXT("must be 'host' or ('host', port)"));
        }
        self->dns_server = v;
    }
    v = cfg_get(m, MP_QSTR_lan);
    self->lan = v == MP_OBJ_NULL || v == mp_const_false ? mp_const_none : v;
    if (self->lan != mp_const_none) {
        if (self->link != mp_const_none) {
            bad_key(v, MP_QSTR_lan, MP_ERROR_TEXT("and config['link'] are both set: give one (a LAN link is links.lan.LANLink)"));
        }
        bool ok = v == mp_const_true;
        if (mp_obj_is_type(v, &mp_type_dict)) {
            mp_map_t *kw = mp_obj_dict_get_map(v);
            for (size_t i = 0; i < kw->alloc; i++) {
                if (mp_map_slot_is_filled(kw, i) && !mp_obj_is_str(kw->table[i].key)) {
                    bad_key(kw->table[i].key, MP_QSTR_lan, MP_ERROR_TEXT("keys must be network.LAN's keyword argument names"));
                }
            }
            ok = true;
        } else if (!ok) {
            // A ready interface: network.LAN, WIZNET5K, ...
            mp_obj_t dest[2];
            mp_load_method_maybe(v, MP_QSTR_isconnected, dest);
            ok = dest[0] != MP_OBJ_NULL;
            mp_load_method_maybe(v, MP_QSTR_active, dest);
            ok = ok && dest[0] != MP_OBJ_NULL;
        }
        if (!ok) {
            bad_key(v, MP_QSTR_lan, MP_ERROR_TEXT("must be None, True, a dict of network.LAN arguments or a network.LAN object"));
        }
    }

    // Buffers: as given, else the Python layer's defaults (with room for
    // the CONNECT in tx).
    props_t cprops;
    connect_props(self, &cprops);
    size_t rx = size_or(self->bufs.rx_len, mp_obj_get_int(sizes[v5 ? 1 : 0]));
    size_t tx_dflt = mp_obj_get_int(sizes[2]);
    size_t bound = connect_bound(self, &cprops);
    size_t tx = size_or(self->bufs.tx_len, bound > tx_dflt ? bound : tx_dflt);
    size_t store = size_or(self->bufs.store_len, mp_obj_get_int(sizes[3]));
    size_t qos2 = mp_obj_get_int(sizes[4]);
    if (qos2 < c->receive_maximum) {
        qos2 = c->receive_maximum;
    }
    size_t aliases = (size_t)c->topic_alias_maximum * 132;
    size_t out_aliases = v5 ? mp_obj_get_int(sizes[5]) : 0;
    mqttas_buffers *bf = &self->bufs;
    self->client = new_storage(mqttas_client_size(), mqttas_client_align(), &self->storage);
    bf->rx = alloc(rx);
    bf->rx_len = rx;
    bf->tx = alloc(tx);
    bf->tx_len = tx;
    bf->store = alloc(store);
    bf->store_len = store;
    bf->aliases_len = aliases > 16384 ? 16384 : aliases;
    bf->aliases = alloc(bf->aliases_len);
    bf->out_aliases = alloc(out_aliases);
    bf->out_aliases_len = out_aliases;
    bf->inbound_qos2 = m_new(uint16_t, qos2);
    bf->inbound_qos2_len = qos2;
    client_init(self);

    // A trial CONNECT: the core checks what it will send (UTF-8, NUL, the
    // will's topic, the properties allowed, the size), then the client
    // starts afresh. On a refusal, again part by part to name the key.
    mqttas_result r = client_send_connect(self, 0, 3);
    if (r != MQTTAS_OK) {
        static const char *const parts[] = {
            "config['client_id']", "config['user'] or config['password']", "config['will']",
            "config['mqttv5_con_props']",
        };
        size_t upto = 0;
        for (;; upto++) {
            client_init(self);
            r = client_send_connect(self, 0, upto);
            if (r != MQTTAS_OK) {
                break;
            }
        }
        if (r == MQTTAS_ERR_TOO_LARGE) {
            mp_raise_msg_varg(&mp_type_ValueError, MP_ERROR_TEXT("the CONNECT is larger than config['tx_size'] (%u): raise it"),
                (unsigned)tx);
        }
        mp_raise_msg_varg(&mp_type_ValueError, MP_ERROR_TEXT("%s: %s"), parts[upto], mqttas_strerror(r));
    }
    client_init(self);
    self->pubs = mp_obj_new_dict(0);
    self->reqs = mp_obj_new_dict(0);
    self->lent = mp_obj_new_dict(0);
    self->lent0 = mp_const_none;
    self->connack = mp_const_none;
    self->down_why = MP_OBJ_NULL;
    self->chunk = mp_const_none;
    return MP_OBJ_FROM_PTR(self);
}

// connect(now): CONNECT with the config's client id, credentials, will and
// properties; a new connection (connack None until the CONNACK).
static mp_obj_t client_connect(mp_obj_t self_in, mp_obj_t now) {
    client_obj_t *self = get_client(self_in);
    check(client_send_connect(self, get_now(now), 3));
    self->connack = mp_const_none;
    self->disc = false;
    self->dispatched = false;
    self->chunk = mp_const_none;
    self->lent0 = mp_const_none;
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_2(client_connect_obj, client_connect);

// [None, pid]: a command awaiting its acknowledgement, kept in `slots` by
// pid until pump() puts the result in slot[0].
static mp_obj_t new_slot(mp_obj_t slots, uint16_t pid) {
    mp_obj_t t[2] = { mp_const_none, MP_OBJ_NEW_SMALL_INT(pid) };
    mp_obj_t slot = mp_obj_new_list(2, t);
    mp_obj_dict_store(slots, t[1], slot);
    return slot;
}

// Payloads up to this size are copied where that is faster: a QoS 0 one
// into tx when it fits (QoS 0 messages then queue up there, where only one
// lent QoS 0 payload may wait at a time), and a lent one joined to its
// head in one write (a copy of a few bytes costs less than a second write
// and TCP segment). Larger ones go straight from their object.
#define JOIN_MAX (256)

static mp_obj_t client_publish(size_t n_args, const mp_obj_t *pos, mp_map_t *kw) {
    enum { ARG_self, ARG_now, ARG_topic, ARG_payload, ARG_qos, ARG_retain, ARG_properties };
    static const mp_arg_t allowed[] = {
        { MP_QSTR_self, MP_ARG_REQUIRED | MP_ARG_OBJ, {.u_obj = MP_OBJ_NULL} },
        { MP_QSTR_now, MP_ARG_REQUIRED | MP_ARG_OBJ, {.u_obj = MP_OBJ_NULL} },
        { MP_QSTR_topic, MP_ARG_REQUIRED | MP_ARG_OBJ, {.u_obj = MP_OBJ_NULL} },
        { MP_QSTR_payload, MP_ARG_REQUIRED | MP_ARG_OBJ, {.u_obj = MP_OBJ_NULL} },
        { MP_QSTR_qos, MP_ARG_OBJ, {.u_obj = MP_OBJ_NEW_SMALL_INT(0)} },
        { MP_QSTR_retain, MP_ARG_BOOL, {.u_bool = false} },
        { MP_QSTR_properties, MP_ARG_OBJ, {.u_obj = mp_const_none} },
    };
    mp_arg_val_t a[MP_ARRAY_SIZE(allowed)];
    mp_arg_parse_all(n_args, pos, kw, MP_ARRAY_SIZE(allowed), allowed, a);
    client_obj_t *self = get_client(a[ARG_self].u_obj);
    mp_buffer_info_t topic = get_text(a[ARG_topic].u_obj, MP_QSTR_topic);
    // The payload is lent to the core, not copied into its buffers: bytes
    // and str as they are (they cannot change); a mutable buffer
    // (bytearray, memoryview) is copied once, as the message must stay
    // what was published until acknowledged (resent with DUP).
    mp_obj_t pay = a[ARG_payload].u_obj;
    mp_buffer_info_t payload = get_text(pay, MP_QSTR_payload);
    if (!mp_obj_is_str_or_bytes(pay)) {
        pay = mp_obj_new_bytes(payload.buf, payload.len);
        mp_get_buffer_raise(pay, &payload, MP_BUFFER_READ);
    }
    uint8_t qos = get_qos(a[ARG_qos].u_obj);
    props_t props;
    props_from(&props, a[ARG_properties].u_obj);
    uint16_t pid = 0;
    uint32_t now = get_now(a[ARG_now].u_obj);
    mqttas_result r = MQTTAS_ERR_TOO_LARGE;
    if (!qos && payload.len <= JOIN_MAX) {
        r = mqttas_publish(self->client, now, topic.buf, topic.len, payload.buf, payload.len, 0,
            a[ARG_retain].u_bool, props.items, props.len, NULL);
    }
    if (r == MQTTAS_ERR_TOO_LARGE) {
        r = mqttas_publish_borrowed(self->client, now, topic.buf, topic.len, payload.buf, payload.len, qos,
            a[ARG_retain].u_bool, props.items, props.len, &pid);
        if (r == MQTTAS_OK && !qos) {
            self->lent0 = pay;
        }
    }
    check(r);
    if (!qos) {
        return mp_const_none;
    }
    mp_obj_dict_store(self->lent, MP_OBJ_NEW_SMALL_INT(pid), pay);
    return new_slot(self->pubs, pid);
}
static MP_DEFINE_CONST_FUN_OBJ_KW(client_publish_obj, 4, client_publish);

// subscribe(now, [(filter, qos[, no_local, rap, retain_handling]), ...], properties=None)
// and unsubscribe(now, [filter, ...], properties=None) -> [None, pid]
static const mp_arg_t subscribe_args[] = {
    { MP_QSTR_self, MP_ARG_REQUIRED | MP_ARG_OBJ, {.u_obj = MP_OBJ_NULL} },
    { MP_QSTR_now, MP_ARG_REQUIRED | MP_ARG_OBJ, {.u_obj = MP_OBJ_NULL} },
    { MP_QSTR_subscriptions, MP_ARG_REQUIRED | MP_ARG_OBJ, {.u_obj = MP_OBJ_NULL} },
    { MP_QSTR_properties, MP_ARG_OBJ, {.u_obj = mp_const_none} },
};
static const mp_arg_t unsubscribe_args[] = {
    { MP_QSTR_self, MP_ARG_REQUIRED | MP_ARG_OBJ, {.u_obj = MP_OBJ_NULL} },
    { MP_QSTR_now, MP_ARG_REQUIRED | MP_ARG_OBJ, {.u_obj = MP_OBJ_NULL} },
    { MP_QSTR_filters, MP_ARG_REQUIRED | MP_ARG_OBJ, {.u_obj = MP_OBJ_NULL} },
    { MP_QSTR_properties, MP_ARG_OBJ, {.u_obj = mp_const_none} },
};

static mp_obj_t sub_call(size_t n_args, const mp_obj_t *pos, mp_map_t *kw, bool sub) {
    mp_arg_val_t a[4];
    mp_arg_parse_all(n_args, pos, kw, 4, sub ? subscribe_args : unsubscribe_args, a);
    client_obj_t *self = get_client(a[0].u_obj);
    size_t n;
    mp_obj_t *items;
    mp_obj_get_array(a[2].u_obj, &n, &items);
    if (n > MQTTAS_MAX_SUBSCRIPTIONS) {
        check(MQTTAS_ERR_TOO_MANY_ITEMS);
    }
    mqttas_subscription subs[MQTTAS_MAX_SUBSCRIPTIONS];
    mqttas_str filters[MQTTAS_MAX_SUBSCRIPTIONS];
    for (size_t i = 0; i < n; i++) {
        size_t m = 1;
        mp_obj_t *s = &items[i];
        if (sub) {
            mp_obj_get_array(items[i], &m, &s);
            if (m < 1 || m > 5) {
                mp_raise_ValueError(MP_ERROR_TEXT("a subscription is (filter, qos[, no_local, retain_as_published, retain_handling])"));
            }
        }
        mp_buffer_info_t f = get_bytes(s[0]);
        filters[i].data = f.buf;
        filters[i].len = f.len;
        subs[i].filter = f.buf;
        subs[i].filter_len = f.len;
        subs[i].qos = m > 1 ? get_qos(s[1]) : 0;
        subs[i].no_local = m > 2 && mp_obj_is_true(s[2]);
        subs[i].retain_as_published = m > 3 && mp_obj_is_true(s[3]);
        subs[i].retain_handling = m > 4 ? (uint8_t)get_u32(s[4], 2, MP_QSTR_retain_handling) : 0;
    }
    props_t props;
    props_from(&props, a[3].u_obj);
    uint16_t pid = 0;
    uint32_t now = get_now(a[1].u_obj);
    check(sub ? mqttas_subscribe(self->client, now, subs, n, props.items, props.len, &pid)
              : mqttas_unsubscribe(self->client, now, filters, n, props.items, props.len, &pid));
    return new_slot(self->reqs, pid);
}

static mp_obj_t client_subscribe(size_t n_args, const mp_obj_t *pos, mp_map_t *kw) {
    return sub_call(n_args, pos, kw, true);
}
static MP_DEFINE_CONST_FUN_OBJ_KW(client_subscribe_obj, 3, client_subscribe);

static mp_obj_t client_unsubscribe(size_t n_args, const mp_obj_t *pos, mp_map_t *kw) {
    return sub_call(n_args, pos, kw, false);
}
static MP_DEFINE_CONST_FUN_OBJ_KW(client_unsubscribe_obj, 3, client_unsubscribe);

static mp_obj_t client_ping(mp_obj_t self_in, mp_obj_t now) {
    check(mqttas_ping(get_client(self_in)->client, get_now(now)));
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_2(client_ping_obj, client_ping);

// disconnect(now, reason=0, properties=None) and auth(now, reason, properties=None)
static mp_obj_t reason_call(size_t n_args, const mp_obj_t *args, bool auth) {
    client_obj_t *self = get_client(args[0]);
    uint8_t reason = n_args > 2 ? (uint8_t)get_u32(args[2], 255, MP_QSTR_reason) : 0;
    props_t props;
    props_from(&props, n_args > 3 ? args[3] : mp_const_none);
    uint32_t now = get_now(args[1]);
    if (auth) {
        #if MQTTAS_WITH_V5
        check(mqttas_auth(self->client, now, reason, props.items, props.len));
        #endif
    } else {
        check(mqttas_disconnect(self->client, now, reason, props.items, props.len));
    }
    return mp_const_none;
}

static mp_obj_t client_disconnect(size_t n_args, const mp_obj_t *args) {
    return reason_call(n_args, args, false);
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(client_disconnect_obj, 2, 4, client_disconnect);

#if MQTTAS_WITH_V5
static mp_obj_t client_auth(size_t n_args, const mp_obj_t *args) {
    return reason_call(n_args, args, true);
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(client_auth_obj, 3, 4, client_auth);
#endif

static mp_obj_t client_handle_input(mp_obj_t self_in, mp_obj_t now, mp_obj_t data) {
    mp_buffer_info_t b = get_bytes(data);
    size_t taken = 0;
    check(mqttas_handle_input(get_client(self_in)->client, get_now(now), b.buf, b.len, &taken));
    return mp_obj_new_int_from_uint(taken);
}
static MP_DEFINE_CONST_FUN_OBJ_3(client_handle_input_obj, client_handle_input);

static mp_obj_t client_handle_timeout(mp_obj_t self_in, mp_obj_t now) {
    check(mqttas_handle_timeout(get_client(self_in)->client, get_now(now)));
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_2(client_handle_timeout_obj, client_handle_timeout);

// handle_link_down(now, why=None): `why` is the text of the loss it causes.
static mp_obj_t client_handle_link_down(size_t n_args, const mp_obj_t *args) {
    client_obj_t *self = get_client(args[0]);
    self->down_why = n_args > 2 && args[2] != mp_const_none ? args[2] : MP_OBJ_NULL;
    check(mqttas_handle_link_down(self->client, get_now(args[1])));
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(client_handle_link_down_obj, 2, 3, client_handle_link_down);

// The object lent for the payload `p`: the last QoS 0 one or one of those
// kept by packet id (at most max_inflight), the one whose bytes `p` are.
// As bytes (a str through a memoryview over it).
static mp_obj_t lent_payload(client_obj_t *self, const mqttas_iovec *p) {
    mp_map_t *kept = mp_obj_dict_get_map(self->lent);
    mp_obj_t o = self->lent0;
    mp_buffer_info_t buf;
    for (size_t i = 0; !mp_get_buffer(o, &buf, MP_BUFFER_READ) || buf.buf != p->base || buf.len != p->len; i++) {
        if (i >= kept->alloc) {
            mp_raise_msg(&mp_type_RuntimeError, MP_ERROR_TEXT("a lent payload is not the one published"));
        }
        o = mp_map_slot_is_filled(kept, i) ? kept->table[i].value : mp_const_none;
    }
    if (mp_obj_is_str(o)) {
        #if MICROPY_PY_BUILTINS_MEMORYVIEW
        return mp_obj_new_memoryview('B', buf.len, buf.buf);
        #else
        return mp_obj_new_bytes(buf.buf, buf.len);
        #endif
    }
    return o;
}

// -> None, the bytes to send, or (head, payload) for a PUBLISH whose
// payload was lent (larger than JOIN_MAX): send the head, then the
// payload object itself.
static mp_obj_t client_poll_transmit(mp_obj_t self_in, mp_obj_t now) {
    client_obj_t *self = get_client(self_in);
    mqttas_iovec v[2];
    size_t n = 0;
    check(mqttas_poll_transmit_vectored(self->client, get_now(now), v, &n));
    if (!n) {
        return mp_const_none;
    }
    if (n < 2 || v[1].len <= JOIN_MAX) {
        // A copy: the head borrows from the client only until its next call.
        size_t len = v[0].len + (n < 2 ? 0 : v[1].len);
        vstr_t out;
        vstr_init_len(&out, len);
        memcpy(out.buf, v[0].base, v[0].len);
        if (len > v[0].len) {
            memcpy(out.buf + v[0].len, v[1].base, v[1].len);
        }
        return mp_obj_new_bytes_from_vstr(&out);
    }
    mp_obj_t t[2] = { mp_obj_new_bytes(v[0].base, v[0].len), lent_payload(self, &v[1]) };
    return mp_obj_new_tuple(2, t);
}
static MP_DEFINE_CONST_FUN_OBJ_2(client_poll_transmit_obj, client_poll_transmit);

static mp_obj_t client_poll_deadline(mp_obj_t self_in) {
    bool has = false;
    uint32_t at = 0;
    check(mqttas_poll_deadline(get_client(self_in)->client, &has, &at));
    return has ? mp_obj_new_int_from_uint(at) : mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(client_poll_deadline_obj, client_poll_deadline);

static mp_obj_t client_state(mp_obj_t self_in) {
    mqttas_conn_state s = 0;
    check(mqttas_state(get_client(self_in)->client, &s));
    return MP_OBJ_NEW_SMALL_INT(s);
}
static MP_DEFINE_CONST_FUN_OBJ_1(client_state_obj, client_state);

static mp_obj_t client_pending(mp_obj_t self_in) {
    size_t n = 0;
    check(mqttas_pending_publications(get_client(self_in)->client, &n));
    return mp_obj_new_int_from_uint(n);
}
static MP_DEFINE_CONST_FUN_OBJ_1(client_pending_obj, client_pending);

static mp_obj_t client_qos2_stats(mp_obj_t self_in) {
    mqttas_qos2_stats s;
    check(mqttas_get_qos2_stats(get_client(self_in)->client, &s));
    mp_obj_t t[] = {
        MP_OBJ_NEW_SMALL_INT(s.peak_unreleased), mp_obj_new_int_from_uint(s.beyond_receive_maximum),
        mp_obj_new_int_from_uint(s.untracked), mp_obj_new_int_from_uint(s.withheld),
    };
    return mp_obj_new_tuple(4, t);
}
static MP_DEFINE_CONST_FUN_OBJ_1(client_qos2_stats_obj, client_qos2_stats);

// -> {"republished": n}, the outbound counters by their C names.
static mp_obj_t client_stats(mp_obj_t self_in) {
    mqttas_stats s;
    check(mqttas_get_stats(get_client(self_in)->client, &s));
    mp_obj_t d = mp_obj_new_dict(1);
    mp_obj_dict_store(d, MP_OBJ_NEW_QSTR(MP_QSTR_republished), mp_obj_new_int_from_uint(s.republished));
    return d;
}
static MP_DEFINE_CONST_FUN_OBJ_1(client_stats_obj, client_stats);

static mp_obj_t client_assigned_client_id(mp_obj_t self_in) {
    const char *id = NULL;
    size_t len = 0;
    check(mqttas_assigned_client_id(get_client(self_in)->client, &id, &len));
    return mp_obj_new_str(len ? id : "", len);
}
static MP_DEFINE_CONST_FUN_OBJ_1(client_assigned_client_id_obj, client_assigned_client_id);

static mp_obj_t tuple(size_t n, mp_obj_t *items) {
    return mp_obj_new_tuple(n, items);
}

// The payload lent for packet `pid` is the application's again.
static void forget_lent(client_obj_t *self, uint16_t pid) {
    mp_map_lookup(mp_obj_dict_get_map(self->lent), MP_OBJ_NEW_SMALL_INT(pid), MP_MAP_LOOKUP_REMOVE_IF_FOUND);
}

static mp_obj_t client_poll_event(mp_obj_t self_in) {
    client_obj_t *self = get_client(self_in);
    mqttas_event e;
    check(mqttas_poll_event(self->client, &e));
    while (e.kind == MQTTAS_EVENT_PAYLOAD_RETURNED) {
        // PUBREC came for a lent QoS 2 payload: the core never reads it
        // again (PUBLISHED follows at PUBCOMP).
        forget_lent(self, e.packet_id);
        check(mqttas_poll_event(self->client, &e));
    }
    mp_obj_t k = MP_OBJ_NEW_SMALL_INT(e.kind);
    switch (e.kind) {
        case MQTTAS_EVENT_NONE:
            return mp_const_none;
        case MQTTAS_EVENT_CONNECTED: {
            mp_obj_t t[] = { k, mp_obj_new_bool(e.session_present), props_to(e.properties, e.properties_len) };
            return tuple(3, t);
        }
        case MQTTAS_EVENT_MESSAGE:
        case MQTTAS_EVENT_MESSAGE_START: {
            mp_obj_t t[] = {
                k,
                mp_obj_new_bytes((const uint8_t *)e.topic, e.topic_len),
                e.kind == MQTTAS_EVENT_MESSAGE ? mp_obj_new_bytes(e.payload, e.payload_len)
                                               : mp_obj_new_int_from_uint(e.total_len),
                MP_OBJ_NEW_SMALL_INT(e.qos),
                mp_obj_new_bool(e.retain),
                mp_obj_new_bool(e.dup),
                MP_OBJ_NEW_SMALL_INT(e.packet_id),
                props_to(e.properties, e.properties_len),
            };
            return tuple(8, t);
        }
        case MQTTAS_EVENT_MESSAGE_CHUNK: {
            mp_obj_t t[] = { k, mp_obj_new_bytes(e.payload, e.payload_len) };
            return tuple(2, t);
        }
        case MQTTAS_EVENT_PUBLISHED: {
            // The core is done with the payload lent for it.
            forget_lent(self, e.packet_id);
            mp_obj_t t[] = { k, MP_OBJ_NEW_SMALL_INT(e.packet_id), MP_OBJ_NEW_SMALL_INT(e.reason) };
            return tuple(3, t);
        }
        case MQTTAS_EVENT_SUBSCRIBED:
        case MQTTAS_EVENT_UNSUBSCRIBED: {
            mp_obj_t t[] = {
                k,
                MP_OBJ_NEW_SMALL_INT(e.packet_id),
                mp_obj_new_bytes(e.codes, e.codes_len),
                props_to(e.properties, e.properties_len),
            };
            return tuple(4, t);
        }
        case MQTTAS_EVENT_AUTH: {
            mp_obj_t t[] = { k, MP_OBJ_NEW_SMALL_INT(e.reason), props_to(e.properties, e.properties_len) };
            return tuple(3, t);
        }
        case MQTTAS_EVENT_MESSAGE_SKIPPED: {
            mp_obj_t t[] = {
                k,
                mp_obj_new_bytes((const uint8_t *)e.topic, e.topic_len),
                mp_obj_new_int_from_uint(e.total_len),
                mp_obj_new_int_from_uint(e.limit),
                MP_OBJ_NEW_SMALL_INT(e.qos),
                MP_OBJ_NEW_SMALL_INT(e.packet_id),
            };
            return tuple(6, t);
        }
        case MQTTAS_EVENT_CONNECTION_LOST: {
            self->lent0 = mp_const_none;  // dropped unsent, if it was not sent
            char text[256];
            size_t len = 0;
            // Why, in the core's words (without "connection lost: "); a
            // cut sentence is still a sentence: BUFFER_TOO_SMALL is fine.
            mqttas_lost_describe(self->client, text, sizeof(text), &len);
            // What the outage policy makes of it (Reconnect.handle_lost's cause).
            mqttas_reconnect_cause cause = MQTTAS_RECONNECT_CAUSE_OUTAGE;
            check(mqttas_lost_cause(self->client, &cause));
            mp_obj_t t[] = {
                k,
                MP_OBJ_NEW_SMALL_INT(e.lost),
                MP_OBJ_NEW_SMALL_INT(e.reason),
                mp_obj_new_str(text, strlen(text)),
                MP_OBJ_NEW_SMALL_INT(cause),
                // A 5.0 broker's DISCONNECT: its properties (reason string).
                props_to(e.properties, e.properties_len),
            };
            return tuple(6, t);
        }
        default: // MESSAGE_END, DISCONNECTED, and kinds newer than this module.
            return tuple(1, &k);
    }
}
static MP_DEFINE_CONST_FUN_OBJ_1(client_poll_event_obj, client_poll_event);

// ---- event dispatch ---------------------------------------------------------
//
// pump() takes every event (poll_event's tuples) and does what mqtt_as does
// with it: messages to the callback (a faulty one printed, not raised),
// large ones in pieces to chunk_cb or assembled, acknowledgements into the
// slot the command returned, the CONNACK and the loss into `connack`.
// Returns the text of a lost connection, else None: the Python layer acts
// on it (reconnection).

// Call f(*args); an Exception it raises is printed (a faulty callback must
// not stop the reader), anything else (a cancellation) goes on.
static void call_safely(mp_obj_t f, size_t n, const mp_obj_t *args) {
    nlr_buf_t nlr;
    if (nlr_push(&nlr) == 0) {
        mp_call_function_n_kw(f, n, 0, args);
        nlr_pop();
        return;
    }
    mp_obj_t exc = MP_OBJ_FROM_PTR(nlr.ret_val);
    if (!mp_obj_is_subclass_fast(MP_OBJ_FROM_PTR(mp_obj_get_type(exc)), MP_OBJ_FROM_PTR(&mp_type_Exception))) {
        nlr_jump(nlr.ret_val);
    }
    mp_obj_print_exception(&mp_plat_print, exc);
}

// cb(topic, msg, retained) in 3.1.1, with the properties in 5.0.
static void deliver(client_obj_t *self, mp_obj_t topic, mp_obj_t msg, mp_obj_t retained, mp_obj_t props) {
    if (self->cb == mp_const_none) {
        return;
    }
    mp_obj_t a[4] = { topic, msg, retained, props };
    call_safely(self->cb, self->config.version == MQTTAS_VERSION_5 ? 4 : 3, a);
}

// slot = slots.pop(pid); slot[0] = result.
static void resolve(mp_obj_t slots, mp_obj_t pid, mp_obj_t result) {
    mp_map_elem_t *e = mp_map_lookup(mp_obj_dict_get_map(slots), pid, MP_MAP_LOOKUP_REMOVE_IF_FOUND);
    if (e != NULL) {
        mp_obj_subscr(e->value, MP_OBJ_NEW_SMALL_INT(0), result);
    }
}

static void drop_assembled(client_obj_t *self) {
    if (self->assembled.buf != NULL) {
        vstr_clear(&self->assembled);
        self->assembled.buf = NULL;
    }
}

// A connection ended: subscribe and unsubscribe requests in flight are
// asked again on the next one (False), a message in pieces is dropped, and
// a 5.0 broker beyond our Receive Maximum is reported once per connection
// (mosquitto 2.0.11 is, for QoS 2), as the C and Rust clients do.
static void ended(client_obj_t *self) {
    mp_map_t *reqs = mp_obj_dict_get_map(self->reqs);
    for (size_t i = 0; i < reqs->alloc; i++) {
        if (mp_map_slot_is_filled(reqs, i)) {
            mp_obj_subscr(reqs->table[i].value, MP_OBJ_NEW_SMALL_INT(0), mp_const_false);
        }
    }
    self->reqs = mp_obj_new_dict(0);
    self->chunk = mp_const_none;
    drop_assembled(self);
    if (self->config.version != MQTTAS_VERSION_5) {
        return;
    }
    mqttas_qos2_stats st;
    check(mqttas_get_qos2_stats(self->client, &st));
    if (st.beyond_receive_maximum > self->beyond) {
        printf_text(&mp_plat_print,
            MP_ERROR_TEXT("mqtt_as: the broker exceeded our Receive Maximum (%u): up to %u unreleased QoS 2 messages, %u beyond it\n"),
            (unsigned)self->config.receive_maximum, (unsigned)st.peak_unreleased,
            (unsigned)(st.beyond_receive_maximum - self->beyond));
        self->beyond = st.beyond_receive_maximum;
    }
}

static mp_obj_t client_poll_event(mp_obj_t self_in);

static mp_obj_t client_pump(mp_obj_t self_in) {
    client_obj_t *self = get_client(self_in);
    mp_obj_t lost = mp_const_none;
    self->dispatched = false;
    for (;;) {
        mp_obj_t ev = client_poll_event(self_in);
        if (ev == mp_const_none) {
            return lost;
        }
        self->dispatched = true;
        size_t n;
        mp_obj_t *e;
        mp_obj_tuple_get(ev, &n, &e);
        mp_obj_t *c = NULL;
        if (self->chunk != mp_const_none) {
            mp_obj_get_array_fixed_n(self->chunk, 5, &c);
        }
        switch (MP_OBJ_SMALL_INT_VALUE(e[0])) {
            case MQTTAS_EVENT_MESSAGE:
                deliver(self, e[1], e[2], e[4], e[7]);
                break;
            case MQTTAS_EVENT_MESSAGE_START: {
                // [topic, total, retained, props, offset]
                mp_obj_t t[5] = { e[1], e[2], e[4], e[7], MP_OBJ_NEW_SMALL_INT(0) };
                self->chunk = mp_obj_new_list(5, t);
                drop_assembled(self);
                if (self->chunk_cb == mp_const_none) {
                    vstr_init(&self->assembled, mp_obj_get_int(e[2]) + 1);
                }
                break;
            }
            case MQTTAS_EVENT_MESSAGE_CHUNK: {
                if (c == NULL) {
                    break;
                }
                mp_buffer_info_t b = get_bytes(e[1]);
                if (self->chunk_cb == mp_const_none) {
                    if (self->assembled.buf != NULL) {
                        vstr_add_strn(&self->assembled, b.buf, b.len);
                    }
                    break;
                }
                // chunk_cb(topic, data, offset, total, retained, props)
                mp_obj_t a[6] = { c[0], e[1], c[4], c[1], c[2], c[3] };
                call_safely(self->chunk_cb, 6, a);
                c[4] = mp_obj_new_int_from_uint(mp_obj_get_int(c[4]) + b.len);
                break;
            }
            case MQTTAS_EVENT_MESSAGE_END:
                self->chunk = mp_const_none;
                if (c != NULL && self->assembled.buf != NULL) {
                    mp_obj_t msg = mp_obj_new_bytes_from_vstr(&self->assembled);
                    self->assembled.buf = NULL;
                    deliver(self, c[0], msg, c[2], c[3]);
                }
                break;
            case MQTTAS_EVENT_MESSAGE_SKIPPED: {
                // Above max_packet_size from a 3.1.1 broker: never assembled.
                mp_buffer_info_t t = get_bytes(e[1]);
                printf_text(&mp_plat_print, MP_ERROR_TEXT("mqtt_as: message on '%.*s' skipped: %u bytes, above max_packet_size (%u)\n"),
                    (int)t.len, (const char *)t.buf, (unsigned)mp_obj_get_int(e[2]), (unsigned)mp_obj_get_int(e[3]));
                break;
            }
            case MQTTAS_EVENT_PUBLISHED:
                resolve(self->pubs, e[1], e[2]);
                break;
            case MQTTAS_EVENT_SUBSCRIBED:
            case MQTTAS_EVENT_UNSUBSCRIBED:
                resolve(self->reqs, e[1], e[2]);
                break;
            case MQTTAS_EVENT_CONNECTED: {
                self->connack = mp_const_true;
                self->cause = MQTTAS_RECONNECT_CAUSE_OUTAGE;
                self->alias_max = 0;
                if (e[2] != mp_const_none) {
                    mp_map_elem_t *a = mp_map_lookup(mp_obj_dict_get_map(e[2]),
                        MP_OBJ_NEW_SMALL_INT(MQTTAS_PROP_TOPIC_ALIAS_MAXIMUM), MP_MAP_LOOKUP);
                    self->alias_max = a ? (uint16_t)mp_obj_get_int(a->value) : 0;
                }
                break;
            }
            case MQTTAS_EVENT_CONNECTION_LOST:
                // The core reads the refusal or DISCONNECT code for the
                // outage policy: an outage, back off, permanent, or planned
                // (it closed a working link to have QoS 2 messages it could
                // not track sent again).
                self->cause = (uint8_t)MP_OBJ_SMALL_INT_VALUE(e[4]);
                lost = e[3];
                if (self->down_why != MP_OBJ_NULL && MP_OBJ_SMALL_INT_VALUE(e[1]) == MQTTAS_LOST_LINK_DOWN) {
                    lost = self->down_why;
                }
                self->down_why = MP_OBJ_NULL;
                if (self->connack == mp_const_none) {
                    self->connack = lost;
                }
                ended(self);
                break;
            case MQTTAS_EVENT_DISCONNECTED:
                self->disc = true;
                ended(self);
                break;
            default:  // AUTH: mqtt_as has no enhanced authentication.
                break;
        }
    }
}
static MP_DEFINE_CONST_FUN_OBJ_1(client_pump_obj, client_pump);

// take_cause(): the outage policy's cause of the last loss (CAUSE_*), and
// CAUSE_OUTAGE from now on until the next loss.
static mp_obj_t client_take_cause(mp_obj_t self_in) {
    client_obj_t *self = get_client(self_in);
    mp_obj_t c = MP_OBJ_NEW_SMALL_INT(self->cause);
    self->cause = MQTTAS_RECONNECT_CAUSE_OUTAGE;
    return c;
}
static MP_DEFINE_CONST_FUN_OBJ_1(client_take_cause_obj, client_take_cause);

// settings() -> dict: what the config made of the core's configuration,
// buffers and outage policy (keys as in the C API).
static const struct {
    uint16_t key;
    uint16_t at;
} settings_table[] = {
    { MP_QSTR_version, CF(config.version) }, { MP_QSTR_keep_alive, CF(config.keep_alive) },
    { MP_QSTR_ping_interval_ms, CF(config.ping_interval_ms) }, { MP_QSTR_response_time_ms, CF(config.response_time_ms) },
    { MP_QSTR_max_repubs, CF(config.max_repubs) }, { MP_QSTR_max_inflight, CF(config.max_inflight) },
    { MP_QSTR_receive_maximum, CF(config.receive_maximum) },
    { MP_QSTR_maximum_packet_size, CF(config.maximum_packet_size) },
    { MP_QSTR_topic_alias_maximum, CF(config.topic_alias_maximum) },
    { MP_QSTR_clean_init, CF(config.clean_init) | F_BOOL }, { MP_QSTR_clean, CF(config.clean) | F_BOOL },
    { MP_QSTR_rx_size, CF(bufs.rx_len) }, { MP_QSTR_tx_size, CF(bufs.tx_len) },
    { MP_QSTR_store_size, CF(bufs.store_len) }, { MP_QSTR_alias_size, CF(bufs.aliases_len) },
    { MP_QSTR_qos2_ids, CF(bufs.inbound_qos2_len) }, { MP_QSTR_out_alias_size, CF(bufs.out_aliases_len) },
    { MP_QSTR_hold_down_ms, RF(policy.hold_down_ms) },
    { MP_QSTR_tcp_attempts_before_bounce, RF(policy.tcp_attempts_before_bounce) },
    { MP_QSTR_backoff_base_ms, RF(policy.backoff_base_ms) }, { MP_QSTR_backoff_cap_ms, RF(policy.backoff_cap_ms) },
    { MP_QSTR_jitter_percent, RF(policy.jitter_percent) }, { MP_QSTR_attempt_timeout_ms, RF(policy.attempt_timeout_ms) },
    { MP_QSTR_stable_ms, RF(policy.stable_ms) }, { MP_QSTR_seed, RF(seed) },
};

static mp_obj_t client_settings(mp_obj_t self_in) {
    client_obj_t *self = get_client(self_in);
    void *const bases[2] = { self, MP_OBJ_TO_PTR(self->policy) };
    mp_obj_t d = mp_obj_new_dict(0);
    for (size_t i = 0; i < MP_ARRAY_SIZE(settings_table); i++) {
        mp_obj_dict_store(d, MP_OBJ_NEW_QSTR(settings_table[i].key), field_obj(bases, settings_table[i].at));
    }
    const mqttas_config *c = &self->config;
    mp_obj_dict_store(d, MP_OBJ_NEW_QSTR(MP_QSTR_session_expiry),
        c->has_session_expiry ? mp_obj_new_int_from_uint(c->session_expiry) : mp_const_none);
    return d;
}
static MP_DEFINE_CONST_FUN_OBJ_1(client_settings_obj, client_settings);

// The settings the Python layer reads and the dispatch state (client_attr).
static const struct {
    uint16_t key;
    uint16_t at;
} attr_table[] = {
    { MP_QSTR_dispatched, CF(dispatched) | F_BOOL },  // read per pump: first
    { MP_QSTR_server, CF(server) | F_OBJ }, { MP_QSTR_port, CF(port) }, { MP_QSTR_ssl, CF(ssl) | F_BOOL },
    { MP_QSTR_ssl_params, CF(ssl_params) | F_OBJ }, { MP_QSTR_mqttv5_con_props, CF(con_props) | F_OBJ },
    { MP_QSTR_clean, CF(config.clean) | F_BOOL }, { MP_QSTR_clean_init, CF(config.clean_init) | F_BOOL },
    { MP_QSTR_response_time_ms, CF(config.response_time_ms) }, { MP_QSTR_queue_len, CF(queue_len) },
    { MP_QSTR_dns_server, CF(dns_server) | F_OBJ }, { MP_QSTR_link, CF(link) | F_OBJ },
    { MP_QSTR_lan, CF(lan) | F_OBJ }, { MP_QSTR_ssid, CF(ssid) | F_OBJ }, { MP_QSTR_wifi_pw, CF(wifi_pw) | F_OBJ },
    { MP_QSTR_wifi_coro, CF(wifi_coro) | F_OBJ }, { MP_QSTR_connect_coro, CF(connect_coro) | F_OBJ },
    { MP_QSTR_policy, CF(policy) | F_OBJ }, { MP_QSTR_cb, CF(cb) | F_OBJ }, { MP_QSTR_connack, CF(connack) | F_OBJ },
    { MP_QSTR_disc, CF(disc) | F_BOOL },
    { MP_QSTR_topic_alias_maximum, CF(alias_max) },
};

// Those attributes, mqttv5 and read_n, and `cb` (the message callback) to set.
static void client_attr(mp_obj_t self_in, qstr attr, mp_obj_t *dest) {
    client_obj_t *self = get_client(self_in);
    if (dest[0] != MP_OBJ_NULL) {
        if (attr == MP_QSTR_cb && dest[1] != MP_OBJ_NULL) {
            self->cb = dest[1];
            dest[0] = MP_OBJ_NULL;  // stored
        }
        return;
    }
    if (attr == MP_QSTR_mqttv5) {  // read per publish(): first
        dest[0] = mp_obj_new_bool(self->config.version == MQTTAS_VERSION_5);
        return;
    }
    void *const bases[1] = { self };
    for (size_t i = 0; i < MP_ARRAY_SIZE(attr_table); i++) {
        if (attr == attr_table[i].key) {
            dest[0] = field_obj(bases, attr_table[i].at);
            return;
        }
    }
    if (attr == MP_QSTR_read_n) {
        dest[0] = MP_OBJ_NEW_SMALL_INT(self->bufs.rx_len < 4096 ? self->bufs.rx_len : 4096);
    } else {
        dest[1] = MP_OBJ_SENTINEL;  // a method: look in locals_dict
    }
}

static const mp_rom_map_elem_t client_locals_table[] = {
    // Called per message: first (a ROM dict is searched in order).
    { MP_ROM_QSTR(MP_QSTR_poll_transmit), MP_ROM_PTR(&client_poll_transmit_obj) },
    { MP_ROM_QSTR(MP_QSTR_pump), MP_ROM_PTR(&client_pump_obj) },
    { MP_ROM_QSTR(MP_QSTR_handle_input), MP_ROM_PTR(&client_handle_input_obj) },
    { MP_ROM_QSTR(MP_QSTR_publish), MP_ROM_PTR(&client_publish_obj) },
    { MP_ROM_QSTR(MP_QSTR_poll_deadline), MP_ROM_PTR(&client_poll_deadline_obj) },
    { MP_ROM_QSTR(MP_QSTR_connect), MP_ROM_PTR(&client_connect_obj) },
    { MP_ROM_QSTR(MP_QSTR_subscribe), MP_ROM_PTR(&client_subscribe_obj) },
    { MP_ROM_QSTR(MP_QSTR_unsubscribe), MP_ROM_PTR(&client_unsubscribe_obj) },
    { MP_ROM_QSTR(MP_QSTR_ping), MP_ROM_PTR(&client_ping_obj) },
    { MP_ROM_QSTR(MP_QSTR_disconnect), MP_ROM_PTR(&client_disconnect_obj) },
    #if MQTTAS_WITH_V5
    { MP_ROM_QSTR(MP_QSTR_auth), MP_ROM_PTR(&client_auth_obj) },
    #endif
    { MP_ROM_QSTR(MP_QSTR_handle_timeout), MP_ROM_PTR(&client_handle_timeout_obj) },
    { MP_ROM_QSTR(MP_QSTR_handle_link_down), MP_ROM_PTR(&client_handle_link_down_obj) },
    { MP_ROM_QSTR(MP_QSTR_poll_event), MP_ROM_PTR(&client_poll_event_obj) },
    { MP_ROM_QSTR(MP_QSTR_state), MP_ROM_PTR(&client_state_obj) },
    { MP_ROM_QSTR(MP_QSTR_pending), MP_ROM_PTR(&client_pending_obj) },
    { MP_ROM_QSTR(MP_QSTR_qos2_stats), MP_ROM_PTR(&client_qos2_stats_obj) },
    { MP_ROM_QSTR(MP_QSTR_stats), MP_ROM_PTR(&client_stats_obj) },
    { MP_ROM_QSTR(MP_QSTR_assigned_client_id), MP_ROM_PTR(&client_assigned_client_id_obj) },
    { MP_ROM_QSTR(MP_QSTR_take_cause), MP_ROM_PTR(&client_take_cause_obj) },
    { MP_ROM_QSTR(MP_QSTR_settings), MP_ROM_PTR(&client_settings_obj) },
};
static MP_DEFINE_CONST_DICT(client_locals, client_locals_table);

MP_DEFINE_CONST_OBJ_TYPE(
    type_client,
    MP_QSTR_Client,
    MP_TYPE_FLAG_NONE,
    make_new, client_make_new,
    attr, client_attr,
    locals_dict, &client_locals
    );

// ---- Reconnect: the outage policy -----------------------------------------

// Reconnect(hold_down_ms=, tcp_attempts_before_bounce=, backoff_base_ms=,
// backoff_cap_ms=, jitter_percent=, attempt_timeout_ms=, stable_ms=, seed=0):
// a keyword left out (or None) keeps the core's default.
static const mp_arg_t reconnect_args[] = {
    { MP_QSTR_hold_down_ms, MP_ARG_KW_ONLY | MP_ARG_OBJ, {.u_obj = mp_const_none} },
    { MP_QSTR_tcp_attempts_before_bounce, MP_ARG_KW_ONLY | MP_ARG_OBJ, {.u_obj = mp_const_none} },
    { MP_QSTR_backoff_base_ms, MP_ARG_KW_ONLY | MP_ARG_OBJ, {.u_obj = mp_const_none} },
    { MP_QSTR_backoff_cap_ms, MP_ARG_KW_ONLY | MP_ARG_OBJ, {.u_obj = mp_const_none} },
    { MP_QSTR_jitter_percent, MP_ARG_KW_ONLY | MP_ARG_OBJ, {.u_obj = mp_const_none} },
    { MP_QSTR_attempt_timeout_ms, MP_ARG_KW_ONLY | MP_ARG_OBJ, {.u_obj = mp_const_none} },
    { MP_QSTR_stable_ms, MP_ARG_KW_ONLY | MP_ARG_OBJ, {.u_obj = mp_const_none} },
    { MP_QSTR_seed, MP_ARG_KW_ONLY | MP_ARG_OBJ, {.u_obj = MP_OBJ_NEW_SMALL_INT(0)} },
};
// Where each but the seed goes.
static const uint16_t reconnect_fields[] = {
    RF(policy.hold_down_ms), RF(policy.tcp_attempts_before_bounce), RF(policy.backoff_base_ms),
    RF(policy.backoff_cap_ms), RF(policy.jitter_percent), RF(policy.attempt_timeout_ms), RF(policy.stable_ms),
};

static mp_obj_t reconnect_make_new(const mp_obj_type_t *type, size_t n_args, size_t n_kw, const mp_obj_t *all_args) {
    (void)type;
    mp_arg_val_t a[MP_ARRAY_SIZE(reconnect_args)];
    mp_arg_parse_all_kw_array(n_args, n_kw, all_args, MP_ARRAY_SIZE(reconnect_args), reconnect_args, a);
    reconnect_obj_t *self = reconnect_alloc();
    void *const bases[2] = { NULL, self };
    for (size_t i = 0; i < MP_ARRAY_SIZE(reconnect_fields); i++) {
        uint16_t at = reconnect_fields[i];
        if (a[i].u_obj != mp_const_none) {
            field_set(bases, at, get_u32(a[i].u_obj, field_max(at), reconnect_args[i].qst));
        }
    }
    // A seed: any int, truncated to 32 bits.
    return reconnect_start(self, get_now(a[MP_ARRAY_SIZE(reconnect_fields)].u_obj));
}

// A Reconnect with the core's default policy, to change before starting.
static reconnect_obj_t *reconnect_alloc(void) {
    reconnect_obj_t *self = mp_obj_malloc(reconnect_obj_t, &type_reconnect);
    check(mqttas_reconnect_policy_default(&self->policy));
    return self;
}

static mp_obj_t reconnect_start(reconnect_obj_t *self, uint32_t seed) {
    size_t size = mqttas_reconnect_size();
    self->r = new_storage(size, mqttas_reconnect_align(), &self->storage);
    self->seed = seed;
    check(mqttas_reconnect_init(self->r, size, &self->policy, seed));
    return MP_OBJ_FROM_PTR(self);
}

static mqttas_reconnect *get_reconnect(mp_obj_t o) {
    return ((reconnect_obj_t *)MP_OBJ_TO_PTR(o))->r;
}

// handle_lost(now, cause=CAUSE_OUTAGE) and handle_attempt_failed(now,
// cause=CAUSE_OUTAGE): the library refuses unknown causes.
static mp_obj_t reconnect_cause_call(size_t n_args, const mp_obj_t *args, bool lost) {
    mqttas_reconnect *r = get_reconnect(args[0]);
    uint32_t now = get_now(args[1]);
    uint32_t cause = n_args > 2 ? get_u32(args[2], 0xFFFFFFFF, MP_QSTR_cause) : MQTTAS_RECONNECT_CAUSE_OUTAGE;
    check(lost ? mqttas_reconnect_handle_lost(r, now, cause) : mqttas_reconnect_handle_attempt_failed(r, now, cause));
    return mp_const_none;
}

static mp_obj_t reconnect_handle_lost(size_t n_args, const mp_obj_t *args) {
    return reconnect_cause_call(n_args, args, true);
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(reconnect_handle_lost_obj, 2, 3, reconnect_handle_lost);

static mp_obj_t reconnect_handle_attempt_failed(size_t n_args, const mp_obj_t *args) {
    return reconnect_cause_call(n_args, args, false);
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(reconnect_handle_attempt_failed_obj, 2, 3, reconnect_handle_attempt_failed);

static mp_obj_t reconnect_handle_connected(mp_obj_t self_in, mp_obj_t now) {
    check(mqttas_reconnect_handle_connected(get_reconnect(self_in), get_now(now)));
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_2(reconnect_handle_connected_obj, reconnect_handle_connected);

// -> (ACTION_*, until) or None.
static mp_obj_t reconnect_poll_action(mp_obj_t self_in, mp_obj_t now) {
    mqttas_reconnect_action act;
    check(mqttas_reconnect_poll_action(get_reconnect(self_in), get_now(now), &act));
    if (act.kind == MQTTAS_RECONNECT_NONE) {
        return mp_const_none;
    }
    mp_obj_t t[] = { MP_OBJ_NEW_SMALL_INT(act.kind), mp_obj_new_int_from_uint(act.until) };
    return tuple(2, t);
}
static MP_DEFINE_CONST_FUN_OBJ_2(reconnect_poll_action_obj, reconnect_poll_action);

static mp_obj_t reconnect_poll_deadline(mp_obj_t self_in) {
    bool has = false;
    uint32_t at = 0;
    check(mqttas_reconnect_poll_deadline(get_reconnect(self_in), &has, &at));
    return has ? mp_obj_new_int_from_uint(at) : mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(reconnect_poll_deadline_obj, reconnect_poll_deadline);

// -> (outages, attempts, failures, bounces, planned, unstable, back_offs, permanent).
static mp_obj_t reconnect_stats(mp_obj_t self_in) {
    mqttas_reconnect_stats st;
    check(mqttas_reconnect_get_stats(get_reconnect(self_in), &st));
    // Eight uint32_t counters in that order.
    MP_STATIC_ASSERT(sizeof(st) == 8 * sizeof(uint32_t));
    uint32_t n[8];
    memcpy(n, &st, sizeof(n));
    mp_obj_t t[8];
    for (size_t i = 0; i < 8; i++) {
        t[i] = mp_obj_new_int_from_uint(n[i]);
    }
    return tuple(8, t);
}
static MP_DEFINE_CONST_FUN_OBJ_1(reconnect_stats_obj, reconnect_stats);

static const mp_rom_map_elem_t reconnect_locals_table[] = {
    { MP_ROM_QSTR(MP_QSTR_handle_lost), MP_ROM_PTR(&reconnect_handle_lost_obj) },
    { MP_ROM_QSTR(MP_QSTR_handle_attempt_failed), MP_ROM_PTR(&reconnect_handle_attempt_failed_obj) },
    { MP_ROM_QSTR(MP_QSTR_handle_connected), MP_ROM_PTR(&reconnect_handle_connected_obj) },
    { MP_ROM_QSTR(MP_QSTR_poll_action), MP_ROM_PTR(&reconnect_poll_action_obj) },
    { MP_ROM_QSTR(MP_QSTR_poll_deadline), MP_ROM_PTR(&reconnect_poll_deadline_obj) },
    { MP_ROM_QSTR(MP_QSTR_stats), MP_ROM_PTR(&reconnect_stats_obj) },
};
static MP_DEFINE_CONST_DICT(reconnect_locals, reconnect_locals_table);

MP_DEFINE_CONST_OBJ_TYPE(
    type_reconnect,
    MP_QSTR_Reconnect,
    MP_TYPE_FLAG_NONE,
    make_new, reconnect_make_new,
    locals_dict, &reconnect_locals
    );

// ---- Radio: the packet radio link (framing + ARQ) --------------------------

#if MQTTAS_WITH_RADIO

typedef struct _radio_obj_t {
    mp_obj_base_t base;
    // The radio state, aligned inside `storage`.
    mqttas_radio *radio;
    // GC blocks: referenced here so that the collector keeps them while the
    // radio (which points into tx and rx) lives.
    uint8_t *storage;
    uint8_t *tx;
    uint8_t *rx;
    // One frame of `mtu` bytes for poll_frame.
    uint8_t *frame;
    size_t mtu;
} radio_obj_t;

#define RADIO_F(f) ((uint16_t)(offsetof(mqttas_radio_config, f) | F_SIZE(mqttas_radio_config, f) << 12))

// Radio(node, gateway=False, mtu=32, window=4, rto_ms=400, max_retries=10,
// keepalive_ms=3000, epoch=1, tx_size=1024, rx_size=1024)
static mp_obj_t radio_make_new(const mp_obj_type_t *type, size_t n_args, size_t n_kw, const mp_obj_t *all_args) {
    enum {
        ARG_node, ARG_gateway, ARG_mtu, ARG_window, ARG_rto_ms, ARG_max_retries, ARG_keepalive_ms,
        ARG_epoch, ARG_tx_size, ARG_rx_size,
    };
    static const mp_arg_t allowed[] = {
        { MP_QSTR_node, MP_ARG_REQUIRED | MP_ARG_OBJ, {.u_obj = MP_OBJ_NULL} },
        { MP_QSTR_gateway, MP_ARG_BOOL, {.u_bool = false} },
        { MP_QSTR_mtu, MP_ARG_OBJ, {.u_obj = MP_OBJ_NEW_SMALL_INT(32)} },
        { MP_QSTR_window, MP_ARG_OBJ, {.u_obj = MP_OBJ_NEW_SMALL_INT(4)} },
        { MP_QSTR_rto_ms, MP_ARG_OBJ, {.u_obj = MP_OBJ_NEW_SMALL_INT(400)} },
        { MP_QSTR_max_retries, MP_ARG_OBJ, {.u_obj = MP_OBJ_NEW_SMALL_INT(10)} },
        { MP_QSTR_keepalive_ms, MP_ARG_OBJ, {.u_obj = MP_OBJ_NEW_SMALL_INT(3000)} },
        { MP_QSTR_epoch, MP_ARG_OBJ, {.u_obj = MP_OBJ_NEW_SMALL_INT(1)} },
        { MP_QSTR_tx_size, MP_ARG_INT, {.u_int = 1024} },
        { MP_QSTR_rx_size, MP_ARG_INT, {.u_int = 1024} },
    };
    mp_arg_val_t a[MP_ARRAY_SIZE(allowed)];
    mp_arg_parse_all_kw_array(n_args, n_kw, all_args, MP_ARRAY_SIZE(allowed), allowed, a);

    mqttas_radio_config c;
    check(mqttas_radio_config_default(&c));
    // node, mtu ... epoch: integers that fit their fields.
    static const uint16_t fields[] = {
        RADIO_F(node), 0, RADIO_F(mtu), RADIO_F(window), RADIO_F(rto_ms), RADIO_F(max_retries),
        RADIO_F(keepalive_ms), RADIO_F(epoch),
    };
    void *const bases[1] = { &c };
    for (size_t i = 0; i < MP_ARRAY_SIZE(fields); i++) {
        if (i != ARG_gateway) {
            field_set(bases, fields[i], get_u32(a[i].u_obj, field_max(fields[i]), allowed[i].qst));
        }
    }
    c.gateway = a[ARG_gateway].u_bool;
    #if !MQTTAS_WITH_RADIO_GATEWAY
    if (c.gateway) {
        mp_raise_ValueError(MP_ERROR_TEXT("gateway=True needs the radio's gateway side, which this firmware is built without (knob radio-gateway)"));
    }
    #endif
    mp_int_t tx_size = a[ARG_tx_size].u_int;
    mp_int_t rx_size = a[ARG_rx_size].u_int;
    if (tx_size < 0 || rx_size < 0) {
        mp_raise_ValueError(MP_ERROR_TEXT("buffer sizes must not be negative"));
    }
    // The core's own words for a bad configuration ("mtu must be ..."),
    // before any memory is taken.
    char why[96];
    size_t why_len = 0;
    mqttas_radio_config_describe_error(&c, why, sizeof(why), &why_len);
    if (why_len != 0) {
        mp_raise_msg_varg(&mp_type_ValueError, MP_ERROR_TEXT("bad radio configuration: %s"), why);
    }

    radio_obj_t *self = mp_obj_malloc(radio_obj_t, type);
    size_t size = mqttas_radio_size();
    self->radio = new_storage(size, mqttas_radio_align(), &self->storage);
    self->tx = tx_size ? m_new(uint8_t, tx_size) : NULL;
    self->rx = rx_size ? m_new(uint8_t, rx_size) : NULL;
    self->mtu = c.mtu;
    self->frame = m_new(uint8_t, self->mtu);
    mqttas_result r = mqttas_radio_init(self->radio, size, &c, self->tx, tx_size, self->rx, rx_size);
    if (r == MQTTAS_ERR_BUFFER_TOO_SMALL) {
        mp_raise_msg_varg(&mp_type_ValueError,
            MP_ERROR_TEXT("tx_size and rx_size must each hold a frame's payload (%d bytes)"), (int)(c.mtu - MQTTAS_RADIO_OVERHEAD));
    }
    check(r);
    return MP_OBJ_FROM_PTR(self);
}

static mqttas_radio *get_radio(mp_obj_t o) {
    return ((radio_obj_t *)MP_OBJ_TO_PTR(o))->radio;
}

static mp_obj_t radio_open(mp_obj_t self_in, mp_obj_t now) {
    check(mqttas_radio_open(get_radio(self_in), get_now(now)));
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_2(radio_open_obj, radio_open);

static mp_obj_t radio_close(mp_obj_t self_in, mp_obj_t now) {
    check(mqttas_radio_close(get_radio(self_in), get_now(now)));
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_2(radio_close_obj, radio_close);

static mp_obj_t radio_set_epoch(mp_obj_t self_in, mp_obj_t epoch) {
    uint32_t e = get_u32(epoch, 0xFFFF, MP_QSTR_epoch);
    if (e == 0) {
        mp_raise_ValueError(MP_ERROR_TEXT("epoch must be an integer in 1..65535"));
    }
    check(mqttas_radio_set_epoch(get_radio(self_in), (uint16_t)e));
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_2(radio_set_epoch_obj, radio_set_epoch);

static mp_obj_t radio_is_up(mp_obj_t self_in) {
    bool up = false;
    check(mqttas_radio_is_up(get_radio(self_in), &up));
    return mp_obj_new_bool(up);
}
static MP_DEFINE_CONST_FUN_OBJ_1(radio_is_up_obj, radio_is_up);

static mp_obj_t radio_write(mp_obj_t self_in, mp_obj_t now, mp_obj_t data) {
    mp_buffer_info_t b = get_bytes(data);
    size_t n = 0;
    check(mqttas_radio_write(get_radio(self_in), get_now(now), b.buf, b.len, &n));
    return mp_obj_new_int_from_uint(n);
}
static MP_DEFINE_CONST_FUN_OBJ_3(radio_write_obj, radio_write);

static mp_obj_t radio_read(mp_obj_t self_in, mp_obj_t max) {
    size_t cap = get_u32(max, 0x7FFFFFFF, MP_QSTR_n);
    vstr_t v;
    vstr_init_len(&v, cap);
    size_t n = 0;
    check(mqttas_radio_read(get_radio(self_in), (uint8_t *)v.buf, cap, &n));
    v.len = n;
    return mp_obj_new_bytes_from_vstr(&v);
}
static MP_DEFINE_CONST_FUN_OBJ_2(radio_read_obj, radio_read);

static mp_obj_t radio_handle_frame(mp_obj_t self_in, mp_obj_t now, mp_obj_t frame) {
    mp_buffer_info_t b = get_bytes(frame);
    check(mqttas_radio_handle_frame(get_radio(self_in), get_now(now), b.buf, b.len));
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_3(radio_handle_frame_obj, radio_handle_frame);

static mp_obj_t radio_poll_frame(mp_obj_t self_in, mp_obj_t now) {
    radio_obj_t *self = MP_OBJ_TO_PTR(self_in);
    size_t n = 0;
    check(mqttas_radio_poll_frame(self->radio, get_now(now), self->frame, self->mtu, &n));
    return n ? mp_obj_new_bytes(self->frame, n) : mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_2(radio_poll_frame_obj, radio_poll_frame);

static mp_obj_t radio_handle_timeout(mp_obj_t self_in, mp_obj_t now) {
    check(mqttas_radio_handle_timeout(get_radio(self_in), get_now(now)));
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_2(radio_handle_timeout_obj, radio_handle_timeout);

static mp_obj_t radio_poll_deadline(mp_obj_t self_in) {
    bool has = false;
    uint32_t at = 0;
    check(mqttas_radio_poll_deadline(get_radio(self_in), &has, &at));
    return has ? mp_obj_new_int_from_uint(at) : mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(radio_poll_deadline_obj, radio_poll_deadline);

// -> None, ("up",) or ("down", reason).
static mp_obj_t radio_poll_event(mp_obj_t self_in) {
    mqttas_radio_event e;
    check(mqttas_radio_poll_event(get_radio(self_in), &e));
    if (e.kind == MQTTAS_RADIO_EVENT_UP) {
        mp_obj_t t[] = { MP_OBJ_NEW_QSTR(MP_QSTR_up) };
        return tuple(1, t);
    }
    if (e.kind != MQTTAS_RADIO_EVENT_DOWN) {
        return mp_const_none;
    }
    // By MQTTAS_RADIO_DOWN_*; reasons newer than this module are "other".
    static const uint16_t reasons[] = {
        MP_QSTR_other, MP_QSTR_no_ack, MP_QSTR_silent, MP_QSTR_peer_reset, MP_QSTR_peer_restarted, MP_QSTR_closed,
    };
    qstr why = (size_t)e.reason < MP_ARRAY_SIZE(reasons) ? reasons[e.reason] : MP_QSTR_other;
    mp_obj_t t[] = { MP_OBJ_NEW_QSTR(MP_QSTR_down), MP_OBJ_NEW_QSTR(why) };
    return tuple(2, t);
}
static MP_DEFINE_CONST_FUN_OBJ_1(radio_poll_event_obj, radio_poll_event);

// -> {"frames_sent": n, ...}, the counters by their C names.
static mp_obj_t radio_stats(mp_obj_t self_in) {
    mqttas_radio_stats st;
    check(mqttas_radio_get_stats(get_radio(self_in), &st));
    // Six uint32_t counters in this order.
    static const uint16_t keys[] = {
        MP_QSTR_frames_sent, MP_QSTR_frames_received, MP_QSTR_retransmissions, MP_QSTR_bad_crc, MP_QSTR_dropped,
        MP_QSTR_duplicates,
    };
    MP_STATIC_ASSERT(sizeof(st) == sizeof(keys) * 2);
    uint32_t n[MP_ARRAY_SIZE(keys)];
    memcpy(n, &st, sizeof(n));
    mp_obj_t d = mp_obj_new_dict(MP_ARRAY_SIZE(keys));
    for (size_t i = 0; i < MP_ARRAY_SIZE(keys); i++) {
        mp_obj_dict_store(d, MP_OBJ_NEW_QSTR(keys[i]), mp_obj_new_int_from_uint(n[i]));
    }
    return d;
}
static MP_DEFINE_CONST_FUN_OBJ_1(radio_stats_obj, radio_stats);

static mp_obj_t radio_writable(mp_obj_t self_in) {
    size_t n = 0;
    check(mqttas_radio_writable(get_radio(self_in), &n));
    return mp_obj_new_int_from_uint(n);
}
static MP_DEFINE_CONST_FUN_OBJ_1(radio_writable_obj, radio_writable);

static mp_obj_t radio_readable(mp_obj_t self_in) {
    size_t n = 0;
    check(mqttas_radio_readable(get_radio(self_in), &n));
    return mp_obj_new_int_from_uint(n);
}
static MP_DEFINE_CONST_FUN_OBJ_1(radio_readable_obj, radio_readable);

static const mp_rom_map_elem_t radio_locals_table[] = {
    { MP_ROM_QSTR(MP_QSTR_open), MP_ROM_PTR(&radio_open_obj) },
    { MP_ROM_QSTR(MP_QSTR_close), MP_ROM_PTR(&radio_close_obj) },
    { MP_ROM_QSTR(MP_QSTR_set_epoch), MP_ROM_PTR(&radio_set_epoch_obj) },
    { MP_ROM_QSTR(MP_QSTR_is_up), MP_ROM_PTR(&radio_is_up_obj) },
    { MP_ROM_QSTR(MP_QSTR_write), MP_ROM_PTR(&radio_write_obj) },
    { MP_ROM_QSTR(MP_QSTR_read), MP_ROM_PTR(&radio_read_obj) },
    { MP_ROM_QSTR(MP_QSTR_handle_frame), MP_ROM_PTR(&radio_handle_frame_obj) },
    { MP_ROM_QSTR(MP_QSTR_poll_frame), MP_ROM_PTR(&radio_poll_frame_obj) },
    { MP_ROM_QSTR(MP_QSTR_handle_timeout), MP_ROM_PTR(&radio_handle_timeout_obj) },
    { MP_ROM_QSTR(MP_QSTR_poll_deadline), MP_ROM_PTR(&radio_poll_deadline_obj) },
    { MP_ROM_QSTR(MP_QSTR_poll_event), MP_ROM_PTR(&radio_poll_event_obj) },
    { MP_ROM_QSTR(MP_QSTR_stats), MP_ROM_PTR(&radio_stats_obj) },
    { MP_ROM_QSTR(MP_QSTR_writable), MP_ROM_PTR(&radio_writable_obj) },
    { MP_ROM_QSTR(MP_QSTR_readable), MP_ROM_PTR(&radio_readable_obj) },
};
static MP_DEFINE_CONST_DICT(radio_locals, radio_locals_table);

MP_DEFINE_CONST_OBJ_TYPE(
    type_radio,
    MP_QSTR_Radio,
    MP_TYPE_FLAG_NONE,
    make_new, radio_make_new,
    locals_dict, &radio_locals
    );

// radio_frame_node(frame) -> (node, downlink) or None: route a received
// frame to its radio (a gateway keeps one per node) before any takes it.
static mp_obj_t mod_radio_frame_node(mp_obj_t frame) {
    mp_buffer_info_t b = get_bytes(frame);
    uint8_t node = 0;
    bool downlink = false;
    check(mqttas_radio_frame_node(b.buf, b.len, &node, &downlink));
    if (node == 0) {
        return mp_const_none;
    }
    mp_obj_t t[] = { MP_OBJ_NEW_SMALL_INT(node), mp_obj_new_bool(downlink) };
    return tuple(2, t);
}
static MP_DEFINE_CONST_FUN_OBJ_1(mod_radio_frame_node_obj, mod_radio_frame_node);
#endif // MQTTAS_WITH_RADIO

static mp_obj_t mod_version(void) {
    const char *v = mqttas_version();
    return mp_obj_new_str(v, strlen(v));
}
static MP_DEFINE_CONST_FUN_OBJ_0(mod_version_obj, mod_version);

static mp_obj_t mod_strerror(mp_obj_t code) {
    const char *t = mqttas_strerror((uint32_t)mp_obj_get_int(code));
    return mp_obj_new_str(t, strlen(t));
}
static MP_DEFINE_CONST_FUN_OBJ_1(mod_strerror_obj, mod_strerror);

// FEATURES: the knobs built in that change this module and the library
// (the links and TLS are the frozen package's modules).
#if MQTTAS_WITH_RADIO_GATEWAY
static const MP_DEFINE_STR_OBJ(feature_radio_gateway_obj, "radio-gateway");
#endif
static const mp_rom_obj_tuple_t features_obj = {
    {&mp_type_tuple},
    MQTTAS_WITH_V5 + MQTTAS_WITH_QOS2 + MQTTAS_WITH_RADIO + MQTTAS_WITH_RADIO_GATEWAY,
    {
        #if MQTTAS_WITH_V5
        MP_ROM_QSTR(MP_QSTR_v5),
        #endif
        #if MQTTAS_WITH_QOS2
        MP_ROM_QSTR(MP_QSTR_qos2),
        #endif
        #if MQTTAS_WITH_RADIO
        MP_ROM_QSTR(MP_QSTR_radio),
        #endif
        #if MQTTAS_WITH_RADIO_GATEWAY
        MP_ROM_PTR(&feature_radio_gateway_obj),
        #endif
    },
};

static const mp_rom_map_elem_t mod_globals_table[] = {
    { MP_ROM_QSTR(MP_QSTR___name__), MP_ROM_QSTR(MP_QSTR__mqttas) },
    { MP_ROM_QSTR(MP_QSTR_Client), MP_ROM_PTR(&type_client) },
    { MP_ROM_QSTR(MP_QSTR_Reconnect), MP_ROM_PTR(&type_reconnect) },
    { MP_ROM_QSTR(MP_QSTR_FEATURES), MP_ROM_PTR(&features_obj) },
    #if MQTTAS_WITH_RADIO
    { MP_ROM_QSTR(MP_QSTR_Radio), MP_ROM_PTR(&type_radio) },
    { MP_ROM_QSTR(MP_QSTR_radio_frame_node), MP_ROM_PTR(&mod_radio_frame_node_obj) },
    #endif
    { MP_ROM_QSTR(MP_QSTR_ACTION_HOLD_DOWN), MP_ROM_INT(MQTTAS_RECONNECT_HOLD_DOWN) },
    { MP_ROM_QSTR(MP_QSTR_ACTION_CONNECT), MP_ROM_INT(MQTTAS_RECONNECT_CONNECT) },
    { MP_ROM_QSTR(MP_QSTR_ACTION_BOUNCE_LINK), MP_ROM_INT(MQTTAS_RECONNECT_BOUNCE_LINK) },
    { MP_ROM_QSTR(MP_QSTR_ACTION_WAIT), MP_ROM_INT(MQTTAS_RECONNECT_WAIT) },
    { MP_ROM_QSTR(MP_QSTR_CAUSE_OUTAGE), MP_ROM_INT(MQTTAS_RECONNECT_CAUSE_OUTAGE) },
    { MP_ROM_QSTR(MP_QSTR_CAUSE_BACK_OFF), MP_ROM_INT(MQTTAS_RECONNECT_CAUSE_BACK_OFF) },
    { MP_ROM_QSTR(MP_QSTR_CAUSE_PERMANENT), MP_ROM_INT(MQTTAS_RECONNECT_CAUSE_PERMANENT) },
    { MP_ROM_QSTR(MP_QSTR_CAUSE_PLANNED), MP_ROM_INT(MQTTAS_RECONNECT_CAUSE_PLANNED) },
    { MP_ROM_QSTR(MP_QSTR_version), MP_ROM_PTR(&mod_version_obj) },
    { MP_ROM_QSTR(MP_QSTR_strerror), MP_ROM_PTR(&mod_strerror_obj) },
    // Events.
    { MP_ROM_QSTR(MP_QSTR_CONNECTED), MP_ROM_INT(MQTTAS_EVENT_CONNECTED) },
    { MP_ROM_QSTR(MP_QSTR_MESSAGE), MP_ROM_INT(MQTTAS_EVENT_MESSAGE) },
    { MP_ROM_QSTR(MP_QSTR_MSG_START), MP_ROM_INT(MQTTAS_EVENT_MESSAGE_START) },
    { MP_ROM_QSTR(MP_QSTR_MSG_CHUNK), MP_ROM_INT(MQTTAS_EVENT_MESSAGE_CHUNK) },
    { MP_ROM_QSTR(MP_QSTR_MSG_END), MP_ROM_INT(MQTTAS_EVENT_MESSAGE_END) },
    { MP_ROM_QSTR(MP_QSTR_PUBLISHED), MP_ROM_INT(MQTTAS_EVENT_PUBLISHED) },
    { MP_ROM_QSTR(MP_QSTR_SUBSCRIBED), MP_ROM_INT(MQTTAS_EVENT_SUBSCRIBED) },
    { MP_ROM_QSTR(MP_QSTR_UNSUBSCRIBED), MP_ROM_INT(MQTTAS_EVENT_UNSUBSCRIBED) },
    { MP_ROM_QSTR(MP_QSTR_AUTH), MP_ROM_INT(MQTTAS_EVENT_AUTH) },
    { MP_ROM_QSTR(MP_QSTR_LOST), MP_ROM_INT(MQTTAS_EVENT_CONNECTION_LOST) },
    { MP_ROM_QSTR(MP_QSTR_DISCONNECTED), MP_ROM_INT(MQTTAS_EVENT_DISCONNECTED) },
    { MP_ROM_QSTR(MP_QSTR_MSG_SKIPPED), MP_ROM_INT(MQTTAS_EVENT_MESSAGE_SKIPPED) },
    // Connection states.
    { MP_ROM_QSTR(MP_QSTR_STATE_DISCONNECTED), MP_ROM_INT(MQTTAS_STATE_DISCONNECTED) },
    { MP_ROM_QSTR(MP_QSTR_STATE_CONNECTING), MP_ROM_INT(MQTTAS_STATE_CONNECTING) },
    { MP_ROM_QSTR(MP_QSTR_STATE_CONNECTED), MP_ROM_INT(MQTTAS_STATE_CONNECTED) },
    // Why a connection was lost.
    { MP_ROM_QSTR(MP_QSTR_LOST_LINK_DOWN), MP_ROM_INT(MQTTAS_LOST_LINK_DOWN) },
    { MP_ROM_QSTR(MP_QSTR_LOST_REFUSED), MP_ROM_INT(MQTTAS_LOST_REFUSED) },
    { MP_ROM_QSTR(MP_QSTR_LOST_TIMEOUT), MP_ROM_INT(MQTTAS_LOST_TIMEOUT) },
    { MP_ROM_QSTR(MP_QSTR_LOST_PROTOCOL), MP_ROM_INT(MQTTAS_LOST_PROTOCOL) },
    { MP_ROM_QSTR(MP_QSTR_LOST_RECEIVE_MAXIMUM_EXCEEDED), MP_ROM_INT(MQTTAS_LOST_RECEIVE_MAXIMUM_EXCEEDED) },
    { MP_ROM_QSTR(MP_QSTR_LOST_SERVER_DISCONNECT), MP_ROM_INT(MQTTAS_LOST_SERVER_DISCONNECT) },
    { MP_ROM_QSTR(MP_QSTR_LOST_ALIAS_TABLE_FULL), MP_ROM_INT(MQTTAS_LOST_ALIAS_TABLE_FULL) },
    { MP_ROM_QSTR(MP_QSTR_LOST_OTHER), MP_ROM_INT(MQTTAS_LOST_OTHER) },
    // Result codes the mqtt_as layer acts on.
    { MP_ROM_QSTR(MP_QSTR_ERR_NOT_CONNECTED), MP_ROM_INT(MQTTAS_ERR_NOT_CONNECTED) },
    { MP_ROM_QSTR(MP_QSTR_ERR_ALREADY_CONNECTED), MP_ROM_INT(MQTTAS_ERR_ALREADY_CONNECTED) },
    { MP_ROM_QSTR(MP_QSTR_ERR_STORE_FULL), MP_ROM_INT(MQTTAS_ERR_STORE_FULL) },
    { MP_ROM_QSTR(MP_QSTR_ERR_TX_FULL), MP_ROM_INT(MQTTAS_ERR_TX_FULL) },
    { MP_ROM_QSTR(MP_QSTR_ERR_TOO_MANY_PENDING), MP_ROM_INT(MQTTAS_ERR_TOO_MANY_PENDING) },
    { MP_ROM_QSTR(MP_QSTR_ERR_TOO_LARGE), MP_ROM_INT(MQTTAS_ERR_TOO_LARGE) },
    { MP_ROM_QSTR(MP_QSTR_ERR_QOS_NOT_SUPPORTED), MP_ROM_INT(MQTTAS_ERR_QOS_NOT_SUPPORTED) },
    { MP_ROM_QSTR(MP_QSTR_ERR_RETAIN_NOT_SUPPORTED), MP_ROM_INT(MQTTAS_ERR_RETAIN_NOT_SUPPORTED) },
    { MP_ROM_QSTR(MP_QSTR_ERR_INVALID_CONFIG), MP_ROM_INT(MQTTAS_ERR_INVALID_CONFIG) },
    { MP_ROM_QSTR(MP_QSTR_VERSION_311), MP_ROM_INT(MQTTAS_VERSION_311) },
    { MP_ROM_QSTR(MP_QSTR_VERSION_5), MP_ROM_INT(MQTTAS_VERSION_5) },
    { MP_ROM_QSTR(MP_QSTR_MAX_PROPERTIES), MP_ROM_INT(MQTTAS_MAX_PROPERTIES) },
    { MP_ROM_QSTR(MP_QSTR_MAX_SUBSCRIPTIONS), MP_ROM_INT(MQTTAS_MAX_SUBSCRIPTIONS) },
    #if MQTTAS_WITH_RADIO
    { MP_ROM_QSTR(MP_QSTR_RADIO_OVERHEAD), MP_ROM_INT(MQTTAS_RADIO_OVERHEAD) },
    #endif
};
static MP_DEFINE_CONST_DICT(mod_globals, mod_globals_table);

const mp_obj_module_t mod_mqttas = {
    .base = { &mp_type_module },
    .globals = (mp_obj_dict_t *)&mod_globals,
};

MP_REGISTER_MODULE(MP_QSTR__mqttas, mod_mqttas);
