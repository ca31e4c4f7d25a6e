/*
 * c_driver: the C client of tests/interop, a small program over
 * include/mqttas.h driven line by line on stdin (the command language of
 * tests/interop/README.md, shared with the Rust and mqtt_as drivers).
 *
 * One connection at a time, no reconnection of its own: the tests say
 * when to connect, publish, subscribe, disconnect or drop the link, and
 * read what happened on stdout, one event a line:
 *
 *   connect port=1883 v=5 id=a clean=0 expiry=300     ->  connected sp=0 ...
 *   sub topic=t/# qos=2                               ->  suback codes=2
 *   pub topic=t/a payload=6869 qos=1 up=k:v           ->  queued pid=1, published pid=1 reason=0
 *   (any time)                                            msg topic=t/a payload=6869 qos=1 ...
 */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "mqttas.h"

#define MAX_TOKENS 48

/* The client once a connect command has initialised it, else NULL. */
static mqttas_client *client;
static mqttas_client *storage;
static size_t storage_size;
static uint8_t rx_buf[65536], tx_buf[16384], store_buf[65536], alias_buf[4096], out_alias_buf[4096];
static uint16_t qos2_ids[256];
static int sock = -1;

static uint32_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint32_t)((uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u);
}

static void out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void out(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    fflush(stdout);
}

static void print_hex(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        printf("%02x", p[i]);
    }
}

/* Decode hex in place; returns the byte count or -1. */
static long unhex(char *s)
{
    size_t n = strlen(s), i;
    if (n % 2) {
        return -1;
    }
    for (i = 0; i < n / 2; i++) {
        unsigned v;
        if (sscanf(s + 2 * i, "%2x", &v) != 1) {
            return -1;
        }
        s[i] = (char)v;
    }
    return (long)(n / 2);
}

/* The 5.0 properties of an event, as ` key=value` tokens. */
static void print_properties(const uint8_t *props, size_t len)
{
    size_t cursor = 0;
    mqttas_property p;
    while (mqttas_property_next(props, len, &cursor, &p) == MQTTAS_OK && p.id != 0) {
        switch (p.id) {
        case MQTTAS_PROP_MESSAGE_EXPIRY_INTERVAL: printf(" expiry=%u", (unsigned)p.value); break;
        case MQTTAS_PROP_TOPIC_ALIAS: printf(" alias=%u", (unsigned)p.value); break;
        case MQTTAS_PROP_TOPIC_ALIAS_MAXIMUM: printf(" alias_max=%u", (unsigned)p.value); break;
        case MQTTAS_PROP_RECEIVE_MAXIMUM: printf(" recv_max=%u", (unsigned)p.value); break;
        case MQTTAS_PROP_MAXIMUM_QOS: printf(" max_qos=%u", (unsigned)p.value); break;
        case MQTTAS_PROP_RETAIN_AVAILABLE: printf(" retain_available=%u", (unsigned)p.value); break;
        case MQTTAS_PROP_USER_PROPERTY:
            printf(" up=%.*s:%.*s", (int)p.data_len, (const char *)p.data, (int)p.data2_len,
                   (const char *)p.data2);
            break;
        case MQTTAS_PROP_REASON_STRING:
            printf(" reason_string=%.*s", (int)p.data_len, (const char *)p.data);
            break;
        default: printf(" prop%u", (unsigned)p.id); break;
        }
    }
}

static void close_socket(void)
{
    if (sock >= 0) {
        close(sock);
        sock = -1;
    }
}

static void transmit(void)
{
    const uint8_t *data;
    size_t len;
    while (sock >= 0 && mqttas_poll_transmit(client, now_ms(), &data, &len) == MQTTAS_OK && data != NULL) {
        while (len > 0) {
            ssize_t n = send(sock, data, len, MSG_NOSIGNAL);
            if (n < 0 && errno == EINTR) {
                continue;
            }
            if (n <= 0) {
                close_socket();
                mqttas_handle_link_down(client, now_ms());
                return;
            }
            data += n;
            len -= (size_t)n;
        }
    }
}

/* Our DISCONNECT is queued: send it, half-close, read what the broker
 * still sends (at most 150 ms) so that closing sends no RST, close. */
static void close_gracefully(void)
{
    transmit();
    if (sock < 0) {
        return;
    }
    shutdown(sock, SHUT_WR);
    uint32_t end = now_ms() + 150;
    for (;;) {
        int left = (int)(end - now_ms());
        struct pollfd p = {sock, POLLIN, 0};
        uint8_t junk[1024];
        if (left <= 0 || poll(&p, 1, left) <= 0 || recv(sock, junk, sizeof junk, 0) <= 0) {
            break;
        }
    }
    close_socket();
}

static void drain_events(void)
{
    mqttas_event ev;
    char text[512];
    for (;;) {
        if (client == NULL || mqttas_poll_event(client, &ev) != MQTTAS_OK || ev.kind == MQTTAS_EVENT_NONE) {
            return;
        }
        switch (ev.kind) {
        case MQTTAS_EVENT_CONNECTED:
            printf("connected sp=%d", ev.session_present ? 1 : 0);
            print_properties(ev.properties, ev.properties_len);
            out("\n");
            break;
        case MQTTAS_EVENT_MESSAGE:
            printf("msg topic=%.*s payload=", (int)ev.topic_len, ev.topic);
            print_hex(ev.payload, ev.payload_len);
            printf(" qos=%u retain=%d dup=%d", ev.qos, ev.retain ? 1 : 0, ev.dup ? 1 : 0);
            print_properties(ev.properties, ev.properties_len);
            out("\n");
            break;
        case MQTTAS_EVENT_PUBLISHED:
            out("published pid=%u reason=%u\n", ev.packet_id, ev.reason);
            break;
        case MQTTAS_EVENT_SUBSCRIBED:
        case MQTTAS_EVENT_UNSUBSCRIBED:
            printf("%s codes=", ev.kind == MQTTAS_EVENT_SUBSCRIBED ? "suback" : "unsuback");
            for (size_t i = 0; i < ev.codes_len; i++) {
                printf("%s%u", i ? "," : "", ev.codes[i]);
            }
            out("\n");
            break;
        case MQTTAS_EVENT_CONNECTION_LOST:
            mqttas_event_describe(client, &ev, text, sizeof text, NULL);
            close_socket();
            out("lost why=%s\n", text);
            break;
        case MQTTAS_EVENT_DISCONNECTED:
            close_gracefully();
            out("disconnected\n");
            break;
        default:
            mqttas_event_describe(client, &ev, text, sizeof text, NULL);
            out("event what=%s\n", text);
            break;
        }
    }
}

/* ---- commands ---- */

typedef struct {
    char *key[MAX_TOKENS];
    char *val[MAX_TOKENS];
    int n;
} args;

static const char *arg(const args *a, const char *key, const char *dflt)
{
    for (int i = 0; i < a->n; i++) {
        if (strcmp(a->key[i], key) == 0) {
            return a->val[i];
        }
    }
    return dflt;
}

static unsigned long num(const args *a, const char *key, unsigned long dflt)
{
    const char *v = arg(a, key, NULL);
    return v ? strtoul(v, NULL, 0) : dflt;
}

/* The pub command's properties: expiry=, alias=, up=NAME:VALUE... */
static size_t publish_properties(const args *a, mqttas_property *props)
{
    size_t n = 0;
    for (int i = 0; i < a->n && n < MQTTAS_MAX_PROPERTIES; i++) {
        mqttas_property *p = &props[n];
        memset(p, 0, sizeof *p);
        if (strcmp(a->key[i], "expiry") == 0) {
            p->id = MQTTAS_PROP_MESSAGE_EXPIRY_INTERVAL;
            p->value = (uint32_t)strtoul(a->val[i], NULL, 0);
        } else if (strcmp(a->key[i], "alias") == 0) {
            p->id = MQTTAS_PROP_TOPIC_ALIAS;
            p->value = (uint32_t)strtoul(a->val[i], NULL, 0);
        } else if (strcmp(a->key[i], "up") == 0) {
            char *colon = strchr(a->val[i], ':');
            if (colon == NULL) {
                continue;
            }
            p->id = MQTTAS_PROP_USER_PROPERTY;
            p->data = (const uint8_t *)a->val[i];
            p->data_len = (size_t)(colon - a->val[i]);
            p->data2 = (const uint8_t *)colon + 1;
            p->data2_len = strlen(colon + 1);
        } else {
            continue;
        }
        n++;
    }
    return n;
}

static void refused(const char *what, mqttas_result r)
{
    out("error what=%s:%s\n", what, mqttas_strerror(r));
}

static void cmd_connect(const args *a)
{
    mqttas_config cfg;
    mqttas_result r;
    close_socket();
    if (client != NULL) {
        mqttas_client_deinit(client);
        client = NULL;
    }
    mqttas_config_default(&cfg);
    cfg.version = num(a, "v", 4) == 5 ? MQTTAS_VERSION_5 : MQTTAS_VERSION_311;
    cfg.keep_alive = (uint16_t)num(a, "ka", 30);
    cfg.response_time_ms = 5000;
    cfg.clean_init = cfg.clean = num(a, "clean", 1) != 0;
    if (arg(a, "expiry", NULL)) {
        cfg.has_session_expiry = true;
        cfg.session_expiry = (uint32_t)num(a, "expiry", 0);
    }
    cfg.topic_alias_maximum = cfg.version == MQTTAS_VERSION_5 ? (uint16_t)num(a, "alias_max", 0) : 0;
    mqttas_buffers bufs = {
        .rx = rx_buf,
        .rx_len = sizeof rx_buf,
        .tx = tx_buf,
        .tx_len = sizeof tx_buf,
        .store = store_buf,
        .store_len = sizeof store_buf,
        .aliases = alias_buf,
        .aliases_len = sizeof alias_buf,
        .out_aliases = out_alias_buf,
        .out_aliases_len = sizeof out_alias_buf,
        .inbound_qos2 = qos2_ids,
        .inbound_qos2_len = sizeof qos2_ids / sizeof qos2_ids[0],
    };
    r = mqttas_client_init(storage, storage_size, &cfg, &bufs);
    if (r != MQTTAS_OK) {
        refused("init", r);
        return;
    }
    client = storage;
    sock = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)num(a, "port", 1883));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (sock < 0 || connect(sock, (struct sockaddr *)&addr, sizeof addr) != 0) {
        out("lost why=cannot connect: %s\n", strerror(errno));
        close_socket();
        return;
    }
    int one = 1;
    setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    const char *id = arg(a, "id", "");
    mqttas_connect_options o;
    memset(&o, 0, sizeof o);
    o.client_id = id;
    o.client_id_len = strlen(id);
    char *will_payload = (char *)arg(a, "will_payload", "");
    long will_len = unhex(will_payload);
    const char *will_topic = arg(a, "will_topic", NULL);
    if (will_topic != NULL) {
        o.will_topic = will_topic;
        o.will_topic_len = strlen(will_topic);
        o.will_payload = (const uint8_t *)will_payload;
        o.will_payload_len = will_len > 0 ? (size_t)will_len : 0;
        o.will_qos = (uint8_t)num(a, "will_qos", 0);
        o.will_retain = num(a, "will_retain", 0) != 0;
    }
    r = mqttas_connect(client, now_ms(), &o);
    if (r != MQTTAS_OK) {
        refused("connect", r);
    }
}

static void cmd_pub(const args *a)
{
    mqttas_property props[MQTTAS_MAX_PROPERTIES];
    size_t n = publish_properties(a, props);
    const char *topic = arg(a, "topic", "");
    char *payload = (char *)arg(a, "payload", "");
    long len = unhex(payload);
    uint16_t pid = 0;
    mqttas_result r = mqttas_publish(client, now_ms(), topic, strlen(topic), (const uint8_t *)payload,
                                     len > 0 ? (size_t)len : 0, (uint8_t)num(a, "qos", 0), num(a, "retain", 0) != 0,
                                     n ? props : NULL, n, &pid);
    if (r != MQTTAS_OK) {
        refused("publish", r);
        return;
    }
    out("queued pid=%u\n", pid);
}

static void cmd_sub(const args *a)
{
    const char *topic = arg(a, "topic", "");
    mqttas_subscription s;
    memset(&s, 0, sizeof s);
    s.filter = topic;
    s.filter_len = strlen(topic);
    s.qos = (uint8_t)num(a, "qos", 0);
    mqttas_result r = mqttas_subscribe(client, now_ms(), &s, 1, NULL, 0, NULL);
    if (r != MQTTAS_OK) {
        refused("subscribe", r);
    }
}

static void cmd_unsub(const args *a)
{
    const char *topic = arg(a, "topic", "");
    mqttas_str f = {topic, strlen(topic)};
    mqttas_result r = mqttas_unsubscribe(client, now_ms(), &f, 1, NULL, 0, NULL);
    if (r != MQTTAS_OK) {
        refused("unsubscribe", r);
    }
}

static void command(char *line)
{
    args a = {.n = 0};
    char *save = NULL;
    char *name = strtok_r(line, " ", &save);
    char *tok;
    if (name == NULL) {
        return;
    }
    while ((tok = strtok_r(NULL, " ", &save)) != NULL && a.n < MAX_TOKENS) {
        char *eq = strchr(tok, '=');
        if (eq == NULL) {
            continue;
        }
        *eq = '\0';
        a.key[a.n] = tok;
        a.val[a.n] = eq + 1;
        a.n++;
    }
    if (strcmp(name, "quit") == 0) {
        exit(0);
    }
    if (strcmp(name, "connect") == 0) {
        cmd_connect(&a);
        return;
    }
    if (strcmp(name, "ping") == 0) {
        out("pong\n");
        return;
    }
    if (client == NULL) {
        out("error what=%s:no client yet\n", name);
    } else if (strcmp(name, "pub") == 0) {
        cmd_pub(&a);
    } else if (strcmp(name, "sub") == 0) {
        cmd_sub(&a);
    } else if (strcmp(name, "unsub") == 0) {
        cmd_unsub(&a);
    } else if (strcmp(name, "disconnect") == 0) {
        mqttas_result r = mqttas_disconnect(client, now_ms(), 0, NULL, 0);
        if (r != MQTTAS_OK) {
            refused("disconnect", r);
        }
    } else if (strcmp(name, "drop") == 0) {
        close_socket();
        mqttas_handle_link_down(client, now_ms());
        out("dropped\n");
    } else {
        out("error what=%s:unknown command\n", name);
    }
}

int main(void)
{
    static char line[8192];
    size_t have = 0;
    size_t align = mqttas_client_align();
    void *mem = NULL;
    storage_size = (mqttas_client_size() + align - 1) / align * align;
    if (posix_memalign(&mem, align < sizeof(void *) ? sizeof(void *) : align, storage_size) != 0) {
        return 1;
    }
    storage = mem;
    for (;;) {
        if (client != NULL) {
            mqttas_handle_timeout(client, now_ms());
            drain_events();
            transmit();
            drain_events();
        }
        int timeout = 1000;
        bool has = false;
        uint32_t deadline;
        if (client != NULL && mqttas_poll_deadline(client, &has, &deadline) == MQTTAS_OK && has) {
            int32_t d = (int32_t)(deadline - now_ms());
            timeout = d < 0 ? 0 : d < 1000 ? d : 1000;
        }
        struct pollfd fds[2] = {{0, POLLIN, 0}, {sock, POLLIN, 0}};
        if (poll(fds, 2, timeout) < 0 && errno != EINTR) {
            return 1;
        }
        if (fds[0].revents) {
            ssize_t n = read(0, line + have, sizeof line - 1 - have);
            if (n <= 0) {
                return 0; /* The test is over. */
            }
            have += (size_t)n;
            char *nl;
            while ((nl = memchr(line, '\n', have)) != NULL) {
                size_t used = (size_t)(nl - line) + 1;
                *nl = '\0';
                command(line);
                memmove(line, line + used, have - used);
                have -= used;
            }
        }
        if (sock >= 0 && client != NULL && fds[1].revents) {
            uint8_t buf[4096];
            ssize_t n = recv(sock, buf, sizeof buf, 0);
            if (n <= 0) {
                close_socket();
                mqttas_handle_link_down(client, now_ms());
            } else {
                size_t off = 0;
                while (off < (size_t)n) {
                    size_t taken = 0;
                    mqttas_handle_input(client, now_ms(), buf + off, (size_t)n - off, &taken);
                    off += taken;
                    drain_events();
                    if (sock < 0) {
                        break;
                    }
                }
            }
        }
    }
}
