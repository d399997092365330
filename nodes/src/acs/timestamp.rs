//! ISO 8601 timestamps as the platform writes them
//! (`2024-05-21T10:11:12.3456789Z`, `...+02:00`), parsed by hand into
//! microseconds since the Unix epoch so chunks can be put in order.

/// Microseconds since 1970-01-01T00:00:00Z.
pub type Micros = i64;

/// Parses `YYYY-MM-DDTHH:MM:SS[.fraction][Z|+HH:MM|-HH:MM]` (a space may
/// stand for `T`; no zone means UTC). `None` for anything else.
pub fn parse_iso8601(s: &str) -> Option<Micros> {
    let b = s.as_bytes();
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let year = digits(&b[0..4])?;
    let month = digits(&b[5..7])?;
    let day = digits(&b[8..10])?;
    let (hour, min, sec) = (
        digits(&b[11..13])?,
        digits(&b[14..16])?,
        digits(&b[17..19])?,
    );
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    if hour > 23 || min > 59 || sec > 60 {
        return None;
    }
    let mut rest = &b[19..];
    let mut micros = 0i64;
    if let Some((&b'.', frac)) = rest.split_first() {
        let n = frac.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 {
            return None;
        }
        for (i, &c) in frac[..n].iter().enumerate() {
            if i < 6 {
                micros = micros * 10 + i64::from(c - b'0');
            }
        }
        for _ in n..6 {
            micros *= 10;
        }
        rest = &frac[n..];
    }
    let offset_s = match rest {
        [] | [b'Z'] | [b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let h = digits(&[*h1, *h2])?;
            let m = digits(&[*m1, *m2])?;
            if h > 23 || m > 59 {
                return None;
            }
            let off = (h * 3600 + m * 60) as i64;
            if *sign == b'+' {
                off
            } else {
                -off
            }
        }
        _ => return None,
    };
    let days = days_from_civil(year as i64, month, day);
    let secs = days * 86_400 + (hour * 3600 + min * 60 + sec) as i64 - offset_s;
    Some(secs * 1_000_000 + micros)
}

fn digits(b: &[u8]) -> Option<u32> {
    b.iter().try_fold(0u32, |acc, &c| {
        c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
    })
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_and_known_dates() {
        assert_eq!(parse_iso8601("1970-01-01T00:00:00Z"), Some(0));
        // 2024-05-21T10:11:12Z is 1716286272 (date -u -d ... +%s).
        assert_eq!(
            parse_iso8601("2024-05-21T10:11:12Z"),
            Some(1_716_286_272_000_000)
        );
        assert_eq!(
            parse_iso8601("2024-02-29T00:00:00.5Z"),
            Some(1_709_164_800_500_000)
        );
    }

    #[test]
    fn fractions_and_offsets() {
        let base = parse_iso8601("2024-05-21T10:11:12Z").unwrap();
        assert_eq!(
            parse_iso8601("2024-05-21T10:11:12.3456789Z"),
            Some(base + 345_678)
        );
        assert_eq!(parse_iso8601("2024-05-21T12:11:12+02:00"), Some(base));
        assert_eq!(parse_iso8601("2024-05-21T09:41:12-00:30"), Some(base));
        assert_eq!(parse_iso8601("2024-05-21 10:11:12"), Some(base));
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "",
            "yesterday",
            "2024-13-01T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "2024-05-21T24:00:00Z",
            "2024-05-21T10:11:12.Z",
            "2024-05-21T10:11:12+2:00",
            "2024-05-21T10:11:12Zjunk",
            "２０２４-05-21T10:11:12Z",
        ] {
            assert_eq!(parse_iso8601(bad), None, "{bad}");
        }
    }
}
