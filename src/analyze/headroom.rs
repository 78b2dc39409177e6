//! Memory headroom: how far the keys are from `maxmemory`, and when they reach it if they
//! keep growing linearly at the rate measured between two snapshots.

use serde::{Deserialize, Serialize};

/// How fast memory grew between two snapshots.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Growth {
    /// `bytes` more (or fewer) over `seconds` between the snapshots' `ctime`.
    Measured {
        seconds: i64,
        bytes: i64,
        bytes_per_day: f64,
    },
    /// No rate: a snapshot has no `ctime`, or they were taken at the same second or in the
    /// wrong order.
    Unknown { reason: String },
}

impl Growth {
    /// The rate between snapshots taken at `old` and `new` (unix seconds), `bytes` apart.
    pub fn between(old: Option<i64>, new: Option<i64>, bytes: i64) -> Growth {
        let unknown = |reason: &str| Growth::Unknown {
            reason: reason.into(),
        };
        match (old, new) {
            (Some(old), Some(new)) if new > old => Growth::Measured {
                seconds: new - old,
                bytes,
                bytes_per_day: bytes as f64 * 86_400.0 / (new - old) as f64,
            },
            (Some(old), Some(new)) if new == old => {
                unknown("both snapshots have the same ctime: no time passed between them")
            }
            (Some(_), Some(_)) => unknown("NEW's ctime is before OLD's"),
            _ => unknown("a snapshot has no ctime"),
        }
    }
}

/// When memory reaches `maxmemory`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunsOut {
    /// At `runs_out_at`, growing as measured.
    At,
    NotGrowing,
    /// The keys already need `maxmemory` or more.
    AlreadyFull,
    /// No growth rate could be measured.
    UnknownRate,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Headroom {
    pub maxmemory: u64,
    /// What the keys cost now (memory plus overhead).
    pub used_bytes: u64,
    /// `maxmemory - used_bytes`; negative when over.
    pub free_bytes: i64,
    pub runs_out: RunsOut,
    /// Unix seconds, with `runs_out: at`.
    pub runs_out_at: Option<i64>,
}

impl Headroom {
    /// The headroom at snapshot time `now` (unix seconds, the newer snapshot's `ctime`).
    pub fn new(maxmemory: u64, used_bytes: u64, now: Option<i64>, growth: &Growth) -> Headroom {
        let free = i128::from(maxmemory) - i128::from(used_bytes);
        let (runs_out, runs_out_at) = match growth {
            _ if free <= 0 => (RunsOut::AlreadyFull, None),
            Growth::Measured { seconds, bytes, .. } if *bytes > 0 => {
                // Integer arithmetic: the date is exact, not subject to float rounding.
                let left = free * i128::from(*seconds) / i128::from(*bytes);
                let at = now.and_then(|now| i64::try_from(i128::from(now) + left).ok());
                (RunsOut::At, at)
            }
            Growth::Measured { .. } => (RunsOut::NotGrowing, None),
            Growth::Unknown { .. } => (RunsOut::UnknownRate, None),
        };
        Headroom {
            maxmemory,
            used_bytes,
            free_bytes: free.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64,
            runs_out,
            runs_out_at,
        }
    }
}

/// A memory size as redis.conf writes it: bytes, or a number with `k`/`m`/`g` (powers of
/// 1000) or `kb`/`mb`/`gb` (powers of 1024), in any case.
pub fn parse_memory_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let lower = text.to_ascii_lowercase();
    let split = lower
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(lower.len());
    let (digits, unit) = lower.split_at(split);
    let multiplier: u64 = match unit {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1 << 10,
        "m" => 1000 * 1000,
        "mb" => 1 << 20,
        "g" => 1000 * 1000 * 1000,
        "gb" => 1 << 30,
        _ => {
            return Err(format!(
                "{text:?} is not a memory size (like 4gb, 512mb, 1000000)"
            ));
        }
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(multiplier))
        .ok_or_else(|| format!("{text:?} is not a memory size (like 4gb, 512mb, 1000000)"))
}

/// The `maxmemory` a redis.conf sets: its last `maxmemory` line, as the server reads them
/// (later lines win). Other directives, `include`s among them, are not read.
pub fn maxmemory_from_config(text: &str) -> Result<Option<u64>, String> {
    let mut found = None;
    for line in text.lines() {
        let mut words = line.split_whitespace();
        if words
            .next()
            .is_some_and(|w| w.eq_ignore_ascii_case("maxmemory"))
        {
            let value = words.next().unwrap_or("").trim_matches(['"', '\'']);
            found = Some(parse_memory_size(value).map_err(|e| format!("maxmemory: {e}"))?);
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400;
    /// 2023-11-14 22:13:20 UTC.
    const T0: i64 = 1_700_000_000;

    #[test]
    fn runs_out_at_the_measured_rate() {
        // 1 MiB a day; 10 MiB free at the newer snapshot: ten days after it.
        let growth = Growth::between(Some(T0), Some(T0 + DAY), 1 << 20);
        assert_eq!(
            growth,
            Growth::Measured {
                seconds: DAY,
                bytes: 1 << 20,
                bytes_per_day: 1_048_576.0
            }
        );
        let h = Headroom::new(100 << 20, 90 << 20, Some(T0 + DAY), &growth);
        assert_eq!(h.free_bytes, 10 << 20);
        assert_eq!(h.runs_out, RunsOut::At);
        assert_eq!(h.runs_out_at, Some(T0 + 11 * DAY)); // 2023-11-25 22:13:20 UTC
        // A week apart, 7 MiB grown: the same rate, the same date.
        let weekly = Growth::between(Some(T0 - 6 * DAY), Some(T0 + DAY), 7 << 20);
        let h = Headroom::new(100 << 20, 90 << 20, Some(T0 + DAY), &weekly);
        assert_eq!(h.runs_out_at, Some(T0 + 11 * DAY));
        // Seconds round down: 1 byte free at 3 bytes a day is 28,800 s.
        let h = Headroom::new(
            1001,
            1000,
            Some(T0),
            &Growth::between(Some(0), Some(DAY), 3),
        );
        assert_eq!(h.runs_out_at, Some(T0 + 28_800));
    }

    #[test]
    fn no_date_without_growth_or_a_rate() {
        let shrinking = Growth::between(Some(T0), Some(T0 + DAY), -5);
        let h = Headroom::new(100, 50, Some(T0 + DAY), &shrinking);
        assert_eq!((h.runs_out, h.runs_out_at), (RunsOut::NotGrowing, None));
        let flat = Growth::between(Some(T0), Some(T0 + DAY), 0);
        assert_eq!(
            Headroom::new(100, 50, None, &flat).runs_out,
            RunsOut::NotGrowing
        );
        let full = Headroom::new(100, 150, Some(T0), &flat);
        assert_eq!(
            (full.runs_out, full.free_bytes),
            (RunsOut::AlreadyFull, -50)
        );

        for (old, new) in [(Some(T0), Some(T0)), (None, Some(T0)), (Some(T0), None)] {
            let g = Growth::between(old, new, 10);
            assert!(matches!(g, Growth::Unknown { .. }), "{old:?} {new:?}");
            let h = Headroom::new(100, 50, new, &g);
            assert_eq!((h.runs_out, h.runs_out_at), (RunsOut::UnknownRate, None));
        }
        assert_eq!(
            Growth::between(Some(T0 + 1), Some(T0), 10),
            Growth::Unknown {
                reason: "NEW's ctime is before OLD's".into()
            }
        );
    }

    #[test]
    fn memory_sizes_as_redis_conf_writes_them() {
        assert_eq!(parse_memory_size("4gb"), Ok(4 << 30));
        assert_eq!(parse_memory_size("512MB"), Ok(512 << 20));
        assert_eq!(parse_memory_size("1k"), Ok(1000));
        assert_eq!(parse_memory_size("1kb"), Ok(1024));
        assert_eq!(parse_memory_size("2g"), Ok(2_000_000_000));
        assert_eq!(parse_memory_size("1000000"), Ok(1_000_000));
        for bad in ["", "gb", "4 tb", "-1", "1.5gb", "99999999999999999999"] {
            assert!(parse_memory_size(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn maxmemory_is_the_last_maxmemory_line() {
        let conf = "# maxmemory 1gb\nport 6379\nmaxmemory 2gb\n  MAXMEMORY \"3mb\"\nmaxmemory-policy allkeys-lru\n";
        assert_eq!(maxmemory_from_config(conf), Ok(Some(3 << 20)));
        assert_eq!(maxmemory_from_config("port 6379\n"), Ok(None));
        assert!(maxmemory_from_config("maxmemory lots\n").is_err());
    }
}
