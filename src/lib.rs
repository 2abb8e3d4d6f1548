//! tokenmail: an IMAP and SMTP submission server whose users sign in with
//! their identity provider's OAuth 2.0 access tokens.
//!
//! Layers, each speaking only to its neighbours:
//! - [`proto`]: pure codecs (IMAP, SMTP, SASL), no I/O;
//! - [`session`]: I/O-free protocol state machines;
//! - [`server`]: listeners, TLS, connection drivers, shutdown;
//! - [`auth`]: token validation, the [`auth::Principal`] only it can make;
//! - [`store`]: sled storage behind the [`store::MailStore`] trait;
//! - [`message`]: the one parse of a message, at delivery.

pub mod account;
pub mod auth;
pub mod config;
pub mod dev;
pub mod message;
pub mod metrics;
pub mod proto;
pub mod server;
pub mod session;
pub mod store;
pub mod time;
pub mod web;
