/* What the MicroPython C module (micropython-module/_mqttas.c) calls of
 * the client and the outage policy: every command, the events with their
 * properties, the loss's cause and text, the result texts. */
#include "io.h"

static char text[128];
static mqttas_reconnect *rc;
static uint64_t rc_storage[256 / 8];

static void show(const char *s)
{
    while (*s) {
        LINK_TX = (uint8_t)*s++;
    }
}

static void check(mqttas_result r)
{
    if (r != MQTTAS_OK) {
        LINK_TX = (uint8_t)mqttas_result_is_bad_input(r);
        show(mqttas_strerror(r));
    }
}

int main(void)
{
    mqttas_connect_options o = {0};
    mqttas_property props[2] = {{0}};
    mqttas_subscription sub = {0};
    mqttas_str filter = {"cmd/#", 5};
    mqttas_reconnect_policy policy;
    mqttas_reconnect_action act;
    mqttas_conn_state st;
    mqttas_stats stats;
    const char *id;
    size_t id_len, pending, len;
    bool has;
    uint32_t at;
    mqttas_client *c = client_new();
    if (c == NULL) {
        return 1;
    }
    rc = (mqttas_reconnect *)(void *)rc_storage;
    if (mqttas_reconnect_size() > sizeof rc_storage) {
        return 1;
    }
    (void)mqttas_reconnect_policy_default(&policy);
    check(mqttas_reconnect_init(rc, sizeof rc_storage, &policy, TICKS));
    show(mqttas_version());
    props[0].id = MQTTAS_PROP_USER_PROPERTY;
    props[0].data = (const uint8_t *)"k";
    props[0].data_len = 1;
    props[0].data2 = (const uint8_t *)"v";
    props[0].data2_len = 1;
    o.client_id = "device";
    o.client_id_len = 6;
    o.will_topic = "dev/state";
    o.will_topic_len = 9;
    sub.filter = "cmd/#";
    sub.filter_len = 5;
    sub.qos = 1;
    for (;;) {
        mqttas_event ev;
        uint32_t now = TICKS;
        if (mqttas_reconnect_poll_action(rc, now, &act) == MQTTAS_OK
            && act.kind == MQTTAS_RECONNECT_CONNECT) {
            check(mqttas_connect(c, now, &o));
        }
        pump(c, now);
        while (mqttas_poll_event(c, &ev) == MQTTAS_OK && ev.kind != MQTTAS_EVENT_NONE) {
            size_t cursor = 0;
            mqttas_property p;
            while (mqttas_property_next(ev.properties, ev.properties_len, &cursor, &p) == MQTTAS_OK
                   && p.id != 0) {
                LINK_TX = p.id;
            }
            switch (ev.kind) {
            case MQTTAS_EVENT_CONNECTED:
                (void)mqttas_reconnect_handle_connected(rc, now);
                check(mqttas_subscribe(c, now, &sub, 1, NULL, 0, NULL));
                check(mqttas_publish(c, now, "dev/state", 9, (const uint8_t *)"up", 2, 1, true,
                                     props, 1, NULL));
                check(mqttas_assigned_client_id(c, &id, &id_len));
                break;
            case MQTTAS_EVENT_MESSAGE:
                check(mqttas_publish(c, now, "dev/ack", 7, ev.payload, ev.payload_len, ev.qos,
                                     false, NULL, 0, NULL));
                break;
            case MQTTAS_EVENT_SUBSCRIBED:
                check(mqttas_unsubscribe(c, now, &filter, 1, NULL, 0, NULL));
                check(mqttas_ping(c, now));
                break;
            case MQTTAS_EVENT_AUTH:
                check(mqttas_auth(c, now, 0x18, props, 1));
                break;
            case MQTTAS_EVENT_CONNECTION_LOST: {
                mqttas_reconnect_cause cause;
                (void)mqttas_lost_cause(c, &cause);
                (void)mqttas_reconnect_handle_lost(rc, now, cause);
                (void)mqttas_lost_describe(c, text, sizeof text, &len);
                show(text);
                break;
            }
            case MQTTAS_EVENT_PUBLISHED:
                (void)mqttas_pending_publications(c, &pending);
                (void)mqttas_get_stats(c, &stats);
                LINK_TX = (uint8_t)(pending + stats.republished);
                break;
            default:
                break;
            }
        }
        if (mqttas_reconnect_poll_deadline(rc, &has, &at) == MQTTAS_OK && has) {
            LINK_TX = (uint8_t)at;
        }
        (void)mqttas_state(c, &st);
        if (st == MQTTAS_STATE_CONNECTED && LINK_RX_READY == 2) {
            check(mqttas_disconnect(c, now, 0, NULL, 0));
            (void)mqttas_handle_link_down(c, now);
            (void)mqttas_reconnect_handle_attempt_failed(rc, now, MQTTAS_RECONNECT_CAUSE_OUTAGE);
        }
    }
}
