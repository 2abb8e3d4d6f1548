//! Messages per minute from one client address on the MX
//! (`smtp_in.max_messages_per_minute`): a token bucket per address
//! (IPv6 per /64, as `slots.rs` counts connections), refilled
//! continuously, so a burst of a minute's worth is allowed and then one
//! message per refill interval.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Instant;

use super::slots::per_host;

/// Addresses tracked at most; past it, buckets that refilled are dropped,
/// then (a flood of addresses) all of them.
const MAX_TRACKED: usize = 100_000;

/// Per-address message rate.
pub struct MessageRate {
    per_minute: u32,
    buckets: Mutex<HashMap<IpAddr, (f64, Instant)>>,
}

impl MessageRate {
    /// `per_minute` messages per minute per address; 0 means no limit.
    pub fn new(per_minute: u32) -> MessageRate {
        MessageRate {
            per_minute,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Whether `ip` may start one more message now (and counts it).
    pub fn allow(&self, ip: IpAddr) -> bool {
        self.allow_at(ip, Instant::now())
    }

    fn allow_at(&self, ip: IpAddr, now: Instant) -> bool {
        if self.per_minute == 0 {
            return true;
        }
        let cap = f64::from(self.per_minute);
        let per_sec = cap / 60.0;
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() >= MAX_TRACKED {
            buckets.retain(|_, (tokens, at)| {
                *tokens + now.duration_since(*at).as_secs_f64() * per_sec < cap
            });
            if buckets.len() >= MAX_TRACKED {
                buckets.clear();
            }
        }
        let (tokens, at) = buckets.entry(per_host(ip)).or_insert((cap, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * per_sec).min(cap);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_burst_then_the_refill_rate() {
        let r = MessageRate::new(3);
        let t = Instant::now();
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        assert!((0..3).all(|_| r.allow_at(a, t)));
        assert!(!r.allow_at(a, t));
        assert!(r.allow_at(b, t), "another address has its own bucket");
        assert!(!r.allow_at(a, t + Duration::from_secs(10)));
        assert!(r.allow_at(a, t + Duration::from_secs(21)), "one per 20 s at 3/min");
        assert!(!r.allow_at(a, t + Duration::from_secs(22)));
        let v6: IpAddr = "2001:db8::1".parse().unwrap();
        let v6b: IpAddr = "2001:db8::2".parse().unwrap();
        assert!((0..3).all(|_| r.allow_at(v6, t)));
        assert!(!r.allow_at(v6b, t), "one /64 is one client");
        assert!(MessageRate::new(0).allow(a));
    }
}
