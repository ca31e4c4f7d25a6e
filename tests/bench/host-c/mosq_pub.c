/*
 * Host speed benchmark, the peer: the same run as ours_pub.c through
 * libmosquitto (Debian's libmosquitto-dev), single-threaded with
 * mosquitto_loop, the same in-flight window (mosquitto's max inflight
 * messages and our own count of outstanding publications), the same end
 * marker for QoS 0.
 *
 * usage: mosq_pub PORT QOS N WINDOW PAYLOAD_BYTES
 * prints: "peer qos=Q n=N seconds=S cpu_us_per_msg=C msgs_per_s=R"
 * (C: this process's time on a CPU, user and kernel, per message)
 */
#define _POSIX_C_SOURCE 200809L
#include <mosquitto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"

static int connected;
static unsigned long completed;

static void on_connect(struct mosquitto *m, void *u, int rc)
{
    (void)m;
    (void)u;
    if (rc != 0) {
        fprintf(stderr, "mosq_pub: connection refused (%d)\n", rc);
        exit(1);
    }
    connected = 1;
}

static void on_publish(struct mosquitto *m, void *u, int mid)
{
    (void)m;
    (void)u;
    (void)mid;
    completed++;
}

static void loop(struct mosquitto *m, int timeout_ms)
{
    int rc = mosquitto_loop(m, timeout_ms, 1);
    if (rc != MOSQ_ERR_SUCCESS) {
        fprintf(stderr, "mosq_pub: loop: %s\n", mosquitto_strerror(rc));
        exit(1);
    }
}

int main(int argc, char **argv)
{
    static char payload[65536];
    struct mosquitto *m;
    unsigned long n, window, sent = 0, target;
    int qos, plen, rc;
    double t0, t1, c0, c1;
    if (argc != 6) {
        fprintf(stderr, "usage: mosq_pub PORT QOS N WINDOW PAYLOAD_BYTES\n");
        return 2;
    }
    qos = atoi(argv[2]);
    n = strtoul(argv[3], NULL, 10);
    window = strtoul(argv[4], NULL, 10);
    plen = atoi(argv[5]);
    memset(payload, 'x', sizeof payload);

    mosquitto_lib_init();
    m = mosquitto_new("bench-peer", true, NULL);
    if (m == NULL) {
        return 1;
    }
    mosquitto_connect_callback_set(m, on_connect);
    mosquitto_publish_callback_set(m, on_publish);
    mosquitto_int_option(m, MOSQ_OPT_TCP_NODELAY, 1);
    mosquitto_max_inflight_messages_set(m, (unsigned)window);
    if ((rc = mosquitto_connect(m, "127.0.0.1", atoi(argv[1]), 60)) != MOSQ_ERR_SUCCESS) {
        fprintf(stderr, "mosq_pub: connect: %s\n", mosquitto_strerror(rc));
        return 1;
    }
    while (!connected) {
        loop(m, 1000);
    }

    t0 = now_s();
    c0 = cpu_ns();
    /* QoS 0: on_publish counts each message once written; the end marker
     * (QoS 1) completes after its PUBACK. */
    target = qos == 0 ? n + 1 : n;
    while (completed < target) {
        while (sent < n && (qos == 0 || sent - completed < window)) {
            rc = mosquitto_publish(m, NULL, "bench/t", plen, payload, qos, false);
            if (rc != MOSQ_ERR_SUCCESS) {
                fprintf(stderr, "mosq_pub: publish: %s\n", mosquitto_strerror(rc));
                return 1;
            }
            sent++;
            if (qos == 0 && sent == n) {
                rc = mosquitto_publish(m, NULL, "bench/t", plen, payload, 1, false);
                if (rc != MOSQ_ERR_SUCCESS) {
                    return 1;
                }
            }
            if (qos == 0 && sent % 64 == 0) {
                break;
            }
        }
        loop(m, sent < n && qos == 0 ? 0 : 1000);
    }
    t1 = now_s();
    c1 = cpu_ns();
    printf("peer qos=%d n=%lu seconds=%.4f cpu_us_per_msg=%.2f msgs_per_s=%.0f\n", qos, n,
           t1 - t0, (c1 - c0) / 1e3 / (double)n, (double)n / (t1 - t0));
    mosquitto_disconnect(m);
    mosquitto_loop(m, 100, 1);
    mosquitto_destroy(m);
    mosquitto_lib_cleanup();
    return 0;
}
