/* A pretend link for the size programs: bytes go to and come from volatile
 * "device registers", so that the compiler keeps every call and every byte
 * the library hands out, as a real driver would. */
#include <stddef.h>
#include <stdint.h>

#include "mqttas.h"

#define LINK_TX (*(volatile uint8_t *)0x40000000u)
#define LINK_RX (*(volatile uint8_t *)0x40000004u)
#define LINK_RX_READY (*(volatile uint8_t *)0x40000008u)
#define TICKS (*(volatile uint32_t *)0x4000000cu)

static uint8_t rx_buf[1024], tx_buf[512], store_buf[2048];
static uint16_t qos2_ids[16];
/* Client storage: 8-byte aligned, checked against mqttas_client_size(). */
static uint64_t client_storage[4096 / 8];

static void link_send(const uint8_t *d, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        LINK_TX = d[i];
    }
}

static size_t link_recv(uint8_t *d, size_t cap)
{
    size_t n = 0;
    while (n < cap && LINK_RX_READY) {
        d[n++] = LINK_RX;
    }
    return n;
}

static mqttas_client *client_new(void)
{
    mqttas_config cfg;
    mqttas_buffers bufs = {0};
    mqttas_client *c = (mqttas_client *)(void *)client_storage;
    if (mqttas_client_size() > sizeof client_storage) {
        return NULL;
    }
    (void)mqttas_config_default(&cfg);
    bufs.rx = rx_buf;
    bufs.rx_len = sizeof rx_buf;
    bufs.tx = tx_buf;
    bufs.tx_len = sizeof tx_buf;
    bufs.store = store_buf;
    bufs.store_len = sizeof store_buf;
    bufs.inbound_qos2 = qos2_ids;
    bufs.inbound_qos2_len = 16;
    if (mqttas_client_init(c, sizeof client_storage, &cfg, &bufs) != MQTTAS_OK) {
        return NULL;
    }
    return c;
}

static inline void pump(mqttas_client *c, uint32_t now)
{
    const uint8_t *d;
    size_t n, acc;
    uint8_t in[64];
    bool has;
    uint32_t deadline;
    n = link_recv(in, sizeof in);
    if (n > 0) {
        (void)mqttas_handle_input(c, now, in, n, &acc);
    }
    if (mqttas_poll_deadline(c, &has, &deadline) == MQTTAS_OK && has
        && (int32_t)(deadline - now) <= 0) {
        (void)mqttas_handle_timeout(c, now);
    }
    while (mqttas_poll_transmit(c, now, &d, &n) == MQTTAS_OK && n > 0) {
        link_send(d, n);
    }
}
