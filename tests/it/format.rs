//! Sizes and ages print exactly as upstream prints them: checked value by value against the oracle.

use hfhub_tests::oracle::{HF_HUB_0X, HF_HUB_2X, Oracle};
use hub_cache::format::{Flavour, format_size, format_timesince};

/// A small deterministic generator (64-bit LCG) so the compared values vary widely but reproducibly.
fn lcg(seed: &mut u64) -> u64 {
    *seed = seed
        .wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(1_442_695_040_888_963_407);
    *seed
}

fn sizes() -> Vec<u128> {
    let mut sizes: Vec<u128> = vec![
        0, 1, 9, 99, 665, 999, 1000, 1001, 1049, 1050, 1051, 1150, 1250, 1350,
    ];
    sizes.extend([
        116_300, 893_800, 999_949, 999_950, 999_999, 3_400_000, 3_449_999,
    ]);
    sizes.extend([
        999_950_000,
        999_949_999,
        u64::MAX.into(),
        (u64::MAX / 3).into(),
    ]);
    sizes.extend([
        1 << 53,
        (1 << 53) + 1,
        u128::MAX,
        10_u128.pow(24),
        10_u128.pow(27),
    ]);
    let mut power = 1_u128;
    for _ in 0..30 {
        sizes.extend([power - 1, power, power + 1, power / 2 * 3]);
        sizes.extend([power * 9_999 / 10_000, power * 99_995 / 100_000]);
        power = power.saturating_mul(10);
    }
    let mut seed = 7;
    for shift in 0..64 {
        for _ in 0..6 {
            sizes.push((lcg(&mut seed) >> shift).into());
        }
    }
    sizes
}

#[test]
fn sizes_match_python() {
    let sizes = sizes();
    let args: Vec<String> = sizes.iter().map(u128::to_string).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let script = "import sys\nfrom huggingface_hub.utils._cache_manager import _format_size\n\
                  print('\\n'.join(_format_size(int(a)) for a in sys.argv[1:]))";
    let python = Oracle::get(HF_HUB_2X).eval(script, &args);
    let expected: Vec<&str> = python.lines().collect();
    assert_eq!(expected.len(), sizes.len());
    for (size, expected) in sizes.iter().zip(expected) {
        assert_eq!(format_size(*size), expected, "format_size({size})");
    }
}

/// Ages around every unit boundary (exact, ±0.5, ties) plus random ones, as floats.
fn deltas() -> Vec<f64> {
    let mut deltas = vec![
        -5.0, 0.0, 19.0, 19.999, 20.0, 20.5, 21.5, 59.4, 59.5, 60.0, 60.5,
    ];
    deltas.extend([
        61.0, 89.5, 90.0, 150.0, 3540.0, 3569.9, 3570.0, 3599.0, 3630.0,
    ]);
    for divider in [
        60.0,
        3_600.0,
        86_400.0,
        604_800.0,
        2_592_000.0,
        31_536_000.0,
    ] {
        for value in [
            1.0, 1.5, 2.0, 2.5, 5.5, 6.0, 6.5, 7.0, 11.0, 11.5, 12.0, 23.5, 24.0,
        ] {
            for offset in [-0.5, 0.0, 0.5, 1.0] {
                deltas.push(value * divider + offset);
            }
        }
        for value in [59.0, 59.5, 60.0, 60.5, 61.0, 24.5, 25.0] {
            deltas.push(value * divider);
        }
    }
    let mut seed = 11;
    for _ in 0..300 {
        let magnitude = (lcg(&mut seed) % 10) as i32;
        let fraction = (lcg(&mut seed) % 1_000_000) as f64 / 1_000_000.0;
        deltas.push(fraction * 10_f64.powi(magnitude));
    }
    deltas
}

fn check_timesince(version: &str, flavour: Flavour, function: &str) {
    let deltas = deltas();
    // `{:?}` prints the shortest text that round-trips, which Python's float() reads back exactly.
    let args: Vec<String> = deltas.iter().map(|d| format!("{d:?}")).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    // With time.time() returning the delta and ts = 0.0, Python computes `delta - 0.0` exactly.
    let script = format!(
        "import sys, time\nfrom huggingface_hub.utils.{function} import *\n\
         from huggingface_hub.utils import {function} as module\nout = []\n\
         for a in sys.argv[1:]:\n    time.time = lambda: float(a)\n    out.append(module.{name}(0.0))\n\
         print('\\n'.join(out))",
        function = function.split('.').next().expect("module name"),
        name = function.split('.').nth(1).expect("function name"),
    );
    let python = Oracle::get(version).eval(&script, &args);
    let expected: Vec<&str> = python.lines().collect();
    assert_eq!(expected.len(), deltas.len());
    for (delta, expected) in deltas.iter().zip(expected) {
        assert_eq!(
            format_timesince(*delta, flavour),
            expected,
            "format_timesince({delta:?}, {flavour:?})"
        );
    }
}

#[test]
fn timesince_2x_matches_python() {
    check_timesince(HF_HUB_2X, Flavour::V2x, "_parsing.format_timesince");
}

#[test]
fn timesince_0x_matches_python() {
    check_timesince(HF_HUB_0X, Flavour::V0x, "_cache_manager._format_timesince");
}
