//! Panic containment for one connection (issue "one session never harms
//! another"): a panic while polling a connection's future ends that
//! connection only. The future is dropped where it stopped, so everything
//! it owns is released by its destructors: the socket closes, the
//! connection's slot (per address, per account) and its place under
//! `max_connections` are given back. The panic is logged as an error with
//! the connection's peer, and the server goes on.
//!
//! tokio would contain it as well (a spawned task's panic ends that task),
//! but silently, and only if the task is not awaited by someone who
//! unwraps; doing it here makes the guarantee explicit and testable, and
//! costs no extra task per connection.

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::task::{Context, Poll};

/// How a contained future ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Ended {
    /// It completed.
    Completed,
    /// It panicked; the panic's message.
    Panicked(String),
}

/// Polls `inner`, turning a panic into [`Ended::Panicked`].
pub struct Contained<F> {
    inner: Option<Pin<Box<F>>>,
}

/// Wraps a connection's future; see the module documentation.
pub fn contain<F: Future<Output = ()>>(inner: F) -> Contained<F> {
    Contained {
        inner: Some(Box::pin(inner)),
    }
}

impl<F: Future<Output = ()>> Future for Contained<F> {
    type Output = Ended;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Ended> {
        let Some(inner) = self.inner.as_mut() else {
            return Poll::Ready(Ended::Completed);
        };
        // AssertUnwindSafe: after a panic the future is never polled again
        // (it is dropped just below), so no broken invariant inside it can
        // be observed.
        match catch_unwind(AssertUnwindSafe(|| inner.as_mut().poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(())) => {
                self.inner = None;
                Poll::Ready(Ended::Completed)
            }
            Err(payload) => {
                // Dropping the future may itself panic (a destructor): that
                // is contained too, and the first message is what counts.
                let inner = self.inner.take();
                let _ = catch_unwind(AssertUnwindSafe(move || drop(inner)));
                Poll::Ready(Ended::Panicked(message(payload.as_ref())))
            }
        }
    }
}

/// The text of a panic payload (`panic!("...")` gives `&str` or `String`).
fn message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(no message)".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::IpAddr;
    use std::sync::Arc;
    use tokio::sync::Semaphore;

    use crate::session::slots::Slots;

    /// A panic in one connection's future gives back its address slot and its
    /// place under max_connections, and leaves the other connections running.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_panic_ends_one_connection_and_releases_what_it_held() {
        // Silence the default hook's report of the deliberate panics.
        let hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let slots = Slots::new(2, 2);
        let limit = Arc::new(Semaphore::new(3));
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        let (release_tx, release_rx) = tokio::sync::oneshot::channel::<()>();

        // A healthy connection that stays open until told to finish.
        let permit = limit.clone().acquire_owned().await.unwrap();
        let slot = slots.connect(ip).unwrap();
        let healthy = tokio::spawn(contain(async move {
            let _held = (permit, slot);
            release_rx.await.unwrap();
        }));

        // Ten connections that panic mid-session, one after another: with
        // two slots per address, each would be refused if a panicked one
        // kept its slot.
        for n in 0..10 {
            let permit = limit.clone().acquire_owned().await.unwrap();
            let slot = slots
                .connect(ip)
                .unwrap_or_else(|| panic!("slot {n} not released"));
            let ended = tokio::spawn(contain(async move {
                let _held = (permit, slot);
                tokio::task::yield_now().await;
                panic!("session bug {n}");
            }))
            .await
            .expect("the task itself must not fail");
            assert_eq!(ended, Ended::Panicked(format!("session bug {n}")));
        }
        assert_eq!(limit.available_permits(), 2);

        release_tx.send(()).unwrap();
        assert_eq!(healthy.await.unwrap(), Ended::Completed);
        assert_eq!(limit.available_permits(), 3);
        std::panic::set_hook(hook);
    }
}
