/*
 * Host speed benchmark, our side: publish N messages at QoS q to a broker on
 * 127.0.0.1 through the mqttas C API over a plain blocking TCP socket, with
 * at most W messages outstanding (the in-flight window), then print the
 * rate. For QoS 0, one QoS 1 message ends the run, so that the broker has
 * taken everything before the clock stops (the same in the peer's program).
 *
 * usage: ours_pub PORT QOS N WINDOW PAYLOAD_BYTES
 * prints: "ours qos=Q n=N seconds=S cpu_us_per_msg=C msgs_per_s=R"
 * (C: this process's time on a CPU, user and kernel, per message)
 */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "mqttas.h"

static uint32_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint32_t)((uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u);
}

static void die(const char *what, unsigned code)
{
    fprintf(stderr, "ours_pub: %s (%u: %s)\n", what, code, mqttas_strerror(code));
    exit(1);
}

static int fd = -1;
static mqttas_client *c;
static int connected;
static unsigned long completed;

/* Packets from this size on are sent without being gathered. */
#define GATHER_MAX 1024u

static void send_all(const uint8_t *d, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, d, n, 0);
        if (w <= 0) {
            perror("send");
            exit(1);
        }
        d += w;
        n -= (size_t)w;
    }
}

/* Send everything the client has queued in one send: each poll_transmit
 * gives one packet (or the transmit buffer's contents), valid until the
 * next call, so small ones are gathered; a large one (QoS 0 messages fill
 * the transmit buffer) goes out as it is, without copying. */
static void flush(void)
{
    static uint8_t out[16384];
    size_t used = 0;
    const uint8_t *d;
    size_t n;
    while (mqttas_poll_transmit(c, now_ms(), &d, &n) == MQTTAS_OK && n > 0) {
        if (n >= GATHER_MAX || used + n > sizeof out) {
            send_all(out, used);
            used = 0;
        }
        if (n >= GATHER_MAX) {
            send_all(d, n);
        } else {
            memcpy(out + used, d, n);
            used += n;
        }
    }
    send_all(out, used);
}

static void events(void)
{
    mqttas_event ev;
    while (mqttas_poll_event(c, &ev) == MQTTAS_OK && ev.kind != MQTTAS_EVENT_NONE) {
        if (ev.kind == MQTTAS_EVENT_CONNECTED) {
            connected = 1;
        } else if (ev.kind == MQTTAS_EVENT_PUBLISHED) {
            completed++;
        } else if (ev.kind == MQTTAS_EVENT_CONNECTION_LOST) {
            char text[256];
            mqttas_event_describe(c, &ev, text, sizeof text, NULL);
            fprintf(stderr, "ours_pub: %s\n", text);
            exit(1);
        }
    }
}

/* Wait up to timeout_ms for input, feed it to the client, take events.
 * One receive takes what the socket has; a full buffer means more is
 * waiting, so receive again without polling first. */
static void input(int timeout_ms)
{
    static uint8_t buf[16384];
    struct pollfd p = {fd, POLLIN, 0};
    bool has;
    uint32_t deadline;
    if (poll(&p, 1, timeout_ms) > 0) {
        ssize_t r;
        do {
            size_t off = 0;
            r = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
            if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                break;
            }
            if (r <= 0) {
                fprintf(stderr, "ours_pub: connection closed\n");
                exit(1);
            }
            while (off < (size_t)r) {
                size_t acc = 0;
                unsigned rc =
                    mqttas_handle_input(c, now_ms(), buf + off, (size_t)r - off, &acc);
                if (rc != MQTTAS_OK) {
                    die("handle_input", rc);
                }
                off += acc;
                events();
            }
        } while ((size_t)r == sizeof buf);
    }
    if (mqttas_poll_deadline(c, &has, &deadline) == MQTTAS_OK && has
        && (int32_t)(deadline - now_ms()) <= 0) {
        mqttas_handle_timeout(c, now_ms());
    }
    events();
}

int main(int argc, char **argv)
{
    static uint8_t rx[16384], tx[16384], store[65536], payload[65536];
    mqttas_config cfg;
    static uint16_t qos2[16];
    mqttas_buffers bufs = {0};
    mqttas_connect_options o;
    struct sockaddr_in a;
    unsigned long n, window, sent = 0, target;
    size_t plen;
    int qos, one = 1;
    unsigned rc;
    double t0, t1, c0, c1;
    if (argc != 6) {
        fprintf(stderr, "usage: ours_pub PORT QOS N WINDOW PAYLOAD_BYTES\n");
        return 2;
    }
    qos = atoi(argv[2]);
    n = strtoul(argv[3], NULL, 10);
    window = strtoul(argv[4], NULL, 10);
    plen = strtoul(argv[5], NULL, 10);
    memset(payload, 'x', sizeof payload);

    fd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)atoi(argv[1]));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        perror("connect");
        return 1;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

    c = malloc(mqttas_client_size());
    mqttas_config_default(&cfg);
    cfg.max_inflight = (uint16_t)window;
    bufs.rx = rx;
    bufs.rx_len = sizeof rx;
    bufs.tx = tx;
    bufs.tx_len = sizeof tx;
    bufs.store = store;
    bufs.store_len = sizeof store;
    bufs.inbound_qos2 = qos2;
    bufs.inbound_qos2_len = 16;
    rc = mqttas_client_init(c, mqttas_client_size(), &cfg, &bufs);
    if (rc != MQTTAS_OK) {
        die("client_init", rc);
    }
    memset(&o, 0, sizeof o);
    o.client_id = "bench-ours";
    o.client_id_len = strlen(o.client_id);
    if ((rc = mqttas_connect(c, now_ms(), &o)) != MQTTAS_OK) {
        die("connect", rc);
    }
    flush();
    while (!connected) {
        input(1000);
    }

    t0 = now_s();
    c0 = cpu_ns();
    /* QoS 0: N messages, then one QoS 1 message whose PUBACK ends the run. */
    target = qos == 0 ? 1 : n;
    while (completed < target) {
        while (sent < n && (qos == 0 || sent - completed < window)) {
            rc = mqttas_publish(c, now_ms(), "bench/t", 7, payload, plen, (uint8_t)qos, false, NULL,
                                0, NULL);
            if (rc == MQTTAS_ERR_TX_FULL || rc == MQTTAS_ERR_STORE_FULL) {
                break;
            }
            if (rc != MQTTAS_OK) {
                die("publish", rc);
            }
            sent++;
            if (qos == 0 && sent == n) {
                while ((rc = mqttas_publish(c, now_ms(), "bench/t", 7, payload, plen, 1, false,
                                            NULL, 0, NULL))
                       == MQTTAS_ERR_TX_FULL) {
                    flush();
                }
                if (rc != MQTTAS_OK) {
                    die("publish (end marker)", rc);
                }
            }
        }
        flush();
        input(sent < n && qos == 0 ? 0 : 1000);
    }
    t1 = now_s();
    c1 = cpu_ns();
    printf("ours qos=%d n=%lu seconds=%.4f cpu_us_per_msg=%.2f msgs_per_s=%.0f\n", qos, n,
           t1 - t0, (c1 - c0) / 1e3 / (double)n, (double)n / (t1 - t0));
    mqttas_disconnect(c, now_ms(), 0, NULL, 0);
    flush();
    close(fd);
    mqttas_client_deinit(c);
    free(c);
    return 0;
}
