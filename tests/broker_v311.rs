//! The client over the TCP driver against a real mosquitto, MQTT 3.1.1.

mod common;

use common::scenarios as s;
use mqttas::Version::V311;

#[test]
fn pubsub_each_qos() {
    s::pubsub_each_qos(V311);
}

#[test]
fn retained() {
    s::retained(V311);
}

#[test]
fn will() {
    s::will(V311);
}

#[test]
fn unsubscribe() {
    s::unsubscribe(V311);
}

#[test]
fn session_across_restart() {
    s::session_across_restart(V311);
}

#[test]
fn inflight_resent_after_broker_crash() {
    s::inflight_resent_after_broker_crash(V311);
}

#[test]
fn keepalive_across_clock_wrap() {
    s::keepalive_across_clock_wrap(V311);
}

#[test]
fn frozen_broker_detected() {
    s::frozen_broker_detected(V311);
}

#[test]
fn password() {
    s::password(V311);
}
