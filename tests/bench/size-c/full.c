/* The full and module size programs, one source (module.c includes this
 * file with SIZE_MODULE defined).
 *
 * full: a program that uses the whole C API: every mqttas_* function, MQTT
 * 5.0 properties, subscriptions, the text helpers (strerror, describe).
 *
 * module (SIZE_MODULE): what the MicroPython C module
 * (micropython-module/_mqttas.c) calls of the client and the outage
 * policy: every command, the events with their properties, the loss's
 * cause and text, the result texts. Its commands' results go through
 * check(), as the module raises them. */
#include "io.h"

static char text[128];
#ifdef SIZE_MODULE
static mqttas_reconnect *rc;
static uint64_t rc_storage[256 / 8];
#endif

static void show(const char *s)
{
    while (*s) {
        LINK_TX = (uint8_t)*s++;
    }
}

#ifdef SIZE_MODULE
static void check(mqttas_result r)
{
    if (r != MQTTAS_OK) {
        LINK_TX = (uint8_t)mqttas_result_is_bad_input(r);
        show(mqttas_strerror(r));
    }
}
#define COMMAND(call) check(call)
#else
#define COMMAND(call) (void)call
#endif

int main(void)
{
    mqttas_connect_options o = {0};
    mqttas_property props[2] = {{0}};
    mqttas_subscription sub = {0};
    mqttas_str filter = {"cmd/#", 5};
#ifdef SIZE_MODULE
    mqttas_reconnect_policy policy;
    mqttas_reconnect_action act;
#else
    mqttas_config cfg;
#endif
    mqttas_conn_state st;
#ifdef SIZE_MODULE
    mqttas_stats stats;
#endif
    const char *id;
    size_t id_len, pending, len;
#ifdef SIZE_MODULE
    bool has;
    uint32_t at;
#endif
    mqttas_client *c = client_new();
    if (c == NULL) {
        return 1;
    }
#ifdef SIZE_MODULE
    rc = (mqttas_reconnect *)(void *)rc_storage;
    if (mqttas_reconnect_size() > sizeof rc_storage) {
        return 1;
    }
    (void)mqttas_reconnect_policy_default(&policy);
    check(mqttas_reconnect_init(rc, sizeof rc_storage, &policy, TICKS));
#endif
    show(mqttas_version());
#ifndef SIZE_MODULE
    (void)mqttas_client_config(c, &cfg);
#endif
    props[0].id = MQTTAS_PROP_USER_PROPERTY;
    props[0].data = (const uint8_t *)"k";
    props[0].data_len = 1;
    props[0].data2 = (const uint8_t *)"v";
    props[0].data2_len = 1;
#ifndef SIZE_MODULE
    props[1].id = MQTTAS_PROP_MESSAGE_EXPIRY_INTERVAL;
    props[1].value = 60;
#endif
    o.client_id = "device";
    o.client_id_len = 6;
    o.will_topic = "dev/state";
    o.will_topic_len = 9;
#ifndef SIZE_MODULE
    o.properties = props;
    o.properties_len = 1;
#endif
    sub.filter = "cmd/#";
    sub.filter_len = 5;
#ifdef SIZE_MODULE
    sub.qos = 1;
#else
    sub.qos = 2;
    show(mqttas_strerror(mqttas_connect(c, TICKS, &o)));
#endif
    for (;;) {
        mqttas_event ev;
        uint32_t now = TICKS;
#ifdef SIZE_MODULE
        if (mqttas_reconnect_poll_action(rc, now, &act) == MQTTAS_OK
            && act.kind == MQTTAS_RECONNECT_CONNECT) {
            check(mqttas_connect(c, now, &o));
        }
#endif
        pump(c, now);
        while (mqttas_poll_event(c, &ev) == MQTTAS_OK && ev.kind != MQTTAS_EVENT_NONE) {
            size_t cursor = 0;
            mqttas_property p;
#ifndef SIZE_MODULE
            (void)mqttas_event_describe(c, &ev, text, sizeof text, &len);
            show(text);
#endif
            while (mqttas_property_next(ev.properties, ev.properties_len, &cursor, &p) == MQTTAS_OK
                   && p.id != 0) {
                LINK_TX = p.id;
            }
            switch (ev.kind) {
            case MQTTAS_EVENT_CONNECTED:
#ifdef SIZE_MODULE
                (void)mqttas_reconnect_handle_connected(rc, now);
                check(mqttas_subscribe(c, now, &sub, 1, NULL, 0, NULL));
                check(mqttas_publish(c, now, "dev/state", 9, (const uint8_t *)"up", 2, 1, true,
                                     props, 1, NULL));
#else
                (void)mqttas_subscribe(c, now, &sub, 1, NULL, 0, NULL);
                (void)mqttas_publish(c, now, "dev/state", 9, (const uint8_t *)"up", 2, 2, true,
                                     props, 2, NULL);
#endif
                COMMAND(mqttas_assigned_client_id(c, &id, &id_len));
                break;
            case MQTTAS_EVENT_MESSAGE:
                COMMAND(mqttas_publish(c, now, "dev/ack", 7, ev.payload, ev.payload_len, ev.qos,
                                       false, NULL, 0, NULL));
                break;
            case MQTTAS_EVENT_SUBSCRIBED:
                COMMAND(mqttas_unsubscribe(c, now, &filter, 1, NULL, 0, NULL));
#ifdef SIZE_MODULE
                check(mqttas_ping(c, now));
#endif
                break;
            case MQTTAS_EVENT_AUTH:
                COMMAND(mqttas_auth(c, now, 0x18, props, 1));
                break;
#ifdef SIZE_MODULE
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
#else
            case MQTTAS_EVENT_CONNECTION_LOST:
                show(mqttas_lost_reason_str(ev.lost));
                (void)mqttas_reason_code_describe(ev.reason, text, sizeof text, &len);
                show(text);
                (void)mqttas_connect(c, now, &o);
                break;
#endif
            default:
                break;
            }
        }
#ifdef SIZE_MODULE
        if (mqttas_reconnect_poll_deadline(rc, &has, &at) == MQTTAS_OK && has) {
            LINK_TX = (uint8_t)at;
        }
        (void)mqttas_state(c, &st);
        if (st == MQTTAS_STATE_CONNECTED && LINK_RX_READY == 2) {
            check(mqttas_disconnect(c, now, 0, NULL, 0));
            (void)mqttas_handle_link_down(c, now);
            (void)mqttas_reconnect_handle_attempt_failed(rc, now, MQTTAS_RECONNECT_CAUSE_OUTAGE);
        }
#else
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
#endif
    }
}
