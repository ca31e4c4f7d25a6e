/* The mqttas C API in brief: connect, subscribe, publish at QoS 1, receive
 * the message back, disconnect. Usage: example [HOST [PORT]]. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "mqttas.h"

static const char TOPIC[] = "mqttas/example";

static uint32_t now_ms(void) /* any monotonic millisecond clock; it may wrap */
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint32_t)((uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u);
}

/* Act on every pending event; returns 1 once the connection is over. */
static int handle_events(mqttas_client *c)
{
    mqttas_event ev;
    char text[256];
    while (mqttas_poll_event(c, &ev) == MQTTAS_OK && ev.kind != MQTTAS_EVENT_NONE) {
        mqttas_event_describe(c, &ev, text, sizeof text, NULL);
        printf("event: %s\n", text);
        if (ev.kind == MQTTAS_EVENT_CONNECTED) {
            mqttas_subscription sub = {TOPIC, sizeof TOPIC - 1, 1, false, false, 0};
            mqttas_subscribe(c, now_ms(), &sub, 1, NULL, 0, NULL);
        } else if (ev.kind == MQTTAS_EVENT_SUBSCRIBED) {
            mqttas_publish(c, now_ms(), TOPIC, sizeof TOPIC - 1, (const uint8_t *)"hello", 5, 1,
                           false, NULL, 0, NULL);
        } else if (ev.kind == MQTTAS_EVENT_MESSAGE) {
            printf("received: %.*s\n", (int)ev.payload_len, (const char *)ev.payload);
            mqttas_disconnect(c, now_ms(), 0, NULL, 0);
        } else if (ev.kind == MQTTAS_EVENT_DISCONNECTED ||
                   ev.kind == MQTTAS_EVENT_CONNECTION_LOST) {
            return 1;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    static uint8_t rx[1024], tx[1024], store[4096];
    static uint8_t gather[4096]; /* the largest packet: tx or store, whichever is larger */
    static uint16_t qos2[16]; /* inbound QoS 2 ids: at least the receive maximum */
    mqttas_buffers bufs = {0};
    mqttas_client *c = malloc(mqttas_client_size());
    mqttas_config cfg;
    mqttas_connect_options opts = {0};
    struct sockaddr_in addr = {0};
    const uint8_t *out;
    size_t out_len;
    int fd, done = 0, one = 1;

    mqttas_config_default(&cfg);
    bufs.rx = rx;
    bufs.rx_len = sizeof rx;
    bufs.tx = tx;
    bufs.tx_len = sizeof tx;
    bufs.store = store;
    bufs.store_len = sizeof store;
    bufs.inbound_qos2 = qos2;
    bufs.inbound_qos2_len = 16;
    if (c == NULL || mqttas_client_init(c, mqttas_client_size(), &cfg, &bufs) != MQTTAS_OK) {
        return 1;
    }
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)(argc > 2 ? atoi(argv[2]) : 1883));
    inet_pton(AF_INET, argc > 1 ? argv[1] : "127.0.0.1", &addr.sin_addr);
    fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
        perror("connect");
        return 1;
    }
    /* Small packets, each awaited by the other side: no Nagle delay. */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    opts.client_id = "mqttas-example";
    opts.client_id_len = strlen(opts.client_id);
    mqttas_connect(c, now_ms(), &opts);

    while (!done) {
        uint8_t buf[512];
        struct pollfd p = {0};
        bool has_deadline;
        uint32_t deadline;
        int timeout = -1;
        ssize_t n;
        size_t used = 0;
        /* 1. Send what the client queued: one packet per call, valid until
         * the next call, so gather them and send once. */
        while (mqttas_poll_transmit(c, now_ms(), &out, &out_len) == MQTTAS_OK && out_len > 0) {
            if (used + out_len > sizeof gather) {
                if (send(fd, gather, used, MSG_NOSIGNAL) != (ssize_t)used) {
                    mqttas_handle_link_down(c, now_ms());
                }
                used = 0;
            }
            memcpy(gather + used, out, out_len);
            used += out_len;
        }
        if (used > 0 && send(fd, gather, used, MSG_NOSIGNAL) != (ssize_t)used) {
            mqttas_handle_link_down(c, now_ms());
        }
        /* 2. Wait for bytes or the next deadline (wrapping difference). */
        mqttas_poll_deadline(c, &has_deadline, &deadline);
        if (has_deadline) {
            int32_t left = (int32_t)(deadline - now_ms());
            timeout = left > 0 ? left : 0;
        }
        p.fd = fd;
        p.events = POLLIN;
        if (poll(&p, 1, timeout) > 0) {
            n = recv(fd, buf, sizeof buf, 0);
            if (n <= 0) {
                mqttas_handle_link_down(c, now_ms());
            } else {
                /* 3. Feed them; the client may take fewer while events wait. */
                size_t off = 0, used;
                while (off < (size_t)n && !done) {
                    mqttas_handle_input(c, now_ms(), buf + off, (size_t)n - off, &used);
                    off += used;
                    done = handle_events(c);
                }
            }
        }
        /* 4. Let timers run: pings, retransmissions, timeouts. */
        mqttas_handle_timeout(c, now_ms());
        done = done || handle_events(c);
    }
    while (mqttas_poll_transmit(c, now_ms(), &out, &out_len) == MQTTAS_OK && out_len > 0) {
        send(fd, out, out_len, MSG_NOSIGNAL); /* the DISCONNECT */
    }
    close(fd);
    mqttas_client_deinit(c);
    free(c);
    return 0;
}
