/* The peer's minimal program on the host: Eclipse Paho MQTT C (synchronous
 * client, Debian's libpaho-mqtt-dev, linked statically): connect, publish
 * at QoS 1, wait for completion. Linked to be measured, not run. */
#include <MQTTClient.h>

int main(int argc, char **argv)
{
    MQTTClient client;
    MQTTClient_connectOptions opts = MQTTClient_connectOptions_initializer;
    MQTTClient_deliveryToken token;
    (void)argc;
    if (MQTTClient_create(&client, argv[1], "sensor", MQTTCLIENT_PERSISTENCE_NONE, NULL)
        != MQTTCLIENT_SUCCESS) {
        return 1;
    }
    if (MQTTClient_connect(client, &opts) != MQTTCLIENT_SUCCESS) {
        return 1;
    }
    if (MQTTClient_publish(client, "t/temp", 4, "21.5", 1, 0, &token) != MQTTCLIENT_SUCCESS) {
        return 1;
    }
    (void)MQTTClient_waitForCompletion(client, token, 1000);
    (void)MQTTClient_disconnect(client, 1000);
    MQTTClient_destroy(&client);
    return 0;
}
