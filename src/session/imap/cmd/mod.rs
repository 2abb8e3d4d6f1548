//! One file per command (or per pair of commands that are one operation
//! with a flag, like SELECT/EXAMINE), each an `impl ImapSession` block
//! citing the RFC section it implements.

mod append;
mod auth;
mod capability;
mod close;
mod compress;
mod copy;
mod create;
mod delete;
mod enable;
mod expunge;
pub mod fetch;
mod id;
mod list;
mod namespace;
mod noop;
mod notify;
mod quota;
mod rename;
pub mod search;
mod select;
mod sort;
mod status;
mod store;
mod subscribe;
mod thread;
