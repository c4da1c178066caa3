//! `hfhub env`: what `hf env` reports, for a bug report or a "why does it download there?" moment:
//! version, platform, endpoint, cache paths, offline mode, whether a token is found (never the
//! token), and the settings that change behaviour.

use std::io::Write as _;
use std::process::ExitCode;

use anyhow::Context as _;
use hub_cache::env::{self, Env};

/// One `- key: value` line per item, as `hf env` prints them.
pub fn run(env: &Env) -> anyhow::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    for (key, value) in report(env) {
        writeln!(out, "- {key}: {value}").context("cannot print the environment")?;
    }
    Ok(crate::Exit::Success.into())
}

/// The report as `(key, value)` pairs, in print order.
fn report(env: &Env) -> Vec<(&'static str, String)> {
    let locations = env.locations();
    let flag = |var: env::Var| python_bool(env.is_true(var)).to_owned();
    let raw = |var: env::Var| env.get(var).unwrap_or("").to_owned();
    let mut lines = vec![
        ("hfhub version", env!("CARGO_PKG_VERSION").to_owned()),
        (
            "Platform",
            format!("{}-{}", std::env::consts::OS, std::env::consts::ARCH),
        ),
        ("Token found", token_source(env)),
        (
            "ENDPOINT",
            hub_http::Endpoint::from_env(env).as_str().to_owned(),
        ),
        ("HF_HOME", locations.hf_home.display().to_string()),
        ("HF_HUB_CACHE", locations.hub_cache.display().to_string()),
        (
            "HF_ASSETS_CACHE",
            locations.assets_cache.display().to_string(),
        ),
        ("HF_XET_CACHE", locations.xet_cache.display().to_string()),
        ("HF_TOKEN_PATH", locations.token_path.display().to_string()),
        ("HF_HUB_OFFLINE", python_bool(env.offline()).to_owned()),
        (
            "HF_HUB_DISABLE_PROGRESS_BARS",
            raw(env::HF_HUB_DISABLE_PROGRESS_BARS),
        ),
        (
            "HF_HUB_DISABLE_SYMLINKS",
            flag(env::HF_HUB_DISABLE_SYMLINKS),
        ),
        (
            "HF_HUB_DISABLE_SYMLINKS_WARNING",
            flag(env::HF_HUB_DISABLE_SYMLINKS_WARNING),
        ),
        (
            "HF_HUB_DISABLE_IMPLICIT_TOKEN",
            flag(env::HF_HUB_DISABLE_IMPLICIT_TOKEN),
        ),
        (
            "HF_HUB_ETAG_TIMEOUT",
            seconds(env, env::HF_HUB_ETAG_TIMEOUT, 10),
        ),
        (
            "HF_HUB_DOWNLOAD_TIMEOUT",
            seconds(env, env::HF_HUB_DOWNLOAD_TIMEOUT, 10),
        ),
        ("HF_DEBUG", flag(env::HF_DEBUG)),
        ("NO_COLOR", raw(env::NO_COLOR)),
    ];
    lines.extend(network(env));
    lines
}

/// The proxies in effect (credentials masked as `user:***`) and the CA sources, as hub-http reads
/// them; `None` when no variable sets them.
fn network(env: &Env) -> Vec<(&'static str, String)> {
    let network = hub_http::NetworkDescription::from_env(env);
    let proxies = network
        .proxies
        .iter()
        .map(|(scheme, value)| format!("{scheme}={value}"))
        .collect::<Vec<_>>();
    let or_none = |items: Vec<String>| {
        if items.is_empty() {
            "None".to_owned()
        } else {
            items.join(", ")
        }
    };
    vec![
        ("Proxy", or_none(proxies)),
        ("CA sources", or_none(network.ca_sources)),
    ]
}

/// Where the token the next download sends comes from; the token itself is never shown.
fn token_source(env: &Env) -> String {
    let non_empty = |var: env::Var| env.get(var).is_some_and(|v| !v.trim().is_empty());
    let source = if non_empty(env::HF_TOKEN) {
        "HF_TOKEN"
    } else if non_empty(env::HUGGING_FACE_HUB_TOKEN) {
        "HUGGING_FACE_HUB_TOKEN"
    } else if hub_http::auth::stored_token(env).is_some() {
        "the token file"
    } else {
        return "False".to_owned();
    };
    let implicit = if env.is_true(env::HF_HUB_DISABLE_IMPLICIT_TOKEN) {
        ", not sent unless asked (HF_HUB_DISABLE_IMPLICIT_TOKEN)"
    } else {
        ""
    };
    format!("True (from {source}{implicit})")
}

fn seconds(env: &Env, var: env::Var, default: u64) -> String {
    match env.int_or(var, default) {
        Ok(n) => n.to_string(),
        Err(bad) => format!("{} (invalid: {bad})", env.get(var).unwrap_or("")),
    }
}

fn python_bool(value: bool) -> &'static str {
    if value { "True" } else { "False" }
}
