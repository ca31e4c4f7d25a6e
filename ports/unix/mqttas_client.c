/*
 * mqttas_client: an MQTT client for POSIX on the mqttas C API.
 *
 * Uses only include/mqttas.h, sockets and poll(). Publishes numbered
 * messages or subscribes and prints them, at QoS 0, 1 or 2, over MQTT 3.1.1
 * or 5.0; when the connection is lost it follows the library's outage
 * policy (mqttas_reconnect_*: hold the link down, reconnect with backoff
 * and jitter; with -c the session survives, so nothing is lost at QoS 1
 * and 2); shuts down cleanly (DISCONNECT) on SIGINT or SIGTERM.
 *
 * Payloads are lent to the library (mqttas_publish_borrowed), not copied:
 * each lives in its own heap block from publication until the library is
 * done with it (QoS 1/2: MQTTAS_EVENT_PUBLISHED; QoS 0: handed out by
 * mqttas_poll_transmit_vectored, or the connection lost), and the bytes go
 * from there to the socket. -C copies them instead (mqttas_publish).
 *
 *   mqttas_client -m sub -t test/# -q 2 -n 100 -c      print 100 messages
 *   mqttas_client -m pub -t test/a -q 1 -n 100 -c      publish "1".."100"
 *
 * Run with no argument but -? for every option.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "mqttas.h"

/* Bytes of the inbound topic alias table per alias (-A): a 5-byte record
 * head and a topic of up to 123 bytes, as mqtt_as sizes it. */
#define ALIAS_BYTES 128u

/* ---- options ---- */

typedef struct options {
    const char *host;
    const char *port;
    const char *client_id;
    const char *topic;
    const char *ready_file;
    int publish; /* 1: publish, 0: subscribe */
    uint8_t qos;
    uint8_t version;
    bool persistent;
    bool retain;
    bool copy;
    bool verbose;
    unsigned long count;
    unsigned long delay_ms;
    unsigned long timeout_s;
    unsigned long keep_alive;
    unsigned long store_size;
    unsigned long max_packet;
    unsigned long qos2_ids;
    unsigned long alias_max;
    bool clock_start_set;
    uint32_t clock_start;
    unsigned long response_ms;
    mqttas_reconnect_policy policy;
    bool stable_set;
} options;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: mqttas_client [options]\n"
            "  -m pub|sub   publish numbered messages, or subscribe and print them (sub)\n"
            "  -h HOST      broker host (127.0.0.1)\n"
            "  -p PORT      broker port (1883)\n"
            "  -i ID        client identifier (mqttas-PID)\n"
            "  -t TOPIC     topic to publish to, or filter to subscribe to (mqttas/test)\n"
            "  -q QOS       0, 1 or 2 (0)\n"
            "  -n COUNT     messages to publish, or distinct messages to wait for (10);\n"
            "               0 with sub: run until a signal\n"
            "  -c           persistent session (clean session false): survive restarts\n"
            "  -r           publish with the retain flag\n"
            "  -C           copy payloads into the library (mqttas_publish) rather than\n"
            "               lend them (mqttas_publish_borrowed)\n"
            "  -V 4|5       MQTT 3.1.1 (4, default) or 5.0 (5)\n"
            "  -k SECONDS   keep alive (60)\n"
            "  -d MS        delay between publications (0)\n"
            "  -S BYTES     message store size (65536)\n"
            "  -M BYTES     maximum packet size (65536), 0 for none: announced in 5.0;\n"
            "               in 3.1.1 a larger message is skipped (and acknowledged)\n"
            "  -Q IDS       inbound QoS 2 messages tracked until released (256): more than\n"
            "               a broker beyond our receive maximum (16) sends at once\n"
            "  -A N         5.0: topic aliases the broker may set, topic alias maximum (0)\n"
            "  -T SECONDS   give up (exit 1) after this long, 0 for never (0)\n"
            "  -R FILE      create FILE once subscribed (sub), for scripts\n"
            "  -O TICK      start the millisecond clock at TICK (tests wrap-around)\n"
            "  -W MS        response time: wait this long for any reply (10000)\n"
            "outage policy (mqttas_reconnect, defaults from mqttas_reconnect_policy_default):\n"
            "  -H MS        hold the link down this long after an outage (1000)\n"
            "  -B N         failed attempts before the link is bounced, 0 never (3)\n"
            "  -b MS        backoff after the first failed attempt (500)\n"
            "  -X MS        backoff cap (30000)\n"
            "  -j PERCENT   backoff jitter (20)\n"
            "  -U MS        a connection up this long resets the backoff; one lost sooner\n"
            "               counts as a failed attempt (keep alive, or 60000 with -k 0)\n"
            "  -v           log every event to stderr\n"
            "Sub prints one line per message: TOPIC QOS DUP PAYLOAD.\n");
}

static int parse_ulong(const char *s, unsigned long max, unsigned long *out)
{
    char *end;
    unsigned long v;
    errno = 0;
    v = strtoul(s, &end, 0);
    if (errno != 0 || *s == '\0' || *end != '\0' || v > max) {
        return -1;
    }
    *out = v;
    return 0;
}

static int parse_options(int argc, char **argv, options *o)
{
    static char default_id[32];
    unsigned long v;
    int ch;
    memset(o, 0, sizeof *o);
    o->host = "127.0.0.1";
    o->port = "1883";
    o->topic = "mqttas/test";
    o->publish = -1;
    o->version = MQTTAS_VERSION_311;
    o->count = 10;
    o->keep_alive = 60;
    o->store_size = 65536;
    o->max_packet = 65536;
    o->qos2_ids = 256;
    mqttas_reconnect_policy_default(&o->policy);
    snprintf(default_id, sizeof default_id, "mqttas-%ld", (long)getpid());
    o->client_id = default_id;
    while ((ch = getopt(argc, argv, "m:h:p:i:t:q:n:crCV:k:d:S:M:Q:A:T:R:O:vW:H:B:b:X:j:U:")) != -1) {
        switch (ch) {
        case 'm':
            if (strcmp(optarg, "pub") == 0) {
                o->publish = 1;
            } else if (strcmp(optarg, "sub") == 0) {
                o->publish = 0;
            } else {
                return -1;
            }
            break;
        case 'h': o->host = optarg; break;
        case 'p': o->port = optarg; break;
        case 'i': o->client_id = optarg; break;
        case 't': o->topic = optarg; break;
        case 'q':
            if (parse_ulong(optarg, 2, &v) != 0) {
                return -1;
            }
            o->qos = (uint8_t)v;
            break;
        case 'n':
            if (parse_ulong(optarg, 10000000, &o->count) != 0) {
                return -1;
            }
            break;
        case 'c': o->persistent = true; break;
        case 'r': o->retain = true; break;
        case 'C': o->copy = true; break;
        case 'V':
            if (parse_ulong(optarg, 5, &v) != 0 || (v != 4 && v != 5)) {
                return -1;
            }
            o->version = (uint8_t)v;
            break;
        case 'k':
            if (parse_ulong(optarg, 65535, &o->keep_alive) != 0) {
                return -1;
            }
            break;
        case 'd':
            if (parse_ulong(optarg, 3600000, &o->delay_ms) != 0) {
                return -1;
            }
            break;
        case 'S':
            if (parse_ulong(optarg, 1ul << 30, &o->store_size) != 0) {
                return -1;
            }
            break;
        case 'M':
            if (parse_ulong(optarg, 268435460ul, &o->max_packet) != 0) {
                return -1;
            }
            break;
        case 'Q':
            if (parse_ulong(optarg, 65535, &o->qos2_ids) != 0) {
                return -1;
            }
            break;
        case 'A':
            if (parse_ulong(optarg, 65535, &o->alias_max) != 0) {
                return -1;
            }
            break;
        case 'T':
            if (parse_ulong(optarg, 86400, &o->timeout_s) != 0) {
                return -1;
            }
            break;
        case 'R': o->ready_file = optarg; break;
        case 'O':
            if (parse_ulong(optarg, 0xFFFFFFFFul, &v) != 0) {
                return -1;
            }
            o->clock_start_set = true;
            o->clock_start = (uint32_t)v;
            break;
        case 'v': o->verbose = true; break;
        case 'W':
            if (parse_ulong(optarg, 1ul << 30, &o->response_ms) != 0) {
                return -1;
            }
            break;
        case 'H':
            if (parse_ulong(optarg, 1ul << 30, &v) != 0) {
                return -1;
            }
            o->policy.hold_down_ms = (uint32_t)v;
            break;
        case 'B':
            if (parse_ulong(optarg, 65535, &v) != 0) {
                return -1;
            }
            o->policy.tcp_attempts_before_bounce = (uint16_t)v;
            break;
        case 'b':
            if (parse_ulong(optarg, 1ul << 30, &v) != 0) {
                return -1;
            }
            o->policy.backoff_base_ms = (uint32_t)v;
            break;
        case 'X':
            if (parse_ulong(optarg, 1ul << 30, &v) != 0) {
                return -1;
            }
            o->policy.backoff_cap_ms = (uint32_t)v;
            break;
        case 'j':
            if (parse_ulong(optarg, 100, &v) != 0) {
                return -1;
            }
            o->policy.jitter_percent = (uint8_t)v;
            break;
        case 'U':
            if (parse_ulong(optarg, 1ul << 30, &v) != 0) {
                return -1;
            }
            o->policy.stable_ms = (uint32_t)v;
            o->stable_set = true;
            break;
        default: return -1;
        }
    }
    if (optind != argc || o->publish < 0) {
        return -1;
    }
    /* A connection that lived through a keep alive period is stable. */
    if (!o->stable_set && o->keep_alive > 0) {
        o->policy.stable_ms = (uint32_t)o->keep_alive * 1000u;
    }
    return 0;
}

/* ---- clock, logging, signals ---- */

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* The library's clock: milliseconds that wrap at 2^32, from any start. */
static uint32_t clock_offset;

static uint32_t now_ms(void)
{
    return (uint32_t)mono_ms() + clock_offset;
}

/* Signed distance from now to a tick, correct across the wrap. */
static int32_t ms_until(uint32_t tick, uint32_t now)
{
    return (int32_t)(tick - now);
}

static bool verbose;
static const char *client_name = "mqttas_client";

static void logf_(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "[%s %10u] ", client_name, (unsigned)now_ms());
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static void install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    /* No SA_RESTART: poll() returns EINTR and the loop sees the flag. */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/* ---- the link: a TCP socket ---- */

/* Connect to host:port within 5 s; returns the socket or -1. */
static int open_link(const char *host, const char *port)
{
    struct addrinfo hints, *res = NULL, *ai;
    int fd = -1, one = 1, rc;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0) {
        logf_("cannot resolve %s:%s: %s", host, port, gai_strerror(rc));
        return -1;
    }
    for (ai = res; ai != NULL && fd < 0; ai = ai->ai_next) {
        struct pollfd p;
        int err = 0, flags;
        socklen_t len = sizeof err;
        struct timeval tv = {5, 0};
        fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (fd < 0) {
            continue;
        }
        /* Non-blocking connect, so a dead host costs 5 s at most. */
        flags = fcntl(fd, F_GETFL, 0);
        fcntl(fd, F_SETFL, flags | O_NONBLOCK);
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
            if (errno != EINPROGRESS) {
                err = errno;
            } else {
                p.fd = fd;
                p.events = POLLOUT;
                p.revents = 0;
                if (poll(&p, 1, 5000) != 1 ||
                    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) {
                    err = err ? err : ETIMEDOUT;
                }
            }
        }
        if (err != 0) {
            if (verbose) {
                logf_("connect to %s:%s: %s", host, port, strerror(err));
            }
            close(fd);
            fd = -1;
            continue;
        }
        /* Blocking from now on: sends complete or fail within 5 s;
         * receives happen only when poll() says there is data. */
        fcntl(fd, F_SETFL, flags);
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    freeaddrinfo(res);
    return fd;
}

/* ---- the client ---- */

typedef struct app {
    options opt;
    mqttas_client *c;
    int fd;                  /* -1 while the link is down */
    mqttas_reconnect *rc;    /* the outage policy: when to (re)connect */
    bool connected;
    bool disconnecting;      /* our DISCONNECT is queued */
    bool finished;           /* leave the loop */
    int exit_code;
    /* Publisher. */
    unsigned long next_seq;  /* next number to publish, from 1 */
    uint32_t next_publish_at;
    unsigned long completed; /* QoS 1/2 acknowledged (or QoS 0 sent) */
    /* Payloads lent to the library: QoS 1/2 by packet id, and QoS 0. */
    uint8_t **lent;
    uint8_t *lent_qos0;
    /* Bytes taken from the library and not sent yet (see take()). */
    uint8_t out[4096];
    size_t out_used;
    /* Subscriber: which numbers were seen, per topic of up to 8 topics. */
    char *topics[8];
    uint8_t *seen[8];
    unsigned long distinct;
    unsigned long received;
    unsigned long duplicates;
    bool subscribed_once;
} app;

static void link_close(app *a)
{
    if (a->fd >= 0) {
        close(a->fd);
        a->fd = -1;
    }
    a->out_used = 0; /* never sent on another connection */
    a->connected = false;
}

/* Close after the client ended the connection (DISCONNECT, or the session
 * closing to recover): half-close, then read and discard until the broker
 * closes too, for at most 150 ms. Closing a socket with unread bytes makes
 * the kernel send RST, and an RST can destroy our last packets (PUBACKs,
 * PUBCOMPs, DISCONNECT) before the broker has read them: QoS 1 messages
 * come again, the will is published. */
static void link_close_gracefully(app *a)
{
    if (a->fd >= 0) {
        uint8_t buf[4096];
        uint64_t end = mono_ms() + 150;
        shutdown(a->fd, SHUT_WR);
        for (;;) {
            struct pollfd p;
            ssize_t n;
            int64_t left = (int64_t)(end - mono_ms());
            if (left <= 0) {
                break;
            }
            p.fd = a->fd;
            p.events = POLLIN;
            p.revents = 0;
            if (poll(&p, 1, (int)left) <= 0) {
                break;
            }
            n = recv(a->fd, buf, sizeof buf, MSG_DONTWAIT);
            if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
                break;
            }
        }
    }
    link_close(a);
}

/* The lent QoS 0 payload is ours again. */
static void release_qos0(app *a)
{
    free(a->lent_qos0);
    a->lent_qos0 = NULL;
}

/* The link failed: tell the client (a CONNECTION_LOST event follows). */
static void link_failed(app *a)
{
    mqttas_handle_link_down(a->c, now_ms());
    link_close(a);
}

/* Send len bytes; false when the link failed. */
static bool send_all(app *a, const uint8_t *data, size_t len)
{
    while (len > 0) {
        ssize_t n = send(a->fd, data, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            logf_("send failed: %s", n < 0 ? strerror(errno) : "closed");
            return false;
        }
        data += n;
        len -= (size_t)n;
    }
    return true;
}

/* Packets from this size on are sent as they are, not gathered. */
#define GATHER_MAX 1024u

/* Take what the client has queued (its bytes, and after a PUBLISH's head
 * the payload we lent it) into the gather buffer a->out, without sending
 * unless the buffer is full: each mqttas_poll_transmit_vectored gives one
 * packet, valid only until the next call, so small ones are copied; one of
 * GATHER_MAX bytes or more goes out as it is, from where it lies. Returns
 * false when the link failed. */
static bool take(app *a)
{
    mqttas_iovec v[2];
    size_t n;
    while (a->fd >= 0 && mqttas_poll_transmit_vectored(a->c, now_ms(), v, &n) == MQTTAS_OK &&
           n > 0) {
        size_t total = v[0].len + (n == 2 ? v[1].len : 0);
        bool ok = true;
        if (total >= GATHER_MAX || a->out_used + total > sizeof a->out) {
            ok = send_all(a, a->out, a->out_used);
            a->out_used = 0;
        }
        if (ok && total >= GATHER_MAX) {
            ok = send_all(a, v[0].base, v[0].len) && (n < 2 || send_all(a, v[1].base, v[1].len));
        } else if (ok) {
            memcpy(a->out + a->out_used, v[0].base, v[0].len);
            a->out_used += v[0].len;
            if (n == 2) {
                memcpy(a->out + a->out_used, v[1].base, v[1].len);
                a->out_used += v[1].len;
            }
        }
        if (n == 2 && v[1].base == a->lent_qos0) {
            /* Handed out (copied or sent): the library is done with it. */
            release_qos0(a);
        }
        if (!ok) {
            link_failed(a);
            return false;
        }
    }
    return true;
}

/* Send everything the client has queued, in one send: fewer system calls,
 * fewer segments, fewer wake-ups of the broker than one send per packet. */
static void flush(app *a)
{
    if (take(a) && a->fd >= 0 && a->out_used > 0) {
        bool ok = send_all(a, a->out, a->out_used);
        a->out_used = 0;
        if (!ok) {
            link_failed(a);
        }
    }
}

static void try_connect(app *a)
{
    mqttas_connect_options o;
    mqttas_result r;
    uint32_t now;
    a->fd = open_link(a->opt.host, a->opt.port);
    now = now_ms();
    if (a->fd < 0) {
        /* The policy says when to try again. */
        mqttas_reconnect_handle_attempt_failed(a->rc, now, MQTTAS_RECONNECT_CAUSE_OUTAGE);
        if (verbose) {
            logf_("broker unreachable");
        }
        return;
    }
    memset(&o, 0, sizeof o);
    o.client_id = a->opt.client_id;
    o.client_id_len = strlen(a->opt.client_id);
    r = mqttas_connect(a->c, now, &o);
    /* A QoS 0 message still queued is dropped by a connect. */
    release_qos0(a);
    if (r != MQTTAS_OK) {
        logf_("connect: %s", mqttas_strerror(r));
        link_close(a);
        a->finished = true;
        a->exit_code = 1;
    }
}

/* Remember a subscriber's message number; returns false for a duplicate. */
static bool mark_seen(app *a, const char *topic, size_t topic_len, unsigned long seq)
{
    int i;
    size_t bytes = a->opt.count / 8 + 1;
    if (a->opt.count == 0 || seq == 0 || seq > a->opt.count) {
        return true;
    }
    for (i = 0; i < 8; i++) {
        if (a->topics[i] == NULL) {
            a->topics[i] = malloc(topic_len + 1);
            a->seen[i] = calloc(bytes, 1);
            if (a->topics[i] == NULL || a->seen[i] == NULL) {
                return true;
            }
            memcpy(a->topics[i], topic, topic_len);
            a->topics[i][topic_len] = '\0';
        }
        if (strlen(a->topics[i]) == topic_len && memcmp(a->topics[i], topic, topic_len) == 0) {
            uint8_t bit = (uint8_t)(1u << (seq % 8));
            if (a->seen[i][seq / 8] & bit) {
                return false;
            }
            a->seen[i][seq / 8] |= bit;
            return true;
        }
    }
    return true; /* more than 8 topics: not tracked */
}

static void on_message(app *a, const mqttas_event *ev)
{
    char payload[32];
    size_t n = ev->payload_len < sizeof payload - 1 ? ev->payload_len : sizeof payload - 1;
    unsigned long seq;
    memcpy(payload, ev->payload, n);
    payload[n] = '\0';
    printf("%.*s %u %u %.*s\n", (int)ev->topic_len, ev->topic, (unsigned)ev->qos,
           (unsigned)ev->dup, (int)ev->payload_len, (const char *)ev->payload);
    fflush(stdout);
    a->received++;
    if (parse_ulong(payload, 0xFFFFFFFFul, &seq) == 0) {
        if (mark_seen(a, ev->topic, ev->topic_len, seq)) {
            a->distinct++;
        } else {
            a->duplicates++;
        }
    }
    if (a->opt.count > 0 && a->distinct >= a->opt.count && !a->disconnecting) {
        logf_("received %lu distinct messages (%lu in all)", a->distinct, a->received);
        a->disconnecting = mqttas_disconnect(a->c, now_ms(), 0, NULL, 0) == MQTTAS_OK;
        if (!a->disconnecting) {
            a->finished = true;
        }
    }
}

static void subscribe(app *a)
{
    mqttas_subscription s;
    mqttas_result r;
    memset(&s, 0, sizeof s);
    s.filter = a->opt.topic;
    s.filter_len = strlen(a->opt.topic);
    s.qos = a->opt.qos;
    r = mqttas_subscribe(a->c, now_ms(), &s, 1, NULL, 0, NULL);
    if (r != MQTTAS_OK) {
        logf_("subscribe: %s", mqttas_strerror(r));
        a->finished = true;
        a->exit_code = 1;
    }
}

static void handle_events(app *a)
{
    mqttas_event ev;
    char text[512];
    while (!a->finished && mqttas_poll_event(a->c, &ev) == MQTTAS_OK &&
           ev.kind != MQTTAS_EVENT_NONE) {
        /* Losses and skipped messages (above -M from a 3.1.1 broker:
         * "message on "t" skipped: N bytes, above the maximum packet size
         * (M), QoS q") are always logged. */
        if (verbose || ev.kind == MQTTAS_EVENT_CONNECTION_LOST ||
            ev.kind == MQTTAS_EVENT_MESSAGE_SKIPPED) {
            mqttas_event_describe(a->c, &ev, text, sizeof text, NULL);
            logf_("%s", text);
        }
        switch (ev.kind) {
        case MQTTAS_EVENT_CONNECTED:
            a->connected = true;
            mqttas_reconnect_handle_connected(a->rc, now_ms());
            /* A kept session keeps our subscription. */
            if (!a->opt.publish && !(ev.session_present && a->subscribed_once)) {
                subscribe(a);
            }
            break;
        case MQTTAS_EVENT_SUBSCRIBED:
            if (ev.codes_len < 1 || ev.codes[0] >= 0x80) {
                logf_("the broker refused the subscription");
                a->finished = true;
                a->exit_code = 1;
                break;
            }
            a->subscribed_once = true;
            if (a->opt.ready_file != NULL) {
                FILE *f = fopen(a->opt.ready_file, "w");
                if (f != NULL) {
                    fclose(f);
                }
            }
            break;
        case MQTTAS_EVENT_MESSAGE:
            on_message(a, &ev);
            break;
        case MQTTAS_EVENT_MESSAGE_START:
            logf_("message on %.*s too large for the receive buffer, skipped",
                  (int)ev.topic_len, ev.topic);
            break;
        case MQTTAS_EVENT_PUBLISHED:
            if (ev.reason >= 0x80) {
                mqttas_event_describe(a->c, &ev, text, sizeof text, NULL);
                logf_("%s", text);
            }
            /* Its payload is ours again. */
            free(a->lent[ev.packet_id]);
            a->lent[ev.packet_id] = NULL;
            a->completed++;
            break;
        case MQTTAS_EVENT_CONNECTION_LOST: {
            mqttas_reconnect_cause cause = MQTTAS_RECONNECT_CAUSE_OUTAGE;
            /* A QoS 0 message not yet sent is dropped: its payload is ours. */
            release_qos0(a);
            /* What the client queued last (PUBCOMPs for released QoS 2
             * messages, a 5.0 DISCONNECT with its reason) still goes out
             * on a link that works. */
            flush(a);
            link_close_gracefully(a);
            /* The library reads the refusal or DISCONNECT code: reconnect
             * at once (planned), hold down or back off, or wait the
             * longest (a permanent refusal). */
            mqttas_lost_cause(a->c, &cause);
            mqttas_reconnect_handle_lost(a->rc, now_ms(), cause);
            if (cause == MQTTAS_RECONNECT_CAUSE_BACK_OFF ||
                cause == MQTTAS_RECONNECT_CAUSE_PERMANENT) {
                bool has = false;
                uint32_t at = 0;
                mqttas_reconnect_poll_deadline(a->rc, &has, &at);
                if (has) {
                    logf_("%s: next try in %d ms", mqttas_reconnect_cause_str(cause),
                          (int)ms_until(at, now_ms()));
                }
            }
            a->disconnecting = false;
            if (stop_requested) {
                a->finished = true;
            }
            break;
        }
        case MQTTAS_EVENT_DISCONNECTED:
            /* The DISCONNECT is queued: send it, then close. */
            flush(a);
            link_close_gracefully(a);
            a->finished = true;
            break;
        default:
            break;
        }
    }
}

/* Publish a copy of `payload` lent to the library: it stays in its heap
 * block until the library is done with it. */
static mqttas_result publish_lent(app *a, uint32_t now, const char *payload, size_t n)
{
    uint16_t id = 0;
    uint8_t *p = malloc(n ? n : 1);
    mqttas_result r;
    if (p == NULL) {
        return MQTTAS_ERR_STORE_FULL; /* wait and retry */
    }
    memcpy(p, payload, n);
    r = mqttas_publish_borrowed(a->c, now, a->opt.topic, strlen(a->opt.topic), p, n, a->opt.qos,
                                a->opt.retain, NULL, 0, &id);
    if (r != MQTTAS_OK) {
        free(p);
    } else if (a->opt.qos == 0) {
        /* Accepted: the library lends out no earlier QoS 0 payload. */
        release_qos0(a);
        a->lent_qos0 = p;
    } else {
        free(a->lent[id]); /* none: ids are not reused while in use */
        a->lent[id] = p;
    }
    return r;
}

/* Publish what the delay and the store allow, then send it all at once. */
static void publish_more(app *a)
{
    char payload[24];
    bool taken = false; /* the client's queue was taken since the last publish */
    while (a->next_seq <= a->opt.count && !a->disconnecting) {
        uint32_t now = now_ms();
        mqttas_result r;
        int n;
        if (a->opt.delay_ms > 0 && ms_until(a->next_publish_at, now) > 0) {
            break;
        }
        /* QoS 0 needs a connection; QoS 1/2 go to the store regardless. */
        if (a->opt.qos == 0 && !a->connected) {
            break;
        }
        n = snprintf(payload, sizeof payload, "%lu", a->next_seq);
        if (a->opt.copy) {
            r = mqttas_publish(a->c, now, a->opt.topic, strlen(a->opt.topic),
                               (const uint8_t *)payload, (size_t)n, a->opt.qos, a->opt.retain,
                               NULL, 0, NULL);
        } else {
            r = publish_lent(a, now, payload, (size_t)n);
        }
        if (r == MQTTAS_ERR_TX_FULL && !taken && a->fd >= 0) {
            /* The transmit buffer is full, or (lent) a QoS 0 payload is
             * still to be handed out: take them and try again. */
            taken = take(a);
            if (taken) {
                continue;
            }
        }
        if (r == MQTTAS_ERR_STORE_FULL || r == MQTTAS_ERR_TX_FULL || r == MQTTAS_ERR_NOT_CONNECTED) {
            /* Wait: for acknowledgements, for the link, or to send. */
            break;
        }
        if (r != MQTTAS_OK) {
            logf_("publish: %s", mqttas_strerror(r));
            a->finished = true;
            a->exit_code = 1;
            return;
        }
        taken = false;
        if (a->opt.qos == 0) {
            a->completed++;
        }
        a->next_seq++;
        a->next_publish_at = now + (uint32_t)a->opt.delay_ms;
    }
    flush(a);
}

/* Bytes read from the socket at once. */
#define READ_CHUNK 4096

/* Feed what the socket has; the client may take fewer while events wait.
 * Returns true when a read filled the whole buffer, so more bytes are
 * probably waiting: read again before sleeping in poll(). */
static bool receive(app *a)
{
    uint8_t buf[READ_CHUNK];
    ssize_t n = recv(a->fd, buf, sizeof buf, MSG_DONTWAIT);
    size_t off = 0;
    int stalled = 0;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
        return false;
    }
    if (n <= 0) {
        logf_("link lost: %s", n < 0 ? strerror(errno) : "closed by the broker");
        link_failed(a);
        return false;
    }
    while (off < (size_t)n && !a->finished) {
        size_t used = 0;
        if (mqttas_handle_input(a->c, now_ms(), buf + off, (size_t)n - off, &used) != MQTTAS_OK) {
            break;
        }
        if (used == 0 && stalled++ > 0) {
            /* Nothing taken even after the events were taken: give up on
             * this connection rather than spin. */
            logf_("receive buffer stuck: dropping the connection");
            link_failed(a);
            return false;
        }
        if (used > 0) {
            stalled = 0;
        }
        off += used;
        handle_events(a);
        flush(a);
        if (a->fd < 0) {
            return false; /* the connection ended: the rest is void */
        }
    }
    return (size_t)n == sizeof buf;
}

/* Do what the outage policy says now. */
static void follow_policy(app *a, uint32_t now)
{
    mqttas_reconnect_action act;
    if (mqttas_reconnect_poll_action(a->rc, now, &act) != MQTTAS_OK) {
        return;
    }
    switch (act.kind) {
    case MQTTAS_RECONNECT_CONNECT:
        if (a->fd >= 0) {
            link_close(a);
        }
        try_connect(a);
        break;
    case MQTTAS_RECONNECT_HOLD_DOWN:
        link_close(a);
        logf_("outage: link held down for %d ms", (int)ms_until(act.until, now));
        break;
    case MQTTAS_RECONNECT_BOUNCE_LINK:
        /* A host's TCP has no link of its own to bounce: hold down only. */
        link_close(a);
        logf_("link bounce: held down for %d ms", (int)ms_until(act.until, now));
        break;
    case MQTTAS_RECONNECT_WAIT:
        if (a->fd >= 0) {
            link_close(a); /* an attempt the policy gave up on */
        }
        break;
    default:
        break;
    }
}

static void run(app *a)
{
    uint64_t give_up = a->opt.timeout_s ? mono_ms() + a->opt.timeout_s * 1000u : 0;
    bool stopping = false;
    bool more_input = false; /* the last read filled its buffer */
    a->next_seq = 1;
    a->next_publish_at = now_ms();
    while (!a->finished) {
        struct pollfd p;
        int timeout = 1000, nfds = 0, rc;
        bool has;
        uint32_t deadline, now = now_ms();
        size_t pending = 0;

        if (give_up && mono_ms() >= give_up) {
            logf_("timed out");
            a->exit_code = 1;
            break;
        }
        if (stop_requested && !stopping) {
            stopping = true;
            logf_("signal: shutting down");
            if (a->connected && !a->disconnecting) {
                a->disconnecting = mqttas_disconnect(a->c, now, 0, NULL, 0) == MQTTAS_OK;
            }
            if (!a->disconnecting) {
                break;
            }
        }
        if (!stopping) {
            follow_policy(a, now);
        }
        if (a->opt.publish && a->fd >= 0) {
            publish_more(a);
        } else if (a->opt.publish && a->opt.qos > 0) {
            publish_more(a); /* stored now, sent on reconnection */
        }
        flush(a);
        handle_events(a);
        flush(a);
        if (a->finished) {
            break;
        }
        /* A loss just reported: hold the link down now, not at the next
         * wake-up. */
        if (!stopping) {
            follow_policy(a, now_ms());
        }
        /* Publisher done: everything sent and acknowledged. */
        mqttas_pending_publications(a->c, &pending);
        if (a->opt.publish && a->next_seq > a->opt.count && pending == 0 && a->connected &&
            !a->disconnecting) {
            logf_("published %lu messages at QoS %u", a->opt.count, (unsigned)a->opt.qos);
            a->disconnecting = mqttas_disconnect(a->c, now_ms(), 0, NULL, 0) == MQTTAS_OK;
            continue;
        }

        /* Sleep until data, the client's deadline, a reconnection or the
         * next publication. */
        now = now_ms();
        if (mqttas_poll_deadline(a->c, &has, &deadline) == MQTTAS_OK && has) {
            int32_t left = ms_until(deadline, now);
            timeout = left < 0 ? 0 : (left < timeout ? left : timeout);
        }
        if (a->fd < 0 && mqttas_reconnect_poll_deadline(a->rc, &has, &deadline) == MQTTAS_OK &&
            has) {
            int32_t left = ms_until(deadline, now);
            timeout = left < 0 ? 0 : (left < timeout ? left : timeout);
        }
        if (a->opt.publish && a->next_seq <= a->opt.count && a->opt.delay_ms > 0) {
            int32_t left = ms_until(a->next_publish_at, now);
            timeout = left < 0 ? 0 : (left < timeout ? left : timeout);
        }
        if (a->fd >= 0 && more_input) {
            /* Bytes are known to be waiting: no poll() round. */
            more_input = receive(a);
        } else {
            if (a->fd >= 0) {
                p.fd = a->fd;
                p.events = POLLIN;
                p.revents = 0;
                nfds = 1;
            }
            rc = poll(nfds ? &p : NULL, (nfds_t)nfds, timeout);
            if (rc < 0 && errno != EINTR) {
                logf_("poll: %s", strerror(errno));
                a->exit_code = 1;
                break;
            }
            if (rc > 0 && a->fd >= 0 && (p.revents & (POLLIN | POLLHUP | POLLERR))) {
                more_input = receive(a);
            }
        }
        mqttas_handle_timeout(a->c, now_ms());
    }
}

int main(int argc, char **argv)
{
    app a;
    mqttas_config cfg;
    mqttas_buffers bufs;
    uint8_t *rx, *tx, *store, *aliases = NULL;
    uint16_t *qos2;
    size_t rx_len;
    mqttas_result r;
    int i;

    memset(&a, 0, sizeof a);
    a.fd = -1;
    if (parse_options(argc, argv, &a.opt) != 0) {
        usage(stderr);
        return 2;
    }
    verbose = a.opt.verbose;
    client_name = a.opt.client_id;
    if (a.opt.clock_start_set) {
        clock_offset = a.opt.clock_start - (uint32_t)mono_ms();
    }
    install_signals();

    mqttas_config_default(&cfg);
    cfg.version = a.opt.version;
    cfg.keep_alive = (uint16_t)a.opt.keep_alive;
    cfg.clean_init = !a.opt.persistent;
    cfg.clean = !a.opt.persistent;
    if (a.opt.response_ms > 0) {
        cfg.response_time_ms = (uint32_t)a.opt.response_ms;
    }
    if (a.opt.version == MQTTAS_VERSION_5 && a.opt.persistent) {
        cfg.has_session_expiry = true;
        cfg.session_expiry = 3600;
    }
    cfg.maximum_packet_size = (uint32_t)a.opt.max_packet;
    cfg.topic_alias_maximum = (uint16_t)a.opt.alias_max;
    /* A message up to the maximum packet size is taken whole. */
    rx_len = a.opt.max_packet > 4096 ? a.opt.max_packet : 4096;
    a.c = malloc(mqttas_client_size());
    a.rc = malloc(mqttas_reconnect_size());
    a.lent = calloc(65536, sizeof *a.lent);
    rx = malloc(rx_len);
    tx = malloc(4096);
    store = malloc(a.opt.store_size ? a.opt.store_size : 1);
    qos2 = malloc(a.opt.qos2_ids ? a.opt.qos2_ids * sizeof *qos2 : 1);
    if (a.opt.alias_max > 0) {
        /* Each alias: 5 bytes of record and its topic (short ones here). */
        aliases = malloc(a.opt.alias_max * ALIAS_BYTES);
    }
    if (a.c == NULL || a.rc == NULL || a.lent == NULL || rx == NULL || tx == NULL ||
        store == NULL || qos2 == NULL ||
        (a.opt.alias_max > 0 && aliases == NULL)) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    r = mqttas_reconnect_init(a.rc, mqttas_reconnect_size(), &a.opt.policy, (uint32_t)getpid() ^ (uint32_t)mono_ms());
    if (r != MQTTAS_OK) {
        fprintf(stderr, "mqttas_reconnect_init: %s\n", mqttas_strerror(r));
        return 2;
    }
    memset(&bufs, 0, sizeof bufs);
    bufs.rx = rx;
    bufs.rx_len = rx_len;
    bufs.tx = tx;
    bufs.tx_len = 4096;
    bufs.store = store;
    bufs.store_len = a.opt.store_size;
    bufs.inbound_qos2 = qos2;
    bufs.inbound_qos2_len = a.opt.qos2_ids;
    bufs.aliases = aliases;
    bufs.aliases_len = a.opt.alias_max * ALIAS_BYTES;
    r = mqttas_client_init(a.c, mqttas_client_size(), &cfg, &bufs);
    if (r != MQTTAS_OK) {
        fprintf(stderr, "mqttas_client_init: %s\n", mqttas_strerror(r));
        return 1;
    }
    if (verbose) {
        logf_("mqttas %s, %s to %s:%s topic %s QoS %u", mqttas_version(),
              a.opt.publish ? "publishing" : "subscribing", a.opt.host, a.opt.port, a.opt.topic,
              (unsigned)a.opt.qos);
    }

    run(&a);

    link_close(&a);
    {
        mqttas_reconnect_stats st;
        if (mqttas_reconnect_get_stats(a.rc, &st) == MQTTAS_OK) {
            logf_("outages %u, attempts %u, failed %u, link bounces %u, planned %u, "
                  "unstable %u, backed off %u, permanent refusals %u",
                  (unsigned)st.outages, (unsigned)st.attempts, (unsigned)st.failures,
                  (unsigned)st.bounces, (unsigned)st.planned, (unsigned)st.unstable,
                  (unsigned)st.back_offs, (unsigned)st.permanent);
        }
    }
    {
        /* What a broker beyond our receive maximum did, if anything. */
        mqttas_qos2_stats q;
        if (mqttas_get_qos2_stats(a.c, &q) == MQTTAS_OK) {
            if (q.beyond_receive_maximum > 0) {
                logf_("broker exceeded our Receive Maximum (%u): up to %u unreleased QoS 2 "
                      "messages, %lu beyond it",
                      (unsigned)cfg.receive_maximum, (unsigned)q.peak_unreleased,
                      (unsigned long)q.beyond_receive_maximum);
            }
            if (q.untracked > 0) {
                logf_("inbound QoS 2: %lu delivered untracked (id table of %lu full, clean "
                      "session)",
                      (unsigned long)q.untracked, a.opt.qos2_ids);
            }
            if (q.withheld > 0) {
                logf_("inbound QoS 2: %lu withheld for the next connection (id table of %lu "
                      "full)",
                      (unsigned long)q.withheld, a.opt.qos2_ids);
            }
        }
    }
    if (a.opt.publish) {
        size_t pending = 0;
        mqttas_pending_publications(a.c, &pending);
        logf_("published %lu of %lu, %lu complete, %zu pending", a.next_seq - 1, a.opt.count,
              a.completed, pending);
        if (!stop_requested && (a.completed < a.opt.count || pending > 0)) {
            a.exit_code = 1;
        }
    } else {
        logf_("received %lu messages, %lu distinct, %lu duplicates", a.received, a.distinct,
              a.duplicates);
        if (!stop_requested && a.opt.count > 0 && a.distinct < a.opt.count) {
            a.exit_code = 1;
        }
    }
    mqttas_client_deinit(a.c);
    mqttas_reconnect_deinit(a.rc);
    /* The library is done with every payload lent to it. */
    for (i = 0; i < 65536; i++) {
        free(a.lent[i]);
    }
    free(a.lent);
    release_qos0(&a);
    for (i = 0; i < 8; i++) {
        free(a.topics[i]);
        free(a.seen[i]);
    }
    free(a.c);
    free(a.rc);
    free(rx);
    free(tx);
    free(store);
    free(qos2);
    free(aliases);
    return a.exit_code;
}
