//! Showing strings that a server, a folder or a cache chose: file names, ref names, header values
//! and error bodies may hold ESC, BEL or other control characters that would drive the user's
//! terminal (clear the screen, fake an "OK"). Every such string is shown through [`Escaped`].

use std::borrow::Cow;
use std::fmt;

/// Shows a string with its control characters (C0, DEL, C1) escaped as `\u{..}`; everything else,
/// including non-ASCII text, is shown as is.
#[derive(Debug, Clone, Copy)]
pub struct Escaped<'a>(pub &'a str);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        while let Some(index) = rest.find(char::is_control) {
            f.write_str(&rest[..index])?;
            let control = rest[index..]
                .chars()
                .next()
                .expect("find returned the index of a char");
            write!(f, "{}", control.escape_unicode())?;
            rest = &rest[index + control.len_utf8()..];
        }
        f.write_str(rest)
    }
}

/// [`Escaped`] as a string, borrowed when there is nothing to escape.
pub fn escape(value: &str) -> Cow<'_, str> {
    if value.contains(char::is_control) {
        Cow::Owned(Escaped(value).to_string())
    } else {
        Cow::Borrowed(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_and_text_is_kept() {
        assert_eq!(escape("données/résumé.txt"), "données/résumé.txt");
        assert_eq!(escape("a\x1b[2Jb\x07"), "a\\u{1b}[2Jb\\u{7}");
        assert_eq!(escape("line\nnext\r\t"), "line\\u{a}next\\u{d}\\u{9}");
        assert_eq!(escape("\u{9b}x\u{7f}"), "\\u{9b}x\\u{7f}");
        assert!(matches!(escape("plain"), Cow::Borrowed(_)));
    }
}
