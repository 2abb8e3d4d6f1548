//! App passwords: for mail programs that cannot do OAuth (docs/accounts.md).
//!
//! A password is 28 characters from a 32-letter alphabet without look-alikes
//! (140 bits), shown in groups of four: `k7mq-3xha-...`. People copy it, or
//! type it off a phone screen, so a login ignores case, dashes and spaces.
//!
//! Stored are only an Argon2id hash (RFC 9106; the parameters OWASP gives
//! for Argon2id, 19 MiB and two passes) and a 64-bit HMAC-SHA-256
//! fingerprint under the server's secret. A login computes one fingerprint
//! and runs Argon2id only for a stored password whose fingerprint matches:
//! a wrong password, or a token given as a password, costs one HMAC, not a
//! 19 MiB hash per stored app password. The fingerprint gives nothing to an
//! attacker who holds the store and its secret: the password has 140 bits.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use super::principal::Principal;
use super::validator::Purpose;
use crate::store::AppPasswordRecord;

/// The letters of an app password: no `i`, `l`, `o`, `1`.
const ALPHABET: &[u8; 32] = b"abcdefghjkmnpqrstuvwxyz023456789";

/// Letters in a password (5 bits each: 140 bits).
pub const LETTERS: usize = 28;

// At least 128 bits (docs/accounts.md).
const _: () = assert!(LETTERS * 5 >= 128);

/// Letters between two dashes when shown.
const GROUP: usize = 4;

/// Argon2id memory in KiB, passes and lanes (OWASP's first choice).
const ARGON2_MEMORY_KIB: u32 = 19 * 1024;
const ARGON2_PASSES: u32 = 2;
const ARGON2_LANES: u32 = 1;

/// The protocols an app password may log in to, as a bit set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Protocols(pub u8);

impl Protocols {
    /// IMAP.
    pub const IMAP: Protocols = Protocols(1);
    /// SMTP submission.
    pub const SMTP: Protocols = Protocols(2);
    /// POP3.
    pub const POP3: Protocols = Protocols(4);
    /// All three: the default.
    pub const ALL: Protocols = Protocols(7);

    /// Parses `imap,smtp,pop3` (any order, any subset, not empty).
    pub fn parse(text: &str) -> Result<Protocols, String> {
        let mut bits = 0;
        for name in text.split([',', ' ']).filter(|s| !s.is_empty()) {
            bits |= match name.to_ascii_lowercase().as_str() {
                "imap" => Self::IMAP.0,
                "smtp" | "submission" => Self::SMTP.0,
                "pop3" | "pop" => Self::POP3.0,
                other => return Err(format!("unknown protocol {other:?} (imap, smtp, pop3)")),
            };
        }
        if bits == 0 {
            return Err("no protocol given (imap, smtp, pop3)".into());
        }
        Ok(Protocols(bits))
    }

    /// Whether `other`'s protocols are all in this set.
    pub fn contains(self, other: Protocols) -> bool {
        self.0 & other.0 == other.0
    }

    /// The protocol a login for `purpose` needs.
    pub fn for_purpose(purpose: Purpose) -> Protocols {
        match purpose {
            Purpose::Imap => Self::IMAP,
            Purpose::Submission => Self::SMTP,
        }
    }

    /// The names, comma-separated: `imap,smtp`.
    pub fn names(self) -> String {
        [(Self::IMAP, "imap"), (Self::SMTP, "smtp"), (Self::POP3, "pop3")]
            .iter()
            .filter(|(p, _)| self.contains(*p))
            .map(|(_, n)| *n)
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// A new random password, shown form (`xxxx-xxxx-…`).
pub fn generate() -> Result<String, AppPasswordError> {
    let mut random = [0u8; LETTERS];
    aws_lc_rs::rand::fill(&mut random).map_err(|_| AppPasswordError::Random)?;
    let mut out = String::with_capacity(LETTERS + LETTERS / GROUP);
    for (i, b) in random.iter().enumerate() {
        if i > 0 && i % GROUP == 0 {
            out.push('-');
        }
        // 256 is a multiple of 32: every letter equally likely.
        out.push(ALPHABET[usize::from(*b) % ALPHABET.len()] as char);
    }
    Ok(out)
}

/// The letters of what a person typed: without dashes and spaces, lower
/// case. `None` when it cannot be an app password (a token, a typo).
pub fn normalize(typed: &[u8]) -> Option<String> {
    let mut out = String::with_capacity(LETTERS);
    for &b in typed {
        match b {
            b'-' | b' ' | b'\t' => {}
            _ => {
                let b = b.to_ascii_lowercase();
                if !ALPHABET.contains(&b) || out.len() == LETTERS {
                    return None;
                }
                out.push(b as char);
            }
        }
    }
    (out.len() == LETTERS).then_some(out)
}

/// The keyed fingerprint a login compares first.
pub fn fingerprint(secret: &[u8; 32], letters: &str) -> u64 {
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret);
    let tag = aws_lc_rs::hmac::sign(&key, letters.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&tag.as_ref()[..8]);
    u64::from_be_bytes(first)
}

fn argon2() -> Argon2<'static> {
    // Invariant: these constants are within Argon2's bounds.
    let params = Params::new(ARGON2_MEMORY_KIB, ARGON2_PASSES, ARGON2_LANES, None)
        .expect("valid Argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// The Argon2id hash of `letters`, PHC string form, with a fresh salt.
pub fn hash(letters: &str) -> Result<String, AppPasswordError> {
    let mut salt = [0u8; 16];
    aws_lc_rs::rand::fill(&mut salt).map_err(|_| AppPasswordError::Random)?;
    let salt = SaltString::encode_b64(&salt).map_err(|_| AppPasswordError::Random)?;
    argon2()
        .hash_password(letters.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AppPasswordError::Hash(e.to_string()))
}

/// Whether `letters` is the password of `stored` (a PHC string).
pub fn verify(stored: &str, letters: &str) -> bool {
    PasswordHash::new(stored)
        .is_ok_and(|h| argon2().verify_password(letters.as_bytes(), &h).is_ok())
}

/// Why an app password could not be made or checked.
#[derive(Debug, thiserror::Error)]
pub enum AppPasswordError {
    /// The system's random source failed.
    #[error("the system's random source failed")]
    Random,
    /// Argon2 refused (it does not for these parameters).
    #[error("hashing failed: {0}")]
    Hash(String),
}

/// Checks `typed` against an account's app passwords for a login to
/// `purpose` at `now`: the matching record's index and the login's
/// [`Principal`], or `None`. Runs at most one Argon2id hash unless two
/// stored fingerprints collide (chance 2^-64). Blocking: ~20 ms of CPU.
pub fn check(
    address: &str,
    records: &[AppPasswordRecord],
    secret: &[u8; 32],
    typed: &[u8],
    purpose: Purpose,
    now: i64,
) -> Option<(usize, Principal)> {
    let letters = normalize(typed)?;
    let print = fingerprint(secret, &letters);
    let needed = Protocols::for_purpose(purpose);
    records.iter().enumerate().find_map(|(i, r)| {
        let usable = r.fingerprint == print
            && Protocols(r.protocols).contains(needed)
            && r.expires.is_none_or(|e| now < e);
        (usable && verify(&r.hash, &letters)).then(|| {
            (
                i,
                Principal::app_password(
                    address.to_owned(),
                    r.id.clone(),
                    r.name.clone(),
                    r.expires,
                ),
            )
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(password: &str, secret: &[u8; 32], protocols: Protocols) -> AppPasswordRecord {
        let letters = normalize(password.as_bytes()).unwrap();
        AppPasswordRecord {
            id: "a1".into(),
            name: "Phone".into(),
            protocols: protocols.0,
            created: 0,
            expires: None,
            fingerprint: fingerprint(secret, &letters),
            hash: hash(&letters).unwrap(),
            last_used: None,
        }
    }

    #[test]
    fn generated_passwords_are_long_random_and_typeable() {
        let a = generate().unwrap();
        let b = generate().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), LETTERS + LETTERS / GROUP - 1);
        assert_eq!(a.split('-').count(), LETTERS / GROUP);
        let letters = normalize(a.as_bytes()).unwrap();
        assert_eq!(letters, a.replace('-', ""));
        // Typed in capitals with spaces instead of dashes.
        let typed = a.to_uppercase().replace('-', " ");
        assert_eq!(normalize(typed.as_bytes()), Some(letters));
    }

    #[test]
    fn tokens_and_typos_are_not_app_passwords() {
        assert_eq!(normalize(b"eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJ4In0.c2ln"), None);
        assert_eq!(normalize(b"short"), None);
        assert_eq!(normalize(&[b'a'; LETTERS + 1]), None);
        // `1` and `l` are not in the alphabet.
        assert_eq!(normalize(&[b'1'; LETTERS]), None);
    }

    #[test]
    fn check_accepts_the_password_for_its_protocols_only() {
        let secret = [7u8; 32];
        let pw = generate().unwrap();
        let recs = vec![record(&pw, &secret, Protocols::IMAP)];
        let (i, p) = check("a@x.test", &recs, &secret, pw.as_bytes(), Purpose::Imap, 1).unwrap();
        assert_eq!(i, 0);
        assert_eq!(p.address(), "a@x.test");
        assert!(matches!(p.credential(), crate::auth::Credential::AppPassword { id, .. } if id == "a1"));
        assert!(check("a@x.test", &recs, &secret, pw.as_bytes(), Purpose::Submission, 1).is_none());
        let other = generate().unwrap();
        assert!(check("a@x.test", &recs, &secret, other.as_bytes(), Purpose::Imap, 1).is_none());
        // Another server's secret: the fingerprint does not match.
        assert!(check("a@x.test", &recs, &[8u8; 32], pw.as_bytes(), Purpose::Imap, 1).is_none());
    }

    #[test]
    fn an_expired_password_is_refused() {
        let secret = [7u8; 32];
        let pw = generate().unwrap();
        let mut rec = record(&pw, &secret, Protocols::ALL);
        rec.expires = Some(100);
        let recs = vec![rec];
        assert!(check("a@x.test", &recs, &secret, pw.as_bytes(), Purpose::Imap, 99).is_some());
        assert!(check("a@x.test", &recs, &secret, pw.as_bytes(), Purpose::Imap, 100).is_none());
    }

    #[test]
    fn the_hash_is_argon2id_and_salted() {
        let a = hash("abcd").unwrap();
        let b = hash("abcd").unwrap();
        assert!(a.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{a}");
        assert_ne!(a, b);
        assert!(verify(&a, "abcd") && verify(&b, "abcd"));
        assert!(!verify(&a, "abce"));
    }

    #[test]
    fn protocols_parse_and_print() {
        assert_eq!(Protocols::parse("imap,smtp,pop3").unwrap(), Protocols::ALL);
        assert_eq!(Protocols::parse("SMTP").unwrap(), Protocols::SMTP);
        assert!(Protocols::parse("").is_err());
        assert!(Protocols::parse("imap,ftp").is_err());
        assert_eq!(Protocols(5).names(), "imap,pop3");
    }
}
