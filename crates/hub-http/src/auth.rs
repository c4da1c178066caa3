//! Access tokens: where they come from (`utils/_auth.py::get_token` in 2.x) and how they are kept
//! out of logs. A [`Token`] prints as `hf_***` in `Debug` and has no `Display`.

use std::fmt;

use hub_cache::env::{Env, HF_HUB_DISABLE_IMPLICIT_TOKEN, HF_TOKEN, HUGGING_FACE_HUB_TOKEN};
use hub_cache::fs::{Links, SMALL_FILE_CAP, read_capped_string};

/// A bearer token. Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    /// Cleans a raw token as upstream does (drop `\r` and `\n`, strip whitespace); empty → `None`.
    pub fn new(raw: &str) -> Option<Token> {
        let cleaned: String = raw.chars().filter(|c| *c != '\r' && *c != '\n').collect();
        let cleaned = cleaned.trim();
        (!cleaned.is_empty()).then(|| Token(cleaned.to_owned()))
    }

    /// The secret, for the `authorization` header only.
    pub(crate) fn secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(hf_***)")
    }
}

/// What the caller asked for (the `token=` argument upstream).
#[derive(Debug, Clone, Default)]
pub enum TokenChoice {
    /// `token=None`: the stored token unless `HF_HUB_DISABLE_IMPLICIT_TOKEN`.
    #[default]
    Implicit,
    /// `token=False`: send none.
    Disabled,
    /// `token="..."`.
    Explicit(String),
}

/// Resolves the token to send: the explicit one, else `HF_TOKEN`, `HUGGING_FACE_HUB_TOKEN`, then the
/// token file (`HF_TOKEN_PATH`, default `$HF_HOME/token`).
pub fn resolve_token(choice: &TokenChoice, env: &Env) -> Option<Token> {
    match choice {
        TokenChoice::Disabled => None,
        TokenChoice::Explicit(raw) => Token::new(raw),
        TokenChoice::Implicit if env.is_true(HF_HUB_DISABLE_IMPLICIT_TOKEN) => None,
        TokenChoice::Implicit => stored_token(env),
    }
}

/// The token from the environment or the token file, ignoring `HF_HUB_DISABLE_IMPLICIT_TOKEN`.
///
/// The token file is read only if it is a regular file of at most 64 KiB in UTF-8 (a FIFO,
/// `/dev/zero` or a folder never hangs or fills memory); any other is ignored with a warning that
/// names it.
pub fn stored_token(env: &Env) -> Option<Token> {
    env.get(HF_TOKEN)
        .and_then(Token::new)
        .or_else(|| env.get(HUGGING_FACE_HUB_TOKEN).and_then(Token::new))
        .or_else(|| token_file(&env.locations().token_path))
}

fn token_file(path: &std::path::Path) -> Option<Token> {
    match read_capped_string(path, SMALL_FILE_CAP, Links::Follow) {
        Ok(text) => Token::new(&text),
        Err(error) if error.is_missing() => None,
        Err(error) => {
            tracing::warn!("ignoring the token file: {error}");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_in_order_and_never_printed() {
        let dir = tempfile::tempdir().unwrap();
        let token_file = dir.path().join("token");
        std::fs::write(&token_file, "hf_file\n").unwrap();
        let path = token_file.to_str().unwrap();
        let env = Env::from_pairs([("HF_TOKEN_PATH", path)]);
        assert_eq!(
            resolve_token(&TokenChoice::Implicit, &env),
            Token::new("hf_file")
        );
        let env = Env::from_pairs([
            ("HF_TOKEN_PATH", path),
            ("HUGGING_FACE_HUB_TOKEN", "hf_legacy"),
        ]);
        assert_eq!(
            resolve_token(&TokenChoice::Implicit, &env),
            Token::new("hf_legacy")
        );
        let env = Env::from_pairs([("HF_TOKEN_PATH", path), ("HF_TOKEN", " hf_env\r\n")]);
        let token = resolve_token(&TokenChoice::Implicit, &env).unwrap();
        assert_eq!(token.secret(), "hf_env");
        assert!(!format!("{token:?}").contains("hf_env"));
        let env = Env::from_pairs([("HF_TOKEN", "x"), ("HF_HUB_DISABLE_IMPLICIT_TOKEN", "1")]);
        assert_eq!(resolve_token(&TokenChoice::Implicit, &env), None);
        assert_eq!(
            resolve_token(&TokenChoice::Explicit("hf_arg".into()), &env),
            Token::new("hf_arg")
        );
        assert_eq!(resolve_token(&TokenChoice::Disabled, &env), None);
    }

    #[test]
    fn a_token_file_that_is_not_a_small_regular_utf8_file_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let not_utf8 = dir.path().join("token");
        std::fs::write(&not_utf8, b"hf_\xff\xfe").unwrap();
        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        let dir_path = dir.path().to_str().unwrap().to_owned();
        for path in [
            not_utf8.to_str().unwrap(),
            fifo.to_str().unwrap(),
            "/dev/zero",
            dir_path.as_str(),
        ] {
            let env = Env::from_pairs([("HF_TOKEN_PATH", path)]);
            assert_eq!(resolve_token(&TokenChoice::Implicit, &env), None, "{path}");
        }
    }
}
