//! The client over the TCP driver against a real mosquitto, MQTT 5.0.

mod common;

use common::scenarios as s;
use mqttas::Version::V5;

#[test]
fn pubsub_each_qos() {
    s::pubsub_each_qos(V5);
}

#[test]
fn retained() {
    s::retained(V5);
}

#[test]
fn will() {
    s::will(V5);
}

#[test]
fn unsubscribe() {
    s::unsubscribe(V5);
}

#[test]
fn session_across_restart() {
    s::session_across_restart(V5);
}

#[test]
fn inflight_resent_after_broker_crash() {
    s::inflight_resent_after_broker_crash(V5);
}

#[test]
fn keepalive_across_clock_wrap() {
    s::keepalive_across_clock_wrap(V5);
}

#[test]
fn frozen_broker_detected() {
    s::frozen_broker_detected(V5);
}

#[test]
fn password() {
    s::password(V5);
}

#[test]
fn user_properties_and_subscription_id() {
    s::user_properties_and_subscription_id();
}

#[test]
fn server_assigned_client_id() {
    s::server_assigned_client_id();
}

#[test]
fn outbound_topic_aliases() {
    s::outbound_topic_aliases();
}
