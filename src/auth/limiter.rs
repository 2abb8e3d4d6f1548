//! Failed-login limiter per client address.
//!
//! Each failed authentication from a client is remembered for [`LimiterSettings::window`].
//! Before each attempt the session calls [`LoginLimiter::before_attempt`], which sleeps
//! `base_delay · 2^(n-1)` (capped at `max_delay`) when that client has `n` recent failures;
//! after `max_failures` recent failures [`LoginLimiter::is_blocked`] says so and the session
//! drops the connection. Failures age out of the window, so both decay by themselves; a
//! success clears the client's record.
//!
//! Clients are keyed by IPv4 address, and by IPv6 /64 prefix (one subscriber or host
//! usually owns a whole /64 and could otherwise rotate addresses to escape the limit;
//! [`LoginLimiter::with_limits`] can set 128 to key by full address). IPv4-mapped IPv6
//! addresses count as their IPv4 address. Another client is never slowed.
//!
//! Concurrency: the state is one `std::sync::Mutex<HashMap>`, held only for a few map
//! operations and never across `.await` (the sleep happens after the lock is released). Its
//! size is bounded by `max_entries`: when full, expired records go first, then the one whose
//! last failure is oldest.

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

/// Default bound on tracked clients.
pub const DEFAULT_MAX_ENTRIES: usize = 10_000;

/// Timing and thresholds of the limiter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimiterSettings {
    /// Delay after the first recent failure; doubles with each further one.
    pub base_delay: Duration,
    /// Cap on the delay.
    pub max_delay: Duration,
    /// Recent failures after which the client is blocked; 0 never blocks.
    pub max_failures: u32,
    /// How long a failure counts.
    pub window: Duration,
}

impl Default for LimiterSettings {
    /// 1 s, 2 s, 4 s, … up to 15 s; blocked after 10 failures in 10 minutes.
    fn default() -> Self {
        LimiterSettings {
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(15),
            max_failures: 10,
            window: Duration::from_secs(600),
        }
    }
}

/// Recent failures of one client, oldest first.
#[derive(Default)]
struct Record {
    failures: VecDeque<Instant>,
}

impl Record {
    fn forget_before(&mut self, cutoff: Option<Instant>) {
        while let (Some(first), Some(cutoff)) = (self.failures.front(), cutoff) {
            if *first > cutoff {
                break;
            }
            self.failures.pop_front();
        }
    }
}

/// The limiter. Share as `Arc<LoginLimiter>`; see the module docs.
pub struct LoginLimiter {
    settings: LimiterSettings,
    max_entries: usize,
    ipv6_prefix: u8,
    state: Mutex<HashMap<IpAddr, Record>>,
}

impl std::fmt::Debug for LoginLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginLimiter")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl LoginLimiter {
    /// A limiter with these settings, [`DEFAULT_MAX_ENTRIES`] and IPv6 keyed by /64.
    pub fn new(settings: LimiterSettings) -> LoginLimiter {
        Self::with_limits(settings, DEFAULT_MAX_ENTRIES, 64)
    }

    /// As [`LoginLimiter::new`], with another bound on tracked clients (at least 1) and
    /// IPv6 prefix length (0-128) that defines one client.
    pub fn with_limits(
        settings: LimiterSettings,
        max_entries: usize,
        ipv6_prefix: u8,
    ) -> LoginLimiter {
        LoginLimiter {
            settings,
            max_entries: max_entries.max(1),
            ipv6_prefix: ipv6_prefix.min(128),
            state: Mutex::new(HashMap::new()),
        }
    }

    /// Waits as long as this client's recent failures ask for; returns at once otherwise.
    pub async fn before_attempt(&self, ip: IpAddr) {
        let delay = self.delay(ip);
        if !delay.is_zero() {
            tracing::debug!(%ip, ?delay, "slowing down a client with failed logins");
            tokio::time::sleep(delay).await;
        }
    }

    /// The delay [`LoginLimiter::before_attempt`] would sleep now.
    pub fn delay(&self, ip: IpAddr) -> Duration {
        let n = self.recent_failures(ip);
        if n == 0 {
            return Duration::ZERO;
        }
        let factor = 1u32.checked_shl(n.saturating_sub(1)).unwrap_or(u32::MAX);
        self.settings
            .base_delay
            .saturating_mul(factor)
            .min(self.settings.max_delay)
    }

    /// True when the client has `max_failures` recent failures: drop its connection.
    pub fn is_blocked(&self, ip: IpAddr) -> bool {
        self.settings.max_failures > 0 && self.recent_failures(ip) >= self.settings.max_failures
    }

    /// Remembers a failed authentication.
    pub fn record_failure(&self, ip: IpAddr) {
        let key = self.key(ip);
        let now = Instant::now();
        let cutoff = now.checked_sub(self.settings.window);
        // Enough history to reach the block threshold and the delay cap.
        let keep = (self.settings.max_failures as usize).max(32);
        self.with_state(|map| {
            if !map.contains_key(&key) && map.len() >= self.max_entries {
                self.make_room(map, cutoff);
            }
            let record = map.entry(key).or_default();
            record.forget_before(cutoff);
            record.failures.push_back(now);
            while record.failures.len() > keep {
                record.failures.pop_front();
            }
        });
    }

    /// Forgets the client's failures after a successful login.
    pub fn record_success(&self, ip: IpAddr) {
        let key = self.key(ip);
        self.with_state(|map| map.remove(&key));
    }

    /// Clients currently tracked (for metrics and tests).
    pub fn tracked(&self) -> usize {
        self.with_state(|map| map.len())
    }

    fn recent_failures(&self, ip: IpAddr) -> u32 {
        let key = self.key(ip);
        let cutoff = Instant::now().checked_sub(self.settings.window);
        self.with_state(|map| {
            let Some(record) = map.get_mut(&key) else {
                return 0;
            };
            record.forget_before(cutoff);
            if record.failures.is_empty() {
                map.remove(&key);
                return 0;
            }
            u32::try_from(record.failures.len()).unwrap_or(u32::MAX)
        })
    }

    /// Drops expired records, then, if still full, the one with the oldest last failure.
    fn make_room(&self, map: &mut HashMap<IpAddr, Record>, cutoff: Option<Instant>) {
        map.retain(|_, r| {
            r.forget_before(cutoff);
            !r.failures.is_empty()
        });
        if map.len() >= self.max_entries {
            let oldest = map
                .iter()
                .min_by_key(|(_, r)| r.failures.back().copied())
                .map(|(k, _)| *k);
            if let Some(key) = oldest {
                map.remove(&key);
            }
        }
    }

    fn with_state<T>(&self, f: impl FnOnce(&mut HashMap<IpAddr, Record>) -> T) -> T {
        // Every update leaves the map consistent, so a poisoned lock is still usable.
        f(&mut self.state.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// The client key: IPv4 as is (also when IPv4-mapped), IPv6 masked to the prefix.
    fn key(&self, ip: IpAddr) -> IpAddr {
        match ip {
            IpAddr::V4(_) => ip,
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => {
                    let bits = u128::from(v6);
                    let mask = u128::MAX
                        .checked_shl(128 - u32::from(self.ipv6_prefix))
                        .unwrap_or(0);
                    IpAddr::V6(Ipv6Addr::from(bits & mask))
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fast() -> LimiterSettings {
        LimiterSettings {
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(35),
            max_failures: 4,
            window: Duration::from_secs(60),
        }
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn delay_grows_caps_and_blocks() {
        let l = LoginLimiter::new(fast());
        let a = ip("192.0.2.1");
        assert_eq!(l.delay(a), Duration::ZERO);
        let mut seen = Vec::new();
        for _ in 0..4 {
            assert!(!l.is_blocked(a));
            l.record_failure(a);
            seen.push(l.delay(a).as_millis());
        }
        assert_eq!(seen, [10, 20, 35, 35]);
        assert!(l.is_blocked(a));
        // Another client is untouched.
        assert_eq!(l.delay(ip("192.0.2.2")), Duration::ZERO);
        assert!(!l.is_blocked(ip("192.0.2.2")));
        l.record_success(a);
        assert_eq!(l.delay(a), Duration::ZERO);
        assert!(!l.is_blocked(a));
    }

    #[tokio::test]
    async fn before_attempt_sleeps_and_failures_decay() {
        let l = LoginLimiter::new(LimiterSettings {
            window: Duration::from_millis(300),
            ..fast()
        });
        let a = ip("192.0.2.1");
        // No failures yet: no delay (asserted on the value, not on a clock).
        assert_eq!(l.delay(a), Duration::ZERO);
        l.before_attempt(a).await;
        l.record_failure(a);
        l.record_failure(a);
        let t = Instant::now();
        l.before_attempt(a).await;
        assert!(t.elapsed() >= Duration::from_millis(20));
        tokio::time::sleep(Duration::from_millis(310)).await;
        assert_eq!(l.delay(a), Duration::ZERO);
        assert_eq!(l.tracked(), 0);
    }

    #[test]
    fn ipv6_by_prefix_and_mapped_ipv4() {
        let l = LoginLimiter::new(fast());
        l.record_failure(ip("2001:db8:1:2::1"));
        assert!(l.delay(ip("2001:db8:1:2::ffff")) > Duration::ZERO);
        assert_eq!(l.delay(ip("2001:db8:1:3::1")), Duration::ZERO);
        l.record_failure(ip("::ffff:192.0.2.7"));
        assert!(l.delay(ip("192.0.2.7")) > Duration::ZERO);
        let exact = LoginLimiter::with_limits(fast(), 10, 128);
        exact.record_failure(ip("2001:db8::1"));
        assert_eq!(exact.delay(ip("2001:db8::2")), Duration::ZERO);
    }

    #[test]
    fn size_is_bounded() {
        let l = LoginLimiter::with_limits(fast(), 3, 64);
        for i in 1..=10u8 {
            l.record_failure(IpAddr::from([198, 51, 100, i]));
        }
        assert_eq!(l.tracked(), 3);
        // The newest survive.
        assert!(l.delay(IpAddr::from([198, 51, 100, 10])) > Duration::ZERO);
        assert_eq!(l.delay(IpAddr::from([198, 51, 100, 1])), Duration::ZERO);
    }
}
