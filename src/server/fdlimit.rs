//! The open-file limit: every connection is a descriptor, so at start the
//! server raises its soft `RLIMIT_NOFILE` to the hard limit (what an
//! unprivileged process may do, POSIX `setrlimit`) and says in the log how
//! many connections that lets it hold.

/// Descriptors kept for everything but client connections: the database,
/// message files being read or written, listeners, the issuer's fetches.
pub const RESERVED: u64 = 256;

/// Raises the soft limit to the hard one; returns the limit in force
/// afterwards, or `None` where it cannot be read.
pub fn raise() -> Option<u64> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit only writes the struct it is given.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return None;
    }
    if lim.rlim_cur < lim.rlim_max {
        let raised = libc::rlimit {
            rlim_cur: lim.rlim_max,
            rlim_max: lim.rlim_max,
        };
        // SAFETY: setrlimit reads the struct; raising the soft limit up to
        // the hard one is always allowed.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            lim = raised;
        }
    }
    // `rlim_t` is u64 on Linux but not on every platform.
    #[allow(clippy::unnecessary_cast)]
    Some(lim.rlim_cur as u64)
}

/// How many client connections `nofile` descriptors leave room for.
pub fn connections_for(nofile: u64) -> u64 {
    nofile.saturating_sub(RESERVED)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raises_to_the_hard_limit() {
        let now = raise().expect("RLIMIT_NOFILE is readable");
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: as above.
        assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) }, 0);
        assert_eq!(lim.rlim_cur, lim.rlim_max);
        #[allow(clippy::unnecessary_cast)]
        let cur = lim.rlim_cur as u64;
        assert_eq!(now, cur);
        assert_eq!(connections_for(1024), 768);
        assert_eq!(connections_for(100), 0);
    }
}
