//! Wrapping millisecond ticks.
