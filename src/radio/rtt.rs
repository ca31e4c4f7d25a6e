//! Adaptive retransmission timeout (RFC 6298 style).
//!
//! A fixed timeout must be chosen for the slowest link a configuration may
//! meet, so on a fast link every lost acknowledgement costs many round
//! trips of idle air. This estimator follows the measured round trip
//! instead: SRTT and RTTVAR from samples of frames acknowledged without
//! having been retransmitted (Karn's rule: the ack of a resent frame may
//! answer either copy), RTO = SRTT + 4 * RTTVAR, clamped between a floor
//! and `8 * rto_ms`, doubled per consecutive timeout until a new valid
//! sample arrives. Before the first sample the timeout is `rto_ms`.

/// The lowest floor of the timeout, ms: below this a timer fires on the
/// jitter of a scheduler or radio driver rather than on a loss.
pub(crate) const MIN_RTO_MS: u32 = 20;

/// Backed-off timeouts double at most this many times (beyond it the cap
/// has long been reached: `rto_ms * 8` with the floor at least
/// `rto_ms / 8` is a factor 64).
const MAX_BACKOFF: u8 = 16;

/// `v << shift` (shift below 32), saturating at `u32::MAX`: what
/// `saturating_mul` by a power of two gives, without the 64-bit multiply
/// a Cortex-M0 does in a library call.
pub(crate) fn shl_sat(v: u32, shift: u32) -> u32 {
    if v > u32::MAX.checked_shr(shift).unwrap_or(0) {
        u32::MAX
    } else {
        v.checked_shl(shift).unwrap_or(u32::MAX)
    }
}

/// Round-trip estimator; values in 1/8 ms so that the gains 1/8 and 1/4
/// keep their precision on links of a few milliseconds.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RttEstimator {
    /// Initial timeout (ms), also the scale of the cap.
    initial: u32,
    /// Smoothed round trip, 1/8 ms; meaningful when `sampled`.
    srtt: u32,
    /// Round-trip variation, 1/8 ms.
    rttvar: u32,
    sampled: bool,
    /// Consecutive timeouts without a valid sample since.
    backoff: u8,
}

impl RttEstimator {
    /// An estimator without samples: the timeout is `rto_ms`.
    pub(crate) fn new(rto_ms: u32) -> Self {
        RttEstimator {
            initial: rto_ms.max(1),
            srtt: 0,
            rttvar: 0,
            sampled: false,
            backoff: 0,
        }
    }

    /// Forget all samples (a new session may take another path).
    pub(crate) fn reset(&mut self) {
        *self = RttEstimator::new(self.initial);
    }

    /// The smallest timeout: `max(rto_ms / 8, 20 ms)`, but never above
    /// `rto_ms` (a configuration asking for less gets what it asked for).
    pub(crate) fn floor(&self) -> u32 {
        (self.initial / 8).max(MIN_RTO_MS).min(self.initial)
    }

    /// The largest timeout: `rto_ms * 8`, as the fixed timer's backoff had.
    pub(crate) fn cap(&self) -> u32 {
        shl_sat(self.initial, 3)
    }

    /// The smoothed round trip in ms, once measured.
    pub(crate) fn srtt_ms(&self) -> Option<u32> {
        self.sampled.then(|| self.srtt.div_ceil(8))
    }

    /// A round-trip sample (ms) of a frame sent once. Resets the backoff.
    pub(crate) fn sample(&mut self, rtt_ms: u32) {
        // Bounded so the 1/8 ms arithmetic cannot overflow.
        let r = shl_sat(rtt_ms.min(self.cap()), 3);
        if self.sampled {
            let delta = self.srtt.abs_diff(r);
            self.rttvar = (3 * self.rttvar + delta) / 4;
            self.srtt = (7 * self.srtt + r) / 8;
        } else {
            self.srtt = r;
            self.rttvar = r / 2;
            self.sampled = true;
        }
        self.backoff = 0;
    }

    /// A retransmission timer expired: back the timeout off.
    pub(crate) fn timed_out(&mut self) {
        self.backoff = self.backoff.saturating_add(1).min(MAX_BACKOFF);
    }

    /// The timeout without backoff, ms.
    pub(crate) fn base(&self) -> u32 {
        if !self.sampled {
            return self.initial;
        }
        // RFC 6298: SRTT + max(G, 4 * RTTVAR) with a 1 ms clock, plus the
        // longest the peer may hold an acknowledgement (as QUIC adds
        // max_ack_delay): a quarter of the same round trip, at most
        // rto_ms / 4. Without it a steady link, whose RTTVAR decays to
        // nothing, times out on every delayed ack.
        let ack_delay = (self.srtt / 4).min(shl_sat(self.initial, 1));
        let rto = (self.srtt + 4 * self.rttvar + ack_delay).div_ceil(8).max(1);
        rto.clamp(self.floor(), self.cap().max(self.floor()))
    }

    /// The timeout for a frame already timed out `retries` times: the
    /// base doubled by the larger of its own retries and the session's
    /// backoff, at most the cap.
    pub(crate) fn rto(&self, retries: u8) -> u32 {
        let shift = retries.max(self.backoff).min(MAX_BACKOFF);
        shl_sat(self.base(), u32::from(shift))
            .min(self.cap())
            .max(self.floor())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initial_then_converges() {
        let mut e = RttEstimator::new(400);
        assert_eq!(e.rto(0), 400);
        assert_eq!(e.rto(1), 800);
        assert_eq!(e.rto(3), 3200);
        assert_eq!(e.rto(9), 3200);
        assert_eq!(e.srtt_ms(), None);
        e.sample(12);
        // 12 + 4 * 6 + 3 = 39, below the floor of 50.
        assert_eq!(e.rto(0), 50);
        for _ in 0..50 {
            e.sample(600);
        }
        let rto = e.rto(0);
        assert!((700..720).contains(&rto), "{rto}");
        // Integer smoothing settles a fraction of a ms low.
        assert!(matches!(e.srtt_ms(), Some(599..=600)), "{:?}", e.srtt_ms());
        e.timed_out();
        e.timed_out();
        assert_eq!(e.rto(0), (rto * 4).min(3200));
        e.sample(600);
        assert!(e.rto(0) < 720);
    }

    #[test]
    fn saturating_shift() {
        for v in [0u32, 1, 7, 60_000, 0x1fff_ffff, 0x2000_0000, u32::MAX] {
            for shift in 0..32 {
                assert_eq!(
                    shl_sat(v, shift),
                    v.saturating_mul(1 << shift),
                    "{v} {shift}"
                );
            }
        }
    }

    #[test]
    fn bounds_hold_for_extremes() {
        for rto_ms in [1u32, 7, 20, 100, 400, 60_000] {
            let mut e = RttEstimator::new(rto_ms);
            assert_eq!(e.rto(0), rto_ms);
            for rtt in [0u32, 1, u32::MAX, 5] {
                e.sample(rtt);
                for retries in [0u8, 1, 5, 255] {
                    let rto = e.rto(retries);
                    assert!(rto >= e.floor() && rto <= e.cap(), "{rto_ms} {rtt} {rto}");
                }
            }
            for _ in 0..40 {
                e.timed_out();
            }
            assert_eq!(e.rto(0), e.cap());
        }
    }
}
