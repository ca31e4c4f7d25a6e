/* The min program over packet radio: the same MQTT calls as min.c, with
 * the client's byte stream carried by the radio framing + ARQ layer
 * (mqttas_radio_*, node side) whose frames go to the pretend radio. Built
 * only when include/mqttas.h has the radio API (cargo feature `radio`). */
#include "io.h"

/* Radio storage and its tx/rx stream buffers (the program's, like the
 * client's buffers: tests/bench/size subtracts them from .bss). */
static uint64_t radio_storage[512 / 8];
static uint8_t radio_tx[512], radio_rx[512];

static mqttas_radio *radio_new(void)
{
    mqttas_radio_config rc;
    mqttas_radio *r = (mqttas_radio *)(void *)radio_storage;
    if (mqttas_radio_size() > sizeof radio_storage) {
        return NULL;
    }
    mqttas_radio_config_default(&rc);
    if (mqttas_radio_init(r, sizeof radio_storage, &rc, radio_tx, sizeof radio_tx, radio_rx,
                          sizeof radio_rx) != MQTTAS_OK) {
        return NULL;
    }
    return r;
}

/* Frames in and out, stream bytes between the radio and the client. */
static void radio_pump(mqttas_radio *r, mqttas_client *c, uint32_t now)
{
    uint8_t frame[32], in[64];
    const uint8_t *d;
    size_t n, acc, written;
    bool has;
    uint32_t at;
    n = link_recv(frame, sizeof frame);
    if (n > 0) {
        (void)mqttas_radio_handle_frame(r, now, frame, n);
    }
    while (mqttas_radio_read(r, in, sizeof in, &n) == MQTTAS_OK && n > 0) {
        (void)mqttas_handle_input(c, now, in, n, &acc);
    }
    if (mqttas_radio_poll_deadline(r, &has, &at) == MQTTAS_OK && has && (int32_t)(at - now) <= 0) {
        (void)mqttas_radio_handle_timeout(r, now);
    }
    if (mqttas_poll_deadline(c, &has, &at) == MQTTAS_OK && has && (int32_t)(at - now) <= 0) {
        (void)mqttas_handle_timeout(c, now);
    }
    /* The client's bytes must all be taken: a real driver would wait for
     * mqttas_radio_write to accept the rest; here the pretend link drops it. */
    while (mqttas_poll_transmit(c, now, &d, &n) == MQTTAS_OK && n > 0) {
        (void)mqttas_radio_write(r, now, d, n, &written);
    }
    while (mqttas_radio_poll_frame(r, now, frame, sizeof frame, &n) == MQTTAS_OK && n > 0) {
        link_send(frame, n);
    }
}

int main(void)
{
    mqttas_connect_options o = {0};
    mqttas_radio *r = radio_new();
    mqttas_client *c = client_new();
    uint16_t epoch = 1;
    if (r == NULL || c == NULL) {
        return 1;
    }
    o.client_id = "sensor";
    o.client_id_len = 6;
    (void)mqttas_radio_open(r, TICKS);
    for (;;) {
        mqttas_event ev;
        mqttas_radio_event rev;
        uint32_t now = TICKS;
        radio_pump(r, c, now);
        while (mqttas_radio_poll_event(r, &rev) == MQTTAS_OK && rev.kind != MQTTAS_RADIO_EVENT_NONE) {
            if (rev.kind == MQTTAS_RADIO_EVENT_UP) {
                (void)mqttas_connect(c, now, &o);
            } else {
                /* Session down: the MQTT connection is lost; open a new
                 * session with a new epoch. */
                (void)mqttas_handle_link_down(c, now);
                epoch = (uint16_t)(epoch == 0xffffu ? 1u : epoch + 1u);
                (void)mqttas_radio_set_epoch(r, epoch);
                (void)mqttas_radio_open(r, now);
            }
        }
        while (mqttas_poll_event(c, &ev) == MQTTAS_OK && ev.kind != MQTTAS_EVENT_NONE) {
            if (ev.kind == MQTTAS_EVENT_CONNECTED || ev.kind == MQTTAS_EVENT_PUBLISHED) {
                (void)mqttas_publish(c, now, "t/temp", 6, (const uint8_t *)"21.5", 4, 1, false,
                                     NULL, 0, NULL);
            }
        }
    }
}
