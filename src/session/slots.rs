//! [`Slots`]: how many connections each client address, and how many
//! logged-in sessions each account, hold at once, against
//! `[limits] max_connections_per_ip` and `max_connections_per_account`.
//! One address cannot take every connection the server has, and one
//! account (or a stolen token) cannot open thousands of sessions.
//!
//! A slot is a guard: it is given back when dropped, however the
//! connection ends.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use crate::store::AccountId;

/// Counters of connections per key, each capped.
#[derive(Debug)]
struct Counts<K> {
    max: usize,
    held: Mutex<HashMap<K, usize>>,
}

impl<K: Hash + Eq + Copy> Counts<K> {
    fn new(max: usize) -> Self {
        Counts {
            max,
            held: Mutex::new(HashMap::new()),
        }
    }

    fn take(&self, key: K) -> bool {
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        let n = held.entry(key).or_insert(0);
        if *n >= self.max {
            return false;
        }
        *n += 1;
        true
    }

    fn give_back(&self, key: K) {
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = held.get_mut(&key) {
            *n -= 1;
            if *n == 0 {
                held.remove(&key);
            }
        }
    }

    fn held(&self, key: K) -> usize {
        let held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        held.get(&key).copied().unwrap_or(0)
    }
}

/// The per-address and per-account connection counts of one server.
#[derive(Debug)]
pub struct Slots {
    ips: Counts<IpAddr>,
    accounts: Counts<AccountId>,
}

/// One connection from an address; given back on drop.
#[derive(Debug)]
pub struct IpSlot {
    slots: Arc<Slots>,
    ip: IpAddr,
}

/// One logged-in session of an account; given back on drop.
#[derive(Debug)]
pub struct AccountSlot {
    slots: Arc<Slots>,
    account: AccountId,
}

impl Slots {
    /// Counters with these caps.
    pub fn new(per_ip: usize, per_account: usize) -> Arc<Slots> {
        Arc::new(Slots {
            ips: Counts::new(per_ip),
            accounts: Counts::new(per_account),
        })
    }

    /// A slot for a new connection from `ip`, unless it already holds the
    /// most it may. IPv6 addresses count per /64: one host usually has a
    /// whole /64 to pick addresses from.
    pub fn connect(self: &Arc<Self>, ip: IpAddr) -> Option<IpSlot> {
        let ip = per_host(ip);
        self.ips.take(ip).then(|| IpSlot {
            slots: self.clone(),
            ip,
        })
    }

    /// A slot for a new logged-in session of `account`, unless it already
    /// has the most it may.
    pub fn login(self: &Arc<Self>, account: AccountId) -> Option<AccountSlot> {
        self.accounts.take(account).then(|| AccountSlot {
            slots: self.clone(),
            account,
        })
    }

    /// How many sessions of `account` are logged in.
    pub fn sessions_of(&self, account: AccountId) -> usize {
        self.accounts.held(account)
    }
}

impl Drop for IpSlot {
    fn drop(&mut self) {
        self.slots.ips.give_back(self.ip);
    }
}

impl Drop for AccountSlot {
    fn drop(&mut self) {
        self.slots.accounts.give_back(self.account);
    }
}

/// The address that stands for one client: IPv4 as is (and IPv4-mapped
/// IPv6 as IPv4), IPv6 cut to its /64.
pub(crate) fn per_host(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let mut seg = v6.segments();
                seg[4..].fill(0);
                IpAddr::V6(seg.into())
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_and_gives_back() {
        let slots = Slots::new(2, 1);
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let a = slots.connect(ip).unwrap();
        let b = slots.connect(ip).unwrap();
        assert!(slots.connect(ip).is_none());
        assert!(slots.connect("192.0.2.2".parse().unwrap()).is_some());
        drop(a);
        let _c = slots.connect(ip).unwrap();
        drop(b);
        let acct = AccountId(7);
        let s = slots.login(acct).unwrap();
        assert!(slots.login(acct).is_none());
        assert_eq!(slots.sessions_of(acct), 1);
        drop(s);
        assert_eq!(slots.sessions_of(acct), 0);
        assert!(slots.login(acct).is_some());
        assert!(slots.accounts.held.lock().unwrap().is_empty());
    }

    #[test]
    fn ipv6_counts_per_64() {
        let slots = Slots::new(1, 1);
        let _a = slots.connect("2001:db8:1:2::1".parse().unwrap()).unwrap();
        assert!(
            slots
                .connect("2001:db8:1:2:ffff::9".parse().unwrap())
                .is_none()
        );
        assert!(slots.connect("2001:db8:1:3::1".parse().unwrap()).is_some());
        let _m = slots.connect("::ffff:192.0.2.9".parse().unwrap()).unwrap();
        assert!(slots.connect("192.0.2.9".parse().unwrap()).is_none());
    }
}
