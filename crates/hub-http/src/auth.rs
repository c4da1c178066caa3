//! Access tokens: where they come from (`utils/_auth.py::get_token` in 2.x) and how they are kept
//! out of logs. A [`Token`] prints as `hf_***` in `Debug` and has no `Display`.

use std::fmt;

use hub_cache::env::{Env, HF_HUB_DISABLE_IMPLICIT_TOKEN, HF_TOKEN, HUGGING_FACE_HUB_TOKEN};

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
pub fn stored_token(env: &Env) -> Option<Token> {
    env.get(HF_TOKEN)
        .and_then(Token::new)
        .or_else(|| env.get(HUGGING_FACE_HUB_TOKEN).and_then(Token::new))
        .or_else(|| {
            std::fs::read_to_string(env.locations().token_path)
                .ok()
                .as_deref()
                .and_then(Token::new)
        })
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
}
