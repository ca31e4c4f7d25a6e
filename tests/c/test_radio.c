/*
 * C unit tests of the packet radio link (mqttas_radio_*), through
 * include/mqttas.h only.
 *
 * A node radio and a gateway radio exchange byte streams through an
 * in-memory channel that loses, corrupts, duplicates and reorders frames,
 * with a clock the tests move by hand (including across the 32-bit
 * wrap-around). Built with -std=c99 -pedantic and run plain, under
 * ASan+UBSan and under valgrind by tests/c/run.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mqttas.h"

#define NODE 7
#define MAX_FRAME 255

/* ---- a radio in heap storage with heap buffers ---- */

/* Heap memory (not static arrays) so that ASan and valgrind see any access
 * past the ends. */
typedef struct side {
    mqttas_radio *r;
    uint8_t *tx, *rx;
    mqttas_radio_config cfg;
    /* Events seen, in order: 'U' for up, '0'+reason for down. */
    char events[64];
    size_t n_events;
} side;

static mqttas_radio_config config(uint8_t node, bool gateway, uint16_t epoch)
{
    mqttas_radio_config c;
    assert_int_equal(mqttas_radio_config_default(&c), MQTTAS_OK);
    c.node = node;
    c.gateway = gateway;
    c.epoch = epoch;
    return c;
}

static side *side_new(const mqttas_radio_config *c, size_t bufs)
{
    side *s = calloc(1, sizeof *s);
    assert_non_null(s);
    s->cfg = *c;
    s->r = malloc(mqttas_radio_size());
    s->tx = malloc(bufs);
    s->rx = malloc(bufs);
    assert_non_null(s->r);
    assert_non_null(s->tx);
    assert_non_null(s->rx);
    assert_int_equal(mqttas_radio_init(s->r, mqttas_radio_size(), c, s->tx, bufs, s->rx, bufs), MQTTAS_OK);
    return s;
}

static void side_free(side *s)
{
    if (s == NULL) {
        return;
    }
    assert_int_equal(mqttas_radio_deinit(s->r), MQTTAS_OK);
    free(s->r);
    free(s->tx);
    free(s->rx);
    free(s);
}

/* Take every pending event into s->events. */
static void side_events(side *s)
{
    for (;;) {
        mqttas_radio_event e;
        memset(&e, 0xAB, sizeof e);
        assert_int_equal(mqttas_radio_poll_event(s->r, &e), MQTTAS_OK);
        if (e.kind == MQTTAS_RADIO_EVENT_NONE) {
            assert_int_equal(e.reason, MQTTAS_RADIO_DOWN_NONE);
            return;
        }
        assert_true(s->n_events < sizeof s->events - 1);
        if (e.kind == MQTTAS_RADIO_EVENT_UP) {
            assert_int_equal(e.reason, MQTTAS_RADIO_DOWN_NONE);
            s->events[s->n_events++] = 'U';
        } else {
            assert_int_equal(e.kind, MQTTAS_RADIO_EVENT_DOWN);
            assert_true(e.reason >= MQTTAS_RADIO_DOWN_NO_ACK && e.reason <= MQTTAS_RADIO_DOWN_CLOSED);
            s->events[s->n_events++] = (char)('0' + e.reason);
        }
        s->events[s->n_events] = '\0';
    }
}

static bool is_up(const side *s)
{
    bool up = false;
    assert_int_equal(mqttas_radio_is_up(s->r, &up), MQTTAS_OK);
    return up;
}

static mqttas_radio_stats stats(const side *s)
{
    mqttas_radio_stats st;
    assert_int_equal(mqttas_radio_get_stats(s->r, &st), MQTTAS_OK);
    return st;
}

/* The next frame s sends now (0: none). */
static size_t next_frame(side *s, uint32_t now, uint8_t *out)
{
    size_t n = 12345;
    assert_int_equal(mqttas_radio_poll_frame(s->r, now, out, MAX_FRAME, &n), MQTTAS_OK);
    assert_true(n <= s->cfg.mtu);
    return n;
}

/* ---- the frame format, checked independently of the library ---- */

static uint16_t crc16_ccitt_false(const uint8_t *b, size_t n)
{
    uint16_t crc = 0xFFFF;
    size_t i;
    int k;
    for (i = 0; i < n; i++) {
        crc ^= (uint16_t)(b[i] << 8);
        for (k = 0; k < 8; k++) {
            crc = (uint16_t)((crc & 0x8000) ? (crc << 1) ^ 0x1021 : crc << 1);
        }
    }
    return crc;
}

/* A well-formed frame: its CRC, node and kind. */
static void check_frame(const uint8_t *f, size_t n, uint8_t node, bool downlink, uint8_t kind)
{
    assert_true(n >= 11);
    assert_int_equal(crc16_ccitt_false(f, n - 2), (uint16_t)(f[n - 2] << 8 | f[n - 1]));
    assert_int_equal(f[0], node);
    assert_int_equal(f[1] & 0x0F, kind);
    assert_int_equal((f[1] & 0x80) != 0, downlink);
}

static uint16_t be16(const uint8_t *b)
{
    return (uint16_t)(b[0] << 8 | b[1]);
}

/* ---- a lossy channel ---- */

typedef struct flight {
    uint32_t at;
    size_t len;
    uint8_t b[MAX_FRAME];
} flight;

typedef struct channel {
    flight q[512];
    size_t n;
    uint32_t seed;
    unsigned loss_pct, corrupt_pct, dup_pct, jitter_ms;
    bool cut;
    unsigned sent, lost, corrupted, duplicated;
} channel;

static uint32_t rnd(channel *c)
{
    /* xorshift32: the same run every time. */
    c->seed ^= c->seed << 13;
    c->seed ^= c->seed >> 17;
    c->seed ^= c->seed << 5;
    return c->seed;
}

static void channel_put(channel *c, uint32_t now, const uint8_t *f, size_t n)
{
    flight *q;
    assert_true(c->n < sizeof c->q / sizeof c->q[0]);
    q = &c->q[c->n++];
    /* Delay 5 ms plus jitter: frames overtake each other. */
    q->at = now + 5 + (c->jitter_ms ? rnd(c) % c->jitter_ms : 0);
    q->len = n;
    memcpy(q->b, f, n);
    if (rnd(c) % 100 < c->corrupt_pct) {
        q->b[rnd(c) % n] ^= (uint8_t)(1u << (rnd(c) % 8));
        c->corrupted++;
    }
}

static void channel_send(channel *c, uint32_t now, const uint8_t *f, size_t n)
{
    c->sent++;
    if (c->cut || rnd(c) % 100 < c->loss_pct) {
        c->lost++;
        return;
    }
    channel_put(c, now, f, n);
    if (rnd(c) % 100 < c->dup_pct) {
        channel_put(c, now, f, n);
        c->duplicated++;
    }
}

/* Hand every frame due at `now` to `to`. */
static void channel_deliver(channel *c, uint32_t now, side *to)
{
    size_t i = 0;
    while (i < c->n) {
        if ((int32_t)(now - c->q[i].at) >= 0) {
            flight f = c->q[i];
            c->q[i] = c->q[--c->n];
            assert_int_equal(mqttas_radio_handle_frame(to->r, now, f.b, f.len), MQTTAS_OK);
        } else {
            i++;
        }
    }
}

/* Run s's timers and send everything it has now. */
static void pump(side *s, uint32_t now, channel *out)
{
    bool has = true;
    uint32_t at = 0;
    uint8_t f[MAX_FRAME];
    size_t n;
    assert_int_equal(mqttas_radio_poll_deadline(s->r, &has, &at), MQTTAS_OK);
    if (has && (int32_t)(at - now) <= 0) {
        assert_int_equal(mqttas_radio_handle_timeout(s->r, now), MQTTAS_OK);
    }
    while ((n = next_frame(s, now, f)) != 0) {
        channel_send(out, now, f, n);
    }
    side_events(s);
}

/* A byte stream one way: what to send and what arrived. */
typedef struct stream {
    const uint8_t *src;
    size_t total, sent, got;
    uint8_t *dst;
} stream;

static void stream_move(stream *st, side *from, side *to, uint32_t now)
{
    size_t n = 0;
    if (st->sent < st->total) {
        size_t chunk = st->total - st->sent < 100 ? st->total - st->sent : 100;
        assert_int_equal(mqttas_radio_write(from->r, now, st->src + st->sent, chunk, &n), MQTTAS_OK);
        assert_true(n <= chunk);
        st->sent += n;
    }
    for (;;) {
        size_t want = st->total - st->got;
        size_t room = want < 37 ? want : 37; /* odd reads on purpose */
        n = 999;
        assert_int_equal(mqttas_radio_read(to->r, st->dst + st->got, room, &n), MQTTAS_OK);
        assert_true(n <= room);
        st->got += n;
        if (n == 0 || st->got == st->total) {
            return;
        }
    }
}

/* One millisecond of the world: deliver, move bytes, run timers, send. */
static void tick(side *node, side *gw, channel *up, channel *down, uint32_t now)
{
    channel_deliver(up, now, gw);
    channel_deliver(down, now, node);
    pump(node, now, up);
    pump(gw, now, down);
}

static uint8_t *pattern(size_t n, uint32_t seed)
{
    uint8_t *b = malloc(n);
    size_t i;
    assert_non_null(b);
    for (i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        b[i] = (uint8_t)(seed >> 16);
    }
    return b;
}

/* Open a session through the channels; returns the time it came up. */
static uint32_t bring_up(side *node, side *gw, channel *up, channel *down, uint32_t now, uint32_t limit)
{
    uint32_t t = now;
    assert_int_equal(mqttas_radio_open(node->r, now), MQTTAS_OK);
    while (!(is_up(node) && is_up(gw))) {
        assert_true(t - now < limit);
        tick(node, gw, up, down, t);
        t++;
    }
    return t;
}

/* Both directions at once through lossy channels, starting at `start`;
 * returns the time the last byte arrived. */
static uint32_t exchange(uint32_t start, size_t total, unsigned loss, unsigned corrupt, unsigned dup, side **out_node,
                         side **out_gw, channel *up, channel *down)
{
    mqttas_radio_config cn = config(NODE, false, 0x1234);
    mqttas_radio_config cg = config(NODE, true, 0x4321);
    side *node = side_new(&cn, 1024);
    side *gw = side_new(&cg, 1024);
    uint8_t *a = pattern(total, 1), *b = pattern(total, 2);
    uint8_t *ra = malloc(total), *rb = malloc(total);
    stream sa = { a, total, 0, 0, ra };
    stream sb = { b, total, 0, 0, rb };
    uint32_t t;

    assert_non_null(ra);
    assert_non_null(rb);
    up->loss_pct = down->loss_pct = loss;
    up->corrupt_pct = down->corrupt_pct = corrupt;
    up->dup_pct = down->dup_pct = dup;
    up->jitter_ms = down->jitter_ms = 20;
    t = bring_up(node, gw, up, down, start, 60000);
    while (sa.got < total || sb.got < total) {
        /* 20% loss costs time, not bytes: a few simulated minutes at most. */
        assert_true(t - start < 300000);
        stream_move(&sa, node, gw, t);
        stream_move(&sb, gw, node, t);
        tick(node, gw, up, down, t);
        t++;
    }
    assert_memory_equal(ra, a, total);
    assert_memory_equal(rb, b, total);
    /* No session was lost on the way. */
    assert_string_equal(node->events, "U");
    assert_string_equal(gw->events, "U");
    free(a);
    free(b);
    free(ra);
    free(rb);
    *out_node = node;
    *out_gw = gw;
    return t;
}

/* ---- tests ---- */

static void test_size_align_default(void **state)
{
    mqttas_radio_config c;
    size_t align = mqttas_radio_align();
    (void)state;
    assert_true(mqttas_radio_size() > 0);
    assert_true(align > 0 && (align & (align - 1)) == 0);
    assert_true(align <= 16);
    assert_int_equal(mqttas_radio_config_default(NULL), MQTTAS_ERR_NULL_POINTER);
    memset(&c, 0xFF, sizeof c);
    assert_int_equal(mqttas_radio_config_default(&c), MQTTAS_OK);
    assert_int_equal(c.node, 1);
    assert_false(c.gateway);
    assert_int_equal(c.mtu, 32);
    assert_int_equal(c.window, 4);
    assert_int_equal(c.rto_ms, 400);
    assert_int_equal(c.max_retries, 10);
    assert_int_equal(c.keepalive_ms, 3000);
    assert_int_equal(c.epoch, 1);
}

static void test_init_checks_every_argument(void **state)
{
    size_t size = mqttas_radio_size(), align = mqttas_radio_align();
    /* Room to misalign and to overlap. */
    uint8_t *mem = malloc(size + align + 4096);
    uint8_t *tx = mem + size + align, *rx = tx + 1024;
    mqttas_radio *r = (mqttas_radio *)mem;
    bool up = false;
    mqttas_radio_config c = config(NODE, false, 9);
    char why[128];
    size_t why_len = 99;
    (void)state;
    assert_non_null(mem);

    assert_int_equal(mqttas_radio_init(NULL, size, &c, tx, 1024, rx, 1024), MQTTAS_ERR_NULL_POINTER);
    assert_int_equal(mqttas_radio_init(r, size, NULL, tx, 1024, rx, 1024), MQTTAS_ERR_NULL_POINTER);
    assert_int_equal(mqttas_radio_init(r, size - 1, &c, tx, 1024, rx, 1024), MQTTAS_ERR_BUFFER_TOO_SMALL);
    if (align > 1) {
        assert_int_equal(mqttas_radio_init((mqttas_radio *)(mem + 1), size, &c, tx, 1024, rx, 1024),
                         MQTTAS_ERR_MISALIGNED);
    }
    assert_int_equal(mqttas_radio_init(r, size, &c, NULL, 1024, rx, 1024), MQTTAS_ERR_NULL_POINTER);
    assert_int_equal(mqttas_radio_init(r, size, &c, tx, 1024, NULL, 1024), MQTTAS_ERR_NULL_POINTER);
    assert_int_equal(mqttas_radio_init(r, size, &c, tx, 1024, tx + 1023, 1024), MQTTAS_ERR_BUFFERS_OVERLAP);
    assert_int_equal(mqttas_radio_init(r, size, &c, mem + size - 1, 1024, rx, 1024), MQTTAS_ERR_BUFFERS_OVERLAP);
    /* A refused init leaves no radio in the storage. */
    assert_int_equal(mqttas_radio_is_up(r, &up), MQTTAS_ERR_NOT_INITIALIZED);

    /* Every value out of range, one at a time: refused before any buffer is
     * touched, and described in words naming the field. */
    {
        static const struct {
            const char *field;
            unsigned node, mtu, window, epoch;
        } bad[] = {
            { "node", 0, 32, 4, 1 },    { "node", 255, 32, 4, 1 }, { "mtu", 7, 15, 4, 1 },
            { "mtu", 7, 256, 4, 1 },    { "window", 7, 32, 0, 1 }, { "window", 7, 32, 9, 1 },
            { "epoch", 7, 32, 4, 0 },
        };
        size_t i;
        for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            mqttas_radio_config b = c;
            b.node = (uint8_t)bad[i].node;
            b.mtu = (uint16_t)bad[i].mtu;
            b.window = (uint8_t)bad[i].window;
            b.epoch = (uint16_t)bad[i].epoch;
            memset(tx, 0xAA, 1024);
            assert_int_equal(mqttas_radio_init(r, size, &b, tx, 1024, rx, 1024), MQTTAS_ERR_INVALID_CONFIG);
            assert_int_equal(mqttas_radio_is_up(r, &up), MQTTAS_ERR_NOT_INITIALIZED);
            assert_int_equal(tx[0], 0xAA);
            assert_int_equal(tx[1023], 0xAA);
            why_len = 0;
            assert_int_equal(mqttas_radio_config_describe_error(&b, why, sizeof why, &why_len), MQTTAS_OK);
            assert_int_equal(why_len, strlen(why));
            if (strstr(why, bad[i].field) == NULL) {
                fprintf(stderr, "case %zu: \"%s\" does not name %s\n", i, why, bad[i].field);
                fail();
            }
        }
    }
    /* A valid configuration has nothing to say. */
    why[0] = 'x';
    assert_int_equal(mqttas_radio_config_describe_error(&c, why, sizeof why, &why_len), MQTTAS_OK);
    assert_int_equal(why_len, 0);
    assert_string_equal(why, "");
    /* The text's conventions: NULL config, cut text, length only. */
    c.mtu = 3;
    assert_int_equal(mqttas_radio_config_describe_error(NULL, why, sizeof why, &why_len),
                     MQTTAS_ERR_NULL_POINTER);
    assert_int_equal(mqttas_radio_config_describe_error(&c, why, 4, &why_len), MQTTAS_ERR_BUFFER_TOO_SMALL);
    assert_true(why_len > 3);
    assert_int_equal(strlen(why), 3);
    assert_int_equal(mqttas_radio_config_describe_error(&c, NULL, 0, &why_len), MQTTAS_ERR_BUFFER_TOO_SMALL);
    assert_int_equal(mqttas_radio_config_describe_error(&c, NULL, 5, &why_len), MQTTAS_ERR_NULL_POINTER);
    c.mtu = 32;

    /* Buffers must hold one frame's payload each: no less. */
    assert_int_equal(mqttas_radio_init(r, size, &c, NULL, 0, NULL, 0), MQTTAS_ERR_BUFFER_TOO_SMALL);
    assert_int_equal(mqttas_radio_init(r, size, &c, tx, c.mtu - MQTTAS_RADIO_OVERHEAD - 1, rx, 1024),
                     MQTTAS_ERR_BUFFER_TOO_SMALL);
    assert_int_equal(mqttas_radio_init(r, size, &c, tx, 1024, rx, c.mtu - MQTTAS_RADIO_OVERHEAD - 1),
                     MQTTAS_ERR_BUFFER_TOO_SMALL);
    assert_int_equal(mqttas_radio_is_up(r, &up), MQTTAS_ERR_NOT_INITIALIZED);
    assert_int_equal(mqttas_radio_init(r, size, &c, tx, c.mtu - MQTTAS_RADIO_OVERHEAD, rx,
                                       c.mtu - MQTTAS_RADIO_OVERHEAD),
                     MQTTAS_OK);
    assert_int_equal(mqttas_radio_deinit(r), MQTTAS_OK);

    /* The largest MTU works. */
    c.mtu = 255;
    c.window = 8;
    assert_int_equal(mqttas_radio_init(r, size, &c, tx, 1024, rx, 1024), MQTTAS_OK);
    assert_int_equal(mqttas_radio_is_up(r, &up), MQTTAS_OK);
    assert_int_equal(mqttas_radio_deinit(r), MQTTAS_OK);
    free(mem);
}

static void test_not_initialized_and_null(void **state)
{
    void *zeroed = calloc(1, mqttas_radio_size());
    mqttas_radio *z = zeroed;
    mqttas_radio_config c = config(NODE, false, 3);
    side *s = side_new(&c, 256);
    uint8_t buf[MAX_FRAME];
    size_t n = 0;
    bool b = false;
    uint32_t at = 0;
    uint8_t node = 0;
    mqttas_radio_event e;
    mqttas_radio_stats st;
    (void)state;
    assert_non_null(zeroed);

    /* Storage never initialised. */
    assert_int_equal(mqttas_radio_open(z, 0), MQTTAS_ERR_NOT_INITIALIZED);
    assert_int_equal(mqttas_radio_close(z, 0), MQTTAS_ERR_NOT_INITIALIZED);
    assert_int_equal(mqttas_radio_set_epoch(z, 5), MQTTAS_ERR_NOT_INITIALIZED);
    assert_int_equal(mqttas_radio_is_up(z, &b), MQTTAS_ERR_NOT_INITIALIZED);
    assert_int_equal(mqttas_radio_write(z, 0, buf, 1, &n), MQTTAS_ERR_NOT_INITIALIZED);
    assert_int_equal(mqttas_radio_read(z, buf, sizeof buf, &n), MQTTAS_ERR_NOT_INITIALIZED);
    assert_int_equal(mqttas_radio_handle_frame(z, 0, buf, 20), MQTTAS_ERR_NOT_INITIALIZED);
    assert_int_equal(mqttas_radio_poll_frame(z, 0, buf, sizeof buf, &n), MQTTAS_ERR_NOT_INITIALIZED);
    assert_int_equal(mqttas_radio_handle_timeout(z, 0), MQTTAS_ERR_NOT_INITIALIZED);
    assert_int_equal(mqttas_radio_poll_deadline(z, &b, &at), MQTTAS_ERR_NOT_INITIALIZED);
    assert_int_equal(mqttas_radio_poll_event(z, &e), MQTTAS_ERR_NOT_INITIALIZED);
    assert_int_equal(mqttas_radio_get_stats(z, &st), MQTTAS_ERR_NOT_INITIALIZED);
    assert_int_equal(mqttas_radio_writable(z, &n), MQTTAS_ERR_NOT_INITIALIZED);
    assert_int_equal(mqttas_radio_readable(z, &n), MQTTAS_ERR_NOT_INITIALIZED);
    assert_int_equal(mqttas_radio_deinit(z), MQTTAS_ERR_NOT_INITIALIZED);

    /* NULL radio. */
    assert_int_equal(mqttas_radio_open(NULL, 0), MQTTAS_ERR_NULL_POINTER);
    assert_int_equal(mqttas_radio_close(NULL, 0), MQTTAS_ERR_NULL_POINTER);
    assert_int_equal(mqttas_radio_set_epoch(NULL, 5), MQTTAS_ERR_NULL_POINTER);
    assert_int_equal(mqttas_radio_is_up(NULL, &b), MQTTAS_ERR_NULL_POINTER);
    assert_int_equal(mqttas_radio_write(NULL, 0, buf, 1, &n), MQTTAS_ERR_NULL_POINTER);
    assert_int_equal(mqttas_radio_read(NULL, buf, sizeof buf, &n), MQTTAS_ERR_NULL_POINTER);
    assert_int_equal(mqttas_radio_handle_frame(NULL, 0, buf, 20), MQTTAS_ERR_NULL_POINTER);
    assert_int_equal(mqttas_radio_poll_frame(NULL, 0, buf, sizeof buf, &n), MQTTAS_ERR_NULL_POINTER);
    assert_int_equal(mqttas_radio_handle_timeout(NULL, 0), MQTTAS_ERR_NULL_POINTER);
    assert_int_equal(mqttas_radio_poll_deadline(NULL, &b, &at), MQTTAS_ERR_NULL_POINTER);
    assert_int_equal(mqttas_radio_poll_event(NULL, &e), MQTTAS_ERR_NULL_POINTER);
    assert_int_equal(mqttas_radio_get_stats(NULL, &st), MQTTAS_ERR_NULL_POINTER);
    assert_int_equal(mqttas_radio_writable(NULL, &n), MQTTAS_ERR_NULL_POINTER);
    assert_int_equal(mqttas_radio_readable(NULL, &n), MQTTAS_ERR_NULL_POINTER);
    assert_int_equal(mqttas_radio_deinit(NULL), MQTTAS_ERR_NULL_POINTER);

    /* NULL outputs and inputs on a live radio. */
    assert_int_equal(mqttas_radio_is_up(s->r, NULL), MQTTAS_ERR_NULL_POINTER);
    assert_int_equal(mqttas_radio_write(s->r, 0, buf, 1, NULL), MQTTAS_ERR_NULL_POINTER);
    assert_int_equal(mqttas_radio_write(s->r, 0, NULL, 1, &n), MQTTAS_ERR_NULL_POINTER);
    assert_int_equal(mqttas_radio_read(s->r, buf, sizeof buf, NULL), MQTTAS_ERR_NULL_POINTER);
    assert_int_equal(mqttas_radio_read(s->r, NULL, 5, &n), MQTTAS_ERR_NULL_POINTER);
    assert_int_equal(mqttas_radio_handle_frame(s->r, 0, NULL, 20), MQTTAS_ERR_NULL_POINTER);
    assert_int_equal(mqttas_radio_poll_frame(s->r, 0, buf, sizeof buf, NULL), MQTTAS_ERR_NULL_POINTER);
    assert_int_equal(mqttas_radio_poll_frame(s->r, 0, NULL, sizeof buf, &n), MQTTAS_ERR_NULL_POINTER);
    assert_int_equal(mqttas_radio_poll_deadline(s->r, NULL, &at), MQTTAS_ERR_NULL_POINTER);
    assert_int_equal(mqttas_radio_poll_deadline(s->r, &b, NULL), MQTTAS_ERR_NULL_POINTER);
    assert_int_equal(mqttas_radio_poll_event(s->r, NULL), MQTTAS_ERR_NULL_POINTER);
    assert_int_equal(mqttas_radio_get_stats(s->r, NULL), MQTTAS_ERR_NULL_POINTER);
    assert_int_equal(mqttas_radio_writable(s->r, NULL), MQTTAS_ERR_NULL_POINTER);
    assert_int_equal(mqttas_radio_readable(s->r, NULL), MQTTAS_ERR_NULL_POINTER);
    assert_int_equal(mqttas_radio_frame_node(buf, 20, NULL, &b), MQTTAS_ERR_NULL_POINTER);
    assert_int_equal(mqttas_radio_frame_node(buf, 20, &node, NULL), MQTTAS_ERR_NULL_POINTER);
    assert_int_equal(mqttas_radio_frame_node(NULL, 20, &node, &b), MQTTAS_ERR_NULL_POINTER);
    assert_int_equal(mqttas_radio_set_epoch(s->r, 0), MQTTAS_ERR_INVALID_ARGUMENT);

    /* Empty inputs are fine: NULL with length 0. */
    n = 99;
    assert_int_equal(mqttas_radio_write(s->r, 0, NULL, 0, &n), MQTTAS_OK);
    assert_int_equal(n, 0);
    n = 99;
    assert_int_equal(mqttas_radio_read(s->r, NULL, 0, &n), MQTTAS_OK);
    assert_int_equal(n, 0);
    assert_int_equal(mqttas_radio_handle_frame(s->r, 0, NULL, 0), MQTTAS_OK);
    node = 9;
    b = true;
    assert_int_equal(mqttas_radio_frame_node(NULL, 0, &node, &b), MQTTAS_OK);
    assert_int_equal(node, 0);
    assert_false(b);

    /* Down before open: nothing to read, nothing taken, no frame. */
    assert_false(is_up(s));
    assert_int_equal(mqttas_radio_write(s->r, 0, buf, 10, &n), MQTTAS_OK);
    assert_int_equal(n, 0);
    assert_int_equal(next_frame(s, 0, buf), 0);

    /* An output buffer below the MTU is refused, and the frame waits. */
    assert_int_equal(mqttas_radio_open(s->r, 10), MQTTAS_OK);
    n = 99;
    assert_int_equal(mqttas_radio_poll_frame(s->r, 10, buf, c.mtu - 1, &n), MQTTAS_ERR_BUFFER_TOO_SMALL);
    n = next_frame(s, 10, buf);
    check_frame(buf, n, NODE, false, 1);

    /* After deinit the storage holds no radio: calls are refused, and it
     * can be initialised again. */
    assert_int_equal(mqttas_radio_deinit(s->r), MQTTAS_OK);
    assert_int_equal(mqttas_radio_open(s->r, 11), MQTTAS_ERR_NOT_INITIALIZED);
    assert_int_equal(mqttas_radio_deinit(s->r), MQTTAS_ERR_NOT_INITIALIZED);
    assert_int_equal(mqttas_radio_init(s->r, mqttas_radio_size(), &c, s->tx, 256, s->rx, 256), MQTTAS_OK);
    side_free(s);
    free(zeroed);
}

static void test_handshake_and_frame_format(void **state)
{
    mqttas_radio_config cn = config(NODE, false, 0xBEEF);
    mqttas_radio_config cg = config(NODE, true, 0x0102);
    mqttas_radio_config co = config(NODE + 1, true, 0x0304);
    side *node = side_new(&cn, 256), *gw = side_new(&cg, 256), *other = side_new(&co, 256);
    uint8_t f[MAX_FRAME], bad[MAX_FRAME];
    size_t n, m, written = 0;
    uint8_t id = 0;
    bool downlink = true, has = false;
    uint32_t at = 0;
    (void)state;

    /* The gateway waits for a HELLO: it has nothing to send. */
    assert_int_equal(mqttas_radio_open(gw->r, 0), MQTTAS_OK);
    assert_int_equal(next_frame(gw, 0, f), 0);

    assert_int_equal(mqttas_radio_open(node->r, 100), MQTTAS_OK);
    n = next_frame(node, 100, f);
    check_frame(f, n, NODE, false, 1); /* HELLO, node to gateway */
    assert_int_equal(be16(f + 2), 0xBEEF);
    assert_int_equal(be16(f + 4), 0); /* peer epoch not known yet */
    assert_int_equal(mqttas_radio_frame_node(f, n, &id, &downlink), MQTTAS_OK);
    assert_int_equal(id, NODE);
    assert_false(downlink);
    /* The node retries the HELLO: a deadline runs. */
    assert_int_equal(mqttas_radio_poll_deadline(node->r, &has, &at), MQTTAS_OK);
    assert_true(has);
    assert_true((int32_t)(at - 100) > 0);

    /* A corrupt copy: no node for routing, counted and dropped. */
    memcpy(bad, f, n);
    bad[3] ^= 0x10;
    id = 9;
    assert_int_equal(mqttas_radio_frame_node(bad, n, &id, &downlink), MQTTAS_OK);
    assert_int_equal(id, 0);
    assert_int_equal(mqttas_radio_handle_frame(gw->r, 101, bad, n), MQTTAS_OK);
    assert_int_equal(mqttas_radio_handle_frame(gw->r, 101, bad, 5), MQTTAS_OK); /* short */
    assert_int_equal(stats(gw).bad_crc, 2);
    assert_false(is_up(gw));
    /* Another node's gateway drops the HELLO. */
    assert_int_equal(mqttas_radio_handle_frame(other->r, 101, f, n), MQTTAS_OK);
    assert_int_equal(stats(other).dropped, 1);
    assert_false(is_up(other));
    assert_int_equal(next_frame(other, 101, bad), 0);

    /* The right gateway accepts: up, and answers HELLO_ACK. */
    assert_int_equal(mqttas_radio_handle_frame(gw->r, 102, f, n), MQTTAS_OK);
    assert_true(is_up(gw));
    side_events(gw);
    assert_string_equal(gw->events, "U");
    m = next_frame(gw, 102, f);
    check_frame(f, m, NODE, true, 2);
    assert_int_equal(be16(f + 2), 0x0102);
    assert_int_equal(be16(f + 4), 0xBEEF);
    assert_int_equal(mqttas_radio_frame_node(f, m, &id, &downlink), MQTTAS_OK);
    assert_int_equal(id, NODE);
    assert_true(downlink);
    /* A downlink frame is not for the gateway. */
    assert_int_equal(mqttas_radio_handle_frame(gw->r, 103, f, m), MQTTAS_OK);
    assert_int_equal(stats(gw).dropped, 1);
    assert_int_equal(mqttas_radio_handle_frame(node->r, 103, f, m), MQTTAS_OK);
    assert_true(is_up(node));
    side_events(node);
    assert_string_equal(node->events, "U");

    /* One DATA frame carries bytes: header, payload, CRC. */
    assert_int_equal(mqttas_radio_write(node->r, 104, (const uint8_t *)"hello", 5, &written), MQTTAS_OK);
    assert_int_equal(written, 5);
    n = next_frame(node, 104, f);
    check_frame(f, n, NODE, false, 3);
    assert_int_equal(n, 11 + 5);
    assert_memory_equal(f + 9, "hello", 5);
    assert_int_equal(mqttas_radio_handle_frame(gw->r, 105, f, n), MQTTAS_OK);
    assert_int_equal(mqttas_radio_readable(gw->r, &n), MQTTAS_OK);
    assert_int_equal(n, 5);
    assert_int_equal(mqttas_radio_read(gw->r, bad, sizeof bad, &n), MQTTAS_OK);
    assert_int_equal(n, 5);
    assert_memory_equal(bad, "hello", 5);
    assert_int_equal(stats(gw).frames_received, 2);
    assert_int_equal(stats(node).frames_sent, 2);
    side_free(node);
    side_free(gw);
    side_free(other);
}

static void test_lossy_stream_both_ways(void **state)
{
    static channel up, down;
    side *node, *gw;
    mqttas_radio_stats sn, sg;
    (void)state;
    memset(&up, 0, sizeof up);
    memset(&down, 0, sizeof down);
    up.seed = 0x12345678;
    down.seed = 0x9abcdef1;
    exchange(1000, 6000, 20, 3, 5, &node, &gw, &up, &down);
    sn = stats(node);
    sg = stats(gw);
    /* The channel did its worst, and the radios saw it. */
    assert_true(up.lost > 50 && down.lost > 50);
    assert_true(up.corrupted > 0 && down.corrupted > 0);
    assert_true(sn.retransmissions > 0 && sg.retransmissions > 0);
    assert_true(sn.bad_crc + sg.bad_crc > 0);
    assert_true(sn.duplicates + sg.duplicates > 0);
    assert_int_equal(sn.frames_sent, up.sent);
    assert_int_equal(sg.frames_sent, down.sent);
    fprintf(stderr, "lossy stream: node sent %u frames (%u again), gateway %u (%u again); %u/%u lost\n",
            sn.frames_sent, sn.retransmissions, sg.frames_sent, sg.retransmissions, up.lost, down.lost);
    side_free(node);
    side_free(gw);
}

static void test_time_wraps(void **state)
{
    static channel up, down;
    side *node, *gw;
    uint32_t start = 0xFFFFFFFFu - 150, end;
    (void)state;
    memset(&up, 0, sizeof up);
    memset(&down, 0, sizeof down);
    up.seed = 77;
    down.seed = 78;
    end = exchange(start, 3000, 10, 1, 2, &node, &gw, &up, &down);
    fprintf(stderr, "time wrap: exchange ran from %u to %u\n", start, end);
    /* The clock went through zero in the middle of the exchange. */
    assert_true(end < start);
    assert_true(end > 100);
    /* And the session still runs its keepalive after the wrap. */
    {
        bool has = false;
        uint32_t at = 0;
        assert_int_equal(mqttas_radio_poll_deadline(node->r, &has, &at), MQTTAS_OK);
        assert_true(has);
        assert_true((int32_t)(at - end) >= -1 && (int32_t)(at - end) <= 10000);
    }
    side_free(node);
    side_free(gw);
}

static void test_down_restart_and_reset(void **state)
{
    static channel up, down;
    mqttas_radio_config cn = config(NODE, false, 11);
    mqttas_radio_config cg = config(NODE, true, 22);
    side *node = side_new(&cn, 512), *gw = side_new(&cg, 512), *node2, *gw2;
    uint32_t t;
    size_t n = 0;
    (void)state;
    memset(&up, 0, sizeof up);
    memset(&down, 0, sizeof down);
    up.seed = 5;
    down.seed = 6;

    /* The radio goes silent: both sides notice, the node for want of
     * acknowledgements (or of any frame), the gateway for silence. */
    t = bring_up(node, gw, &up, &down, 0, 10000);
    up.cut = down.cut = true;
    assert_int_equal(mqttas_radio_write(node->r, t, (const uint8_t *)"lost", 4, &n), MQTTAS_OK);
    assert_int_equal(n, 4);
    while (node->n_events < 2 || gw->n_events < 2) {
        assert_true(t < 120000);
        tick(node, gw, &up, &down, t++);
    }
    assert_true(node->events[1] == '0' + MQTTAS_RADIO_DOWN_NO_ACK ||
                node->events[1] == '0' + MQTTAS_RADIO_DOWN_SILENT);
    assert_int_equal(gw->events[1], '0' + MQTTAS_RADIO_DOWN_SILENT);
    assert_false(is_up(node));
    /* Down: writes are refused, nothing is left to read. */
    assert_int_equal(mqttas_radio_write(node->r, t, (const uint8_t *)"x", 1, &n), MQTTAS_OK);
    assert_int_equal(n, 0);
    assert_int_equal(mqttas_radio_readable(node->r, &n), MQTTAS_OK);
    assert_int_equal(n, 0);

    /* A new session with a new epoch once the radio is back. */
    up.cut = down.cut = false;
    up.n = down.n = 0;
    assert_int_equal(mqttas_radio_set_epoch(node->r, 12), MQTTAS_OK);
    t = bring_up(node, gw, &up, &down, t, 10000);
    assert_string_equal(node->events + 2, "U");

    /* The node reboots (a fresh radio, a new epoch): the gateway drops the
     * old session and takes the new one. */
    cn.epoch = 13;
    node2 = side_new(&cn, 512);
    gw->n_events = 0;
    t = bring_up(node2, gw, &up, &down, t, 10000);
    side_events(gw);
    assert_int_equal(gw->events[0], '0' + MQTTAS_RADIO_DOWN_PEER_RESTARTED);
    assert_int_equal(gw->events[1], 'U');

    /* The gateway reboots: the node's next DATA meets a RESET. */
    gw2 = side_new(&cg, 512);
    node2->n_events = 0;
    node2->events[0] = '\0';
    assert_int_equal(mqttas_radio_write(node2->r, t, (const uint8_t *)"hi", 2, &n), MQTTAS_OK);
    assert_int_equal(n, 2);
    while (node2->n_events == 0) {
        assert_true(t < 400000);
        tick(node2, gw2, &up, &down, t++);
    }
    assert_string_equal(node2->events, "3"); /* MQTTAS_RADIO_DOWN_PEER_RESET */
    assert_false(is_up(node2));

    /* Closing: a RESET tells the peer. */
    assert_int_equal(mqttas_radio_set_epoch(node2->r, 14), MQTTAS_OK);
    t = bring_up(node2, gw2, &up, &down, t, 10000);
    node2->n_events = gw2->n_events = 0;
    assert_int_equal(mqttas_radio_close(node2->r, t), MQTTAS_OK);
    {
        uint8_t f[MAX_FRAME];
        size_t m = next_frame(node2, t, f);
        check_frame(f, m, NODE, false, 5);
        assert_int_equal(mqttas_radio_handle_frame(gw2->r, t + 1, f, m), MQTTAS_OK);
    }
    side_events(node2);
    side_events(gw2);
    assert_int_equal(node2->events[0], '0' + MQTTAS_RADIO_DOWN_CLOSED);
    assert_int_equal(gw2->events[0], '0' + MQTTAS_RADIO_DOWN_PEER_RESET);
    assert_false(is_up(node2));
    assert_false(is_up(gw2));

    side_free(node);
    side_free(node2);
    side_free(gw);
    side_free(gw2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_size_align_default),
        cmocka_unit_test(test_init_checks_every_argument),
        cmocka_unit_test(test_not_initialized_and_null),
        cmocka_unit_test(test_handshake_and_frame_format),
        cmocka_unit_test(test_lossy_stream_both_ways),
        cmocka_unit_test(test_time_wraps),
        cmocka_unit_test(test_down_restart_and_reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
