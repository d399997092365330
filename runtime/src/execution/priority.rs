//! Real-time scheduling for the audio domain's thread, as PipeWire and
//! JACK do it: the thread asks the kernel for `SCHED_FIFO` at a modest
//! priority, so a busy machine's other work cannot delay its ticks. It
//! asks directly (`pthread_setschedparam`), which works for root, for a
//! process with `CAP_SYS_NICE`, and for a user whose `RLIMIT_RTPRIO`
//! allows the priority (PAM's `limits.conf`, the `audio` group on most
//! distributions). Refused, the thread runs on at normal priority and the
//! run reports it; nothing fails. Asking rtkit over D-Bus (what desktop
//! sessions without such a limit offer) is not done.
//!
//! `SCHED_RESET_ON_FORK` goes with it, so a program started from the
//! thread does not inherit real-time scheduling.

use std::fmt;

/// The scheduling a real-time domain's thread runs under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheduling {
    /// The normal time-sharing policy, as asked (or nothing asked).
    Normal,
    /// `SCHED_FIFO` at this priority, granted.
    Fifo(u8),
    /// `SCHED_FIFO` at `priority` was refused with the OS error `errno`
    /// (0: not available on this platform); the thread runs at normal
    /// priority.
    Refused {
        /// The priority asked for.
        priority: u8,
        /// Why, as an OS error number.
        errno: i32,
    },
}

impl fmt::Display for Scheduling {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Scheduling::Normal => f.write_str("normal priority"),
            Scheduling::Fifo(p) => write!(f, "SCHED_FIFO {p}"),
            Scheduling::Refused { priority, errno: 0 } => write!(
                f,
                "normal priority (SCHED_FIFO {priority}: not available on this platform)"
            ),
            Scheduling::Refused { priority, errno } => write!(
                f,
                "normal priority (SCHED_FIFO {priority} refused: {})",
                std::io::Error::from_raw_os_error(errno)
            ),
        }
    }
}

impl Scheduling {
    const FIFO: u64 = 1 << 48;
    const REFUSED: u64 = 2 << 48;

    /// Packed into one word, for a stats atomic (0 is `Normal`).
    pub(crate) fn pack(self) -> u64 {
        match self {
            Scheduling::Normal => 0,
            Scheduling::Fifo(p) => Self::FIFO | u64::from(p),
            Scheduling::Refused { priority, errno } => {
                Self::REFUSED | (u64::from(errno as u32) << 8) | u64::from(priority)
            }
        }
    }

    /// The inverse of [`Scheduling::pack`].
    pub(crate) fn unpack(w: u64) -> Scheduling {
        let priority = (w & 0xff) as u8;
        match w & (3 << 48) {
            Self::FIFO => Scheduling::Fifo(priority),
            Self::REFUSED => Scheduling::Refused {
                priority,
                errno: ((w >> 8) & 0xffff_ffff) as u32 as i32,
            },
            _ => Scheduling::Normal,
        }
    }
}

/// Asks for `SCHED_FIFO` at `priority` for the calling thread; says what
/// it got. One system call; no allocation.
pub(crate) fn request_fifo(priority: u8) -> Scheduling {
    #[cfg(all(target_os = "linux", not(miri)))]
    {
        let param = libc::sched_param {
            sched_priority: i32::from(priority),
        };
        // SAFETY: `pthread_self` is always a valid handle for the calling
        // thread, and `param` is a valid `sched_param` that outlives the
        // call, which only reads it.
        let rc = unsafe {
            libc::pthread_setschedparam(
                libc::pthread_self(),
                libc::SCHED_FIFO | libc::SCHED_RESET_ON_FORK,
                &param,
            )
        };
        if rc == 0 {
            Scheduling::Fifo(priority)
        } else {
            Scheduling::Refused {
                priority,
                errno: rc,
            }
        }
    }
    #[cfg(not(all(target_os = "linux", not(miri))))]
    {
        Scheduling::Refused { priority, errno: 0 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The calling thread's scheduling policy and priority, as the kernel
    /// sees it (tests check what a request did).
    #[cfg(all(target_os = "linux", not(miri)))]
    fn current() -> (i32, i32) {
        let mut policy = 0;
        let mut param = libc::sched_param { sched_priority: 0 };
        // SAFETY: both pointers are to valid, writable locals for the call.
        unsafe { libc::pthread_getschedparam(libc::pthread_self(), &mut policy, &mut param) };
        (policy & !libc::SCHED_RESET_ON_FORK, param.sched_priority)
    }

    #[test]
    fn packing_round_trips() {
        for s in [
            Scheduling::Normal,
            Scheduling::Fifo(10),
            Scheduling::Refused {
                priority: 99,
                errno: 1,
            },
            Scheduling::Refused {
                priority: 10,
                errno: 0,
            },
        ] {
            assert_eq!(Scheduling::unpack(s.pack()), s);
        }
    }

    #[test]
    fn a_refusal_says_why() {
        let s = Scheduling::Refused {
            priority: 10,
            errno: 1,
        };
        let text = s.to_string();
        assert!(
            text.starts_with("normal priority (SCHED_FIFO 10 refused: ")
                && text.contains("os error 1"),
            "{text}"
        );
    }

    #[test]
    #[cfg(all(target_os = "linux", not(miri)))]
    fn an_impossible_priority_is_refused_and_the_thread_stays_normal() {
        // Priorities stop at 99 even for root: the real call refuses.
        let (s, now) = std::thread::spawn(|| (request_fifo(200), current()))
            .join()
            .unwrap();
        assert_eq!(
            s,
            Scheduling::Refused {
                priority: 200,
                errno: libc::EINVAL
            }
        );
        assert_eq!(now, (libc::SCHED_OTHER, 0));
    }

    #[test]
    #[cfg(all(target_os = "linux", not(miri)))]
    fn a_grant_is_what_the_kernel_applied() {
        let (s, now) = std::thread::spawn(|| (request_fifo(10), current()))
            .join()
            .unwrap();
        match s {
            Scheduling::Fifo(10) => assert_eq!(now, (libc::SCHED_FIFO, 10)),
            // Not root and no RLIMIT_RTPRIO: refused, and nothing changed.
            Scheduling::Refused { errno, .. } => {
                assert_eq!(errno, libc::EPERM);
                assert_eq!(now, (libc::SCHED_OTHER, 0));
            }
            other => panic!("{other:?}"),
        }
    }
}
