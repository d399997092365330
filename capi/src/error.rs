//! Errors at the boundary: each failing call leaves its code and message
//! in the calling thread's last-error slot, as `errno` and `dlerror` do,
//! and every body runs under `catch_unwind` so no panic crosses into C.

use crate::{SluiceStatus, SLUICE_ERR_BUSY, SLUICE_ERR_NULL, SLUICE_ERR_PANIC};
use std::borrow::Cow;
use std::cell::RefCell;
use std::ffi::{c_char, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// A failed call: its code and what to tell the caller.
#[derive(Debug)]
pub(crate) struct Fail {
    code: SluiceStatus,
    message: Cow<'static, CStr>,
}

impl Fail {
    /// A failure with a message made at the time (allocates: error paths
    /// only).
    pub(crate) fn new(code: SluiceStatus, message: impl Into<String>) -> Fail {
        let text = message.into().replace('\0', " ");
        let message = CString::new(text).unwrap_or_default();
        Fail {
            code,
            message: Cow::Owned(message),
        }
    }

    /// A failure with a fixed message (allocates nothing).
    pub(crate) const fn fixed(code: SluiceStatus, message: &'static CStr) -> Fail {
        Fail {
            code,
            message: Cow::Borrowed(message),
        }
    }

    /// The handle is in use on another thread.
    pub(crate) const fn busy() -> Fail {
        Fail::fixed(
            SLUICE_ERR_BUSY,
            c"the handle is in use on another thread; use each handle from one thread at a time",
        )
    }

    /// A NULL pointer where `what` was expected.
    pub(crate) fn null(what: &str) -> Fail {
        Fail::new(SLUICE_ERR_NULL, format!("`{what}` is NULL"))
    }

    /// Stores the failure as the calling thread's last error; returns its
    /// code.
    fn record(self) -> SluiceStatus {
        let code = self.code;
        // `try_with`: a call made while the thread's locals are torn down
        // still returns its code.
        let _ = LAST.try_with(|last| *last.borrow_mut() = (code, self.message));
        code
    }
}

thread_local! {
    /// The calling thread's last failure.
    static LAST: RefCell<(SluiceStatus, Cow<'static, CStr>)> =
        const { RefCell::new((0, Cow::Borrowed(c""))) };
}

/// Runs a call's body: its status, or its failure recorded, or a caught
/// panic turned into [`SLUICE_ERR_PANIC`].
pub(crate) fn guard(body: impl FnOnce() -> Result<SluiceStatus, Fail>) -> SluiceStatus {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(status)) => status,
        Ok(Err(fail)) => fail.record(),
        Err(_) => panicked().record(),
    }
}

/// As [`guard`], for calls that return a pointer: NULL on failure (the
/// code and message are the thread's last error) and `*status` set when
/// the caller gave somewhere to put it.
pub(crate) fn guard_ptr<T>(
    status: *mut SluiceStatus,
    body: impl FnOnce() -> Result<*mut T, Fail>,
) -> *mut T {
    let (ptr, code) = match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(ptr)) => (ptr, crate::SLUICE_OK),
        Ok(Err(fail)) => (std::ptr::null_mut(), fail.record()),
        Err(_) => (std::ptr::null_mut(), panicked().record()),
    };
    if !status.is_null() {
        // SAFETY: the caller passes NULL or a pointer to a writable
        // `SluiceStatus` (the header says so); NULL was ruled out above.
        unsafe { status.write(code) };
    }
    ptr
}

fn panicked() -> Fail {
    Fail::fixed(
        SLUICE_ERR_PANIC,
        c"Sluice panicked inside the call (a bug; it was caught at the boundary): stop and close the graph",
    )
}

/// The message of the last call on this thread that failed (an error
/// code below zero), such as the graph-language diagnostic with its line
/// and caret for [`crate::SLUICE_ERR_GRAPH`]. Empty if none has failed.
/// The text is UTF-8 and stays valid until the next failing call on this
/// thread; copy it to keep it. Calls that succeed leave it as it was.
#[no_mangle]
pub extern "C" fn sluice_error_message() -> *const c_char {
    LAST.try_with(|last| last.borrow().1.as_ptr())
        .unwrap_or(c"".as_ptr())
}

/// The code of the last call on this thread that failed, for the calls
/// that return a pointer (NULL on failure); 0 if none has failed.
#[no_mangle]
pub extern "C" fn sluice_last_error() -> SluiceStatus {
    LAST.try_with(|last| last.borrow().0).unwrap_or(0)
}
