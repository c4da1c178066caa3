//! The one table of environment variables the workspace reads.
//!
//! Every `HF_*` (and legacy) variable is named here, with its default and meaning, and read through
//! [`Env`], a snapshot taken once (upstream reads `constants.py` once at import time). Tests build an
//! [`Env`] from a list of pairs instead of touching the process environment.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::PathBuf;

/// One variable of the table.
#[derive(Debug, Clone, Copy)]
pub struct Var {
    /// The variable's name (`HF_HUB_CACHE`).
    pub name: &'static str,
    /// Its default, in words (`$HF_HOME/hub`), for `hfhub env` and the docs.
    pub default: &'static str,
    /// What it does, one sentence.
    pub doc: &'static str,
}

macro_rules! vars {
    ($($ident:ident = $name:literal, $default:literal, $doc:literal;)*) => {
        $(#[doc = $doc] pub const $ident: Var = Var { name: $name, default: $default, doc: $doc };)*
        /// Every variable of the table, in declaration order.
        pub const ALL: &[Var] = &[$($ident),*];
    };
}

vars! {
    HF_HOME = "HF_HOME", "$XDG_CACHE_HOME/huggingface or ~/.cache/huggingface", "Root of the hub cache, assets cache, xet cache and token file.";
    XDG_CACHE_HOME = "XDG_CACHE_HOME", "~/.cache", "Used for HF_HOME only when HF_HOME is unset.";
    HF_HUB_CACHE = "HF_HUB_CACHE", "$HF_HOME/hub", "The hub cache directory.";
    HUGGINGFACE_HUB_CACHE = "HUGGINGFACE_HUB_CACHE", "$HF_HOME/hub", "Legacy name of HF_HUB_CACHE (HF_HUB_CACHE wins).";
    HF_ASSETS_CACHE = "HF_ASSETS_CACHE", "$HF_HOME/assets", "Root of cached_assets_path.";
    HUGGINGFACE_ASSETS_CACHE = "HUGGINGFACE_ASSETS_CACHE", "$HF_HOME/assets", "Legacy name of HF_ASSETS_CACHE.";
    HF_XET_CACHE = "HF_XET_CACHE", "$HF_HOME/xet", "Xet cache (not expanded, as upstream).";
    HF_TOKEN_PATH = "HF_TOKEN_PATH", "$HF_HOME/token", "Token file.";
    HF_TOKEN = "HF_TOKEN", "", "Access token; wins over the token file.";
    HUGGING_FACE_HUB_TOKEN = "HUGGING_FACE_HUB_TOKEN", "", "Legacy name of HF_TOKEN.";
    HF_HUB_DISABLE_IMPLICIT_TOKEN = "HF_HUB_DISABLE_IMPLICIT_TOKEN", "false", "Do not send a stored token unless asked explicitly.";
    HF_ENDPOINT = "HF_ENDPOINT", "https://huggingface.co", "Base URL of the Hub (trailing / stripped).";
    HF_HUB_OFFLINE = "HF_HUB_OFFLINE", "false", "No HTTP request at all; answer from the cache.";
    TRANSFORMERS_OFFLINE = "TRANSFORMERS_OFFLINE", "false", "Same as HF_HUB_OFFLINE when that one is unset or empty.";
    HF_HUB_ETAG_TIMEOUT = "HF_HUB_ETAG_TIMEOUT", "10", "Metadata (HEAD) timeout in seconds.";
    HF_HUB_DOWNLOAD_TIMEOUT = "HF_HUB_DOWNLOAD_TIMEOUT", "10", "Download (GET) timeout in seconds.";
    HF_HUB_DISABLE_SYMLINKS = "HF_HUB_DISABLE_SYMLINKS", "false", "Never symlink in the cache: snapshot entries are regular files.";
    HF_HUB_DISABLE_SYMLINKS_WARNING = "HF_HUB_DISABLE_SYMLINKS_WARNING", "false", "Silence the warning printed when symlinks are unsupported.";
    HF_HUB_DISABLE_PROGRESS_BARS = "HF_HUB_DISABLE_PROGRESS_BARS", "", "1 forces progress bars off, 0 forces them on.";
    HF_HUB_VERBOSITY = "HF_HUB_VERBOSITY", "warning", "Log level: debug, info, warning, error, critical.";
    HF_DEBUG = "HF_DEBUG", "false", "Debug logging with request logs (token hidden).";
    HF_HUB_USER_AGENT_ORIGIN = "HF_HUB_USER_AGENT_ORIGIN", "", "Appended to the user agent as `; origin/{value}`.";
    NO_COLOR = "NO_COLOR", "", "Any non-empty value disables ANSI colours in the CLI.";
    COLUMNS = "COLUMNS", "", "Terminal width for CLI tables (a positive integer wins over the terminal's).";
    HFHUB_LOW_SPEED_LIMIT = "HFHUB_LOW_SPEED_LIMIT", "10", "A transfer slower than this many bytes/s for HFHUB_LOW_SPEED_TIME seconds is abandoned (resumed or failed), as cargo's http.low-speed-limit; 0 disables the check.";
    HFHUB_LOW_SPEED_TIME = "HFHUB_LOW_SPEED_TIME", "30", "The window in seconds of HFHUB_LOW_SPEED_LIMIT.";
    HTTPS_PROXY_LOWER = "https_proxy", "", "Proxy for https:// requests (wins over HTTPS_PROXY); `http://[user:password@]host:port`.";
    HTTPS_PROXY = "HTTPS_PROXY", "", "Proxy for https:// requests.";
    HTTP_PROXY_LOWER = "http_proxy", "", "Proxy for http:// requests (wins over HTTP_PROXY).";
    HTTP_PROXY = "HTTP_PROXY", "", "Proxy for http:// requests.";
    ALL_PROXY_LOWER = "all_proxy", "", "Proxy for requests with no scheme-specific proxy (wins over ALL_PROXY).";
    ALL_PROXY = "ALL_PROXY", "", "Proxy for requests with no scheme-specific proxy.";
    NO_PROXY_LOWER = "no_proxy", "", "Hosts reached without the proxy (wins over NO_PROXY).";
    NO_PROXY = "NO_PROXY", "", "Hosts reached without the proxy: comma-separated hosts, domain suffixes, IPs, CIDRs, `host:port`, or `*`.";
    SSL_CERT_FILE = "SSL_CERT_FILE", "", "PEM file of trusted CA certificates (replaces the system store; the webpki roots stay).";
    SSL_CERT_DIR = "SSL_CERT_DIR", "", "`:`-separated folders of PEM CA certificates (replaces the system store).";
    REQUESTS_CA_BUNDLE = "REQUESTS_CA_BUNDLE", "", "PEM CA bundle, as Python requests reads it (same as SSL_CERT_FILE).";
    CURL_CA_BUNDLE = "CURL_CA_BUNDLE", "", "PEM CA bundle, as curl reads it (same as SSL_CERT_FILE; empty never disables verification).";
    HFHUB_TEST_LOCKS = "HFHUB_TEST_LOCKS", "", "Tests only: `noop` makes every file lock succeed without locking, `fail` makes every lock fail (a filesystem where flock does not work).";
}

/// The process's `HOME` as an OS string (non-UTF-8 kept), for `Path.expanduser()` on paths the
/// user gave; the one read of `HOME` outside an [`Env`] snapshot.
pub fn process_home() -> Option<OsString> {
    std::env::var_os("HOME")
}

/// A snapshot of the variables of the table (and `HOME`), read once.
#[derive(Debug, Clone, Default)]
pub struct Env {
    values: BTreeMap<String, String>,
    /// `$VAR` expansion may read any variable of the process (as `os.path.expandvars` does) only
    /// for an environment taken from the process.
    from_process: bool,
}

impl Env {
    /// Reads the process environment once.
    pub fn from_process() -> Env {
        let mut values = BTreeMap::new();
        for var in ALL.iter().map(|v| v.name).chain(["HOME"]) {
            if let Some(value) = std::env::var_os(var)
                .map(OsString::into_string)
                .and_then(Result::ok)
            {
                values.insert(var.to_owned(), value);
            }
        }
        Env {
            values,
            from_process: true,
        }
    }

    /// Builds an environment from pairs (tests, or a caller that manages its own settings).
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Env {
        Env {
            values: pairs
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
            from_process: false,
        }
    }

    /// Raw value of a variable, `None` when unset.
    pub fn get(&self, var: Var) -> Option<&str> {
        self.values.get(var.name).map(String::as_str)
    }

    /// Upstream `_is_true`: the upper-cased value is one of `1`, `ON`, `YES`, `TRUE`.
    pub fn is_true(&self, var: Var) -> bool {
        self.get(var).is_some_and(is_true_value)
    }

    /// Upstream integer rule: `int(value) or default` (unset, empty or `0` give the default).
    pub fn int_or(&self, var: Var, default: u64) -> Result<u64, BadValue> {
        match self.get(var) {
            None | Some("") => Ok(default),
            Some(value) => match value.trim().parse::<u64>() {
                Ok(0) => Ok(default),
                Ok(n) => Ok(n),
                Err(_) => Err(BadValue {
                    name: var.name,
                    value: value.to_owned(),
                }),
            },
        }
    }

    /// `HF_HUB_OFFLINE` or, when that is unset or empty, `TRANSFORMERS_OFFLINE`.
    pub fn offline(&self) -> bool {
        match self.get(HF_HUB_OFFLINE) {
            Some(v) if !v.is_empty() => is_true_value(v),
            _ => self.is_true(TRANSFORMERS_OFFLINE),
        }
    }

    fn home(&self) -> String {
        self.values
            .get("HOME")
            .cloned()
            .unwrap_or_else(|| "~".to_owned())
    }

    /// `~` and `$VAR` expansion as `os.path.expandvars(os.path.expanduser(p))` does it on POSIX.
    pub fn expand(&self, path: &str) -> PathBuf {
        PathBuf::from(self.expand_vars(&self.expand_user(path)))
    }

    fn expand_user(&self, path: &str) -> String {
        if path == "~" {
            return self.home();
        }
        match path.strip_prefix("~/") {
            Some(rest) => format!("{}/{}", self.home().trim_end_matches('/'), rest),
            None => path.to_owned(),
        }
    }

    /// `posixpath.expandvars`: `$name` and `${name}` replaced when set, left as is otherwise.
    fn expand_vars(&self, path: &str) -> String {
        let mut out = String::with_capacity(path.len());
        let mut rest = path;
        while let Some(pos) = rest.find('$') {
            out.push_str(&rest[..pos]);
            let after = &rest[pos + 1..];
            let (name, consumed) = if let Some(braced) = after.strip_prefix('{') {
                match braced.find('}') {
                    Some(end) => (&braced[..end], end + 2),
                    None => ("", 0),
                }
            } else {
                let end = after
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(after.len());
                (&after[..end], end)
            };
            match self.lookup_any(name).filter(|_| !name.is_empty()) {
                Some(value) => out.push_str(&value),
                None => out.push_str(&rest[pos..pos + 1 + consumed]),
            }
            rest = &rest[pos + 1 + consumed..];
        }
        out.push_str(rest);
        out
    }

    fn lookup_any(&self, name: &str) -> Option<String> {
        self.values.get(name).cloned().or_else(|| {
            self.from_process
                .then(|| std::env::var(name).ok())
                .flatten()
        })
    }

    /// Where everything lives, with upstream's precedence (`constants.py`).
    pub fn locations(&self) -> Locations {
        let hf_home = match self.get(HF_HOME) {
            Some(home) => self.expand(home),
            None => {
                let xdg = self
                    .get(XDG_CACHE_HOME)
                    .map(str::to_owned)
                    .unwrap_or_else(|| format!("{}/.cache", self.home()));
                self.expand(&format!("{}/huggingface", xdg.trim_end_matches('/')))
            }
        };
        let home_str = hf_home.to_string_lossy().into_owned();
        let pick = |primary: Var, legacy: Var, default: String| {
            let raw = self
                .get(primary)
                .or_else(|| self.get(legacy))
                .map(str::to_owned)
                .unwrap_or(default);
            self.expand(&raw)
        };
        Locations {
            hub_cache: pick(
                HF_HUB_CACHE,
                HUGGINGFACE_HUB_CACHE,
                format!("{home_str}/hub"),
            ),
            assets_cache: pick(
                HF_ASSETS_CACHE,
                HUGGINGFACE_ASSETS_CACHE,
                format!("{home_str}/assets"),
            ),
            xet_cache: self
                .get(HF_XET_CACHE)
                .map(PathBuf::from)
                .unwrap_or_else(|| hf_home.join("xet")),
            token_path: self.expand(
                &self
                    .get(HF_TOKEN_PATH)
                    .map(str::to_owned)
                    .unwrap_or_else(|| format!("{home_str}/token")),
            ),
            hf_home,
        }
    }
}

/// Upstream `ENV_VARS_TRUE_VALUES`.
pub fn is_true_value(value: &str) -> bool {
    matches!(
        value.to_ascii_uppercase().as_str(),
        "1" | "ON" | "YES" | "TRUE"
    )
}

/// A variable whose value cannot be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("environment variable {name} has an invalid value `{value}`")]
pub struct BadValue {
    /// The variable's name.
    pub name: &'static str,
    /// Its value as set.
    pub value: String,
}

/// The directories and files the environment selects. Paths are expanded but not resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Locations {
    /// `HF_HOME`, else `$XDG_CACHE_HOME/huggingface`, else `~/.cache/huggingface`.
    pub hf_home: PathBuf,
    /// The hub cache: `HF_HUB_CACHE`, else `HUGGINGFACE_HUB_CACHE`, else `<hf_home>/hub`.
    pub hub_cache: PathBuf,
    /// The assets cache: `HF_ASSETS_CACHE`, else `HUGGINGFACE_ASSETS_CACHE`, else
    /// `<hf_home>/assets`.
    pub assets_cache: PathBuf,
    /// The Xet cache: `HF_XET_CACHE` (not expanded, as upstream), else `<hf_home>/xet`.
    pub xet_cache: PathBuf,
    /// The token file: `HF_TOKEN_PATH`, else `<hf_home>/token`.
    pub token_path: PathBuf,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precedence_follows_upstream() {
        let env = Env::from_pairs([("HOME", "/home/u")]);
        let loc = env.locations();
        assert_eq!(loc.hf_home, PathBuf::from("/home/u/.cache/huggingface"));
        assert_eq!(
            loc.hub_cache,
            PathBuf::from("/home/u/.cache/huggingface/hub")
        );

        let env = Env::from_pairs([("HOME", "/home/u"), ("XDG_CACHE_HOME", "/x")]);
        assert_eq!(
            env.locations().hub_cache,
            PathBuf::from("/x/huggingface/hub")
        );

        let env = Env::from_pairs([
            ("HOME", "/home/u"),
            ("XDG_CACHE_HOME", "/x"),
            ("HF_HOME", "~/hf"),
            ("HUGGINGFACE_HUB_CACHE", "/legacy"),
        ]);
        let loc = env.locations();
        assert_eq!(loc.hf_home, PathBuf::from("/home/u/hf"));
        assert_eq!(loc.hub_cache, PathBuf::from("/legacy"));
        assert_eq!(loc.assets_cache, PathBuf::from("/home/u/hf/assets"));
        assert_eq!(loc.token_path, PathBuf::from("/home/u/hf/token"));

        let env = Env::from_pairs([
            ("HOME", "/home/u"),
            ("HF_HUB_CACHE", "$HOME/new"),
            ("HUGGINGFACE_HUB_CACHE", "/legacy"),
        ]);
        assert_eq!(env.locations().hub_cache, PathBuf::from("/home/u/new"));
    }

    #[test]
    fn booleans_and_integers() {
        let env = Env::from_pairs([
            ("HF_HUB_OFFLINE", "yes"),
            ("HF_HUB_ETAG_TIMEOUT", "0"),
            ("HF_HUB_DOWNLOAD_TIMEOUT", "x"),
        ]);
        assert!(env.offline());
        assert_eq!(env.int_or(HF_HUB_ETAG_TIMEOUT, 10), Ok(10));
        assert!(env.int_or(HF_HUB_DOWNLOAD_TIMEOUT, 10).is_err());
        let env = Env::from_pairs([("TRANSFORMERS_OFFLINE", "1")]);
        assert!(env.offline());
    }
}
