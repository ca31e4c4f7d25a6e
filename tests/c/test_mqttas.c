/*
 * C unit tests of the mqttas C API, through include/mqttas.h only.
 *
 * A scripted broker: the tests feed the bytes a broker would send and check
 * byte for byte what the library emits, with a clock the tests move by hand
 * (including across the 32-bit wrap-around). Built with -std=c99 -pedantic
 * and run plain, under ASan+UBSan and under valgrind by tests/c/run.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mqttas.h"

/* ---- fixture: a client in heap storage with heap buffers ---- */

/* Heap buffers (not static arrays) so that ASan and valgrind see any access
 * past their ends. */
typedef struct fixture {
    mqttas_client *c;
    uint8_t *rx, *tx, *store, *aliases;
    size_t rx_len, tx_len, store_len, aliases_len;
    uint16_t *qos2; /* inbound QoS 2 ids */
    size_t qos2_len;
    uint8_t *out_aliases;
    size_t out_aliases_len;
    mqttas_config cfg;
} fixture;

/* mqttas_client_init with the byte buffers given one by one, and room for
 * the default receive maximum (16) of inbound QoS 2 ids (one client at a
 * time uses it). */
static mqttas_result init_with(mqttas_client *c, size_t size, const mqttas_config *cfg, uint8_t *rx,
                               size_t rx_len, uint8_t *tx, size_t tx_len, uint8_t *store,
                               size_t store_len, uint8_t *aliases, size_t aliases_len)
{
    static uint16_t ids[16];
    mqttas_buffers b;
    memset(&b, 0, sizeof b);
    b.inbound_qos2 = ids;
    b.inbound_qos2_len = 16;
    b.rx = rx;
    b.rx_len = rx_len;
    b.tx = tx;
    b.tx_len = tx_len;
    b.store = store;
    b.store_len = store_len;
    b.aliases = aliases;
    b.aliases_len = aliases_len;
    return mqttas_client_init(c, size, cfg, &b);
}

static void fixture_buffers(fixture *f, size_t rx, size_t tx, size_t store, size_t aliases)
{
    f->rx_len = rx;
    f->tx_len = tx;
    f->store_len = store;
    f->aliases_len = aliases;
    f->rx = rx ? malloc(rx) : NULL;
    f->tx = tx ? malloc(tx) : NULL;
    f->store = store ? malloc(store) : NULL;
    f->aliases = aliases ? malloc(aliases) : NULL;
    f->qos2_len = 64;
    f->qos2 = malloc(f->qos2_len * sizeof *f->qos2);
    f->out_aliases_len = 256;
    f->out_aliases = malloc(f->out_aliases_len);
    f->c = malloc(mqttas_client_size());
    assert_non_null(f->c);
    /* Zeroed storage: an uninitialised client must be recognised as such. */
    memset(f->c, 0, mqttas_client_size());
}

static mqttas_result fixture_init(fixture *f)
{
    mqttas_buffers b;
    memset(&b, 0, sizeof b);
    b.rx = f->rx;
    b.rx_len = f->rx_len;
    b.tx = f->tx;
    b.tx_len = f->tx_len;
    b.store = f->store;
    b.store_len = f->store_len;
    b.aliases = f->aliases;
    b.aliases_len = f->aliases_len;
    b.inbound_qos2 = f->qos2;
    b.inbound_qos2_len = f->qos2_len;
    b.out_aliases = f->out_aliases;
    b.out_aliases_len = f->out_aliases_len;
    return mqttas_client_init(f->c, mqttas_client_size(), &f->cfg, &b);
}

static fixture *fixture_new(uint8_t version, size_t rx, size_t tx, size_t store)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    assert_int_equal(mqttas_config_default(&f->cfg), MQTTAS_OK);
    f->cfg.version = version;
    fixture_buffers(f, rx, tx, store, 0);
    return f;
}

static void fixture_free(fixture *f)
{
    if (f == NULL) {
        return;
    }
    /* Deinit may fail when a test left the client uninitialised. */
    (void)mqttas_client_deinit(f->c);
    free(f->c);
    free(f->rx);
    free(f->tx);
    free(f->store);
    free(f->aliases);
    free(f->qos2);
    free(f->out_aliases);
    free(f);
}

/* ---- helpers ---- */

#define BYTES(...) ((const uint8_t[]){__VA_ARGS__}), sizeof((const uint8_t[]){__VA_ARGS__})

static void print_hex(const char *what, const uint8_t *b, size_t n)
{
    size_t i;
    fprintf(stderr, "%s (%zu):", what, n);
    for (i = 0; i < n; i++) {
        fprintf(stderr, " %02x", b[i]);
    }
    fprintf(stderr, "\n");
}

/* Everything the client wants to send now, concatenated into out. */
static size_t drain_tx(mqttas_client *c, uint32_t now, uint8_t *out, size_t cap)
{
    size_t total = 0;
    for (;;) {
        const uint8_t *d = (const uint8_t *)"x";
        size_t n = 99;
        assert_int_equal(mqttas_poll_transmit(c, now, &d, &n), MQTTAS_OK);
        if (n == 0) {
            assert_null(d);
            return total;
        }
        assert_non_null(d);
        assert_true(total + n <= cap);
        memcpy(out + total, d, n);
        total += n;
    }
}

/* The client must send exactly these bytes now, and nothing more. */
static void expect_tx(mqttas_client *c, uint32_t now, const uint8_t *exp, size_t n)
{
    uint8_t got[4096];
    size_t len = drain_tx(c, now, got, sizeof got);
    if (len != n || memcmp(got, exp, n) != 0) {
        print_hex("expected", exp, n);
        print_hex("got     ", got, len);
    }
    assert_int_equal(len, n);
    assert_memory_equal(got, exp, n);
}

static void expect_no_tx(mqttas_client *c, uint32_t now)
{
    uint8_t got[4096];
    size_t len = drain_tx(c, now, got, sizeof got);
    if (len != 0) {
        print_hex("unexpected", got, len);
    }
    assert_int_equal(len, 0);
}

/* Feed broker bytes; all must be taken. */
static void feed(mqttas_client *c, uint32_t now, const uint8_t *b, size_t n)
{
    size_t accepted = 12345;
    assert_int_equal(mqttas_handle_input(c, now, b, n, &accepted), MQTTAS_OK);
    assert_int_equal(accepted, n);
}

static void next_event(mqttas_client *c, mqttas_event *ev, mqttas_event_kind kind)
{
    char text[256];
    assert_int_equal(mqttas_poll_event(c, ev), MQTTAS_OK);
    if (ev->kind != kind) {
        (void)mqttas_event_describe(c, ev, text, sizeof text, NULL);
        fprintf(stderr, "expected event %u, got %u: %s\n", (unsigned)kind, (unsigned)ev->kind,
                text);
    }
    assert_int_equal(ev->kind, kind);
}

static void expect_no_event(mqttas_client *c)
{
    mqttas_event ev;
    next_event(c, &ev, MQTTAS_EVENT_NONE);
}

/* The sentence for `ev`, the last event of `c`; for a lost connection
 * mqttas_lost_describe is the same without "connection lost: ". */
static void expect_describe(const mqttas_client *c, const mqttas_event *ev, const char *text)
{
    static const char lost[] = "connection lost: ";
    char buf[256];
    size_t n = 0;
    assert_int_equal(mqttas_event_describe(c, ev, buf, sizeof buf, &n), MQTTAS_OK);
    assert_string_equal(buf, text);
    assert_int_equal(n, strlen(text));
    if (ev->kind == MQTTAS_EVENT_CONNECTION_LOST) {
        assert_memory_equal(text, lost, sizeof lost - 1);
        assert_int_equal(mqttas_lost_describe(c, buf, sizeof buf, &n), MQTTAS_OK);
        assert_string_equal(buf, text + sizeof lost - 1);
        assert_int_equal(n, strlen(text + sizeof lost - 1));
    }
}

static mqttas_conn_state state_of(const mqttas_client *c)
{
    mqttas_conn_state s = 99;
    assert_int_equal(mqttas_state(c, &s), MQTTAS_OK);
    return s;
}

static mqttas_connect_options options_for(const char *client_id)
{
    mqttas_connect_options o;
    memset(&o, 0, sizeof o);
    o.client_id = client_id;
    o.client_id_len = strlen(client_id);
    return o;
}

/* Connect a 3.1.1 client with id "c1" at `now` and accept it. */
static void connect_311(mqttas_client *c, uint32_t now)
{
    mqttas_connect_options o = options_for("c1");
    mqttas_event ev;
    assert_int_equal(mqttas_connect(c, now, &o), MQTTAS_OK);
    expect_tx(c, now,
              BYTES(0x10, 14, 0, 4, 'M', 'Q', 'T', 'T', 4, 0x02, 0, 60, 0, 2, 'c', '1'));
    feed(c, now, BYTES(0x20, 2, 0, 0));
    next_event(c, &ev, MQTTAS_EVENT_CONNECTED);
    assert_false(ev.session_present);
}

static mqttas_subscription sub(const char *filter, uint8_t qos)
{
    mqttas_subscription s;
    memset(&s, 0, sizeof s);
    s.filter = filter;
    s.filter_len = strlen(filter);
    s.qos = qos;
    return s;
}

static uint16_t publish(mqttas_client *c, uint32_t now, const char *topic, const char *payload,
                        uint8_t qos, bool retain)
{
    uint16_t id = 0xFFFF;
    assert_int_equal(mqttas_publish(c, now, topic, strlen(topic), (const uint8_t *)payload,
                                     strlen(payload), qos, retain, NULL, 0, &id),
                     MQTTAS_OK);
    return id;
}

/* ---- constants, version, texts ---- */

static void test_version_size_align(void **state)
{
    const char *v = mqttas_version();
    size_t align = mqttas_client_align();
    (void)state;
    assert_non_null(v);
    /* "major.minor.patch" */
    assert_true(strlen(v) >= 5);
    assert_non_null(strchr(v, '.'));
    assert_true(mqttas_client_size() >= 64);
    assert_true(align >= 1 && (align & (align - 1)) == 0);
    /* malloc memory (max_align_t) must do. */
    assert_true(align <= 16);
}

/* The library these tests link is built with `--features ffi`: every
 * protocol feature, each with its fixed bit. */
static void test_features_of_the_full_library(void **state)
{
    (void)state;
    assert_int_equal(MQTTAS_FEATURE_V5, 1);
    assert_int_equal(MQTTAS_FEATURE_QOS2, 2);
    assert_int_equal(MQTTAS_FEATURE_RADIO, 4);
    assert_int_equal(MQTTAS_FEATURE_RADIO_GATEWAY, 8);
    assert_int_equal(mqttas_features(),
                     MQTTAS_FEATURE_V5 | MQTTAS_FEATURE_QOS2 | MQTTAS_FEATURE_RADIO | MQTTAS_FEATURE_RADIO_GATEWAY);
}

/* The numbers are part of the ABI: they must never change. */
static void test_result_codes_are_fixed(void **state)
{
    static const struct {
        mqttas_result code;
        uint32_t value;
    } fixed[] = {
        {MQTTAS_OK, 0},
        {MQTTAS_ERR_NULL_POINTER, 1},
        {MQTTAS_ERR_BUFFER_TOO_SMALL, 2},
        {MQTTAS_ERR_MISALIGNED, 3},
        {MQTTAS_ERR_NOT_INITIALIZED, 4},
        {MQTTAS_ERR_INVALID_UTF8, 5},
        {MQTTAS_ERR_INVALID_ARGUMENT, 6},
        {MQTTAS_ERR_TOO_MANY_ITEMS, 7},
        {MQTTAS_ERR_BUFFERS_OVERLAP, 8},
        {MQTTAS_ERR_UNKNOWN_PROPERTY, 9},
        {MQTTAS_ERR_TOPIC_ALIAS, 10},
        {MQTTAS_ERR_USE_VECTORED, 11},
        {MQTTAS_ERR_NOT_CONNECTED, 100},
        {MQTTAS_ERR_ALREADY_CONNECTED, 101},
        {MQTTAS_ERR_STORE_FULL, 102},
        {MQTTAS_ERR_TX_FULL, 103},
        {MQTTAS_ERR_TOO_MANY_PENDING, 104},
        {MQTTAS_ERR_TOO_LARGE, 105},
        {MQTTAS_ERR_QOS_NOT_SUPPORTED, 106},
        {MQTTAS_ERR_RETAIN_NOT_SUPPORTED, 107},
        {MQTTAS_ERR_INVALID_CONFIG, 108},
        {MQTTAS_ERR_SESSION_OTHER, 199},
        {MQTTAS_ERR_STRING_TOO_LONG, 200},
        {MQTTAS_ERR_PACKET_TOO_LARGE, 201},
        {MQTTAS_ERR_EMPTY_TOPIC, 202},
        {MQTTAS_ERR_INVALID_TOPIC, 203},
        {MQTTAS_ERR_INVALID_PACKET_ID, 204},
        {MQTTAS_ERR_EMPTY_FILTER_LIST, 205},
        {MQTTAS_ERR_NOT_IN_VERSION, 206},
        {MQTTAS_ERR_INVALID_PROPERTY, 207},
        {MQTTAS_ERR_INVALID_STRING, 208},
        {MQTTAS_ERR_INVALID_SUB_OPTIONS, 209},
        {MQTTAS_ERR_INVALID_REASON_CODE, 210},
        {MQTTAS_ERR_ENCODE_OTHER, 299},
    };
    size_t i, j;
    (void)state;
    for (i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        const char *text = mqttas_strerror(fixed[i].code);
        assert_int_equal(fixed[i].code, fixed[i].value);
        assert_non_null(text);
        assert_true(strlen(text) > 5);
        assert_string_not_equal(text, "unknown result code");
        /* Every code has its own text. */
        for (j = 0; j < i; j++) {
            assert_string_not_equal(text, mqttas_strerror(fixed[j].code));
        }
    }
    assert_string_equal(mqttas_strerror(MQTTAS_OK), "success");
    assert_string_equal(mqttas_strerror(12), "unknown result code");
    assert_string_equal(mqttas_strerror(0xFFFFFFFFu), "unknown result code");

    assert_int_equal(MQTTAS_EVENT_NONE, 0);
    assert_int_equal(MQTTAS_EVENT_CONNECTED, 1);
    assert_int_equal(MQTTAS_EVENT_DISCONNECTED, 11);
    assert_int_equal(MQTTAS_EVENT_MESSAGE_SKIPPED, 12);
    assert_int_equal(MQTTAS_EVENT_PAYLOAD_RETURNED, 13);
    assert_int_equal(MQTTAS_PROTOCOL_EMPTY_TOPIC, 26);
    assert_int_equal(MQTTAS_PROTOCOL_CODE_COUNT_MISMATCH, 27);
    assert_int_equal(MQTTAS_PROTOCOL_UNKNOWN_TOPIC_ALIAS, 28);
    assert_int_equal(MQTTAS_LOST_LINK_DOWN, 1);
    assert_int_equal(MQTTAS_LOST_ALIAS_TABLE_FULL, 7);
    assert_int_equal(MQTTAS_AWAITED_UNSUBACK, 7);
    assert_int_equal(MQTTAS_PROTOCOL_UNEXPECTED_PACKET, 24);
    assert_int_equal(MQTTAS_PROTOCOL_UNEXPECTED_SESSION_PRESENT, 25);
    assert_int_equal(MQTTAS_STATE_CONNECTED, 2);
    assert_int_equal(MQTTAS_PROP_USER_PROPERTY, 0x26);
}

/* The caller's mistakes, which no waiting cures, and the session's refusals
 * of the moment, told apart by name rather than by number. */
static void test_result_classes(void **state)
{
    static const mqttas_result bad[] = {
        MQTTAS_ERR_NULL_POINTER, MQTTAS_ERR_INVALID_UTF8,  MQTTAS_ERR_TOPIC_ALIAS,
        MQTTAS_ERR_TOO_LARGE,    MQTTAS_ERR_INVALID_CONFIG, MQTTAS_ERR_STRING_TOO_LONG,
        MQTTAS_ERR_INVALID_TOPIC, MQTTAS_ERR_ENCODE_OTHER,   MQTTAS_ERR_USE_VECTORED,
    };
    static const mqttas_result not_bad[] = {
        MQTTAS_OK,
        MQTTAS_ERR_NOT_CONNECTED,
        MQTTAS_ERR_ALREADY_CONNECTED,
        MQTTAS_ERR_STORE_FULL,
        MQTTAS_ERR_TX_FULL,
        MQTTAS_ERR_TOO_MANY_PENDING,
        MQTTAS_ERR_QOS_NOT_SUPPORTED,
        MQTTAS_ERR_RETAIN_NOT_SUPPORTED,
        MQTTAS_ERR_UNSUPPORTED,
        MQTTAS_ERR_SESSION_OTHER,
    };
    size_t i;
    (void)state;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_true(mqttas_result_is_bad_input(bad[i]));
    }
    for (i = 0; i < sizeof not_bad / sizeof not_bad[0]; i++) {
        assert_false(mqttas_result_is_bad_input(not_bad[i]));
    }
}

static void test_lost_reason_str(void **state)
{
    (void)state;
    assert_string_equal(mqttas_lost_reason_str(MQTTAS_LOST_LINK_DOWN), "link down");
    assert_string_equal(mqttas_lost_reason_str(MQTTAS_LOST_REFUSED),
                        "broker refused the connection");
    assert_string_equal(mqttas_lost_reason_str(MQTTAS_LOST_TIMEOUT),
                        "no reply within response_time");
    assert_string_equal(mqttas_lost_reason_str(MQTTAS_LOST_PROTOCOL), "broker broke the protocol");
    assert_string_equal(mqttas_lost_reason_str(MQTTAS_LOST_RECEIVE_MAXIMUM_EXCEEDED),
                        "broker exceeded our receive maximum");
    assert_string_equal(mqttas_lost_reason_str(MQTTAS_LOST_SERVER_DISCONNECT),
                        "broker closed the connection");
    assert_string_equal(mqttas_lost_reason_str(MQTTAS_LOST_ALIAS_TABLE_FULL),
                        "topic alias table full");
    assert_string_equal(mqttas_lost_reason_str(MQTTAS_LOST_NONE), "connection not lost");
    assert_string_equal(mqttas_lost_reason_str(12345), "unknown");
}

static void test_reason_code_describe(void **state)
{
    char buf[64];
    size_t n = 0;
    (void)state;
    assert_int_equal(mqttas_reason_code_describe(0x87, buf, sizeof buf, &n), MQTTAS_OK);
    assert_string_equal(buf, "not authorised (0x87)");
    assert_int_equal(n, strlen("not authorised (0x87)"));
    assert_int_equal(mqttas_reason_code_describe(0x00, buf, sizeof buf, NULL), MQTTAS_OK);
    assert_string_equal(buf, "success (0x00)");
    assert_int_equal(mqttas_reason_code_describe(0x7f, buf, sizeof buf, NULL), MQTTAS_OK);
    assert_string_equal(buf, "unknown reason code (0x7f)");

    /* Measuring: NULL buffer of length 0. */
    n = 0;
    assert_int_equal(mqttas_reason_code_describe(0x87, NULL, 0, &n), MQTTAS_ERR_BUFFER_TOO_SMALL);
    assert_int_equal(n, strlen("not authorised (0x87)"));
    /* NULL with a length is refused, never written. */
    assert_int_equal(mqttas_reason_code_describe(0x87, NULL, 10, &n), MQTTAS_ERR_NULL_POINTER);
    /* Short buffer: cut, NUL-terminated, full length reported. */
    memset(buf, 'X', sizeof buf);
    assert_int_equal(mqttas_reason_code_describe(0x87, buf, 4, &n), MQTTAS_ERR_BUFFER_TOO_SMALL);
    assert_string_equal(buf, "not");
    assert_int_equal(buf[4], 'X');
    assert_int_equal(n, strlen("not authorised (0x87)"));
    /* Exactly the text without room for the NUL is too small. */
    assert_int_equal(mqttas_reason_code_describe(0x00, buf, 14, &n), MQTTAS_ERR_BUFFER_TOO_SMALL);
    assert_string_equal(buf, "success (0x00");
    assert_int_equal(mqttas_reason_code_describe(0x00, buf, 15, &n), MQTTAS_OK);
    assert_string_equal(buf, "success (0x00)");
}

static void test_config_default(void **state)
{
    mqttas_config cfg;
    (void)state;
    memset(&cfg, 0xA5, sizeof cfg);
    assert_int_equal(mqttas_config_default(&cfg), MQTTAS_OK);
    assert_int_equal(cfg.version, MQTTAS_VERSION_311);
    assert_int_equal(cfg.keep_alive, 60);
    assert_int_equal(cfg.ping_interval_ms, 0);
    assert_int_equal(cfg.response_time_ms, 10000);
    assert_int_equal(cfg.max_repubs, 4);
    assert_true(cfg.clean_init);
    assert_true(cfg.clean);
    assert_int_equal(cfg.max_inflight, 8);
    assert_int_equal(cfg.receive_maximum, 16);
    assert_false(cfg.has_session_expiry);
    assert_int_equal(cfg.session_expiry, 0);
    assert_int_equal(cfg.maximum_packet_size, 0);
    assert_int_equal(cfg.topic_alias_maximum, 0);
    assert_int_equal(mqttas_config_default(NULL), MQTTAS_ERR_NULL_POINTER);
}

/* ---- init and the client's life ---- */

static void test_init_checks_every_argument(void **state)
{
    fixture *f = fixture_new(MQTTAS_VERSION_311, 256, 256, 1024);
    size_t size = mqttas_client_size();
    mqttas_config cfg = f->cfg, bad;
    uint8_t *big;
    mqttas_config got;
    (void)state;

    /* NULL storage, NULL config, NULL buffers with a length. */
    assert_int_equal(init_with(NULL, size, &cfg, f->rx, 256, f->tx, 256, NULL, 0, NULL, 0),
                     MQTTAS_ERR_NULL_POINTER);
    assert_int_equal(init_with(f->c, size, NULL, f->rx, 256, f->tx, 256, NULL, 0, NULL, 0),
                     MQTTAS_ERR_NULL_POINTER);
    assert_int_equal(init_with(f->c, size, &cfg, NULL, 256, f->tx, 256, NULL, 0, NULL, 0),
                     MQTTAS_ERR_NULL_POINTER);
    assert_int_equal(init_with(f->c, size, &cfg, f->rx, 256, NULL, 256, NULL, 0, NULL, 0),
                     MQTTAS_ERR_NULL_POINTER);
    assert_int_equal(init_with(f->c, size, &cfg, f->rx, 256, f->tx, 256, NULL, 10, NULL, 0),
                     MQTTAS_ERR_NULL_POINTER);
    assert_int_equal(init_with(f->c, size, &cfg, f->rx, 256, f->tx, 256, NULL, 0, NULL, 10),
                     MQTTAS_ERR_NULL_POINTER);
    assert_int_equal(mqttas_client_init(f->c, size, &cfg, NULL), MQTTAS_ERR_NULL_POINTER);
    /* Short storage. */
    assert_int_equal(
        init_with(f->c, size - 1, &cfg, f->rx, 256, f->tx, 256, NULL, 0, NULL, 0),
        MQTTAS_ERR_BUFFER_TOO_SMALL);
    /* Misaligned storage (when the alignment is above 1). */
    big = malloc(size + 16);
    assert_non_null(big);
    if (mqttas_client_align() > 1) {
        assert_int_equal(init_with((mqttas_client *)(big + 1), size, &cfg, f->rx, 256,
                                            f->tx, 256, NULL, 0, NULL, 0),
                         MQTTAS_ERR_MISALIGNED);
        assert_int_equal(mqttas_ping((mqttas_client *)(big + 1), 0), MQTTAS_ERR_MISALIGNED);
    }
    /* Overlapping buffers, and a buffer inside the storage. */
    assert_int_equal(
        init_with(f->c, size, &cfg, f->rx, 256, f->rx + 128, 128, NULL, 0, NULL, 0),
        MQTTAS_ERR_BUFFERS_OVERLAP);
    assert_int_equal(init_with((mqttas_client *)big, size, &cfg, big + size - 8, 64,
                                        f->tx, 256, NULL, 0, NULL, 0),
                     MQTTAS_ERR_BUFFERS_OVERLAP);
    free(big);
    /* Buffers below the minimum, values out of range. */
    assert_int_equal(init_with(f->c, size, &cfg, f->rx, 63, f->tx, 256, NULL, 0, NULL, 0),
                     MQTTAS_ERR_INVALID_CONFIG);
    assert_int_equal(init_with(f->c, size, &cfg, f->rx, 256, f->tx, 63, NULL, 0, NULL, 0),
                     MQTTAS_ERR_INVALID_CONFIG);
    bad = cfg;
    bad.version = 3;
    assert_int_equal(init_with(f->c, size, &bad, f->rx, 256, f->tx, 256, NULL, 0, NULL, 0),
                     MQTTAS_ERR_INVALID_CONFIG);
    bad = cfg;
    bad.response_time_ms = 0;
    assert_int_equal(init_with(f->c, size, &bad, f->rx, 256, f->tx, 256, NULL, 0, NULL, 0),
                     MQTTAS_ERR_INVALID_CONFIG);
    bad = cfg;
    bad.receive_maximum = 0;
    assert_int_equal(init_with(f->c, size, &bad, f->rx, 256, f->tx, 256, NULL, 0, NULL, 0),
                     MQTTAS_ERR_INVALID_CONFIG);
    bad = cfg;
    bad.version = MQTTAS_VERSION_5;
    bad.topic_alias_maximum = 4; /* without alias storage */
    assert_int_equal(init_with(f->c, size, &bad, f->rx, 256, f->tx, 256, NULL, 0, NULL, 0),
                     MQTTAS_ERR_INVALID_CONFIG);

    /* None of the failures left a client behind. */
    assert_int_equal(mqttas_ping(f->c, 0), MQTTAS_ERR_NOT_INITIALIZED);

    /* Success, then the configuration reads back. */
    cfg.keep_alive = 30;
    cfg.has_session_expiry = true;
    cfg.session_expiry = 77;
    f->cfg = cfg;
    assert_int_equal(fixture_init(f), MQTTAS_OK);
    memset(&got, 0, sizeof got);
    assert_int_equal(mqttas_client_config(f->c, &got), MQTTAS_OK);
    assert_int_equal(got.keep_alive, 30);
    assert_true(got.has_session_expiry);
    assert_int_equal(got.session_expiry, 77);
    assert_int_equal(got.version, MQTTAS_VERSION_311);
    assert_int_equal(mqttas_client_config(f->c, NULL), MQTTAS_ERR_NULL_POINTER);
    assert_int_equal(state_of(f->c), MQTTAS_STATE_DISCONNECTED);

    /* Deinit, then every call is refused until init again. */
    assert_int_equal(mqttas_client_deinit(f->c), MQTTAS_OK);
    assert_int_equal(mqttas_client_deinit(f->c), MQTTAS_ERR_NOT_INITIALIZED);
    assert_int_equal(mqttas_client_deinit(NULL), MQTTAS_ERR_NULL_POINTER);
    assert_int_equal(fixture_init(f), MQTTAS_OK);
    assert_int_equal(state_of(f->c), MQTTAS_STATE_DISCONNECTED);
    fixture_free(f);
}

/* Storage in a static C99 object rather than malloc. */
static union {
    uint8_t bytes[4096];
    uint64_t align_u64;
    void *align_ptr;
    long double align_ld;
} static_storage;

static void test_static_storage(void **state)
{
    static uint8_t rx[128], tx[128];
    mqttas_client *c = (mqttas_client *)static_storage.bytes;
    mqttas_config cfg;
    (void)state;
    assert_true(mqttas_client_size() <= sizeof static_storage.bytes);
    assert_int_equal(mqttas_config_default(&cfg), MQTTAS_OK);
    assert_int_equal(init_with(c, sizeof static_storage.bytes, &cfg, rx, sizeof rx, tx,
                                        sizeof tx, NULL, 0, NULL, 0),
                     MQTTAS_OK);
    connect_311(c, 5);
    /* Without a store only QoS 0 can be published. */
    assert_int_equal(mqttas_publish(c, 6, "t", 1, NULL, 0, 1, false, NULL, 0, NULL),
                     MQTTAS_ERR_TOO_LARGE);
    assert_int_equal(publish(c, 6, "t", "", 0, false), 0);
    expect_tx(c, 6, BYTES(0x30, 3, 0, 1, 't'));
    assert_int_equal(mqttas_client_deinit(c), MQTTAS_OK);
}

/* ---- init writes in place ---- */

#if defined(__GNUC__)
#define NOINLINE __attribute__((noinline))
#else
#define NOINLINE
#endif

/* Fill the stack below the caller's frame with `paint`, where the next call
 * the caller makes will have its frames. */
static NOINLINE void paint_stack(uint8_t paint)
{
    volatile uint8_t area[16384];
    size_t i;
    for (i = 0; i < sizeof area; i++) {
        area[i] = paint;
    }
}

enum { IN_PLACE_CLIENT, IN_PLACE_RADIO, IN_PLACE_RECONNECT };

/* Init one `kind` into `storage` (`size` bytes) on a freshly painted stack. */
static NOINLINE mqttas_result init_on_painted_stack(int kind, void *storage, size_t size,
                                                    uint8_t paint)
{
    static uint8_t rx[256], tx[256];
    mqttas_config cfg;
    mqttas_radio_config rcfg;
    assert_int_equal(mqttas_config_default(&cfg), MQTTAS_OK);
    assert_int_equal(mqttas_radio_config_default(&rcfg), MQTTAS_OK);
    paint_stack(paint);
    switch (kind) {
    case IN_PLACE_CLIENT:
        return init_with(storage, size, &cfg, rx, sizeof rx, tx, sizeof tx, NULL, 0, NULL, 0);
    case IN_PLACE_RADIO:
        return mqttas_radio_init(storage, size, &rcfg, tx, sizeof tx, rx, sizeof rx);
    default:
        return mqttas_reconnect_init(storage, size, NULL, 7);
    }
}

/* Each init zeroes its storage and writes the value there in place: no
 * value is built on the stack and copied over, so what the value leaves
 * unwritten (padding, free room in fixed-capacity arrays, empty options)
 * holds no stale stack bytes. MicroPython's collector scans the storage
 * conservatively for the object's life: a stale pointer there would keep
 * garbage alive. Storage and stack are painted, twice with two values; a
 * byte that holds each run's paint came from neither the value nor zero. */
static void test_init_writes_in_place(void **state)
{
    static const uint8_t paint[2] = {0xA5, 0x5A};
    size_t sizes[3];
    int kind;
    (void)state;
    sizes[IN_PLACE_CLIENT] = mqttas_client_size();
    sizes[IN_PLACE_RADIO] = mqttas_radio_size();
    sizes[IN_PLACE_RECONNECT] = mqttas_reconnect_size();
    for (kind = 0; kind < 3; kind++) {
        size_t size = sizes[kind], i, stale = 0;
        uint8_t *storage = malloc(size), *seen[2];
        int run;
        assert_non_null(storage);
        for (run = 0; run < 2; run++) {
            seen[run] = malloc(size);
            assert_non_null(seen[run]);
            memset(storage, paint[run], size);
            assert_int_equal(init_on_painted_stack(kind, storage, size, paint[run]), MQTTAS_OK);
            memcpy(seen[run], storage, size);
            switch (kind) {
            case IN_PLACE_CLIENT:
                assert_int_equal(mqttas_client_deinit((mqttas_client *)storage), MQTTAS_OK);
                break;
            case IN_PLACE_RADIO:
                assert_int_equal(mqttas_radio_deinit((mqttas_radio *)storage), MQTTAS_OK);
                break;
            default:
                assert_int_equal(mqttas_reconnect_deinit((mqttas_reconnect *)storage), MQTTAS_OK);
            }
        }
        for (i = 0; i < size; i++) {
            stale += seen[0][i] == paint[0] && seen[1][i] == paint[1];
        }
        if (stale != 0) {
            fprintf(stderr, "init of kind %d left %zu stale bytes of %zu\n", kind, stale, size);
        }
        assert_int_equal(stale, 0);
        free(seen[0]);
        free(seen[1]);
        free(storage);
    }
}

/* Every call that takes a client refuses NULL, uninitialised storage, and
 * reports NULL outputs without writing anything. */
static void test_not_initialized_and_null(void **state)
{
    fixture *f = fixture_new(MQTTAS_VERSION_311, 256, 256, 1024);
    mqttas_client *c = f->c;
    mqttas_connect_options o = options_for("x");
    mqttas_subscription s = sub("a", 0);
    mqttas_str filter = {"a", 1};
    mqttas_event ev;
    mqttas_config cfg;
    mqttas_conn_state st;
    const uint8_t *d;
    const char *id;
    size_t n;
    bool has;
    uint32_t dl;
    uint16_t pid;
    mqttas_client *clients[2];
    mqttas_result expect[2] = {MQTTAS_ERR_NULL_POINTER, MQTTAS_ERR_NOT_INITIALIZED};
    int i;
    (void)state;

    clients[0] = NULL;
    clients[1] = c; /* zeroed storage */
    for (i = 0; i < 2; i++) {
        mqttas_client *k = clients[i];
        mqttas_result e = expect[i];
        assert_int_equal(mqttas_client_deinit(k), e);
        assert_int_equal(mqttas_client_config(k, &cfg), e);
        assert_int_equal(mqttas_state(k, &st), e);
        assert_int_equal(mqttas_pending_publications(k, &n), e);
        assert_int_equal(mqttas_assigned_client_id(k, &id, &n), e);
        assert_int_equal(mqttas_connect(k, 0, &o), e);
        assert_int_equal(mqttas_publish(k, 0, "t", 1, NULL, 0, 0, false, NULL, 0, &pid), e);
        assert_int_equal(mqttas_subscribe(k, 0, &s, 1, NULL, 0, &pid), e);
        assert_int_equal(mqttas_unsubscribe(k, 0, &filter, 1, NULL, 0, &pid), e);
        assert_int_equal(mqttas_ping(k, 0), e);
        assert_int_equal(mqttas_disconnect(k, 0, 0, NULL, 0), e);
        assert_int_equal(mqttas_auth(k, 0, 0, NULL, 0), e);
        assert_int_equal(mqttas_handle_input(k, 0, (const uint8_t *)"x", 1, &n), e);
        assert_int_equal(mqttas_handle_timeout(k, 0), e);
        assert_int_equal(mqttas_handle_link_down(k, 0), e);
        assert_int_equal(mqttas_poll_transmit(k, 0, &d, &n), e);
        assert_int_equal(mqttas_poll_event(k, &ev), e);
        assert_int_equal(mqttas_poll_deadline(k, &has, &dl), e);
    }

    assert_int_equal(fixture_init(f), MQTTAS_OK);
    /* NULL outputs. */
    assert_int_equal(mqttas_client_config(c, NULL), MQTTAS_ERR_NULL_POINTER);
    assert_int_equal(mqttas_state(c, NULL), MQTTAS_ERR_NULL_POINTER);
    assert_int_equal(mqttas_pending_publications(c, NULL), MQTTAS_ERR_NULL_POINTER);
    assert_int_equal(mqttas_assigned_client_id(c, NULL, &n), MQTTAS_ERR_NULL_POINTER);
    assert_int_equal(mqttas_assigned_client_id(c, &id, NULL), MQTTAS_ERR_NULL_POINTER);
    assert_int_equal(mqttas_handle_input(c, 0, (const uint8_t *)"x", 1, NULL),
                     MQTTAS_ERR_NULL_POINTER);
    assert_int_equal(mqttas_poll_transmit(c, 0, NULL, &n), MQTTAS_ERR_NULL_POINTER);
    assert_int_equal(mqttas_poll_transmit(c, 0, &d, NULL), MQTTAS_ERR_NULL_POINTER);
    assert_int_equal(mqttas_poll_event(c, NULL), MQTTAS_ERR_NULL_POINTER);
    assert_int_equal(mqttas_poll_deadline(c, NULL, &dl), MQTTAS_ERR_NULL_POINTER);
    assert_int_equal(mqttas_poll_deadline(c, &has, NULL), MQTTAS_ERR_NULL_POINTER);
    /* NULL inputs with a length. */
    assert_int_equal(mqttas_connect(c, 0, NULL), MQTTAS_ERR_NULL_POINTER);
    o.client_id = NULL;
    assert_int_equal(mqttas_connect(c, 0, &o), MQTTAS_ERR_NULL_POINTER);
    o = options_for("x");
    o.properties_len = 1;
    assert_int_equal(mqttas_connect(c, 0, &o), MQTTAS_ERR_NULL_POINTER);
    o = options_for("x");
    o.will_topic = "w";
    o.will_topic_len = 1;
    o.will_payload_len = 3;
    assert_int_equal(mqttas_connect(c, 0, &o), MQTTAS_ERR_NULL_POINTER);
    assert_int_equal(mqttas_handle_input(c, 0, NULL, 1, &n), MQTTAS_ERR_NULL_POINTER);
    assert_int_equal(mqttas_publish(c, 0, NULL, 1, NULL, 0, 1, false, NULL, 0, NULL),
                     MQTTAS_ERR_NULL_POINTER);
    assert_int_equal(mqttas_publish(c, 0, "t", 1, NULL, 5, 1, false, NULL, 0, NULL),
                     MQTTAS_ERR_NULL_POINTER);
    assert_int_equal(mqttas_publish(c, 0, "t", 1, NULL, 0, 1, false, NULL, 2, NULL),
                     MQTTAS_ERR_NULL_POINTER);
    assert_int_equal(mqttas_subscribe(c, 0, NULL, 1, NULL, 0, NULL), MQTTAS_ERR_NULL_POINTER);
    s.filter = NULL;
    assert_int_equal(mqttas_subscribe(c, 0, &s, 1, NULL, 0, NULL), MQTTAS_ERR_NULL_POINTER);
    assert_int_equal(mqttas_unsubscribe(c, 0, NULL, 1, NULL, 0, NULL), MQTTAS_ERR_NULL_POINTER);
    filter.data = NULL;
    assert_int_equal(mqttas_unsubscribe(c, 0, &filter, 1, NULL, 0, NULL), MQTTAS_ERR_NULL_POINTER);
    assert_int_equal(mqttas_disconnect(c, 0, 0, NULL, 1), MQTTAS_ERR_NULL_POINTER);
    assert_int_equal(mqttas_auth(c, 0, 0, NULL, 1), MQTTAS_ERR_NULL_POINTER);
    /* NULL with length 0 is an empty input: nothing taken. */
    n = 99;
    assert_int_equal(mqttas_handle_input(c, 0, NULL, 0, &n), MQTTAS_OK);
    assert_int_equal(n, 0);
    /* Nothing happened to the client through all this. */
    assert_int_equal(state_of(c), MQTTAS_STATE_DISCONNECTED);
    expect_no_tx(c, 0);
    expect_no_event(c);
    assert_int_equal(mqttas_poll_deadline(c, &has, &dl), MQTTAS_OK);
    assert_false(has);
    fixture_free(f);
}

/* ---- a whole scripted 3.1.1 session ---- */

static void test_session_311(void **state)
{
    fixture *f = fixture_new(MQTTAS_VERSION_311, 256, 256, 2048);
    mqttas_client *c = f->c;
    mqttas_connect_options o = options_for("c1");
    mqttas_subscription subs[2];
    mqttas_str unsub = {"a/+", 3};
    mqttas_event ev;
    uint16_t sid, uid, p1, p2;
    size_t pending;
    char text[128];
    (void)state;
    assert_int_equal(fixture_init(f), MQTTAS_OK);

    /* CONNECT with user, password and a retained QoS 1 will. */
    o.username = "u";
    o.username_len = 1;
    o.password = (const uint8_t *)"p";
    o.password_len = 1;
    o.will_topic = "w";
    o.will_topic_len = 1;
    o.will_payload = (const uint8_t *)"bye";
    o.will_payload_len = 3;
    o.will_qos = 1;
    o.will_retain = true;
    assert_int_equal(mqttas_connect(c, 1000, &o), MQTTAS_OK);
    assert_int_equal(state_of(c), MQTTAS_STATE_CONNECTING);
    assert_int_equal(mqttas_connect(c, 1000, &o), MQTTAS_ERR_ALREADY_CONNECTED);
    expect_tx(c, 1000,
              BYTES(0x10, 28, 0, 4, 'M', 'Q', 'T', 'T', 4, 0xEE, 0, 60, 0, 2, 'c', '1', 0, 1,
                    'w', 0, 3, 'b', 'y', 'e', 0, 1, 'u', 0, 1, 'p'));
    expect_no_event(c);
    feed(c, 1010, BYTES(0x20, 2, 0, 0));
    next_event(c, &ev, MQTTAS_EVENT_CONNECTED);
    assert_false(ev.session_present);
    assert_int_equal(ev.properties_len, 0);
    expect_describe(c, &ev, "connected (new session)");
    assert_int_equal(state_of(c), MQTTAS_STATE_CONNECTED);
    expect_no_event(c);

    /* SUBSCRIBE two filters, SUBACK grants both. */
    subs[0] = sub("a/+", 1);
    subs[1] = sub("b/#", 2);
    assert_int_equal(mqttas_subscribe(c, 1020, subs, 2, NULL, 0, &sid), MQTTAS_OK);
    assert_true(sid != 0);
    expect_tx(c, 1020,
              BYTES(0x82, 14, (uint8_t)(sid >> 8), (uint8_t)sid, 0, 3, 'a', '/', '+', 1, 0, 3,
                    'b', '/', '#', 2));
    feed(c, 1030, BYTES(0x90, 4, (uint8_t)(sid >> 8), (uint8_t)sid, 1, 2));
    next_event(c, &ev, MQTTAS_EVENT_SUBSCRIBED);
    assert_int_equal(ev.packet_id, sid);
    assert_int_equal(ev.codes_len, 2);
    assert_int_equal(ev.codes[0], 1);
    assert_int_equal(ev.codes[1], 2);

    /* Inbound QoS 1: delivered once, PUBACK sent. */
    feed(c, 1040, BYTES(0x32, 12, 0, 3, 'a', '/', 'x', 0, 7, 'h', 'e', 'l', 'l', 'o'));
    next_event(c, &ev, MQTTAS_EVENT_MESSAGE);
    assert_int_equal(ev.topic_len, 3);
    assert_memory_equal(ev.topic, "a/x", 3);
    assert_int_equal(ev.payload_len, 5);
    assert_memory_equal(ev.payload, "hello", 5);
    assert_int_equal(ev.qos, 1);
    assert_int_equal(ev.packet_id, 7);
    assert_false(ev.retain);
    assert_false(ev.dup);
    expect_describe(c, &ev, "message on \"a/x\": 5 bytes, QoS 1");
    expect_no_event(c);
    expect_tx(c, 1040, BYTES(0x40, 2, 0, 7));

    /* Inbound QoS 2, then the broker's duplicate before PUBREL: delivered
     * once, PUBREC each time, PUBCOMP after PUBREL. */
    feed(c, 1050, BYTES(0x35, 12, 0, 3, 'b', '/', 'y', 0, 8, 'w', 'o', 'r', 'l', 'd'));
    next_event(c, &ev, MQTTAS_EVENT_MESSAGE);
    assert_int_equal(ev.qos, 2);
    assert_true(ev.retain);
    assert_int_equal(ev.packet_id, 8);
    assert_memory_equal(ev.payload, "world", 5);
    expect_describe(c, &ev, "message on \"b/y\": 5 bytes, QoS 2, retained");
    expect_no_event(c);
    expect_tx(c, 1050, BYTES(0x50, 2, 0, 8));
    feed(c, 1060, BYTES(0x3C, 12, 0, 3, 'b', '/', 'y', 0, 8, 'w', 'o', 'r', 'l', 'd'));
    expect_no_event(c);
    expect_tx(c, 1060, BYTES(0x50, 2, 0, 8));
    feed(c, 1070, BYTES(0x62, 2, 0, 8));
    expect_no_event(c);
    expect_tx(c, 1070, BYTES(0x70, 2, 0, 8));

    /* Outbound QoS 1: PUBLISH, PUBACK, PUBLISHED. */
    p1 = publish(c, 1100, "t/1", "p1", 1, false);
    assert_true(p1 != 0);
    assert_int_equal(mqttas_pending_publications(c, &pending), MQTTAS_OK);
    assert_int_equal(pending, 1);
    expect_tx(c, 1100, BYTES(0x32, 9, 0, 3, 't', '/', '1', (uint8_t)(p1 >> 8), (uint8_t)p1, 'p', '1'));
    feed(c, 1110, BYTES(0x40, 2, (uint8_t)(p1 >> 8), (uint8_t)p1));
    next_event(c, &ev, MQTTAS_EVENT_PUBLISHED);
    assert_int_equal(ev.packet_id, p1);
    assert_int_equal(ev.reason, 0);
    assert_int_equal(mqttas_pending_publications(c, &pending), MQTTAS_OK);
    assert_int_equal(pending, 0);

    /* Outbound QoS 2: PUBLISH, PUBREC, PUBREL, PUBCOMP, PUBLISHED. */
    p2 = publish(c, 1200, "t/2", "p2", 2, false);
    assert_true(p2 != 0 && p2 != p1);
    expect_tx(c, 1200, BYTES(0x34, 9, 0, 3, 't', '/', '2', (uint8_t)(p2 >> 8), (uint8_t)p2, 'p', '2'));
    feed(c, 1210, BYTES(0x50, 2, (uint8_t)(p2 >> 8), (uint8_t)p2));
    expect_no_event(c);
    expect_tx(c, 1210, BYTES(0x62, 2, (uint8_t)(p2 >> 8), (uint8_t)p2));
    feed(c, 1220, BYTES(0x70, 2, (uint8_t)(p2 >> 8), (uint8_t)p2));
    next_event(c, &ev, MQTTAS_EVENT_PUBLISHED);
    assert_int_equal(ev.packet_id, p2);
    snprintf(text, sizeof text, "publication %u complete: success (0x00)", (unsigned)p2);
    expect_describe(c, &ev, text);
    expect_no_event(c);

    /* QoS 0, retained: straight out, id 0. */
    assert_int_equal(publish(c, 1300, "t/0", "p0", 0, true), 0);
    expect_tx(c, 1300, BYTES(0x31, 7, 0, 3, 't', '/', '0', 'p', '0'));

    /* UNSUBSCRIBE, UNSUBACK (no codes in 3.1.1). */
    assert_int_equal(mqttas_unsubscribe(c, 1400, &unsub, 1, NULL, 0, &uid), MQTTAS_OK);
    expect_tx(c, 1400, BYTES(0xA2, 7, (uint8_t)(uid >> 8), (uint8_t)uid, 0, 3, 'a', '/', '+'));
    feed(c, 1410, BYTES(0xB0, 2, (uint8_t)(uid >> 8), (uint8_t)uid));
    next_event(c, &ev, MQTTAS_EVENT_UNSUBSCRIBED);
    assert_int_equal(ev.packet_id, uid);
    assert_int_equal(ev.codes_len, 0);

    /* PING. */
    assert_int_equal(mqttas_ping(c, 1500), MQTTAS_OK);
    expect_tx(c, 1500, BYTES(0xC0, 0));
    feed(c, 1510, BYTES(0xD0, 0));
    expect_no_event(c);

    /* DISCONNECT, then the event saying to close the link. */
    assert_int_equal(mqttas_disconnect(c, 1600, 0, NULL, 0), MQTTAS_OK);
    expect_tx(c, 1600, BYTES(0xE0, 0));
    next_event(c, &ev, MQTTAS_EVENT_DISCONNECTED);
    expect_describe(c, &ev, "disconnected: close the link");
    assert_int_equal(state_of(c), MQTTAS_STATE_DISCONNECTED);
    assert_int_equal(mqttas_ping(c, 1700), MQTTAS_ERR_NOT_CONNECTED);
    fixture_free(f);
}

/* Every command's refusals, each with its own code. (PACKET_TOO_LARGE,
 * INVALID_PACKET_ID, SESSION_OTHER and ENCODE_OTHER cannot be reached
 * through this API with buffers a test can hold: their numbers and texts are
 * checked in test_result_codes_are_fixed.) */
static void test_command_errors(void **state)
{
    fixture *f = fixture_new(MQTTAS_VERSION_311, 256, 128, 256);
    mqttas_client *c = f->c;
    mqttas_subscription subs[MQTTAS_MAX_SUBSCRIPTIONS + 1];
    mqttas_property prop;
    mqttas_str filters[MQTTAS_MAX_SUBSCRIPTIONS + 1];
    uint8_t payload[300];
    uint16_t id;
    size_t i;
    mqttas_result r;
    (void)state;
    assert_int_equal(fixture_init(f), MQTTAS_OK);
    memset(payload, 'x', sizeof payload);

    /* Before connecting. */
    assert_int_equal(mqttas_publish(c, 0, "t", 1, NULL, 0, 0, false, NULL, 0, &id),
                     MQTTAS_ERR_NOT_CONNECTED);
    subs[0] = sub("a", 0);
    assert_int_equal(mqttas_subscribe(c, 0, subs, 1, NULL, 0, &id), MQTTAS_ERR_NOT_CONNECTED);
    assert_int_equal(mqttas_ping(c, 0), MQTTAS_ERR_NOT_CONNECTED);
    assert_int_equal(mqttas_disconnect(c, 0, 0, NULL, 0), MQTTAS_ERR_NOT_CONNECTED);
    connect_311(c, 0);

    /* Argument errors found by the C layer. */
    assert_int_equal(mqttas_publish(c, 1, "t", 1, NULL, 0, 3, false, NULL, 0, &id),
                     MQTTAS_ERR_INVALID_ARGUMENT);
    assert_int_equal(mqttas_publish(c, 1, "\xff", 1, NULL, 0, 0, false, NULL, 0, &id),
                     MQTTAS_ERR_INVALID_UTF8);
    subs[0] = sub("a", 3);
    assert_int_equal(mqttas_subscribe(c, 1, subs, 1, NULL, 0, &id), MQTTAS_ERR_INVALID_ARGUMENT);
    subs[0] = sub("a", 0);
    subs[0].retain_handling = 3;
    assert_int_equal(mqttas_subscribe(c, 1, subs, 1, NULL, 0, &id), MQTTAS_ERR_INVALID_ARGUMENT);
    for (i = 0; i <= MQTTAS_MAX_SUBSCRIPTIONS; i++) {
        subs[i] = sub("a", 0);
        filters[i].data = "a";
        filters[i].len = 1;
    }
    assert_int_equal(mqttas_subscribe(c, 1, subs, MQTTAS_MAX_SUBSCRIPTIONS + 1, NULL, 0, &id),
                     MQTTAS_ERR_TOO_MANY_ITEMS);
    assert_int_equal(mqttas_unsubscribe(c, 1, filters, MQTTAS_MAX_SUBSCRIPTIONS + 1, NULL, 0, &id),
                     MQTTAS_ERR_TOO_MANY_ITEMS);
    memset(&prop, 0, sizeof prop);
    prop.id = 0x7F;
    assert_int_equal(mqttas_publish(c, 1, "t", 1, NULL, 0, 0, false, &prop, 1, &id),
                     MQTTAS_ERR_UNKNOWN_PROPERTY);
    prop.id = MQTTAS_PROP_PAYLOAD_FORMAT_INDICATOR;
    prop.value = 256;
    assert_int_equal(mqttas_publish(c, 1, "t", 1, NULL, 0, 0, false, &prop, 1, &id),
                     MQTTAS_ERR_INVALID_ARGUMENT);
    /* A length no object can have is refused before anything is read. */
    assert_int_equal(mqttas_publish(c, 1, "t", 1, payload, SIZE_MAX, 0, false, NULL, 0, &id),
                     MQTTAS_ERR_INVALID_ARGUMENT);
    assert_int_equal(mqttas_subscribe(c, 1, subs, SIZE_MAX / 2, NULL, 0, &id),
                     MQTTAS_ERR_INVALID_ARGUMENT);

    /* Encoding errors. */
    assert_int_equal(mqttas_publish(c, 1, "", 0, NULL, 0, 0, false, NULL, 0, &id),
                     MQTTAS_ERR_EMPTY_TOPIC);
    assert_int_equal(mqttas_publish(c, 1, "a/#", 3, NULL, 0, 0, false, NULL, 0, &id),
                     MQTTAS_ERR_INVALID_TOPIC);
    subs[0] = sub("a/#/b", 0);
    assert_int_equal(mqttas_subscribe(c, 1, subs, 1, NULL, 0, &id), MQTTAS_ERR_INVALID_TOPIC);
    assert_int_equal(mqttas_subscribe(c, 1, subs, 0, NULL, 0, &id), MQTTAS_ERR_EMPTY_FILTER_LIST);
    assert_int_equal(mqttas_unsubscribe(c, 1, filters, 0, NULL, 0, &id),
                     MQTTAS_ERR_EMPTY_FILTER_LIST);
    prop.value = 1;
    assert_int_equal(mqttas_publish(c, 1, "t", 1, NULL, 0, 0, false, &prop, 1, &id),
                     MQTTAS_ERR_NOT_IN_VERSION);
    {
        /* A topic of 65536 bytes. */
        char *topic = malloc(65536);
        assert_non_null(topic);
        memset(topic, 't', 65536);
        r = mqttas_publish(c, 1, topic, 65536, NULL, 0, 1, false, NULL, 0, &id);
        free(topic);
        assert_int_equal(r, MQTTAS_ERR_STRING_TOO_LONG);
    }

    /* Too large for the transmit buffer (QoS 0) or the store (QoS 1). */
    assert_int_equal(mqttas_publish(c, 1, "t", 1, payload, 200, 0, false, NULL, 0, &id),
                     MQTTAS_ERR_TOO_LARGE);
    assert_int_equal(mqttas_publish(c, 1, "t", 1, payload, 300, 1, false, NULL, 0, &id),
                     MQTTAS_ERR_TOO_LARGE);
    /* Transmit buffer full: QoS 0 messages not taken out yet. */
    r = MQTTAS_OK;
    for (i = 0; i < 10 && r == MQTTAS_OK; i++) {
        r = mqttas_publish(c, 1, "t", 1, payload, 50, 0, false, NULL, 0, &id);
    }
    assert_int_equal(r, MQTTAS_ERR_TX_FULL);
    (void)drain_tx(c, 1, payload, sizeof payload);
    /* Store full: QoS 1 messages not acknowledged. */
    r = MQTTAS_OK;
    for (i = 0; i < 20 && r == MQTTAS_OK; i++) {
        r = mqttas_publish(c, 2, "t", 1, payload, 60, 1, false, NULL, 0, &id);
        (void)drain_tx(c, 2, payload, sizeof payload);
    }
    assert_int_equal(r, MQTTAS_ERR_STORE_FULL);
    /* Too many SUBSCRIBE awaiting SUBACK. */
    r = MQTTAS_OK;
    for (i = 0; i < 20 && r == MQTTAS_OK; i++) {
        subs[0] = sub("a", 0);
        r = mqttas_subscribe(c, 3, subs, 1, NULL, 0, &id);
        (void)drain_tx(c, 3, payload, sizeof payload);
    }
    assert_int_equal(r, MQTTAS_ERR_TOO_MANY_PENDING);
    assert_true(i > 1);
    fixture_free(f);
}

/* ---- MQTT 5.0: properties both ways ---- */

static void test_session_5_properties(void **state)
{
    fixture *f = fixture_new(MQTTAS_VERSION_5, 512, 512, 2048);
    mqttas_client *c = f->c;
    mqttas_connect_options o = options_for("");
    mqttas_property props[3], p;
    mqttas_subscription s;
    mqttas_event ev;
    size_t cursor, n;
    const char *id;
    uint16_t pid, sid;
    char text[128];
    (void)state;
    assert_int_equal(fixture_init(f), MQTTAS_OK);

    /* CONNECT with a user property, an authentication method (so the
     * broker may send AUTH) and an empty client id. */
    memset(props, 0, sizeof props);
    props[0].id = MQTTAS_PROP_USER_PROPERTY;
    props[0].data = (const uint8_t *)"k";
    props[0].data_len = 1;
    props[0].data2 = (const uint8_t *)"v";
    props[0].data2_len = 1;
    props[1].id = MQTTAS_PROP_AUTHENTICATION_METHOD;
    props[1].data = (const uint8_t *)"m";
    props[1].data_len = 1;
    o.properties = props;
    o.properties_len = 2;
    assert_int_equal(mqttas_connect(c, 0, &o), MQTTAS_OK);
    /* Properties: receive maximum 16 (0x21 00 10), user property k=v,
     * authentication method m (0x15 00 01 'm'). */
    expect_tx(c, 0,
              BYTES(0x10, 27, 0, 4, 'M', 'Q', 'T', 'T', 5, 0x02, 0, 60, 14, 0x21, 0, 16, 0x26, 0,
                    1, 'k', 0, 1, 'v', 0x15, 0, 1, 'm', 0, 0));

    /* CONNACK assigning a client id, with a reason string, maximum QoS 1
     * and no retain. */
    feed(c, 5,
         BYTES(0x20, 19, 0, 0, 16, 0x12, 0, 4, 'a', 's', 'g', 'n', 0x1F, 0, 2, 'o', 'k', 0x24, 1,
               0x25, 0));
    next_event(c, &ev, MQTTAS_EVENT_CONNECTED);
    assert_int_equal(ev.properties_len, 16);
    cursor = 0;
    assert_int_equal(mqttas_property_next(ev.properties, ev.properties_len, &cursor, &p), MQTTAS_OK);
    assert_int_equal(p.id, MQTTAS_PROP_ASSIGNED_CLIENT_IDENTIFIER);
    assert_int_equal(p.kind, MQTTAS_PROPERTY_KIND_STRING);
    assert_int_equal(p.data_len, 4);
    assert_memory_equal(p.data, "asgn", 4);
    assert_int_equal(mqttas_property_next(ev.properties, ev.properties_len, &cursor, &p), MQTTAS_OK);
    assert_int_equal(p.id, MQTTAS_PROP_REASON_STRING);
    assert_memory_equal(p.data, "ok", 2);
    assert_int_equal(mqttas_property_next(ev.properties, ev.properties_len, &cursor, &p), MQTTAS_OK);
    assert_int_equal(p.id, MQTTAS_PROP_MAXIMUM_QOS);
    assert_int_equal(p.kind, MQTTAS_PROPERTY_KIND_INTEGER);
    assert_int_equal(p.value, 1);
    assert_null(p.data);
    assert_int_equal(mqttas_property_next(ev.properties, ev.properties_len, &cursor, &p), MQTTAS_OK);
    assert_int_equal(p.id, MQTTAS_PROP_RETAIN_AVAILABLE);
    assert_int_equal(p.value, 0);
    assert_int_equal(mqttas_property_next(ev.properties, ev.properties_len, &cursor, &p), MQTTAS_OK);
    assert_int_equal(p.id, 0);
    assert_int_equal(p.kind, MQTTAS_PROPERTY_KIND_NONE);
    /* The end stays the end. */
    assert_int_equal(mqttas_property_next(ev.properties, ev.properties_len, &cursor, &p), MQTTAS_OK);
    assert_int_equal(p.id, 0);
    assert_int_equal(mqttas_property_next(ev.properties, ev.properties_len, NULL, &p),
                     MQTTAS_ERR_NULL_POINTER);
    assert_int_equal(mqttas_property_next(ev.properties, ev.properties_len, &cursor, NULL),
                     MQTTAS_ERR_NULL_POINTER);
    assert_int_equal(mqttas_property_next(NULL, 3, &cursor, &p), MQTTAS_ERR_NULL_POINTER);
    cursor = 0;
    assert_int_equal(mqttas_property_next(NULL, 0, &cursor, &p), MQTTAS_OK);
    assert_int_equal(p.id, 0);
    assert_int_equal(mqttas_assigned_client_id(c, &id, &n), MQTTAS_OK);
    assert_int_equal(n, 4);
    assert_memory_equal(id, "asgn", 4);

    /* The broker's maximum QoS and retain availability apply. */
    assert_int_equal(mqttas_publish(c, 10, "t", 1, NULL, 0, 2, false, NULL, 0, &pid),
                     MQTTAS_ERR_QOS_NOT_SUPPORTED);
    assert_int_equal(mqttas_publish(c, 10, "t", 1, NULL, 0, 0, true, NULL, 0, &pid),
                     MQTTAS_ERR_RETAIN_NOT_SUPPORTED);

    /* PUBLISH with message expiry and a user property. */
    memset(props, 0, sizeof props);
    props[0].id = MQTTAS_PROP_MESSAGE_EXPIRY_INTERVAL;
    props[0].value = 300;
    props[1].id = MQTTAS_PROP_USER_PROPERTY;
    props[1].data = (const uint8_t *)"a";
    props[1].data_len = 1;
    props[1].data2 = (const uint8_t *)"b";
    props[1].data2_len = 1;
    assert_int_equal(mqttas_publish(c, 10, "t", 1, (const uint8_t *)"x", 1, 1, false, props, 2, &pid),
                     MQTTAS_OK);
    expect_tx(c, 10,
              BYTES(0x32, 19, 0, 1, 't', (uint8_t)(pid >> 8), (uint8_t)pid, 12, 0x02, 0, 0, 1, 44,
                    0x26, 0, 1, 'a', 0, 1, 'b', 'x'));
    /* PUBACK refusing it: 5.0 reason code 0x87, with a reason string. */
    feed(c, 15, BYTES(0x40, 9, (uint8_t)(pid >> 8), (uint8_t)pid, 0x87, 5, 0x1F, 0, 2, 'n', 'o'));
    next_event(c, &ev, MQTTAS_EVENT_PUBLISHED);
    assert_int_equal(ev.packet_id, pid);
    assert_int_equal(ev.reason, 0x87);
    (void)mqttas_event_describe(c, &ev, text, sizeof text, NULL);
    assert_non_null(strstr(text, "refused: not authorised (0x87)"));

    /* Properties not allowed in a packet, or holding NUL. */
    memset(props, 0, sizeof props);
    props[0].id = MQTTAS_PROP_TOPIC_ALIAS_MAXIMUM;
    props[0].value = 5;
    assert_int_equal(mqttas_publish(c, 20, "t", 1, NULL, 0, 0, false, props, 1, &pid),
                     MQTTAS_ERR_INVALID_PROPERTY);
    props[0].id = MQTTAS_PROP_CONTENT_TYPE;
    props[0].data = (const uint8_t *)"a\0b";
    props[0].data_len = 3;
    assert_int_equal(mqttas_publish(c, 20, "t", 1, NULL, 0, 0, false, props, 1, &pid),
                     MQTTAS_ERR_INVALID_STRING);
    props[0].data = (const uint8_t *)"\xc3";
    props[0].data_len = 1;
    assert_int_equal(mqttas_publish(c, 20, "t", 1, NULL, 0, 0, false, props, 1, &pid),
                     MQTTAS_ERR_INVALID_UTF8);
    {
        mqttas_property many[MQTTAS_MAX_PROPERTIES + 1];
        size_t i;
        memset(many, 0, sizeof many);
        for (i = 0; i <= MQTTAS_MAX_PROPERTIES; i++) {
            many[i].id = MQTTAS_PROP_USER_PROPERTY;
        }
        assert_int_equal(
            mqttas_publish(c, 20, "t", 1, NULL, 0, 0, false, many, MQTTAS_MAX_PROPERTIES + 1, &pid),
            MQTTAS_ERR_TOO_MANY_ITEMS);
    }
    /* No local on a shared subscription is invalid. */
    s = sub("$share/g/t", 0);
    s.no_local = true;
    assert_int_equal(mqttas_subscribe(c, 20, &s, 1, NULL, 0, &sid), MQTTAS_ERR_INVALID_SUB_OPTIONS);
    /* DISCONNECT can carry only its own reason codes. */
    assert_int_equal(mqttas_disconnect(c, 20, 0x01, NULL, 0), MQTTAS_ERR_INVALID_REASON_CODE);

    /* SUBSCRIBE with options and a subscription identifier; SUBACK with a
     * refusal for it. */
    s = sub("s/#", 1);
    s.no_local = true;
    s.retain_as_published = true;
    s.retain_handling = 2;
    memset(props, 0, sizeof props);
    props[0].id = MQTTAS_PROP_SUBSCRIPTION_IDENTIFIER;
    props[0].value = 200; /* two-byte variable integer */
    assert_int_equal(mqttas_subscribe(c, 30, &s, 1, props, 1, &sid), MQTTAS_OK);
    expect_tx(c, 30,
              BYTES(0x82, 12, (uint8_t)(sid >> 8), (uint8_t)sid, 3, 0x0B, 0xC8, 0x01, 0, 3, 's',
                    '/', '#', 0x2D));
    feed(c, 35, BYTES(0x90, 4, (uint8_t)(sid >> 8), (uint8_t)sid, 0, 0x87));
    next_event(c, &ev, MQTTAS_EVENT_SUBSCRIBED);
    assert_int_equal(ev.codes_len, 1);
    assert_int_equal(ev.codes[0], 0x87);
    snprintf(text, sizeof text, "subscribe %u acknowledged: 0x87", (unsigned)sid);
    expect_describe(c, &ev, text);

    /* Inbound PUBLISH with a content type and a user property. */
    feed(c, 40,
         BYTES(0x30, 19, 0, 3, 's', '/', '1', 12, 0x03, 0, 1, 'j', 0x26, 0, 1, 'n', 0, 2, 'v',
               'v', '!'));
    next_event(c, &ev, MQTTAS_EVENT_MESSAGE);
    assert_memory_equal(ev.topic, "s/1", 3);
    assert_int_equal(ev.payload_len, 1);
    assert_int_equal(ev.payload[0], '!');
    cursor = 0;
    assert_int_equal(mqttas_property_next(ev.properties, ev.properties_len, &cursor, &p), MQTTAS_OK);
    assert_int_equal(p.id, MQTTAS_PROP_CONTENT_TYPE);
    assert_memory_equal(p.data, "j", 1);
    assert_int_equal(mqttas_property_next(ev.properties, ev.properties_len, &cursor, &p), MQTTAS_OK);
    assert_int_equal(p.id, MQTTAS_PROP_USER_PROPERTY);
    assert_int_equal(p.kind, MQTTAS_PROPERTY_KIND_STRING_PAIR);
    assert_int_equal(p.data_len, 1);
    assert_memory_equal(p.data, "n", 1);
    assert_int_equal(p.data2_len, 2);
    assert_memory_equal(p.data2, "vv", 2);
    assert_int_equal(mqttas_property_next(ev.properties, ev.properties_len, &cursor, &p), MQTTAS_OK);
    assert_int_equal(p.id, 0);

    /* AUTH from the broker. */
    feed(c, 45, BYTES(0xF0, 2, 0x18, 0));
    next_event(c, &ev, MQTTAS_EVENT_AUTH);
    assert_int_equal(ev.reason, 0x18);
    expect_describe(c, &ev, "authentication: continue authentication (0x18)");
    assert_int_equal(mqttas_auth(c, 46, 0x18, NULL, 0), MQTTAS_OK);
    expect_tx(c, 46, BYTES(0xF0, 2, 0x18, 0));

    /* The broker shuts down: DISCONNECT 0x8B. */
    feed(c, 50, BYTES(0xE0, 2, 0x8B, 0));
    next_event(c, &ev, MQTTAS_EVENT_CONNECTION_LOST);
    assert_int_equal(ev.lost, MQTTAS_LOST_SERVER_DISCONNECT);
    assert_int_equal(ev.reason, 0x8B);
    expect_describe(c, &ev,
                    "connection lost: broker closed the connection: server shutting down (0x8b)");
    assert_int_equal(state_of(c), MQTTAS_STATE_DISCONNECTED);

    /* Reconnecting with an empty id reuses the assigned one. */
    o = options_for("");
    assert_int_equal(mqttas_connect(c, 60, &o), MQTTAS_OK);
    expect_tx(c, 60,
              BYTES(0x10, 20, 0, 4, 'M', 'Q', 'T', 'T', 5, 0x02, 0, 60, 3, 0x21, 0, 16, 0, 4, 'a',
                    's', 'g', 'n'));
    fixture_free(f);
}

/* ---- connection loss: refused, protocol error, link down, timeouts ---- */

/* A 3.1.1 client refused with CONNACK 5: its CONNECTION_LOST event. */
static fixture *refused_311(mqttas_event *ev)
{
    fixture *f = fixture_new(MQTTAS_VERSION_311, 256, 256, 1024);
    mqttas_connect_options o = options_for("c1");
    assert_int_equal(fixture_init(f), MQTTAS_OK);
    assert_int_equal(mqttas_connect(f->c, 0, &o), MQTTAS_OK);
    (void)drain_tx(f->c, 0, (uint8_t[64]){0}, 64);
    feed(f->c, 1, BYTES(0x20, 2, 0, 5));
    next_event(f->c, ev, MQTTAS_EVENT_CONNECTION_LOST);
    return f;
}

static void test_refused_311(void **state)
{
    mqttas_event ev;
    fixture *f = refused_311(&ev);
    (void)state;
    assert_int_equal(ev.lost, MQTTAS_LOST_REFUSED);
    assert_int_equal(ev.version, MQTTAS_VERSION_311);
    assert_int_equal(ev.reason, 5);
    expect_describe(f->c, &ev,
                    "connection lost: broker refused the connection: not authorised (CONNACK 5)");
    assert_int_equal(state_of(f->c), MQTTAS_STATE_DISCONNECTED);
    fixture_free(f);
}

/* The outage policy reads the refusal from the event: a permanent one
 * (CONNACK 5) waits the cap; a connection lost right after CONNACK counts
 * as a failure, so the hold-downs grow. */
static void test_reconnect_causes(void **state)
{
    mqttas_event ev;
    fixture *f = refused_311(&ev);
    size_t size = mqttas_reconnect_size(), align = mqttas_reconnect_align();
    /* Heap memory, with room to misalign; zeroed, as a call before init
     * reads it. */
    uint8_t *mem = calloc(1, size + align);
    mqttas_reconnect *rc = (mqttas_reconnect *)mem;
    mqttas_reconnect_policy p;
    mqttas_reconnect_action act;
    mqttas_reconnect_cause cause = MQTTAS_RECONNECT_CAUSE_PLANNED;
    mqttas_reconnect_stats st;
    /* The refusal was failure 1: backoff 1000 (2), 2000, 4000, 8000. */
    uint32_t t = 0, want[4] = {1000, 2000, 4000, 8000};
    int i;
    (void)state;
    assert_int_equal(mqttas_lost_cause(f->c, &cause), MQTTAS_OK);
    assert_int_equal(cause, MQTTAS_RECONNECT_CAUSE_PERMANENT);
    assert_string_equal(mqttas_reconnect_cause_str(cause), "permanent refusal");
    assert_int_equal(mqttas_lost_cause(f->c, NULL), MQTTAS_ERR_NULL_POINTER);
    assert_int_equal(mqttas_lost_cause(NULL, &cause), MQTTAS_ERR_NULL_POINTER);

    assert_int_equal(mqttas_reconnect_policy_default(&p), MQTTAS_OK);
    assert_int_equal(p.stable_ms, 60000);
    p.jitter_percent = 0;
    assert_non_null(mem);
    assert_true(size >= 8 && align >= 1 && (align & (align - 1)) == 0);
    /* The storage is checked as a client's is: NULL, short, misaligned. */
    assert_int_equal(mqttas_reconnect_init(NULL, size, &p, 1), MQTTAS_ERR_NULL_POINTER);
    assert_int_equal(mqttas_reconnect_init(rc, size - 1, &p, 1), MQTTAS_ERR_BUFFER_TOO_SMALL);
    if (align > 1) {
        assert_int_equal(mqttas_reconnect_init((mqttas_reconnect *)(mem + 1), size, &p, 1),
                         MQTTAS_ERR_MISALIGNED);
        assert_int_equal(mqttas_reconnect_handle_connected((mqttas_reconnect *)(mem + 1), 0),
                         MQTTAS_ERR_MISALIGNED);
    }
    assert_int_equal(mqttas_reconnect_handle_connected(rc, 0), MQTTAS_ERR_NOT_INITIALIZED);
    assert_int_equal(mqttas_reconnect_init(rc, size, &p, 1), MQTTAS_OK);
    assert_int_equal(mqttas_reconnect_poll_action(rc, 0, &act), MQTTAS_OK);
    assert_int_equal(act.kind, MQTTAS_RECONNECT_CONNECT);
    assert_int_equal(mqttas_reconnect_handle_attempt_failed(rc, 0, cause), MQTTAS_OK);
    assert_int_equal(mqttas_reconnect_poll_action(rc, 0, &act), MQTTAS_OK);
    assert_int_equal(act.kind, MQTTAS_RECONNECT_WAIT);
    assert_int_equal(act.until, p.backoff_cap_ms);
    assert_int_equal(mqttas_reconnect_handle_lost(rc, 0, 7), MQTTAS_ERR_INVALID_ARGUMENT);

    /* Connected, then lost 10 ms later, four times over. */
    t = act.until;
    for (i = 0; i < 4; i++) {
        assert_int_equal(mqttas_reconnect_poll_action(rc, t, &act), MQTTAS_OK);
        assert_int_equal(act.kind, MQTTAS_RECONNECT_CONNECT);
        assert_int_equal(mqttas_reconnect_handle_connected(rc, t), MQTTAS_OK);
        assert_int_equal(
            mqttas_reconnect_handle_lost(rc, t + 10, MQTTAS_RECONNECT_CAUSE_OUTAGE), MQTTAS_OK);
        assert_int_equal(mqttas_reconnect_poll_action(rc, t + 10, &act), MQTTAS_OK);
        assert_int_equal(act.kind, MQTTAS_RECONNECT_HOLD_DOWN);
        assert_int_equal(act.until - (t + 10), want[i]);
        t = act.until;
    }
    assert_int_equal(mqttas_reconnect_get_stats(rc, &st), MQTTAS_OK);
    assert_int_equal(st.permanent, 1);
    assert_int_equal(st.unstable, 4);
    assert_int_equal(st.outages, 4);
    /* After deinit the storage holds no machine. */
    assert_int_equal(mqttas_reconnect_deinit(rc), MQTTAS_OK);
    assert_int_equal(mqttas_reconnect_get_stats(rc, &st), MQTTAS_ERR_NOT_INITIALIZED);
    assert_int_equal(mqttas_reconnect_deinit(rc), MQTTAS_ERR_NOT_INITIALIZED);
    free(mem);
    fixture_free(f);
}

static void test_protocol_error(void **state)
{
    fixture *f = fixture_new(MQTTAS_VERSION_311, 256, 256, 1024);
    mqttas_event ev;
    (void)state;
    assert_int_equal(fixture_init(f), MQTTAS_OK);
    connect_311(f->c, 0);
    /* PUBREL with flags 0 instead of 0b0010. */
    feed(f->c, 1, BYTES(0x60, 2, 0, 1));
    next_event(f->c, &ev, MQTTAS_EVENT_CONNECTION_LOST);
    assert_int_equal(ev.lost, MQTTAS_LOST_PROTOCOL);
    assert_int_equal(ev.protocol_error, MQTTAS_PROTOCOL_INVALID_FLAGS);
    assert_int_equal(ev.reason, 0x81);
    expect_describe(f->c, &ev, "connection lost: broker broke the protocol: invalid fixed header flags");
    fixture_free(f);

    /* A SUBSCRIBE from the broker: detail carries the packet type. */
    f = fixture_new(MQTTAS_VERSION_311, 256, 256, 1024);
    assert_int_equal(fixture_init(f), MQTTAS_OK);
    connect_311(f->c, 0);
    feed(f->c, 1, BYTES(0x82, 6, 0, 1, 0, 1, 'a', 0));
    next_event(f->c, &ev, MQTTAS_EVENT_CONNECTION_LOST);
    assert_int_equal(ev.lost, MQTTAS_LOST_PROTOCOL);
    assert_int_equal(ev.protocol_error, MQTTAS_PROTOCOL_UNEXPECTED_PACKET);
    assert_int_equal(ev.protocol_detail, 8);
    expect_describe(f->c, &ev, "connection lost: broker broke the protocol: packet a server must not "
                         "send (0x08)");
    fixture_free(f);
}

/* Issue 12 defect 7: a 5.0 broker's DISCONNECT carries its reason string
 * to the application; a 3.1.1 DISCONNECT (undefined) is not "success"; a
 * 3.1.1 CONNACK to a 5.0 CONNECT says the broker does not support 5.0. */
static void test_server_disconnect_and_version_refusal(void **state)
{
    fixture *f = fixture_new(MQTTAS_VERSION_5, 256, 256, 1024);
    mqttas_connect_options o = options_for("c1");
    mqttas_property p;
    size_t cursor = 0;
    mqttas_event ev;
    (void)state;
    assert_int_equal(fixture_init(f), MQTTAS_OK);
    assert_int_equal(mqttas_connect(f->c, 0, &o), MQTTAS_OK);
    (void)drain_tx(f->c, 0, (uint8_t[64]){0}, 64);
    feed(f->c, 1, BYTES(0x20, 3, 0, 0, 0));
    next_event(f->c, &ev, MQTTAS_EVENT_CONNECTED);
    /* DISCONNECT 0x89 (server busy), reason string "busy". */
    feed(f->c, 2, BYTES(0xE0, 9, 0x89, 7, 0x1F, 0, 4, 'b', 'u', 's', 'y'));
    next_event(f->c, &ev, MQTTAS_EVENT_CONNECTION_LOST);
    assert_int_equal(ev.lost, MQTTAS_LOST_SERVER_DISCONNECT);
    assert_int_equal(ev.reason, 0x89);
    {
        mqttas_reconnect_cause cause = MQTTAS_RECONNECT_CAUSE_OUTAGE;
        assert_int_equal(mqttas_lost_cause(f->c, &cause), MQTTAS_OK);
        assert_int_equal(cause, MQTTAS_RECONNECT_CAUSE_BACK_OFF);
    }
    assert_int_equal(ev.properties_len, 7);
    assert_int_equal(mqttas_property_next(ev.properties, ev.properties_len, &cursor, &p),
                     MQTTAS_OK);
    assert_int_equal(p.id, 0x1F);
    assert_int_equal(p.kind, MQTTAS_PROPERTY_KIND_STRING);
    assert_int_equal(p.data_len, 4);
    assert_memory_equal(p.data, "busy", 4);
    expect_describe(f->c, &ev, "connection lost: broker closed the connection: server busy (0x89): "
                         "\"busy\"");
    expect_no_tx(f->c, 3);
    fixture_free(f);

    /* Server redirection (5.0 4.11): what the broker said, from the
     * client's record, with the server reference, for a DISCONNECT 0x9D
     * and for a refusing CONNACK 0x9C alike. */
    f = fixture_new(MQTTAS_VERSION_5, 256, 256, 1024);
    assert_int_equal(fixture_init(f), MQTTAS_OK);
    assert_int_equal(mqttas_connect(f->c, 0, &o), MQTTAS_OK);
    (void)drain_tx(f->c, 0, (uint8_t[64]){0}, 64);
    feed(f->c, 1, BYTES(0x20, 3, 0, 0, 0));
    next_event(f->c, &ev, MQTTAS_EVENT_CONNECTED);
    feed(f->c, 2, BYTES(0xE0, 16, 0x9D, 14, 0x1F, 0, 5, 'm', 'o', 'v', 'e', 'd', 0x1C, 0, 3, 'b', ':',
                        '1'));
    next_event(f->c, &ev, MQTTAS_EVENT_CONNECTION_LOST);
    assert_int_equal(ev.properties_len, 14);
    expect_describe(f->c, &ev, "connection lost: broker closed the connection: server moved (0x9d): "
                         "\"moved\"; server reference: b:1");
    assert_int_equal(mqttas_connect(f->c, 10, &o), MQTTAS_OK);
    (void)drain_tx(f->c, 10, (uint8_t[64]){0}, 64);
    feed(f->c, 11, BYTES(0x20, 17, 0, 0x9C, 14, 0x1F, 0, 5, 'm', 'o', 'v', 'e', 'd', 0x1C, 0, 3, 'b',
                         ':', '1'));
    next_event(f->c, &ev, MQTTAS_EVENT_CONNECTION_LOST);
    assert_int_equal(ev.lost, MQTTAS_LOST_REFUSED);
    assert_int_equal(ev.properties_len, 14);
    expect_describe(f->c, &ev, "connection lost: broker refused the connection: use another server "
                         "(0x9c): \"moved\"; server reference: b:1");
    fixture_free(f);

    /* 3.1.1: a DISCONNECT from the broker is no "success (0x00)". */
    f = fixture_new(MQTTAS_VERSION_311, 256, 256, 1024);
    assert_int_equal(fixture_init(f), MQTTAS_OK);
    connect_311(f->c, 0);
    feed(f->c, 1, BYTES(0xE0, 0));
    next_event(f->c, &ev, MQTTAS_EVENT_CONNECTION_LOST);
    assert_int_equal(ev.lost, MQTTAS_LOST_PROTOCOL);
    assert_int_equal(ev.protocol_error, MQTTAS_PROTOCOL_UNEXPECTED_PACKET);
    assert_int_equal(ev.protocol_detail, 14);
    expect_describe(f->c, &ev, "connection lost: broker sent DISCONNECT, which MQTT 3.1.1 does not "
                         "define: packet a server must not send (0x0e)");
    fixture_free(f);

    /* A 3.1.1-only broker answers a 5.0 CONNECT with CONNACK 1. */
    f = fixture_new(MQTTAS_VERSION_5, 256, 256, 1024);
    assert_int_equal(fixture_init(f), MQTTAS_OK);
    assert_int_equal(mqttas_connect(f->c, 0, &o), MQTTAS_OK);
    (void)drain_tx(f->c, 0, (uint8_t[64]){0}, 64);
    feed(f->c, 1, BYTES(0x20, 2, 0, 1));
    next_event(f->c, &ev, MQTTAS_EVENT_CONNECTION_LOST);
    assert_int_equal(ev.lost, MQTTAS_LOST_REFUSED);
    assert_int_equal(ev.version, MQTTAS_VERSION_5);
    assert_int_equal(ev.reason, 0x84);
    expect_describe(f->c, &ev, "connection lost: broker does not support MQTT 5.0: connection "
                         "refused, unsupported protocol version (0x84)");
    expect_no_tx(f->c, 2);
    fixture_free(f);
}

/* Link lost with a QoS 1 and a QoS 2 message in flight: both are sent again
 * with DUP on the next connection (clean = false), nothing is lost. */
static void test_link_down_resends(void **state)
{
    fixture *f = fixture_new(MQTTAS_VERSION_311, 256, 256, 2048);
    mqttas_client *c = f->c;
    mqttas_connect_options o = options_for("c1");
    mqttas_event ev;
    uint16_t p1, p2;
    size_t pending;
    mqttas_stats st;
    (void)state;
    f->cfg.clean_init = false;
    f->cfg.clean = false;
    assert_int_equal(fixture_init(f), MQTTAS_OK);
    assert_int_equal(mqttas_connect(c, 0, &o), MQTTAS_OK);
    expect_tx(c, 0, BYTES(0x10, 14, 0, 4, 'M', 'Q', 'T', 'T', 4, 0x00, 0, 60, 0, 2, 'c', '1'));
    feed(c, 1, BYTES(0x20, 2, 0, 0));
    next_event(c, &ev, MQTTAS_EVENT_CONNECTED);

    p1 = publish(c, 10, "q", "1", 1, false);
    p2 = publish(c, 10, "q", "2", 2, false);
    expect_tx(c, 10,
              BYTES(0x32, 6, 0, 1, 'q', (uint8_t)(p1 >> 8), (uint8_t)p1, '1', 0x34, 6, 0, 1, 'q',
                    (uint8_t)(p2 >> 8), (uint8_t)p2, '2'));
    assert_int_equal(mqttas_handle_link_down(c, 20), MQTTAS_OK);
    next_event(c, &ev, MQTTAS_EVENT_CONNECTION_LOST);
    assert_int_equal(ev.lost, MQTTAS_LOST_LINK_DOWN);
    {
        mqttas_reconnect_cause cause = MQTTAS_RECONNECT_CAUSE_PLANNED;
        assert_int_equal(mqttas_lost_cause(c, &cause), MQTTAS_OK);
        assert_int_equal(cause, MQTTAS_RECONNECT_CAUSE_OUTAGE);
    }
    expect_describe(c, &ev, "connection lost: link down");
    assert_int_equal(state_of(c), MQTTAS_STATE_DISCONNECTED);
    assert_int_equal(mqttas_pending_publications(c, &pending), MQTTAS_OK);
    assert_int_equal(pending, 2);
    assert_int_equal(mqttas_get_stats(c, &st), MQTTAS_OK);
    assert_int_equal(st.republished, 0);
    assert_int_equal(mqttas_get_stats(c, NULL), MQTTAS_ERR_NULL_POINTER);
    /* Link down while disconnected: no second event. */
    assert_int_equal(mqttas_handle_link_down(c, 21), MQTTAS_OK);
    expect_no_event(c);

    /* Reconnect: the session was kept, both are resent with DUP. */
    assert_int_equal(mqttas_connect(c, 100, &o), MQTTAS_OK);
    expect_tx(c, 100, BYTES(0x10, 14, 0, 4, 'M', 'Q', 'T', 'T', 4, 0x00, 0, 60, 0, 2, 'c', '1'));
    feed(c, 101, BYTES(0x20, 2, 1, 0));
    next_event(c, &ev, MQTTAS_EVENT_CONNECTED);
    assert_true(ev.session_present);
    expect_tx(c, 101,
              BYTES(0x3A, 6, 0, 1, 'q', (uint8_t)(p1 >> 8), (uint8_t)p1, '1', 0x3C, 6, 0, 1, 'q',
                    (uint8_t)(p2 >> 8), (uint8_t)p2, '2'));
    /* Both counted as republished: the core counts, nobody reads bytes. */
    assert_int_equal(mqttas_get_stats(c, &st), MQTTAS_OK);
    assert_int_equal(st.republished, 2);
    feed(c, 102, BYTES(0x40, 2, (uint8_t)(p1 >> 8), (uint8_t)p1, 0x50, 2, (uint8_t)(p2 >> 8),
                       (uint8_t)p2));
    next_event(c, &ev, MQTTAS_EVENT_PUBLISHED);
    assert_int_equal(ev.packet_id, p1);
    /* Input is processed as events are taken: the PUBREC after the PUBACK. */
    expect_no_event(c);
    expect_tx(c, 102, BYTES(0x62, 2, (uint8_t)(p2 >> 8), (uint8_t)p2));
    feed(c, 103, BYTES(0x70, 2, (uint8_t)(p2 >> 8), (uint8_t)p2));
    next_event(c, &ev, MQTTAS_EVENT_PUBLISHED);
    assert_int_equal(ev.packet_id, p2);
    assert_int_equal(mqttas_pending_publications(c, &pending), MQTTAS_OK);
    assert_int_equal(pending, 0);
    fixture_free(f);
}

/* Deadlines across the 32-bit wrap: CONNACK timeout, then pings. */
static void test_time_wraparound(void **state)
{
    fixture *f = fixture_new(MQTTAS_VERSION_311, 256, 256, 1024);
    mqttas_client *c = f->c;
    mqttas_connect_options o = options_for("c1");
    mqttas_event ev;
    bool has;
    uint32_t dl, t0 = 0xFFFFFFF0u, t;
    (void)state;
    f->cfg.response_time_ms = 1000;
    f->cfg.keep_alive = 4; /* ping every second */
    assert_int_equal(fixture_init(f), MQTTAS_OK);

    assert_int_equal(mqttas_poll_deadline(c, &has, &dl), MQTTAS_OK);
    assert_false(has);

    /* CONNACK never comes: the deadline is t0 + 1000, past the wrap. */
    assert_int_equal(mqttas_connect(c, t0, &o), MQTTAS_OK);
    (void)drain_tx(c, t0, (uint8_t[64]){0}, 64);
    assert_int_equal(mqttas_poll_deadline(c, &has, &dl), MQTTAS_OK);
    assert_true(has);
    assert_int_equal(dl, (uint32_t)(t0 + 1000u));
    assert_true(dl < t0); /* wrapped */
    assert_int_equal(mqttas_handle_timeout(c, t0 + 10), MQTTAS_OK);
    assert_int_equal(mqttas_handle_timeout(c, 0), MQTTAS_OK);
    assert_int_equal(mqttas_handle_timeout(c, dl - 1), MQTTAS_OK);
    expect_no_event(c);
    assert_int_equal(state_of(c), MQTTAS_STATE_CONNECTING);
    assert_int_equal(mqttas_handle_timeout(c, dl), MQTTAS_OK);
    next_event(c, &ev, MQTTAS_EVENT_CONNECTION_LOST);
    assert_int_equal(ev.lost, MQTTAS_LOST_TIMEOUT);
    assert_int_equal(ev.awaited, MQTTAS_AWAITED_CONNACK);
    expect_describe(c, &ev, "connection lost: no ConnAck within response_time");

    /* Connected just before the wrap: the ping is due a second later, past
     * it; the PINGRESP timeout then follows the same clock. */
    t0 = 0xFFFFFD00u;
    assert_int_equal(mqttas_connect(c, t0, &o), MQTTAS_OK);
    (void)drain_tx(c, t0, (uint8_t[64]){0}, 64);
    feed(c, t0, BYTES(0x20, 2, 0, 0));
    next_event(c, &ev, MQTTAS_EVENT_CONNECTED);
    assert_int_equal(mqttas_poll_deadline(c, &has, &dl), MQTTAS_OK);
    assert_true(has);
    assert_int_equal(dl, (uint32_t)(t0 + 1000u));
    assert_true(dl < 1000);
    assert_int_equal(mqttas_handle_timeout(c, 0xFFFFFFFFu), MQTTAS_OK);
    expect_no_tx(c, 0xFFFFFFFFu);
    t = dl;
    assert_int_equal(mqttas_handle_timeout(c, t), MQTTAS_OK);
    expect_tx(c, t, BYTES(0xC0, 0));
    feed(c, t + 5, BYTES(0xD0, 0));
    expect_no_event(c);
    assert_int_equal(state_of(c), MQTTAS_STATE_CONNECTED);
    /* The next ping, then no PINGRESP: lost after response_time. */
    assert_int_equal(mqttas_poll_deadline(c, &has, &dl), MQTTAS_OK);
    assert_true(has);
    assert_int_equal(mqttas_handle_timeout(c, dl), MQTTAS_OK);
    expect_tx(c, dl, BYTES(0xC0, 0));
    t = dl;
    assert_int_equal(mqttas_poll_deadline(c, &has, &dl), MQTTAS_OK);
    assert_true(has);
    assert_int_equal(dl, t + 1000u);
    assert_int_equal(mqttas_handle_timeout(c, dl), MQTTAS_OK);
    next_event(c, &ev, MQTTAS_EVENT_CONNECTION_LOST);
    assert_int_equal(ev.awaited, MQTTAS_AWAITED_PINGRESP);
    fixture_free(f);
}

/* A message delivered in chunks (mqttas_handle_input of more than rx
 * holds): its MESSAGE_START (pointers cleared, the topic and the event's
 * description copied) and its payload assembled. */
typedef struct chunked {
    mqttas_event start;
    char topic[256];
    char text[320];
    uint8_t payload[1024];
    size_t payload_len;
} chunked;

/* Feed the PUBLISH `pkt` at `now`, taking the events as they come, until
 * its MESSAGE_END: exactly one START and one END, the chunks in between.
 * Each round takes input or finishes: never stuck. */
static void feed_chunked(mqttas_client *c, uint32_t now, const uint8_t *pkt, size_t len,
                         chunked *m)
{
    size_t off = 0, accepted;
    mqttas_event ev;
    int starts = 0, ends = 0, rounds = 0;
    memset(m, 0, sizeof *m);
    while (off < len || ends == 0) {
        assert_int_equal(mqttas_handle_input(c, now, pkt + off, len - off, &accepted), MQTTAS_OK);
        assert_true(accepted <= len - off);
        off += accepted;
        for (;;) {
            assert_int_equal(mqttas_poll_event(c, &ev), MQTTAS_OK);
            if (ev.kind == MQTTAS_EVENT_NONE) {
                break;
            }
            if (ev.kind == MQTTAS_EVENT_MESSAGE_START) {
                starts++;
                assert_true(ev.topic_len < sizeof m->topic);
                memcpy(m->topic, ev.topic, ev.topic_len);
                assert_int_equal(mqttas_event_describe(c, &ev, m->text, sizeof m->text, NULL),
                                 MQTTAS_OK);
                m->start = ev;
                m->start.topic = NULL;
                m->start.properties = NULL;
            } else if (ev.kind == MQTTAS_EVENT_MESSAGE_CHUNK) {
                assert_true(m->payload_len + ev.payload_len <= sizeof m->payload);
                memcpy(m->payload + m->payload_len, ev.payload, ev.payload_len);
                m->payload_len += ev.payload_len;
            } else {
                assert_int_equal(ev.kind, MQTTAS_EVENT_MESSAGE_END);
                ends++;
            }
        }
        assert_true(++rounds < 100);
    }
    assert_int_equal(starts, 1);
    assert_int_equal(ends, 1);
}

/* A message larger than the receive buffer arrives in chunks; input beyond
 * the buffer is refused until events are taken. */
static void test_chunked_message(void **state)
{
    fixture *f = fixture_new(MQTTAS_VERSION_311, 64, 256, 1024);
    mqttas_client *c = f->c;
    uint8_t pkt[3 + 2 + 3 + 2 + 200];
    size_t i;
    chunked m;
    (void)state;
    assert_int_equal(fixture_init(f), MQTTAS_OK);
    connect_311(c, 0);

    /* PUBLISH QoS 1, topic "big", id 9, 200 bytes of payload. */
    pkt[0] = 0x32;
    pkt[1] = 0x80 | ((2 + 3 + 2 + 200) & 0x7F);
    pkt[2] = (2 + 3 + 2 + 200) >> 7;
    pkt[3] = 0;
    pkt[4] = 3;
    memcpy(pkt + 5, "big", 3);
    pkt[8] = 0;
    pkt[9] = 9;
    for (i = 0; i < 200; i++) {
        pkt[10 + i] = (uint8_t)i;
    }
    feed_chunked(c, 1, pkt, sizeof pkt, &m);
    assert_int_equal(m.start.total_len, 200);
    assert_int_equal(m.start.packet_id, 9);
    assert_int_equal(m.start.qos, 1);
    assert_string_equal(m.topic, "big");
    assert_string_equal(m.text, "message on \"big\": 200 bytes in chunks, QoS 1");
    assert_int_equal(m.payload_len, 200);
    assert_memory_equal(m.payload, pkt + 10, 200);
    expect_tx(c, 2, BYTES(0x40, 2, 0, 9));
    fixture_free(f);
}

/* event_describe with NULL, short and odd inputs. */
/* Issue 12 defect 5: a 3.1.1 message above the maximum packet size is
 * skipped: one MESSAGE_SKIPPED event, no chunk, acknowledged at its end. */
static void test_skipped_message(void **state)
{
    fixture *f = fixture_new(MQTTAS_VERSION_311, 64, 256, 1024);
    mqttas_client *c = f->c;
    uint8_t pkt[3 + 2 + 3 + 2 + 200];
    size_t off = 0, accepted;
    mqttas_event ev;
    int skipped = 0, rounds = 0;
    char text[128];
    (void)state;
    f->cfg.maximum_packet_size = 100;
    assert_int_equal(fixture_init(f), MQTTAS_OK);
    connect_311(c, 0);
    /* PUBLISH QoS 1, topic "big", id 9, 200 bytes of payload: 210 bytes. */
    memset(pkt, 0x55, sizeof pkt);
    pkt[0] = 0x32;
    pkt[1] = 0x80 | ((2 + 3 + 2 + 200) & 0x7F);
    pkt[2] = (2 + 3 + 2 + 200) >> 7;
    pkt[3] = 0;
    pkt[4] = 3;
    memcpy(pkt + 5, "big", 3);
    pkt[8] = 0;
    pkt[9] = 9;
    while (off < sizeof pkt) {
        assert_int_equal(mqttas_handle_input(c, 1, pkt + off, sizeof pkt - off, &accepted),
                         MQTTAS_OK);
        off += accepted;
        for (;;) {
            assert_int_equal(mqttas_poll_event(c, &ev), MQTTAS_OK);
            if (ev.kind == MQTTAS_EVENT_NONE) {
                break;
            }
            assert_int_equal(ev.kind, MQTTAS_EVENT_MESSAGE_SKIPPED);
            skipped++;
            assert_int_equal(ev.total_len, sizeof pkt);
            assert_int_equal(ev.limit, 100);
            assert_int_equal(ev.qos, 1);
            assert_int_equal(ev.packet_id, 9);
            assert_int_equal(ev.topic_len, 3);
            assert_memory_equal(ev.topic, "big", 3);
            assert_int_equal(mqttas_event_describe(c, &ev, text, sizeof text, NULL), MQTTAS_OK);
            assert_string_equal(text, "message on \"big\" skipped: 210 bytes, above the "
                                      "maximum packet size (100), QoS 1");
        }
        assert_true(++rounds < 50);
    }
    assert_int_equal(skipped, 1);
    expect_tx(c, 2, BYTES(0x40, 2, 0, 9));
    assert_int_equal(state_of(c), MQTTAS_STATE_CONNECTED);
    fixture_free(f);
}

/* Issue 12 defect 1: the inbound QoS 2 id table is the caller's; a broker
 * beyond our receive maximum is followed while it has room, and beyond it
 * on a clean session the rest is delivered untracked, never lost. */
static void test_inbound_qos2_table(void **state)
{
    fixture *f = fixture_new(MQTTAS_VERSION_5, 256, 256, 1024);
    mqttas_client *c = f->c;
    mqttas_connect_options o = options_for("c1");
    mqttas_qos2_stats st;
    mqttas_buffers b;
    uint8_t *bytes;
    mqttas_event ev;
    uint8_t id;
    (void)state;
    f->cfg.receive_maximum = 2;
    /* Fewer ids than the receive maximum; misaligned; overlapping. */
    f->qos2_len = 1;
    assert_int_equal(fixture_init(f), MQTTAS_ERR_INVALID_CONFIG);
    f->qos2_len = 4;
    memset(&b, 0, sizeof b);
    b.rx = f->rx;
    b.rx_len = f->rx_len;
    b.tx = f->tx;
    b.tx_len = f->tx_len;
    bytes = (uint8_t *)f->qos2;
    b.inbound_qos2 = (uint16_t *)(void *)(bytes + 1);
    b.inbound_qos2_len = 2;
    assert_int_equal(mqttas_client_init(c, mqttas_client_size(), &f->cfg, &b),
                     MQTTAS_ERR_MISALIGNED);
    b.inbound_qos2 = (uint16_t *)(void *)f->tx;
    assert_int_equal(mqttas_client_init(c, mqttas_client_size(), &f->cfg, &b),
                     MQTTAS_ERR_BUFFERS_OVERLAP);
    assert_int_equal(fixture_init(f), MQTTAS_OK);

    assert_int_equal(mqttas_connect(c, 0, &o), MQTTAS_OK);
    (void)drain_tx(c, 0, (uint8_t[64]){0}, 64);
    feed(c, 1, BYTES(0x20, 3, 0, 0, 0));
    next_event(c, &ev, MQTTAS_EVENT_CONNECTED);
    /* Six QoS 2 messages, ids 1..6, before any PUBREL: 4 tracked, 2 not. */
    for (id = 1; id <= 6; id++) {
        feed(c, 2, BYTES(0x34, 6, 0, 1, 'q', 0, id, 0));
        next_event(c, &ev, MQTTAS_EVENT_MESSAGE);
        assert_int_equal(ev.packet_id, id);
        expect_tx(c, 2, BYTES(0x50, 2, 0, id));
    }
    /* Their PUBRELs: every PUBCOMP a success (none 0x92). */
    for (id = 1; id <= 6; id++) {
        feed(c, 3, BYTES(0x62, 2, 0, id));
        expect_no_event(c);
        expect_tx(c, 3, BYTES(0x70, 2, 0, id));
    }
    /* Now unknown: 0x92. */
    feed(c, 4, BYTES(0x62, 2, 0, 9));
    expect_no_event(c);
    expect_tx(c, 4, BYTES(0x70, 3, 0, 9, 0x92));
    assert_int_equal(mqttas_get_qos2_stats(c, &st), MQTTAS_OK);
    assert_int_equal(st.peak_unreleased, 6);
    assert_int_equal(st.beyond_receive_maximum, 4);
    assert_int_equal(st.untracked, 2);
    assert_int_equal(st.withheld, 0);
    assert_int_equal(mqttas_get_qos2_stats(c, NULL), MQTTAS_ERR_NULL_POINTER);
    assert_int_equal(state_of(c), MQTTAS_STATE_CONNECTED);
    fixture_free(f);
}

/* Issue 12 defect 8: outbound topic aliases within the broker's maximum,
 * the topic sent again on each new connection. */
static void test_outbound_topic_alias(void **state)
{
    fixture *f = fixture_new(MQTTAS_VERSION_5, 256, 256, 1024);
    mqttas_client *c = f->c;
    mqttas_connect_options o = options_for("c1");
    mqttas_property alias;
    mqttas_event ev;
    uint16_t id = 0;
    int conn;
    (void)state;
    assert_int_equal(fixture_init(f), MQTTAS_OK);
    memset(&alias, 0, sizeof alias);
    alias.id = 0x23;
    alias.value = 1;
    for (conn = 0; conn < 2; conn++) {
        assert_int_equal(mqttas_connect(c, 0, &o), MQTTAS_OK);
        (void)drain_tx(c, 0, (uint8_t[64]){0}, 64);
        /* CONNACK, Topic Alias Maximum 2. */
        feed(c, 1, BYTES(0x20, 6, 0, 0, 3, 0x22, 0, 2));
        next_event(c, &ev, MQTTAS_EVENT_CONNECTED);
        if (conn == 0) {
            /* "t/x" with alias 1: sets it; then the alias alone. */
            assert_int_equal(mqttas_publish(c, 2, "t/x", 3, (const uint8_t *)"p", 1, 0, false,
                                            &alias, 1, NULL),
                             MQTTAS_OK);
            expect_tx(c, 2, BYTES(0x30, 10, 0, 3, 't', '/', 'x', 3, 0x23, 0, 1, 'p'));
        }
        /* An empty topic: on the first connection the alias alone; on the
         * second, which knows no alias, the topic it stands for first. */
        assert_int_equal(mqttas_publish(c, 2, NULL, 0, (const uint8_t *)"p", 1, 0, false, &alias,
                                        1, NULL),
                         MQTTAS_OK);
        if (conn == 0) {
            expect_tx(c, 2, BYTES(0x30, 7, 0, 0, 3, 0x23, 0, 1, 'p'));
        } else {
            expect_tx(c, 2, BYTES(0x30, 10, 0, 3, 't', '/', 'x', 3, 0x23, 0, 1, 'p'));
        }
        assert_int_equal(mqttas_handle_link_down(c, 3), MQTTAS_OK);
        next_event(c, &ev, MQTTAS_EVENT_CONNECTION_LOST);
    }
    /* QoS 1 while disconnected: stored with the topic, without the alias. */
    assert_int_equal(
        mqttas_publish(c, 4, NULL, 0, (const uint8_t *)"p", 1, 1, false, &alias, 1, &id),
        MQTTAS_OK);
    assert_int_equal(mqttas_connect(c, 5, &o), MQTTAS_OK);
    (void)drain_tx(c, 5, (uint8_t[64]){0}, 64);
    feed(c, 6, BYTES(0x20, 6, 0, 0, 3, 0x22, 0, 2));
    next_event(c, &ev, MQTTAS_EVENT_CONNECTED);
    expect_tx(c, 6, BYTES(0x32, 9, 0, 3, 't', '/', 'x', 0, (uint8_t)id, 0, 'p'));
    /* Above the broker's maximum (2), and 0: refused, nothing sent. */
    alias.value = 3;
    assert_int_equal(mqttas_publish(c, 7, "t", 1, NULL, 0, 0, false, &alias, 1, NULL),
                     MQTTAS_ERR_TOPIC_ALIAS);
    alias.value = 2;
    assert_int_equal(mqttas_publish(c, 7, NULL, 0, NULL, 0, 0, false, &alias, 1, NULL),
                     MQTTAS_ERR_TOPIC_ALIAS);
    assert_int_equal(mqttas_publish(c, 7, NULL, 0, NULL, 0, 0, false, NULL, 0, NULL),
                     MQTTAS_ERR_EMPTY_TOPIC);
    expect_no_tx(c, 7);
    fixture_free(f);
}

static void test_event_describe_buffers(void **state)
{
    fixture *f = fixture_new(MQTTAS_VERSION_311, 256, 256, 1024);
    mqttas_client *c = f->c;
    mqttas_event ev;
    char buf[16];
    size_t n = 0;
    (void)state;
    assert_int_equal(fixture_init(f), MQTTAS_OK);
    memset(&ev, 0, sizeof ev);
    assert_int_equal(mqttas_event_describe(NULL, &ev, buf, sizeof buf, &n), MQTTAS_ERR_NULL_POINTER);
    assert_int_equal(mqttas_event_describe(c, NULL, buf, sizeof buf, &n), MQTTAS_ERR_NULL_POINTER);
    assert_int_equal(mqttas_event_describe(c, &ev, NULL, 5, &n), MQTTAS_ERR_NULL_POINTER);
    assert_int_equal(mqttas_event_describe(c, &ev, buf, sizeof buf, &n), MQTTAS_OK);
    assert_string_equal(buf, "no event");
    assert_int_equal(n, 8);
    /* A lost connection is told from the client's record, whatever the
     * event's fields say: before any loss there is none. */
    ev.kind = MQTTAS_EVENT_CONNECTION_LOST;
    ev.lost = MQTTAS_LOST_LINK_DOWN;
    assert_int_equal(mqttas_event_describe(c, &ev, buf, sizeof buf, NULL), MQTTAS_OK);
    assert_string_equal(buf, "connection lost");
    n = 99;
    assert_int_equal(mqttas_lost_describe(c, buf, sizeof buf, &n), MQTTAS_OK);
    assert_string_equal(buf, "");
    assert_int_equal(n, 0);
    connect_311(c, 0);
    assert_int_equal(mqttas_handle_link_down(c, 1), MQTTAS_OK);
    next_event(c, &ev, MQTTAS_EVENT_CONNECTION_LOST);
    assert_int_equal(mqttas_event_describe(c, &ev, buf, 8, &n), MQTTAS_ERR_BUFFER_TOO_SMALL);
    assert_string_equal(buf, "connect");
    assert_int_equal(n, strlen("connection lost: link down"));
    assert_int_equal(mqttas_event_describe(c, &ev, NULL, 0, &n), MQTTAS_ERR_BUFFER_TOO_SMALL);
    assert_int_equal(n, strlen("connection lost: link down"));
    assert_int_equal(mqttas_lost_describe(c, buf, 5, &n), MQTTAS_ERR_BUFFER_TOO_SMALL);
    assert_string_equal(buf, "link");
    assert_int_equal(n, strlen("link down"));
    assert_int_equal(mqttas_lost_describe(c, NULL, 3, &n), MQTTAS_ERR_NULL_POINTER);
    /* Values no event carries are described, not trusted. */
    ev.kind = 1234;
    assert_int_equal(mqttas_event_describe(c, &ev, buf, sizeof buf, NULL), MQTTAS_OK);
    assert_string_equal(buf, "unknown event");
    ev.kind = MQTTAS_EVENT_MESSAGE;
    ev.topic = "\xff/a";
    ev.topic_len = 3;
    ev.payload_len = 2;
    {
        char big[64];
        assert_int_equal(mqttas_event_describe(c, &ev, big, sizeof big, NULL), MQTTAS_OK);
        assert_string_equal(big, "message on \"\xef\xbf\xbd/a\": 2 bytes, QoS 0");
    }
    /* Without a client, nothing. */
    assert_int_equal(mqttas_client_deinit(c), MQTTAS_OK);
    assert_int_equal(mqttas_event_describe(c, &ev, buf, sizeof buf, NULL), MQTTAS_ERR_NOT_INITIALIZED);
    assert_int_equal(mqttas_lost_describe(c, buf, sizeof buf, NULL), MQTTAS_ERR_NOT_INITIALIZED);
    fixture_free(f);
}

/* ---- payloads lent by the caller (mqttas_publish_borrowed) ---- */

/* Everything the client wants to send now, through
 * mqttas_poll_transmit_vectored, concatenated into out; *lent counts the
 * payloads handed back (if lent is not NULL). */
static size_t drain_iov(mqttas_client *c, uint32_t now, uint8_t *out, size_t cap, int *lent)
{
    size_t total = 0;
    for (;;) {
        mqttas_iovec v[2];
        size_t n = 99, i;
        memset(v, 0xA5, sizeof v);
        assert_int_equal(mqttas_poll_transmit_vectored(c, now, v, &n), MQTTAS_OK);
        if (n == 0) {
            assert_null(v[0].base);
            assert_int_equal(v[0].len, 0);
            return total;
        }
        assert_true(n <= 2);
        if (n == 1) {
            assert_null(v[1].base);
            assert_int_equal(v[1].len, 0);
        } else if (lent != NULL) {
            (*lent)++;
        }
        for (i = 0; i < n; i++) {
            assert_true(total + v[i].len <= cap);
            if (v[i].len > 0) {
                memcpy(out + total, v[i].base, v[i].len);
            }
            total += v[i].len;
        }
    }
}

static uint16_t publish_lent(mqttas_client *c, uint32_t now, const char *topic,
                             const uint8_t *payload, size_t len, uint8_t qos)
{
    uint16_t id = 0xFFFF;
    assert_int_equal(mqttas_publish_borrowed(c, now, topic, strlen(topic), payload, len, qos,
                                              false, NULL, 0, &id),
                     MQTTAS_OK);
    return id;
}

/* A 200-byte topic and 1 KiB payloads in heap buffers (ASan and valgrind
 * see a read after free). */
static char *long_topic(void)
{
    char *t = malloc(201);
    size_t i;
    assert_non_null(t);
    for (i = 0; i < 200; i++) {
        t[i] = (char)('a' + i % 26);
    }
    t[200] = '\0';
    return t;
}

static uint8_t *payload_of(size_t n, uint8_t seed)
{
    uint8_t *p = malloc(n);
    size_t i;
    assert_non_null(p);
    for (i = 0; i < n; i++) {
        p[i] = (uint8_t)(i * 31u) ^ seed;
    }
    return p;
}

/* The PUBLISH of 1 KiB under the 200-byte topic with packet id `id` (0 for
 * QoS 0): its head into out, returns the head's length. */
static size_t publish_head(uint8_t *out, uint8_t first, const char *topic, uint16_t id)
{
    size_t rl = 2 + 200 + (id ? 2u : 0u) + 1024, n = 0;
    out[n++] = first;
    out[n++] = (uint8_t)(0x80 | (rl & 0x7F));
    out[n++] = (uint8_t)(rl >> 7);
    out[n++] = 0;
    out[n++] = 200;
    memcpy(out + n, topic, 200);
    n += 200;
    if (id) {
        out[n++] = (uint8_t)(id >> 8);
        out[n++] = (uint8_t)id;
    }
    return n;
}

/* The lending tests' client: connect it at `now` with id "c1", reading the
 * CONNECT through mqttas_poll_transmit_vectored, and accept it at now + 1
 * with `session_present`. */
static void connect_lending(fixture *f, uint32_t now, bool session_present)
{
    mqttas_connect_options o = options_for("c1");
    mqttas_event ev;
    uint8_t out[256];
    const uint8_t sp = session_present ? 1 : 0;
    assert_int_equal(mqttas_connect(f->c, now, &o), MQTTAS_OK);
    (void)drain_iov(f->c, now, out, sizeof out, NULL);
    if (f->cfg.version == MQTTAS_VERSION_5) {
        feed(f->c, now + 1, BYTES(0x20, 3, sp, 0, 0));
    } else {
        feed(f->c, now + 1, BYTES(0x20, 2, sp, 0));
    }
    next_event(f->c, &ev, MQTTAS_EVENT_CONNECTED);
    assert_int_equal(ev.session_present, session_present);
}

/* A client with these buffers whose session outlives its connections (if
 * `persistent`), connected at 0 (connect_lending). */
static fixture *lending_fixture(uint8_t version, size_t rx, size_t tx, size_t store,
                                bool persistent)
{
    fixture *f = fixture_new(version, rx, tx, store);
    f->cfg.clean_init = !persistent;
    f->cfg.clean = !persistent;
    assert_int_equal(fixture_init(f), MQTTAS_OK);
    connect_lending(f, 0, false);
    return f;
}

/* Issue 14's small client: rx 256, tx 300, store 600 send a 1 KiB message
 * under a 200-byte topic at QoS 0, 1 and 2 from the caller's own bytes, and
 * keep two QoS 1 messages across an outage. */
static void test_borrowed_small_buffers(void **state)
{
    fixture *f = lending_fixture(MQTTAS_VERSION_311, 256, 300, 600, true);
    mqttas_client *c = f->c;
    mqttas_event ev;
    char *topic = long_topic();
    uint8_t *a = payload_of(1024, 1), *b = payload_of(1024, 2), *z = payload_of(1024, 3);
    uint8_t *got = malloc(4096), want[4096];
    const uint8_t *d = (const uint8_t *)"x";
    size_t n = 99, len, h, pending;
    uint16_t pa, pb, id;
    int lent = 0;
    (void)state;
    assert_non_null(got);

    /* Copied, 1 KiB fits neither tx nor the store. */
    assert_int_equal(mqttas_publish(c, 2, topic, 200, a, 1024, 1, false, NULL, 0, NULL),
                     MQTTAS_ERR_TOO_LARGE);
    assert_int_equal(mqttas_publish(c, 2, topic, 200, a, 1024, 0, false, NULL, 0, NULL),
                     MQTTAS_ERR_TOO_LARGE);

    /* QoS 0: the head in tx, the payload from `z`; one at a time. */
    assert_int_equal(publish_lent(c, 2, topic, z, 1024, 0), 0);
    assert_int_equal(mqttas_publish_borrowed(c, 2, topic, 200, a, 1024, 0, false, NULL, 0, NULL),
                     MQTTAS_ERR_TX_FULL);
    /* mqttas_poll_transmit cannot send it and leaves it queued. */
    assert_int_equal(mqttas_poll_transmit(c, 2, &d, &n), MQTTAS_ERR_USE_VECTORED);
    assert_null(d);
    assert_int_equal(n, 0);
    len = drain_iov(c, 2, got, 4096, &lent);
    h = publish_head(want, 0x30, topic, 0);
    memcpy(want + h, z, 1024);
    assert_int_equal(len, h + 1024);
    assert_memory_equal(got, want, len);
    assert_int_equal(lent, 1);
    /* Handed out: the caller may reuse it. */
    free(z);
    z = NULL;

    /* Two QoS 1 messages, unacknowledged when the link drops. */
    pa = publish_lent(c, 3, topic, a, 1024, 1);
    pb = publish_lent(c, 3, topic, b, 1024, 1);
    assert_int_equal(mqttas_pending_publications(c, &pending), MQTTAS_OK);
    assert_int_equal(pending, 2);
    len = drain_iov(c, 3, got, 4096, &lent);
    h = publish_head(want, 0x32, topic, pa);
    memcpy(want + h, a, 1024);
    h += 1024;
    h += publish_head(want + h, 0x32, topic, pb);
    memcpy(want + h, b, 1024);
    h += 1024;
    assert_int_equal(len, h);
    assert_memory_equal(got, want, len);
    assert_int_equal(lent, 3);
    assert_int_equal(mqttas_handle_link_down(c, 4), MQTTAS_OK);
    next_event(c, &ev, MQTTAS_EVENT_CONNECTION_LOST);
    expect_no_tx(c, 4);

    /* Reconnect: both again with DUP, from the same bytes. */
    connect_lending(f, 100, true);
    len = drain_iov(c, 101, got, 4096, &lent);
    want[0] = 0x3A;
    want[3 + 2 + 200 + 2 + 1024] = 0x3A;
    assert_int_equal(len, h);
    assert_memory_equal(got, want, len);
    assert_int_equal(lent, 5);
    feed(c, 102, BYTES(0x40, 2, (uint8_t)(pa >> 8), (uint8_t)pa));
    next_event(c, &ev, MQTTAS_EVENT_PUBLISHED);
    assert_int_equal(ev.packet_id, pa);
    /* Published: `a` is the caller's again; nothing asks for it. */
    free(a);
    a = NULL;
    expect_no_event(c);

    /* QoS 2 from `a`'s old room: PUBREC returns the payload (freed here:
     * ASan and valgrind see any later read), then no payload again, even
     * across an outage. */
    a = payload_of(1024, 4);
    id = publish_lent(c, 103, topic, a, 1024, 2);
    len = drain_iov(c, 103, got, 4096, &lent);
    assert_int_equal(len, 3 + 200 + 2 + 2 + 1024);
    assert_int_equal(got[0], 0x34);
    assert_memory_equal(got + len - 1024, a, 1024);
    assert_int_equal(lent, 6);
    feed(c, 104, BYTES(0x50, 2, (uint8_t)(id >> 8), (uint8_t)id));
    next_event(c, &ev, MQTTAS_EVENT_PAYLOAD_RETURNED);
    assert_int_equal(ev.packet_id, id);
    free(a);
    a = NULL;
    expect_no_event(c);
    len = drain_iov(c, 104, got, 4096, &lent);
    assert_int_equal(len, 4);
    assert_memory_equal(got, ((const uint8_t[]){0x62, 2, (uint8_t)(id >> 8), (uint8_t)id}), 4);
    assert_int_equal(mqttas_handle_link_down(c, 105), MQTTAS_OK);
    next_event(c, &ev, MQTTAS_EVENT_CONNECTION_LOST);
    connect_lending(f, 200, true);
    len = drain_iov(c, 201, got, 4096, &lent);
    /* `b` again (still unacknowledged), then the PUBREL. */
    assert_int_equal(len, 3 + 200 + 2 + 2 + 1024 + 4);
    assert_memory_equal(got + 3 + 200 + 2 + 2, b, 1024);
    assert_int_equal(got[len - 4], 0x62);
    assert_int_equal(lent, 7);
    feed(c, 202, BYTES(0x40, 2, (uint8_t)(pb >> 8), (uint8_t)pb, 0x70, 2, (uint8_t)(id >> 8),
                       (uint8_t)id));
    next_event(c, &ev, MQTTAS_EVENT_PUBLISHED);
    assert_int_equal(ev.packet_id, pb);
    free(b);
    b = NULL;
    next_event(c, &ev, MQTTAS_EVENT_PUBLISHED);
    assert_int_equal(ev.packet_id, id);
    free(a);
    a = NULL;
    assert_int_equal(mqttas_pending_publications(c, &pending), MQTTAS_OK);
    assert_int_equal(pending, 0);
    expect_no_tx(c, 203);
    free(topic);
    free(got);
    fixture_free(f);
}

/* A 1 KiB message under a 200-byte topic into rx 256: delivered in chunks. */
static void test_small_rx_takes_1_kib_under_a_200_byte_topic(void **state)
{
    fixture *f = lending_fixture(MQTTAS_VERSION_311, 256, 300, 600, false);
    char *topic = long_topic();
    uint8_t *pkt = malloc(3 + 200 + 2 + 2 + 1024), *body = payload_of(1024, 5);
    size_t h;
    chunked m;
    (void)state;
    assert_non_null(pkt);
    h = publish_head(pkt, 0x32, topic, 7);
    memcpy(pkt + h, body, 1024);
    feed_chunked(f->c, 1, pkt, h + 1024, &m);
    assert_int_equal(m.start.total_len, 1024);
    assert_int_equal(m.start.topic_len, 200);
    assert_string_equal(m.topic, topic);
    assert_int_equal(m.payload_len, 1024);
    assert_memory_equal(m.payload, body, 1024);
    expect_tx(f->c, 2, BYTES(0x40, 2, 0, 7));
    free(pkt);
    free(body);
    free(topic);
    fixture_free(f);
}

/* The QoS 0 payload is the caller's again once the connection is lost,
 * even when the client leaves acknowledgements queued to go out (a 5.0
 * protocol error); the vectored call checks its arguments. */
static void test_borrowed_qos0_dropped_on_loss(void **state)
{
    fixture *f = lending_fixture(MQTTAS_VERSION_5, 256, 256, 1024, false);
    mqttas_client *c = f->c;
    mqttas_event ev;
    uint8_t *z = payload_of(16, 6);
    uint8_t got[256];
    mqttas_iovec v[2];
    size_t n;
    int lent = 0;
    (void)state;

    assert_int_equal(mqttas_poll_transmit_vectored(c, 2, NULL, &n), MQTTAS_ERR_NULL_POINTER);
    assert_int_equal(mqttas_poll_transmit_vectored(c, 2, v, NULL), MQTTAS_ERR_NULL_POINTER);
    assert_int_equal(mqttas_publish_borrowed(c, 2, "t", 1, NULL, 3, 0, false, NULL, 0, NULL),
                     MQTTAS_ERR_NULL_POINTER);

    /* A QoS 1 message from the broker (PUBACK queued), then a lent QoS 0
     * message, then a second CONNACK: a protocol error. */
    feed(c, 3, BYTES(0x32, 7, 0, 1, 'x', 0, 5, 0, 'm'));
    next_event(c, &ev, MQTTAS_EVENT_MESSAGE);
    assert_int_equal(publish_lent(c, 4, "t", z, 16, 0), 0);
    feed(c, 5, BYTES(0x20, 3, 0, 0, 0));
    next_event(c, &ev, MQTTAS_EVENT_CONNECTION_LOST);
    assert_int_equal(ev.lost, MQTTAS_LOST_PROTOCOL);
    /* The caller has `z` back. */
    free(z);
    /* The PUBACK and the DISCONNECT still go; the QoS 0 message does not. */
    n = drain_iov(c, 6, got, sizeof got, &lent);
    assert_int_equal(lent, 0);
    assert_int_equal(n, 4 + 3);
    assert_memory_equal(got, ((const uint8_t[]){0x40, 2, 0, 5, 0xE0, 1, 0x82}), n);
    next_event(c, &ev, MQTTAS_EVENT_NONE);
    fixture_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_version_size_align),
        cmocka_unit_test(test_features_of_the_full_library),
        cmocka_unit_test(test_result_codes_are_fixed),
        cmocka_unit_test(test_result_classes),
        cmocka_unit_test(test_lost_reason_str),
        cmocka_unit_test(test_reason_code_describe),
        cmocka_unit_test(test_config_default),
        cmocka_unit_test(test_init_checks_every_argument),
        cmocka_unit_test(test_static_storage),
        cmocka_unit_test(test_init_writes_in_place),
        cmocka_unit_test(test_not_initialized_and_null),
        cmocka_unit_test(test_session_311),
        cmocka_unit_test(test_command_errors),
        cmocka_unit_test(test_session_5_properties),
        cmocka_unit_test(test_refused_311),
        cmocka_unit_test(test_reconnect_causes),
        cmocka_unit_test(test_protocol_error),
        cmocka_unit_test(test_server_disconnect_and_version_refusal),
        cmocka_unit_test(test_link_down_resends),
        cmocka_unit_test(test_time_wraparound),
        cmocka_unit_test(test_chunked_message),
        cmocka_unit_test(test_skipped_message),
        cmocka_unit_test(test_inbound_qos2_table),
        cmocka_unit_test(test_outbound_topic_alias),
        cmocka_unit_test(test_event_describe_buffers),
        cmocka_unit_test(test_borrowed_small_buffers),
        cmocka_unit_test(test_small_rx_takes_1_kib_under_a_200_byte_topic),
        cmocka_unit_test(test_borrowed_qos0_dropped_on_loss),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
