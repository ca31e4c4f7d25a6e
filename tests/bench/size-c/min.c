/* A minimal MQTT program: connect, publish at QoS 1, poll. Only the calls
 * such a device needs: init, connect, publish, handle_input, poll_event,
 * poll_transmit, poll_deadline, handle_timeout. */
#include "io.h"

int main(void)
{
    mqttas_connect_options o = {0};
    mqttas_client *c = client_new();
    if (c == NULL) {
        return 1;
    }
    o.client_id = "sensor";
    o.client_id_len = 6;
    (void)mqttas_connect(c, TICKS, &o);
    for (;;) {
        mqttas_event ev;
        uint32_t now = TICKS;
        pump(c, now);
        while (mqttas_poll_event(c, &ev) == MQTTAS_OK && ev.kind != MQTTAS_EVENT_NONE) {
            if (ev.kind == MQTTAS_EVENT_CONNECTED || ev.kind == MQTTAS_EVENT_PUBLISHED) {
                (void)mqttas_publish(c, now, "t/temp", 6, (const uint8_t *)"21.5", 4, 1, false,
                                     NULL, 0, NULL);
            } else if (ev.kind == MQTTAS_EVENT_CONNECTION_LOST) {
                (void)mqttas_connect(c, now, &o);
            }
        }
    }
}
