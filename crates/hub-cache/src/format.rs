//! Human-readable sizes and ages, byte-identical to upstream's cache report helpers.
//!
//! * [`format_size`]: `utils/_cache_manager.py::_format_size` (same in 0.2x and 2.x): decimal units,
//!   `{n:3.1f}{unit}`, the threshold test on the unrounded value, so `999_950` prints `1000.0K`.
//! * [`format_timesince`]: 2.x `utils/_parsing.py::format_timesince` and 0.2x
//!   `utils/_cache_manager.py::_format_timesince`, which differ only in the largest value shown per unit.
//!
//! ```
//! use hub_cache::format::{format_size, format_timesince, Flavour};
//! assert_eq!(format_size(893_800_u64), "893.8K");
//! assert_eq!(format_timesince(60.0, Flavour::V2x), "1 minute ago");
//! assert_eq!(format_timesince(60.0, Flavour::V0x), "60 seconds ago");
//! ```

use std::time::{SystemTime, UNIX_EPOCH};

/// Which upstream generation a behaviour follows where 0.2x and 2.x differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Flavour {
    /// huggingface_hub 2.x (2.4.0), the primary reference.
    #[default]
    V2x,
    /// huggingface_hub 0.2x (0.23–0.25, the `huggingface-cli` era).
    V0x,
}

/// A byte count as upstream prints it: `665.0`, `893.8K`, `3.4M`, `1.0Y`.
///
/// The integer is converted to a double and divided by 1000 while its absolute value is at least 1000,
/// exactly as Python does; the final value is printed with one decimal, rounding the exact binary
/// value half to even (Rust's and Python's fixed-precision formatting agree on this).
///
/// Takes any unsigned integer up to `u128` (`10^24` bytes prints `1.0Y`).
pub fn format_size(num: impl Into<u128>) -> String {
    // Python's `float(int)` rounds to nearest, ties to even, as `as f64` does.
    let mut value = num.into() as f64;
    for unit in ["", "K", "M", "G", "T", "P", "E", "Z"] {
        if value.abs() < 1000.0 {
            return format!("{value:3.1}{unit}");
        }
        value /= 1000.0;
    }
    format!("{value:.1}Y")
}

/// (unit, seconds per unit, largest value shown in that unit) as 2.x walks them.
const TIMESINCE_2X: [(&str, f64, Option<i64>); 7] = [
    ("second", 1.0, Some(59)),
    ("minute", 60.0, Some(59)),
    ("hour", 3_600.0, Some(23)),
    ("day", 86_400.0, Some(6)),
    ("week", 604_800.0, Some(6)),
    ("month", 2_592_000.0, Some(11)),
    ("year", 31_536_000.0, None),
];

/// The 0.2x table: one more value for seconds, minutes and hours (`60 seconds ago`).
const TIMESINCE_0X: [(&str, f64, Option<i64>); 7] = [
    ("second", 1.0, Some(60)),
    ("minute", 60.0, Some(60)),
    ("hour", 3_600.0, Some(24)),
    ("day", 86_400.0, Some(6)),
    ("week", 604_800.0, Some(6)),
    ("month", 2_592_000.0, Some(11)),
    ("year", 31_536_000.0, None),
];

/// An age in seconds (`now - timestamp`, may be negative) as upstream prints it: `a few seconds ago`
/// under 20 s, else `4 days ago`, `1 year ago`.
///
/// Each unit's value is `round(delta / divider)` with Python's round-half-to-even; the first unit whose
/// value does not exceed that unit's maximum wins (years have none).
pub fn format_timesince(delta_seconds: f64, flavour: Flavour) -> String {
    if delta_seconds < 20.0 || delta_seconds.is_nan() {
        return "a few seconds ago".to_owned();
    }
    let table = match flavour {
        Flavour::V2x => &TIMESINCE_2X,
        Flavour::V0x => &TIMESINCE_0X,
    };
    let mut shown = (0_i64, "second");
    for &(label, divider, max_value) in table {
        // `as` saturates for absurd deltas; Python would print the exact big integer.
        let value = (delta_seconds / divider).round_ties_even() as i64;
        shown = (value, label);
        if max_value.is_some_and(|max| value <= max) {
            break;
        }
    }
    let (value, label) = shown;
    let plural = if value > 1 { "s" } else { "" };
    format!("{value} {label}{plural} ago")
}

/// [`format_timesince`] of a timestamp against the current clock, as upstream's `*_str` properties do.
pub fn format_timesince_now(timestamp: SystemTime, flavour: Flavour) -> String {
    let delta = python_timestamp(SystemTime::now()) - python_timestamp(timestamp);
    format_timesince(delta, flavour)
}

/// The float Python's `os.stat_result.st_mtime` (and `time.time()`) gives for a time:
/// `seconds + nanoseconds * 1e-9` computed in double precision, with the seconds floored.
pub fn python_timestamp(time: SystemTime) -> f64 {
    let (seconds, nanos) = match time.duration_since(UNIX_EPOCH) {
        Ok(after) => (after.as_secs() as i64, after.subsec_nanos()),
        Err(before) => {
            let before = before.duration();
            if before.subsec_nanos() == 0 {
                (-(before.as_secs() as i64), 0)
            } else {
                (
                    -(before.as_secs() as i64) - 1,
                    1_000_000_000 - before.subsec_nanos(),
                )
            }
        }
    };
    seconds as f64 + f64::from(nanos) * 1e-9
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_at_unit_boundaries() {
        assert_eq!(format_size(0_u64), "0.0");
        assert_eq!(format_size(999_u64), "999.0");
        assert_eq!(format_size(999_949_u64), "999.9K");
        assert_eq!(format_size(999_950_u64), "1000.0K");
        assert_eq!(format_size(10_u128.pow(24)), "1.0Y");
    }

    #[test]
    fn timesince_rolls_over_per_flavour() {
        assert_eq!(format_timesince(19.9, Flavour::V2x), "a few seconds ago");
        assert_eq!(format_timesince(20.0, Flavour::V2x), "20 seconds ago");
        assert_eq!(format_timesince(3_600.0, Flavour::V2x), "1 hour ago");
        assert_eq!(format_timesince(3_600.0, Flavour::V0x), "60 minutes ago");
        assert_eq!(
            format_timesince(86_400.0 * 400.0, Flavour::V2x),
            "1 year ago"
        );
    }

    #[test]
    fn timestamps_like_python() {
        let t = UNIX_EPOCH + std::time::Duration::new(1_700_000_000, 123_456_789);
        assert_eq!(
            python_timestamp(t),
            1_700_000_000_f64 + 123_456_789_f64 * 1e-9
        );
        let before = UNIX_EPOCH - std::time::Duration::new(1, 250_000_000);
        assert_eq!(python_timestamp(before), -2.0 + 750_000_000_f64 * 1e-9);
    }
}
