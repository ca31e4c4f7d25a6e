/*
 * _mqttas: the mqttas C API (include/mqttas.h) as a MicroPython type.
 *
 * A thin wrapper: it converts MicroPython objects to the C API's values and
 * back, and owns the client's buffers on the GC heap. No I/O and no
 * protocol logic here; the asyncio side is the frozen `mqtt_as` package.
 * The same interface exists for CPython as micropython-module/cpython/
 * _mqttas.py (ctypes), whose docstring documents it in full:
 *
 *   Client(**config)         version, keep_alive, ping_interval_ms,
 *                            response_time_ms, max_repubs, clean_init, clean,
 *                            max_inflight, receive_maximum, session_expiry,
 *                            maximum_packet_size, topic_alias_maximum,
 *                            rx_size, tx_size, store_size, alias_size, qos2_ids,
 *                            out_alias_size
 *   .connect(now, client_id, user=None, password=None, will=None, properties=None)
 *   .publish(now, topic, payload, qos=0, retain=False, properties=None) -> pid
 *   .subscribe(now, [(filter, qos[, no_local, rap, retain_handling]), ...], properties=None) -> pid
 *   .unsubscribe(now, [filter, ...], properties=None) -> pid
 *   .ping(now)  .disconnect(now, reason=0, properties=None)  .auth(now, reason, properties=None)
 *   .handle_input(now, data) -> taken   .handle_timeout(now)   .handle_link_down(now)
 *   .poll_transmit(now) -> bytes | None   .poll_event() -> tuple | None
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

#include <string.h>

#include "py/obj.h"
#include "py/objint.h"
#include "py/objstr.h"
#include "py/runtime.h"

#include "mqttas.h"

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
    // The client state, aligned inside `storage`.
    mqttas_client *client;
    // GC blocks: referenced here so that the collector keeps them while the
    // client (which points into them) lives.
    uint8_t *storage;
    uint8_t *rx;
    uint8_t *tx;
    uint8_t *store;
    uint8_t *aliases;
    uint16_t *qos2;
    uint8_t *out_aliases;
} client_obj_t;

// ---- errors ---------------------------------------------------------------

static void check(mqttas_result r) {
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

static mp_obj_t client_make_new(const mp_obj_type_t *type, size_t n_args, size_t n_kw, const mp_obj_t *all_args) {
    enum {
        ARG_version, ARG_keep_alive, ARG_ping_interval_ms, ARG_response_time_ms, ARG_max_repubs,
        ARG_clean_init, ARG_clean, ARG_max_inflight, ARG_receive_maximum, ARG_session_expiry,
        ARG_maximum_packet_size, ARG_topic_alias_maximum, ARG_rx_size, ARG_tx_size, ARG_store_size,
        ARG_alias_size, ARG_qos2_ids, ARG_out_alias_size,
    };
    static const mp_arg_t allowed[] = {
        { MP_QSTR_version, MP_ARG_KW_ONLY | MP_ARG_OBJ, {.u_obj = MP_OBJ_NEW_SMALL_INT(MQTTAS_VERSION_311)} },
        { MP_QSTR_keep_alive, MP_ARG_KW_ONLY | MP_ARG_OBJ, {.u_obj = MP_OBJ_NEW_SMALL_INT(60)} },
        { MP_QSTR_ping_interval_ms, MP_ARG_KW_ONLY | MP_ARG_OBJ, {.u_obj = MP_OBJ_NEW_SMALL_INT(0)} },
        { MP_QSTR_response_time_ms, MP_ARG_KW_ONLY | MP_ARG_OBJ, {.u_obj = MP_OBJ_NEW_SMALL_INT(10000)} },
        { MP_QSTR_max_repubs, MP_ARG_KW_ONLY | MP_ARG_OBJ, {.u_obj = MP_OBJ_NEW_SMALL_INT(4)} },
        { MP_QSTR_clean_init, MP_ARG_KW_ONLY | MP_ARG_BOOL, {.u_bool = true} },
        { MP_QSTR_clean, MP_ARG_KW_ONLY | MP_ARG_BOOL, {.u_bool = true} },
        { MP_QSTR_max_inflight, MP_ARG_KW_ONLY | MP_ARG_OBJ, {.u_obj = MP_OBJ_NEW_SMALL_INT(8)} },
        { MP_QSTR_receive_maximum, MP_ARG_KW_ONLY | MP_ARG_OBJ, {.u_obj = MP_OBJ_NEW_SMALL_INT(16)} },
        { MP_QSTR_session_expiry, MP_ARG_KW_ONLY | MP_ARG_OBJ, {.u_obj = mp_const_none} },
        { MP_QSTR_maximum_packet_size, MP_ARG_KW_ONLY | MP_ARG_OBJ, {.u_obj = MP_OBJ_NEW_SMALL_INT(0)} },
        { MP_QSTR_topic_alias_maximum, MP_ARG_KW_ONLY | MP_ARG_OBJ, {.u_obj = MP_OBJ_NEW_SMALL_INT(0)} },
        { MP_QSTR_rx_size, MP_ARG_KW_ONLY | MP_ARG_INT, {.u_int = 1024} },
        { MP_QSTR_tx_size, MP_ARG_KW_ONLY | MP_ARG_INT, {.u_int = 1024} },
        { MP_QSTR_store_size, MP_ARG_KW_ONLY | MP_ARG_INT, {.u_int = 4096} },
        { MP_QSTR_alias_size, MP_ARG_KW_ONLY | MP_ARG_INT, {.u_int = 0} },
        { MP_QSTR_qos2_ids, MP_ARG_KW_ONLY | MP_ARG_INT, {.u_int = 64} },
        { MP_QSTR_out_alias_size, MP_ARG_KW_ONLY | MP_ARG_INT, {.u_int = 0} },
    };
    mp_arg_val_t a[MP_ARRAY_SIZE(allowed)];
    mp_arg_parse_all_kw_array(n_args, n_kw, all_args, MP_ARRAY_SIZE(allowed), allowed, a);

    mqttas_config c;
    check(mqttas_config_default(&c));
    c.version = (uint8_t)get_u32(a[ARG_version].u_obj, 255, MP_QSTR_version);
    c.keep_alive = (uint16_t)get_u32(a[ARG_keep_alive].u_obj, 0xFFFF, MP_QSTR_keep_alive);
    c.ping_interval_ms = get_u32(a[ARG_ping_interval_ms].u_obj, 0xFFFFFFFF, MP_QSTR_ping_interval_ms);
    c.response_time_ms = get_u32(a[ARG_response_time_ms].u_obj, 0xFFFFFFFF, MP_QSTR_response_time_ms);
    c.max_repubs = (uint8_t)get_u32(a[ARG_max_repubs].u_obj, 255, MP_QSTR_max_repubs);
    c.clean_init = a[ARG_clean_init].u_bool;
    c.clean = a[ARG_clean].u_bool;
    c.max_inflight = (uint16_t)get_u32(a[ARG_max_inflight].u_obj, 0xFFFF, MP_QSTR_max_inflight);
    c.receive_maximum = (uint16_t)get_u32(a[ARG_receive_maximum].u_obj, 0xFFFF, MP_QSTR_receive_maximum);
    if (a[ARG_session_expiry].u_obj != mp_const_none) {
        c.has_session_expiry = true;
        c.session_expiry = get_u32(a[ARG_session_expiry].u_obj, 0xFFFFFFFF, MP_QSTR_session_expiry);
    }
    c.maximum_packet_size = get_u32(a[ARG_maximum_packet_size].u_obj, 0xFFFFFFFF, MP_QSTR_maximum_packet_size);
    c.topic_alias_maximum = (uint16_t)get_u32(a[ARG_topic_alias_maximum].u_obj, 0xFFFF, MP_QSTR_topic_alias_maximum);

    mp_int_t sizes[6] = {
        a[ARG_rx_size].u_int, a[ARG_tx_size].u_int, a[ARG_store_size].u_int, a[ARG_alias_size].u_int,
        a[ARG_qos2_ids].u_int, a[ARG_out_alias_size].u_int,
    };
    for (int i = 0; i < 6; i++) {
        if (sizes[i] < 0) {
            mp_raise_ValueError(MP_ERROR_TEXT("buffer sizes must not be negative"));
        }
    }

    client_obj_t *self = mp_obj_malloc(client_obj_t, type);
    size_t size = mqttas_client_size();
    self->client = new_storage(size, mqttas_client_align(), &self->storage);
    self->rx = sizes[0] ? m_new(uint8_t, sizes[0]) : NULL;
    self->tx = sizes[1] ? m_new(uint8_t, sizes[1]) : NULL;
    self->store = sizes[2] ? m_new(uint8_t, sizes[2]) : NULL;
    self->aliases = sizes[3] ? m_new(uint8_t, sizes[3]) : NULL;
    self->qos2 = sizes[4] ? m_new(uint16_t, sizes[4]) : NULL;
    self->out_aliases = sizes[5] ? m_new(uint8_t, sizes[5]) : NULL;
    mqttas_buffers bufs = {
        .rx = self->rx, .rx_len = sizes[0], .tx = self->tx, .tx_len = sizes[1],
        .store = self->store, .store_len = sizes[2], .aliases = self->aliases, .aliases_len = sizes[3],
        .out_aliases = self->out_aliases, .out_aliases_len = sizes[5],
        .inbound_qos2 = self->qos2, .inbound_qos2_len = sizes[4],
    };
    check(mqttas_client_init(self->client, size, &c, &bufs));
    return MP_OBJ_FROM_PTR(self);
}

static mp_obj_t client_connect(size_t n_args, const mp_obj_t *pos, mp_map_t *kw) {
    enum { ARG_self, ARG_now, ARG_client_id, ARG_user, ARG_password, ARG_will, ARG_properties };
    static const mp_arg_t allowed[] = {
        { MP_QSTR_self, MP_ARG_REQUIRED | MP_ARG_OBJ, {.u_obj = MP_OBJ_NULL} },
        { MP_QSTR_now, MP_ARG_REQUIRED | MP_ARG_OBJ, {.u_obj = MP_OBJ_NULL} },
        { MP_QSTR_client_id, MP_ARG_REQUIRED | MP_ARG_OBJ, {.u_obj = MP_OBJ_NULL} },
        { MP_QSTR_user, MP_ARG_OBJ, {.u_obj = mp_const_none} },
        { MP_QSTR_password, MP_ARG_OBJ, {.u_obj = mp_const_none} },
        { MP_QSTR_will, MP_ARG_OBJ, {.u_obj = mp_const_none} },
        { MP_QSTR_properties, MP_ARG_OBJ, {.u_obj = mp_const_none} },
    };
    mp_arg_val_t a[MP_ARRAY_SIZE(allowed)];
    mp_arg_parse_all(n_args, pos, kw, MP_ARRAY_SIZE(allowed), allowed, a);
    client_obj_t *self = get_client(a[ARG_self].u_obj);

    mqttas_connect_options o;
    memset(&o, 0, sizeof(o));
    mp_buffer_info_t b = get_bytes(a[ARG_client_id].u_obj);
    o.client_id = b.buf;
    o.client_id_len = b.len;
    if (a[ARG_user].u_obj != mp_const_none) {
        b = get_bytes(a[ARG_user].u_obj);
        o.username = b.buf;
        o.username_len = b.len;
    }
    if (a[ARG_password].u_obj != mp_const_none) {
        b = get_bytes(a[ARG_password].u_obj);
        o.password = b.buf;
        o.password_len = b.len;
    }
    props_t props;
    props_from(&props, a[ARG_properties].u_obj);
    o.properties = props.items;
    o.properties_len = props.len;
    props_t will_props;
    will_props.len = 0;
    if (a[ARG_will].u_obj != mp_const_none) {
        // (topic, payload, qos, retain, properties)
        mp_obj_t *w;
        mp_obj_get_array_fixed_n(a[ARG_will].u_obj, 5, &w);
        b = get_bytes(w[0]);
        o.will_topic = b.buf;
        o.will_topic_len = b.len;
        b = get_bytes(w[1]);
        o.will_payload = b.buf;
        o.will_payload_len = b.len;
        o.will_qos = get_qos(w[2]);
        o.will_retain = mp_obj_is_true(w[3]);
        props_from(&will_props, w[4]);
        o.will_properties = will_props.items;
        o.will_properties_len = will_props.len;
    }
    check(mqttas_connect(self->client, get_now(a[ARG_now].u_obj), &o));
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_KW(client_connect_obj, 3, client_connect);

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
    mp_buffer_info_t topic = get_bytes(a[ARG_topic].u_obj);
    mp_buffer_info_t payload = get_bytes(a[ARG_payload].u_obj);
    uint8_t qos = get_qos(a[ARG_qos].u_obj);
    props_t props;
    props_from(&props, a[ARG_properties].u_obj);
    uint16_t pid = 0;
    check(mqttas_publish(self->client, get_now(a[ARG_now].u_obj), topic.buf, topic.len, payload.buf,
        payload.len, qos, a[ARG_retain].u_bool, props.items, props.len, &pid));
    return MP_OBJ_NEW_SMALL_INT(pid);
}
static MP_DEFINE_CONST_FUN_OBJ_KW(client_publish_obj, 4, client_publish);

static mp_obj_t client_subscribe(size_t n_args, const mp_obj_t *pos, mp_map_t *kw) {
    enum { ARG_self, ARG_now, ARG_subscriptions, ARG_properties };
    static const mp_arg_t allowed[] = {
        { MP_QSTR_self, MP_ARG_REQUIRED | MP_ARG_OBJ, {.u_obj = MP_OBJ_NULL} },
        { MP_QSTR_now, MP_ARG_REQUIRED | MP_ARG_OBJ, {.u_obj = MP_OBJ_NULL} },
        { MP_QSTR_subscriptions, MP_ARG_REQUIRED | MP_ARG_OBJ, {.u_obj = MP_OBJ_NULL} },
        { MP_QSTR_properties, MP_ARG_OBJ, {.u_obj = mp_const_none} },
    };
    mp_arg_val_t a[MP_ARRAY_SIZE(allowed)];
    mp_arg_parse_all(n_args, pos, kw, MP_ARRAY_SIZE(allowed), allowed, a);
    client_obj_t *self = get_client(a[ARG_self].u_obj);
    size_t n;
    mp_obj_t *items;
    mp_obj_get_array(a[ARG_subscriptions].u_obj, &n, &items);
    if (n > MQTTAS_MAX_SUBSCRIPTIONS) {
        check(MQTTAS_ERR_TOO_MANY_ITEMS);
    }
    mqttas_subscription subs[MQTTAS_MAX_SUBSCRIPTIONS];
    for (size_t i = 0; i < n; i++) {
        size_t m;
        mp_obj_t *s;
        mp_obj_get_array(items[i], &m, &s);
        if (m < 1 || m > 5) {
            mp_raise_ValueError(MP_ERROR_TEXT("a subscription is (filter, qos[, no_local, retain_as_published, retain_handling])"));
        }
        mp_buffer_info_t f = get_bytes(s[0]);
        subs[i].filter = f.buf;
        subs[i].filter_len = f.len;
        subs[i].qos = m > 1 ? get_qos(s[1]) : 0;
        subs[i].no_local = m > 2 && mp_obj_is_true(s[2]);
        subs[i].retain_as_published = m > 3 && mp_obj_is_true(s[3]);
        subs[i].retain_handling = m > 4 ? (uint8_t)get_u32(s[4], 2, MP_QSTR_retain_handling) : 0;
    }
    props_t props;
    props_from(&props, a[ARG_properties].u_obj);
    uint16_t pid = 0;
    check(mqttas_subscribe(self->client, get_now(a[ARG_now].u_obj), subs, n, props.items, props.len, &pid));
    return MP_OBJ_NEW_SMALL_INT(pid);
}
static MP_DEFINE_CONST_FUN_OBJ_KW(client_subscribe_obj, 3, client_subscribe);

static mp_obj_t client_unsubscribe(size_t n_args, const mp_obj_t *pos, mp_map_t *kw) {
    enum { ARG_self, ARG_now, ARG_filters, ARG_properties };
    static const mp_arg_t allowed[] = {
        { MP_QSTR_self, MP_ARG_REQUIRED | MP_ARG_OBJ, {.u_obj = MP_OBJ_NULL} },
        { MP_QSTR_now, MP_ARG_REQUIRED | MP_ARG_OBJ, {.u_obj = MP_OBJ_NULL} },
        { MP_QSTR_filters, MP_ARG_REQUIRED | MP_ARG_OBJ, {.u_obj = MP_OBJ_NULL} },
        { MP_QSTR_properties, MP_ARG_OBJ, {.u_obj = mp_const_none} },
    };
    mp_arg_val_t a[MP_ARRAY_SIZE(allowed)];
    mp_arg_parse_all(n_args, pos, kw, MP_ARRAY_SIZE(allowed), allowed, a);
    client_obj_t *self = get_client(a[ARG_self].u_obj);
    size_t n;
    mp_obj_t *items;
    mp_obj_get_array(a[ARG_filters].u_obj, &n, &items);
    if (n > MQTTAS_MAX_SUBSCRIPTIONS) {
        check(MQTTAS_ERR_TOO_MANY_ITEMS);
    }
    mqttas_str filters[MQTTAS_MAX_SUBSCRIPTIONS];
    for (size_t i = 0; i < n; i++) {
        mp_buffer_info_t f = get_bytes(items[i]);
        filters[i].data = f.buf;
        filters[i].len = f.len;
    }
    props_t props;
    props_from(&props, a[ARG_properties].u_obj);
    uint16_t pid = 0;
    check(mqttas_unsubscribe(self->client, get_now(a[ARG_now].u_obj), filters, n, props.items, props.len, &pid));
    return MP_OBJ_NEW_SMALL_INT(pid);
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

static mp_obj_t client_handle_link_down(mp_obj_t self_in, mp_obj_t now) {
    check(mqttas_handle_link_down(get_client(self_in)->client, get_now(now)));
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_2(client_handle_link_down_obj, client_handle_link_down);

static mp_obj_t client_poll_transmit(mp_obj_t self_in, mp_obj_t now) {
    const uint8_t *data = NULL;
    size_t len = 0;
    check(mqttas_poll_transmit(get_client(self_in)->client, get_now(now), &data, &len));
    // A copy: the bytes borrow from the client only until its next call.
    return len ? mp_obj_new_bytes(data, len) : mp_const_none;
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

static mp_obj_t client_poll_event(mp_obj_t self_in) {
    client_obj_t *self = get_client(self_in);
    mqttas_event e;
    check(mqttas_poll_event(self->client, &e));
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

static const mp_rom_map_elem_t client_locals_table[] = {
    { MP_ROM_QSTR(MP_QSTR_connect), MP_ROM_PTR(&client_connect_obj) },
    { MP_ROM_QSTR(MP_QSTR_publish), MP_ROM_PTR(&client_publish_obj) },
    { MP_ROM_QSTR(MP_QSTR_subscribe), MP_ROM_PTR(&client_subscribe_obj) },
    { MP_ROM_QSTR(MP_QSTR_unsubscribe), MP_ROM_PTR(&client_unsubscribe_obj) },
    { MP_ROM_QSTR(MP_QSTR_ping), MP_ROM_PTR(&client_ping_obj) },
    { MP_ROM_QSTR(MP_QSTR_disconnect), MP_ROM_PTR(&client_disconnect_obj) },
    #if MQTTAS_WITH_V5
    { MP_ROM_QSTR(MP_QSTR_auth), MP_ROM_PTR(&client_auth_obj) },
    #endif
    { MP_ROM_QSTR(MP_QSTR_handle_input), MP_ROM_PTR(&client_handle_input_obj) },
    { MP_ROM_QSTR(MP_QSTR_handle_timeout), MP_ROM_PTR(&client_handle_timeout_obj) },
    { MP_ROM_QSTR(MP_QSTR_handle_link_down), MP_ROM_PTR(&client_handle_link_down_obj) },
    { MP_ROM_QSTR(MP_QSTR_poll_transmit), MP_ROM_PTR(&client_poll_transmit_obj) },
    { MP_ROM_QSTR(MP_QSTR_poll_event), MP_ROM_PTR(&client_poll_event_obj) },
    { MP_ROM_QSTR(MP_QSTR_poll_deadline), MP_ROM_PTR(&client_poll_deadline_obj) },
    { MP_ROM_QSTR(MP_QSTR_state), MP_ROM_PTR(&client_state_obj) },
    { MP_ROM_QSTR(MP_QSTR_pending), MP_ROM_PTR(&client_pending_obj) },
    { MP_ROM_QSTR(MP_QSTR_qos2_stats), MP_ROM_PTR(&client_qos2_stats_obj) },
    { MP_ROM_QSTR(MP_QSTR_stats), MP_ROM_PTR(&client_stats_obj) },
    { MP_ROM_QSTR(MP_QSTR_assigned_client_id), MP_ROM_PTR(&client_assigned_client_id_obj) },
};
static MP_DEFINE_CONST_DICT(client_locals, client_locals_table);

MP_DEFINE_CONST_OBJ_TYPE(
    type_client,
    MP_QSTR_Client,
    MP_TYPE_FLAG_NONE,
    make_new, client_make_new,
    locals_dict, &client_locals
    );

// ---- Reconnect: the outage policy -----------------------------------------

typedef struct _reconnect_obj_t {
    mp_obj_base_t base;
    // The machine, aligned inside `storage` (a GC block kept alive here).
    mqttas_reconnect *r;
    uint8_t *storage;
} reconnect_obj_t;

extern const mp_obj_type_t type_reconnect;

// Reconnect(hold_down_ms=, tcp_attempts_before_bounce=, backoff_base_ms=,
// backoff_cap_ms=, jitter_percent=, attempt_timeout_ms=, stable_ms=, seed=0):
// a keyword left out (or None) keeps the core's default.
static mp_obj_t reconnect_make_new(const mp_obj_type_t *type, size_t n_args, size_t n_kw, const mp_obj_t *all_args) {
    enum {
        ARG_hold_down_ms, ARG_tcp_attempts_before_bounce, ARG_backoff_base_ms, ARG_backoff_cap_ms,
        ARG_jitter_percent, ARG_attempt_timeout_ms, ARG_stable_ms, ARG_seed,
    };
    static const mp_arg_t allowed[] = {
        { MP_QSTR_hold_down_ms, MP_ARG_KW_ONLY | MP_ARG_OBJ, {.u_obj = mp_const_none} },
        { MP_QSTR_tcp_attempts_before_bounce, MP_ARG_KW_ONLY | MP_ARG_OBJ, {.u_obj = mp_const_none} },
        { MP_QSTR_backoff_base_ms, MP_ARG_KW_ONLY | MP_ARG_OBJ, {.u_obj = mp_const_none} },
        { MP_QSTR_backoff_cap_ms, MP_ARG_KW_ONLY | MP_ARG_OBJ, {.u_obj = mp_const_none} },
        { MP_QSTR_jitter_percent, MP_ARG_KW_ONLY | MP_ARG_OBJ, {.u_obj = mp_const_none} },
        { MP_QSTR_attempt_timeout_ms, MP_ARG_KW_ONLY | MP_ARG_OBJ, {.u_obj = mp_const_none} },
        { MP_QSTR_stable_ms, MP_ARG_KW_ONLY | MP_ARG_OBJ, {.u_obj = mp_const_none} },
        { MP_QSTR_seed, MP_ARG_KW_ONLY | MP_ARG_OBJ, {.u_obj = MP_OBJ_NEW_SMALL_INT(0)} },
    };
    mp_arg_val_t a[MP_ARRAY_SIZE(allowed)];
    mp_arg_parse_all_kw_array(n_args, n_kw, all_args, MP_ARRAY_SIZE(allowed), allowed, a);
    mqttas_reconnect_policy p;
    check(mqttas_reconnect_policy_default(&p));
    if (a[ARG_hold_down_ms].u_obj != mp_const_none) {
        p.hold_down_ms = get_u32(a[ARG_hold_down_ms].u_obj, 0xFFFFFFFF, MP_QSTR_hold_down_ms);
    }
    if (a[ARG_tcp_attempts_before_bounce].u_obj != mp_const_none) {
        p.tcp_attempts_before_bounce = (uint16_t)get_u32(a[ARG_tcp_attempts_before_bounce].u_obj, 0xFFFF, MP_QSTR_tcp_attempts_before_bounce);
    }
    if (a[ARG_backoff_base_ms].u_obj != mp_const_none) {
        p.backoff_base_ms = get_u32(a[ARG_backoff_base_ms].u_obj, 0xFFFFFFFF, MP_QSTR_backoff_base_ms);
    }
    if (a[ARG_backoff_cap_ms].u_obj != mp_const_none) {
        p.backoff_cap_ms = get_u32(a[ARG_backoff_cap_ms].u_obj, 0xFFFFFFFF, MP_QSTR_backoff_cap_ms);
    }
    if (a[ARG_jitter_percent].u_obj != mp_const_none) {
        p.jitter_percent = (uint8_t)get_u32(a[ARG_jitter_percent].u_obj, 0xFF, MP_QSTR_jitter_percent);
    }
    if (a[ARG_attempt_timeout_ms].u_obj != mp_const_none) {
        p.attempt_timeout_ms = get_u32(a[ARG_attempt_timeout_ms].u_obj, 0xFFFFFFFF, MP_QSTR_attempt_timeout_ms);
    }
    if (a[ARG_stable_ms].u_obj != mp_const_none) {
        p.stable_ms = get_u32(a[ARG_stable_ms].u_obj, 0xFFFFFFFF, MP_QSTR_stable_ms);
    }
    uint32_t seed = get_now(a[ARG_seed].u_obj);  // Any int, truncated to 32 bits.
    reconnect_obj_t *self = mp_obj_malloc(reconnect_obj_t, type);
    size_t size = mqttas_reconnect_size();
    self->r = new_storage(size, mqttas_reconnect_align(), &self->storage);
    check(mqttas_reconnect_init(self->r, size, &p, seed));
    return MP_OBJ_FROM_PTR(self);
}

static mqttas_reconnect *get_reconnect(mp_obj_t o) {
    return ((reconnect_obj_t *)MP_OBJ_TO_PTR(o))->r;
}

// The optional cause of handle_lost() and handle_attempt_failed() (args[2]): CAUSE_OUTAGE
// when left out; the library refuses unknown values.
static uint32_t get_cause(size_t n_args, const mp_obj_t *args) {
    return n_args > 2 ? get_u32(args[2], 0xFFFFFFFF, MP_QSTR_cause) : MQTTAS_RECONNECT_CAUSE_OUTAGE;
}

// handle_lost(now, cause=CAUSE_OUTAGE)
static mp_obj_t reconnect_handle_lost(size_t n_args, const mp_obj_t *args) {
    check(mqttas_reconnect_handle_lost(get_reconnect(args[0]), get_now(args[1]), get_cause(n_args, args)));
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(reconnect_handle_lost_obj, 2, 3, reconnect_handle_lost);

// handle_attempt_failed(now, cause=CAUSE_OUTAGE)
static mp_obj_t reconnect_handle_attempt_failed(size_t n_args, const mp_obj_t *args) {
    check(mqttas_reconnect_handle_attempt_failed(get_reconnect(args[0]), get_now(args[1]),
        get_cause(n_args, args)));
    return mp_const_none;
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
    mp_obj_t t[] = {
        mp_obj_new_int_from_uint(st.outages), mp_obj_new_int_from_uint(st.attempts),
        mp_obj_new_int_from_uint(st.failures), mp_obj_new_int_from_uint(st.bounces),
        mp_obj_new_int_from_uint(st.planned), mp_obj_new_int_from_uint(st.unstable),
        mp_obj_new_int_from_uint(st.back_offs), mp_obj_new_int_from_uint(st.permanent),
    };
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
    c.node = (uint8_t)get_u32(a[ARG_node].u_obj, 0xFF, MP_QSTR_node);
    c.gateway = a[ARG_gateway].u_bool;
    #if !MQTTAS_WITH_RADIO_GATEWAY
    if (c.gateway) {
        mp_raise_ValueError(MP_ERROR_TEXT("gateway=True needs the radio's gateway side, which this firmware is built without (knob radio-gateway)"));
    }
    #endif
    c.mtu = (uint16_t)get_u32(a[ARG_mtu].u_obj, 0xFFFF, MP_QSTR_mtu);
    c.window = (uint8_t)get_u32(a[ARG_window].u_obj, 0xFF, MP_QSTR_window);
    c.rto_ms = get_u32(a[ARG_rto_ms].u_obj, 0xFFFFFFFF, MP_QSTR_rto_ms);
    c.max_retries = (uint8_t)get_u32(a[ARG_max_retries].u_obj, 0xFF, MP_QSTR_max_retries);
    c.keepalive_ms = get_u32(a[ARG_keepalive_ms].u_obj, 0xFFFFFFFF, MP_QSTR_keepalive_ms);
    c.epoch = (uint16_t)get_u32(a[ARG_epoch].u_obj, 0xFFFF, MP_QSTR_epoch);
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
    qstr why;
    switch (e.reason) {
        case MQTTAS_RADIO_DOWN_NO_ACK:
            why = MP_QSTR_no_ack;
            break;
        case MQTTAS_RADIO_DOWN_SILENT:
            why = MP_QSTR_silent;
            break;
        case MQTTAS_RADIO_DOWN_PEER_RESET:
            why = MP_QSTR_peer_reset;
            break;
        case MQTTAS_RADIO_DOWN_PEER_RESTARTED:
            why = MP_QSTR_peer_restarted;
            break;
        case MQTTAS_RADIO_DOWN_CLOSED:
            why = MP_QSTR_closed;
            break;
        default: // Reasons newer than this module.
            why = MP_QSTR_other;
            break;
    }
    mp_obj_t t[] = { MP_OBJ_NEW_QSTR(MP_QSTR_down), MP_OBJ_NEW_QSTR(why) };
    return tuple(2, t);
}
static MP_DEFINE_CONST_FUN_OBJ_1(radio_poll_event_obj, radio_poll_event);

// -> {"frames_sent": n, ...}, the counters by their C names.
static mp_obj_t radio_stats(mp_obj_t self_in) {
    mqttas_radio_stats st;
    check(mqttas_radio_get_stats(get_radio(self_in), &st));
    mp_obj_t d = mp_obj_new_dict(6);
    mp_obj_dict_store(d, MP_OBJ_NEW_QSTR(MP_QSTR_frames_sent), mp_obj_new_int_from_uint(st.frames_sent));
    mp_obj_dict_store(d, MP_OBJ_NEW_QSTR(MP_QSTR_frames_received), mp_obj_new_int_from_uint(st.frames_received));
    mp_obj_dict_store(d, MP_OBJ_NEW_QSTR(MP_QSTR_retransmissions), mp_obj_new_int_from_uint(st.retransmissions));
    mp_obj_dict_store(d, MP_OBJ_NEW_QSTR(MP_QSTR_bad_crc), mp_obj_new_int_from_uint(st.bad_crc));
    mp_obj_dict_store(d, MP_OBJ_NEW_QSTR(MP_QSTR_dropped), mp_obj_new_int_from_uint(st.dropped));
    mp_obj_dict_store(d, MP_OBJ_NEW_QSTR(MP_QSTR_duplicates), mp_obj_new_int_from_uint(st.duplicates));
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
