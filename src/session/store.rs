//! Store of outbound QoS 1/2 publications.
