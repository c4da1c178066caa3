//! Allow / ignore patterns with the semantics of upstream's `utils/_paths.py::filter_repo_objects` (2.x).
//!
//! Matching is Python's `fnmatch.fnmatchcase` (3.11 `fnmatch.translate`), reproduced here rather than
//! through a shell-glob crate because the two disagree: in Python `*` **and `?` cross `/`**, a class may
//! contain `/`, `\` is a plain character (no escapes), `{a,b}` is literal, an unclosed `[` is a literal
//! `[`, and a reversed range like `[z-a]` matches nothing instead of failing.
//!
//! Before matching, `\` becomes `/` in patterns and paths, and a pattern ending in `/` gets `*` appended
//! (`sub/` selects everything under `sub`).
//!
//! ```
//! use hub_sync::pattern::Filter;
//! let filter = Filter::new(Some(&["*.json".to_owned()]), Some(&["sub/".to_owned()]));
//! assert!(filter.matches("a.json"));
//! assert!(filter.matches("x/y.json"));
//! assert!(!filter.matches("sub/b.json"));
//! ```

/// One compiled `fnmatch` pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    tokens: Vec<Token>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    /// `*`: any sequence, `/` and newlines included (consecutive stars are one).
    Star,
    /// `?`: any one character.
    Any,
    Literal(char),
    Class(Class),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Class {
    negated: bool,
    /// Inclusive ranges; a single character is a range of one. Empty and not negated: matches nothing.
    ranges: Vec<(char, char)>,
}

impl Class {
    fn matches(&self, c: char) -> bool {
        self.ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi) != self.negated
    }
}

impl Pattern {
    /// Compiles a pattern as Python's `fnmatch.translate` does (every string is a valid pattern).
    pub fn new(pattern: &str) -> Pattern {
        let pat: Vec<char> = pattern.chars().collect();
        let n = pat.len();
        let mut tokens = Vec::new();
        let mut i = 0;
        while i < n {
            let c = pat[i];
            i += 1;
            match c {
                '*' => {
                    if tokens.last() != Some(&Token::Star) {
                        tokens.push(Token::Star);
                    }
                }
                '?' => tokens.push(Token::Any),
                '[' => {
                    let mut j = i;
                    if j < n && pat[j] == '!' {
                        j += 1;
                    }
                    if j < n && pat[j] == ']' {
                        j += 1;
                    }
                    while j < n && pat[j] != ']' {
                        j += 1;
                    }
                    if j >= n {
                        tokens.push(Token::Literal('['));
                        continue;
                    }
                    tokens.push(class(&pat[i..j]));
                    i = j + 1;
                }
                c => tokens.push(Token::Literal(c)),
            }
        }
        Pattern { tokens }
    }

    /// Whole-string, case-sensitive match (`fnmatchcase`).
    pub fn matches(&self, text: &str) -> bool {
        self.matches_chars(&text.chars().collect::<Vec<char>>())
    }

    /// [`Pattern::matches`] of a text already split into characters.
    fn matches_chars(&self, text: &[char]) -> bool {
        let tokens = &self.tokens;
        let (mut t, mut p) = (0usize, 0usize);
        // Position after the last star and the text position it is currently made to cover up to.
        let mut backtrack: Option<(usize, usize)> = None;
        loop {
            if p < tokens.len() {
                let step = match &tokens[p] {
                    Token::Star => {
                        backtrack = Some((p + 1, t));
                        p += 1;
                        continue;
                    }
                    Token::Any => t < text.len(),
                    Token::Literal(c) => t < text.len() && text[t] == *c,
                    Token::Class(class) => t < text.len() && class.matches(text[t]),
                };
                if step {
                    p += 1;
                    t += 1;
                    continue;
                }
            } else if t == text.len() {
                return true;
            }
            match backtrack {
                Some((after_star, covered)) if covered < text.len() => {
                    backtrack = Some((after_star, covered + 1));
                    p = after_star;
                    t = covered + 1;
                }
                _ => return false,
            }
        }
    }
}

/// The body of a `[...]` (without brackets), following `fnmatch.translate` step for step: the text is
/// split into chunks at range hyphens, empty ranges are dropped, and the result read as a regex class.
fn class(stuff: &[char]) -> Token {
    let (negated, body_start) = match stuff.first() {
        Some('!') => (true, 1),
        _ => (false, 0),
    };
    // `stuff == "!"` is a negated empty class: Python turns it into `.`.
    if negated && stuff.len() == 1 {
        return Token::Any;
    }
    // Items of the regex class Python builds: (char, escaped?) sequence; ranges between chunks.
    let items: Vec<(char, bool)> = if !stuff.contains(&'-') {
        stuff[body_start..].iter().map(|&c| (c, true)).collect()
    } else {
        let mut chunks: Vec<Vec<char>> = Vec::new();
        let mut start = 0;
        let mut k = if negated { 2 } else { 1 };
        while let Some(found) = (k..stuff.len()).find(|&x| stuff[x] == '-') {
            chunks.push(stuff[start..found].to_vec());
            start = found + 1;
            k = found + 3;
        }
        let last = stuff[start..].to_vec();
        if last.is_empty() {
            if let Some(previous) = chunks.last_mut() {
                previous.push('-');
            }
        } else {
            chunks.push(last);
        }
        // Remove empty ranges (Python indexes [-1] and [0]; an empty chunk cannot occur here except
        // in cases where Python itself raises, which we treat as "no range").
        let mut index = chunks.len().saturating_sub(1);
        while index > 0 {
            let (before, after) = (chunks[index - 1].last(), chunks[index].first());
            if let (Some(&b), Some(&a)) = (before, after)
                && b > a
            {
                let mut merged = chunks[index - 1][..chunks[index - 1].len() - 1].to_vec();
                merged.extend_from_slice(&chunks[index][1..]);
                chunks[index - 1] = merged;
                chunks.remove(index);
            }
            index -= 1;
        }
        // Join with unescaped `-`; every character of a chunk is escaped (literal).
        let mut items = Vec::new();
        for (n, chunk) in chunks.iter().enumerate() {
            if n > 0 {
                items.push(('-', false));
            }
            items.extend(chunk.iter().map(|&c| (c, true)));
        }
        // The leading `!` is part of the first chunk.
        if negated && !items.is_empty() {
            items.remove(0);
        }
        items
    };
    if items.is_empty() {
        // Python: a negated class left empty is `.`, an empty one `(?!)` (never matches).
        if negated {
            return Token::Any;
        }
        return Token::Class(Class {
            negated: false,
            ranges: Vec::new(),
        });
    }
    let mut ranges = Vec::new();
    let mut i = 0;
    while i < items.len() {
        let (c, _) = items[i];
        if i + 2 < items.len() && items[i + 1] == ('-', false) {
            let (end, _) = items[i + 2];
            ranges.push((c, end));
            i += 3;
        } else {
            ranges.push((c, c));
            i += 1;
        }
    }
    Token::Class(Class { negated, ranges })
}

/// Upstream's `_add_wildcard_to_directories` after `_normalize_separators`.
fn normalize_pattern(pattern: &str) -> String {
    let mut pattern = pattern.replace('\\', "/");
    if pattern.ends_with('/') {
        pattern.push('*');
    }
    pattern
}

/// `filter_repo_objects(items, allow_patterns, ignore_patterns)`: a path is kept iff (no allow list, or
/// it matches one allow pattern) and (no ignore list, or it matches no ignore pattern). An empty allow
/// list keeps nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    allow: Option<Vec<Pattern>>,
    ignore: Option<Vec<Pattern>>,
}

impl Filter {
    /// `None` means "no list" (not an empty list).
    pub fn new(allow: Option<&[String]>, ignore: Option<&[String]>) -> Filter {
        let compile = |patterns: &[String]| {
            patterns
                .iter()
                .map(|p| Pattern::new(&normalize_pattern(p)))
                .collect()
        };
        Filter {
            allow: allow.map(compile),
            ignore: ignore.map(compile),
        }
    }

    /// Whether no pattern was given at all.
    pub fn is_empty(&self) -> bool {
        self.allow.is_none() && self.ignore.is_none()
    }

    /// Whether `path` (a repo path) is selected.
    pub fn matches(&self, path: &str) -> bool {
        if self.is_empty() {
            return true;
        }
        // One allocation per path, whatever the number of patterns.
        let path: Vec<char> = path
            .chars()
            .map(|c| if c == '\\' { '/' } else { c })
            .collect();
        if let Some(allow) = &self.allow
            && !allow.iter().any(|p| p.matches_chars(&path))
        {
            return false;
        }
        if let Some(ignore) = &self.ignore
            && ignore.iter().any(|p| p.matches_chars(&path))
        {
            return false;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_examples() {
        let paths = [
            "a.json",
            "sub/b.json",
            "sub/dir/c.txt",
            "Sub/D.JSON",
            ".gitattributes",
        ];
        let select = |pattern: &str| {
            let filter = Filter::new(Some(&[pattern.to_owned()]), None);
            paths
                .iter()
                .filter(|p| filter.matches(p))
                .copied()
                .collect::<Vec<_>>()
        };
        assert_eq!(select("*.json"), ["a.json", "sub/b.json"]);
        assert_eq!(select("sub/"), ["sub/b.json", "sub/dir/c.txt"]);
        assert_eq!(select("*/b.json"), ["sub/b.json"]);
        assert_eq!(select("[a-c].json"), ["a.json"]);
        assert!(select("SUB/*").is_empty());
        assert!(Pattern::new("a?b").matches("a/b"));
        assert!(Pattern::new("[").matches("["));
        assert!(!Pattern::new("[z-a]").matches("z"));
        assert!(Pattern::new("[!]]").matches("x"));
    }
}
