//! Human-readable numbers for the terminal.

/// Bytes in binary units: `512 B`, `1.5 KiB`, `20.0 GiB`.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// A change in bytes with its sign: `+1.5 KiB`, `-512 B`, `0 B`.
pub fn signed_bytes(n: i64) -> String {
    let sign = match n.signum() {
        1 => "+",
        -1 => "-",
        _ => "",
    };
    format!("{sign}{}", bytes(n.unsigned_abs()))
}

/// A span of seconds in the two largest units: `3d 4h`, `5h 0m`, `42s`.
pub fn duration(secs: i64) -> String {
    let (d, h, m, s) = (
        secs / 86_400,
        secs % 86_400 / 3600,
        secs % 3600 / 60,
        secs % 60,
    );
    match (d, h, m) {
        (0, 0, 0) => format!("{s}s"),
        (0, 0, _) => format!("{m}m {s}s"),
        (0, _, _) => format!("{h}h {m}m"),
        _ => format!("{d}d {h}h"),
    }
}

/// Unix seconds as a UTC date and time, `2024-05-01 12:00:00 UTC`.
pub fn unix_time(secs: i64) -> String {
    let (date, rem) = civil(secs);
    format!(
        "{date} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Unix milliseconds as Python's `datetime.isoformat()` prints a UTC time with
/// microseconds, `2024-05-01T12:00:00.123000`: redis-rdb-tools' `expiry` column.
pub fn iso_millis(ms: i64) -> String {
    let (date, rem) = civil(ms.div_euclid(1000));
    format!(
        "{date}T{:02}:{:02}:{:02}.{:06}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        ms.rem_euclid(1000) * 1000
    )
}

/// The UTC date (`YYYY-MM-DD`) of Unix seconds, and the seconds into that day.
fn civil(secs: i64) -> (String, i64) {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (format!("{year:04}-{month:02}-{day:02}"), rem)
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats() {
        assert_eq!(super::bytes(512), "512 B");
        assert_eq!(super::bytes(1536), "1.5 KiB");
        assert_eq!(super::bytes(20 << 30), "20.0 GiB");
        assert_eq!(super::unix_time(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(super::unix_time(1_700_000_000), "2023-11-14 22:13:20 UTC");
        assert_eq!(super::unix_time(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(
            super::iso_millis(1_700_000_000_123),
            "2023-11-14T22:13:20.123000"
        );
        assert_eq!(super::iso_millis(0), "1970-01-01T00:00:00.000000");
        assert_eq!(super::signed_bytes(1536), "+1.5 KiB");
        assert_eq!(super::signed_bytes(-512), "-512 B");
        assert_eq!(super::signed_bytes(0), "0 B");
        assert_eq!(super::duration(42), "42s");
        assert_eq!(super::duration(3 * 86_400 + 4 * 3600 + 59), "3d 4h");
        assert_eq!(super::duration(5 * 3600), "5h 0m");
    }
}
