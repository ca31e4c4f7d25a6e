/* A program that uses the whole C API: every mqttas_* function, MQTT 5.0
 * properties, subscriptions, the text helpers (strerror, describe). */
#include "io.h"

static char text[128];

static void show(const char *s)
{
    while (*s) {
        LINK_TX = (uint8_t)*s++;
    }
}

int main(void)
{
    mqttas_connect_options o = {0};
    mqttas_property props[2] = {{0}};
    mqttas_subscription sub = {0};
    mqttas_str filter = {"cmd/#", 5};
    mqttas_config cfg;
    mqttas_conn_state st;
    const char *id;
    size_t id_len, pending, len;
    mqttas_client *c = client_new();
    if (c == NULL) {
        return 1;
    }
    show(mqttas_version());
    (void)mqttas_client_config(c, &cfg);
    props[0].id = MQTTAS_PROP_USER_PROPERTY;
    props[0].data = (const uint8_t *)"k";
    props[0].data_len = 1;
    props[0].data2 = (const uint8_t *)"v";
    props[0].data2_len = 1;
    props[1].id = MQTTAS_PROP_MESSAGE_EXPIRY_INTERVAL;
    props[1].value = 60;
    o.client_id = "device";
    o.client_id_len = 6;
    o.will_topic = "dev/state";
    o.will_topic_len = 9;
    o.properties = props;
    o.properties_len = 1;
    sub.filter = "cmd/#";
    sub.filter_len = 5;
    sub.qos = 2;
    show(mqttas_strerror(mqttas_connect(c, TICKS, &o)));
    for (;;) {
        mqttas_event ev;
        uint32_t now = TICKS;
        pump(c, now);
        while (mqttas_poll_event(c, &ev) == MQTTAS_OK && ev.kind != MQTTAS_EVENT_NONE) {
            size_t cursor = 0;
            mqttas_property p;
            (void)mqttas_event_describe(c, &ev, text, sizeof text, &len);
            show(text);
            while (mqttas_property_next(ev.properties, ev.properties_len, &cursor, &p) == MQTTAS_OK
                   && p.id != 0) {
                LINK_TX = p.id;
            }
            switch (ev.kind) {
            case MQTTAS_EVENT_CONNECTED:
                (void)mqttas_subscribe(c, now, &sub, 1, NULL, 0, NULL);
                (void)mqttas_publish(c, now, "dev/state", 9, (const uint8_t *)"up", 2, 2, true,
                                     props, 2, NULL);
                (void)mqttas_assigned_client_id(c, &id, &id_len);
                break;
            case MQTTAS_EVENT_MESSAGE:
                (void)mqttas_publish(c, now, "dev/ack", 7, ev.payload, ev.payload_len, ev.qos,
                                     false, NULL, 0, NULL);
                break;
            case MQTTAS_EVENT_SUBSCRIBED:
                (void)mqttas_unsubscribe(c, now, &filter, 1, NULL, 0, NULL);
                break;
            case MQTTAS_EVENT_AUTH:
                (void)mqttas_auth(c, now, 0x18, props, 1);
                break;
            case MQTTAS_EVENT_CONNECTION_LOST:
                show(mqttas_lost_reason_str(ev.lost));
                (void)mqttas_reason_code_describe(ev.reason, text, sizeof text, &len);
                show(text);
                (void)mqttas_connect(c, now, &o);
                break;
            default:
                break;
            }
        }
        if (LINK_RX_READY == 0xff) {
            (void)mqttas_ping(c, now);
            (void)mqttas_disconnect(c, now, 0, NULL, 0);
            (void)mqttas_handle_link_down(c, now);
        }
        if (mqttas_state(c, &st) == MQTTAS_OK && st == MQTTAS_STATE_DISCONNECTED
            && mqttas_pending_publications(c, &pending) == MQTTAS_OK && pending == 0) {
            (void)mqttas_client_deinit(c);
            return 0;
        }
    }
}
