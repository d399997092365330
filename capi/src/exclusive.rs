//! A value one thread at a time may use, guarded by an atomic flag that a
//! second thread finds taken and gives up on ([`crate::SLUICE_ERR_BUSY`])
//! instead of waiting: a C caller that uses one handle from two threads at
//! once gets an error code, not a data race.

use crate::error::Fail;
use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicBool, Ordering};

/// `T` behind a try-lock.
#[derive(Debug)]
pub(crate) struct Exclusive<T> {
    busy: AtomicBool,
    cell: UnsafeCell<T>,
}

// SAFETY: the cell is reached only through `try_with`, which hands out
// `&mut T` to one thread at a time (the flag's compare-exchange), so
// sharing the wrapper between threads only ever moves `T`'s use from one
// thread to another: `T: Send` is what that needs.
unsafe impl<T: Send> Sync for Exclusive<T> {}

/// Clears the flag when dropped, also when the body panics.
struct Unlock<'a>(&'a AtomicBool);

impl Drop for Unlock<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

impl<T> Exclusive<T> {
    pub(crate) fn new(value: T) -> Exclusive<T> {
        Exclusive {
            busy: AtomicBool::new(false),
            cell: UnsafeCell::new(value),
        }
    }

    /// Runs `f` on the value if no other thread is using it; else fails
    /// with [`Fail::busy`] at once. Wait-free, allocates nothing.
    pub(crate) fn try_with<R>(&self, f: impl FnOnce(&mut T) -> R) -> Result<R, Fail> {
        if self
            .busy
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            return Err(Fail::busy());
        }
        let _unlock = Unlock(&self.busy);
        // SAFETY: the flag went from false to true in this call, so no
        // other `&mut T` exists until `_unlock` clears it after `f`
        // returns (the Acquire above and the Release in `Unlock` order
        // the previous holder's writes before ours).
        let value = unsafe { &mut *self.cell.get() };
        Ok(f(value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_user_at_the_same_time_is_refused_not_waited_for() {
        let e = Exclusive::new(1);
        let refused = e.try_with(|v| {
            *v += 1;
            e.try_with(|_| ()).is_err()
        });
        assert_eq!(refused.ok(), Some(true));
        assert_eq!(e.try_with(|v| *v).ok(), Some(2), "free again afterwards");
    }

    #[test]
    fn a_panic_inside_frees_the_handle() {
        let e = Exclusive::new(0);
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            e.try_with(|_| panic!("inside"))
        }));
        assert!(caught.is_err());
        assert_eq!(e.try_with(|v| *v).ok(), Some(0));
    }
}
