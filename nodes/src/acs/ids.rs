//! Ids that come from the client, made safe to keep (bounded length) and
//! to put into file names (no separators, no `.` or `..`).
//!
//! A long id is cut and given a hash of the whole, so two long ids that
//! share a prefix stay apart.

/// Longest participant id kept, in bytes (fits a stream id's 127 bytes).
pub const MAX_PARTICIPANT_ID: usize = 120;

/// Longest subscription id kept as the call's id, in bytes.
pub const MAX_CALL_ID: usize = 128;

/// Longest id used as a file name component, in bytes.
pub const MAX_FILE_ID: usize = 64;

/// Most bytes of client text echoed into an error or a log line.
pub const MAX_ECHO_BYTES: usize = 200;

/// The file name used for a call whose id is empty, `.` or `..`.
pub const FALLBACK_FILE_ID: &str = "call";

/// At most `max` bytes of `s`, cut at a character boundary.
pub fn cut(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Client text for an error message or a log line: at most
/// [`MAX_ECHO_BYTES`], with `…` when it was cut.
pub fn echo(s: &str) -> String {
    if s.len() <= MAX_ECHO_BYTES {
        return s.to_string();
    }
    format!("{}…", cut(s, MAX_ECHO_BYTES - '…'.len_utf8()))
}

/// `s` if it has at most `max` bytes; else its start and `~` with a
/// 64-bit hash of the whole in hex, `max` bytes at most (`max` >= 18).
pub fn bounded(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let tag = format!("~{:016x}", fnv1a(s.as_bytes()));
    format!("{}{tag}", cut(s, max - tag.len()))
}

/// A file name component for `id`: characters outside `A-Za-z0-9._-`
/// become `_`, an empty id, `.` or `..` becomes [`FALLBACK_FILE_ID`], and
/// a long one is cut and hashed to [`MAX_FILE_ID`] bytes.
pub fn file_safe(id: &str) -> String {
    let mapped: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if matches!(mapped.as_str(), "" | "." | "..") {
        return FALLBACK_FILE_ID.to_string();
    }
    bounded(&mapped, MAX_FILE_ID)
}

/// FNV-1a, 64 bits: stable across Rust versions and platforms, so a cut
/// id names the same file on every run.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_ids_pass_unchanged() {
        assert_eq!(bounded("8:acs:alice", MAX_PARTICIPANT_ID), "8:acs:alice");
        assert_eq!(file_safe("89e8cb59-b991.x_1"), "89e8cb59-b991.x_1");
    }

    #[test]
    fn long_ids_are_cut_and_keep_apart() {
        let a = format!("{}a", "x".repeat(1 << 20));
        let b = format!("{}b", "x".repeat(1 << 20));
        let (ca, cb) = (
            bounded(&a, MAX_PARTICIPANT_ID),
            bounded(&b, MAX_PARTICIPANT_ID),
        );
        assert_eq!(ca.len(), MAX_PARTICIPANT_ID);
        assert_ne!(ca, cb);
        assert_eq!(bounded(&a, MAX_PARTICIPANT_ID), ca, "stable");
        let multibyte = "é".repeat(200);
        assert!(bounded(&multibyte, 120).len() <= 120);
    }

    #[test]
    fn dot_ids_and_separators_never_leave_the_folder() {
        for id in ["", ".", ".."] {
            assert_eq!(file_safe(id), FALLBACK_FILE_ID);
        }
        assert_eq!(file_safe("../../etc"), ".._.._etc");
        assert_eq!(file_safe("a/b\\c"), "a_b_c");
        let long = file_safe(&"s".repeat(256));
        assert_eq!(long.len(), MAX_FILE_ID);
        assert_ne!(long, file_safe(&"s".repeat(255)));
    }

    #[test]
    fn echo_caps_client_text() {
        let e = echo(&"9".repeat(900 * 1024));
        assert!(e.len() <= MAX_ECHO_BYTES, "{}", e.len());
        assert!(e.ends_with('…'));
        assert_eq!(echo("short"), "short");
    }
}
