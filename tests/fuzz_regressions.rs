//! Replays every committed fuzz input through the same check the fuzzer
//! runs (`fuzz/checks/TARGET.rs`, shared with `fuzz/fuzz_targets/`), so a
//! bug a fuzz run found stays fixed without cargo-fuzz installed:
//!
//! - `fuzz/regressions/TARGET/`: inputs that once crashed or hung a target,
//!   each committed with its fix (fuzz/README.md says how);
//! - `fuzz/seeds/TARGET/`: the valid-shaped inputs fuzz runs start from.
//!
//! Every target must have at least one committed input.

// Each whole-session check includes `fuzz/checks/world.rs` itself, so that
// it also builds alone as its fuzz target; here that module appears twice.
#![allow(clippy::duplicate_mod)]

use std::path::Path;

#[path = "../fuzz/checks/config.rs"]
mod config;
#[path = "../fuzz/checks/deflate.rs"]
mod deflate;
#[path = "../fuzz/checks/imap_command.rs"]
mod imap_command;
#[path = "../fuzz/checks/imap_session.rs"]
mod imap_session;
#[path = "../fuzz/checks/jwks.rs"]
mod jwks;
#[path = "../fuzz/checks/mailbox_name.rs"]
mod mailbox_name;
#[path = "../fuzz/checks/message_index.rs"]
mod message_index;
#[path = "../fuzz/checks/message_summary.rs"]
mod message_summary;
#[path = "../fuzz/checks/sasl.rs"]
mod sasl;
#[path = "../fuzz/checks/smtp_command.rs"]
mod smtp_command;
#[path = "../fuzz/checks/smtp_session.rs"]
mod smtp_session;
#[path = "../fuzz/checks/token.rs"]
mod token;
#[path = "../fuzz/checks/web_input.rs"]
mod web_input;

fn replay(target: &str, check: fn(&[u8])) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut count = 0;
    for dir in ["regressions", "seeds"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir).join(target)) else {
            continue;
        };
        let mut paths: Vec<_> = entries.map(|e| e.unwrap().path()).collect();
        paths.sort();
        for path in paths {
            let data = std::fs::read(&path).unwrap();
            // A failing input names itself before the check's own panic.
            eprintln!("{}", path.display());
            check(&data);
            count += 1;
        }
    }
    assert!(count > 0, "no committed inputs for fuzz target {target}");
}

#[test]
fn config_inputs() {
    replay("config", config::check);
}

#[test]
fn deflate_inputs() {
    replay("deflate", deflate::check);
}

#[test]
fn imap_command_inputs() {
    replay("imap_command", imap_command::check);
}

#[test]
fn imap_session_inputs() {
    replay("imap_session", imap_session::check);
}

#[test]
fn jwks_inputs() {
    replay("jwks", jwks::check);
}

#[test]
fn mailbox_name_inputs() {
    replay("mailbox_name", mailbox_name::check);
}

#[test]
fn message_index_inputs() {
    replay("message_index", message_index::check);
}

#[test]
fn message_summary_inputs() {
    replay("message_summary", message_summary::check);
}

#[test]
fn sasl_inputs() {
    replay("sasl", sasl::check);
}

#[test]
fn smtp_command_inputs() {
    replay("smtp_command", smtp_command::check);
}

#[test]
fn smtp_session_inputs() {
    replay("smtp_session", smtp_session::check);
}

#[test]
fn token_inputs() {
    replay("token", token::check);
}

#[test]
fn web_input_inputs() {
    replay("web_input", web_input::check);
}
