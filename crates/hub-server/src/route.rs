//! Request paths to routes, percent-decoded and checked.
//!
//! ```text
//! /{prefix}{repo_id}/resolve/{revision}/{path}          prefix: "", datasets/, spaces/, kernels/
//! /api/{models|datasets|spaces|kernels}/{repo_id}[/revision/{revision}]
//! /api/{models|datasets|spaces|kernels}/{repo_id}/tree/{revision}[/{path}]
//! ```
//!
//! The revision is one percent-encoded segment (`refs%2Fpr%2F1`); the file path keeps `/` between
//! segments, and a decoded segment may hold neither `/`, `\` nor NUL, nor be `.` or `..`.

use hub_cache::{RepoId, RepoType};
use percent_encoding::percent_decode_str;

/// What a request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Route {
    Resolve {
        target: Target,
        revision: String,
        path: String,
    },
    Info {
        target: Target,
        revision: String,
    },
    Tree {
        target: Target,
        revision: String,
        path: String,
    },
    NotFound,
    BadRequest(String),
}

/// The repository a request names, and the raw path after the repository id (for renames).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target {
    pub repo_type: RepoType,
    pub id: RepoId,
    /// The URL path before the repository id (`/`, `/datasets/`, `/api/models/`).
    pub before: String,
    /// The raw URL path after the repository id, starting with `/` (or empty).
    pub after: String,
}

/// Why a path is not a route.
#[derive(Debug)]
enum Refused {
    NotFound,
    BadRequest(String),
}

pub(crate) fn parse(raw_path: &str) -> Route {
    match parse_route(raw_path) {
        Ok(route) => route,
        Err(Refused::NotFound) => Route::NotFound,
        Err(Refused::BadRequest(message)) => Route::BadRequest(message),
    }
}

fn parse_route(raw_path: &str) -> Result<Route, Refused> {
    let Some(rest) = raw_path.strip_prefix('/') else {
        return Err(Refused::NotFound);
    };
    let segments: Vec<&str> = rest.split('/').collect();
    if segments.first() == Some(&"api") {
        return parse_api(&segments[1..]);
    }
    let (repo_type, before, body) = match segments.first() {
        Some(&"datasets") => (RepoType::Dataset, "/datasets/", &segments[1..]),
        Some(&"spaces") => (RepoType::Space, "/spaces/", &segments[1..]),
        Some(&"kernels") => (RepoType::Kernel, "/kernels/", &segments[1..]),
        _ => (RepoType::Model, "/", &segments[..]),
    };
    // `{id}/resolve/{rev}/{path...}` or `{ns}/{name}/resolve/{rev}/{path...}`; prefer the two-part id.
    let id_len = if body.len() >= 5 && body[2] == "resolve" {
        2
    } else if body.len() >= 4 && body[1] == "resolve" {
        1
    } else {
        return Err(Refused::NotFound);
    };
    let target = target(repo_type, before, body, id_len)?;
    let revision = decode(body[id_len + 1])?;
    let path = decode_path(&body[id_len + 2..])?;
    Ok(Route::Resolve {
        target,
        revision,
        path,
    })
}

fn parse_api(segments: &[&str]) -> Result<Route, Refused> {
    let Some(repo_type) = segments.first().and_then(|s| RepoType::from_plural(s)) else {
        return Err(Refused::NotFound);
    };
    let before = format!("/api/{}/", repo_type.plural());
    let body = &segments[1..];
    let keyword = |s: &&str| *s == "revision" || *s == "tree";
    // Two-part id unless the second segment is a keyword (a model named `tree` is shadowed).
    let id_len = match body.len() {
        0 => return Err(Refused::NotFound),
        1 => 1,
        _ if keyword(&body[1]) && !(body.len() >= 4 && keyword(&body[2])) => 1,
        _ => 2,
    };
    if body.len() < id_len || body[..id_len].iter().any(|s| s.is_empty()) {
        return Err(Refused::NotFound);
    }
    let target = target(repo_type, &before, body, id_len)?;
    let rest = &body[id_len..];
    Ok(match rest {
        [] => Route::Info {
            target,
            revision: hub_cache::repo::DEFAULT_REVISION.to_owned(),
        },
        // An unencoded `refs/pr/1` is accepted too.
        ["revision", revision @ ..] if !revision.is_empty() => Route::Info {
            target,
            revision: decode_all(revision)?,
        },
        ["tree", revision, path @ ..] => Route::Tree {
            target,
            revision: decode(revision)?,
            path: if path.is_empty() || path == [""] {
                String::new()
            } else {
                decode_path(path)?
            },
        },
        _ => return Err(Refused::NotFound),
    })
}

fn target(
    repo_type: RepoType,
    before: &str,
    body: &[&str],
    id_len: usize,
) -> Result<Target, Refused> {
    let mut parts = Vec::new();
    for segment in &body[..id_len] {
        parts.push(decode(segment)?);
    }
    let id = RepoId::new(parts.join("/")).map_err(|e| Refused::BadRequest(e.to_string()))?;
    let after: String = body[id_len..].iter().map(|s| format!("/{s}")).collect();
    Ok(Target {
        repo_type,
        id,
        before: before.to_owned(),
        after,
    })
}

fn decode(segment: &str) -> Result<String, Refused> {
    let text = percent_decode_str(segment)
        .decode_utf8()
        .map_err(|_| Refused::BadRequest(format!("`{segment}` is not UTF-8 once decoded")))?;
    if text.contains('\0') {
        return Err(Refused::BadRequest("NUL in path".to_owned()));
    }
    Ok(text.into_owned())
}

/// File path segments: each decoded segment is a single, ordinary name.
fn decode_path(segments: &[&str]) -> Result<String, Refused> {
    let mut parts = Vec::new();
    for segment in segments {
        let part = decode(segment)?;
        if part.is_empty() || part == "." || part == ".." || part.contains(['/', '\\']) {
            return Err(Refused::BadRequest(format!(
                "invalid path segment `{segment}`"
            )));
        }
        parts.push(part);
    }
    if parts.is_empty() {
        return Err(Refused::NotFound);
    }
    Ok(parts.join("/"))
}

/// A revision split over several raw segments (`refs/pr/1` sent unencoded).
fn decode_all(segments: &[&str]) -> Result<String, Refused> {
    let mut parts = Vec::new();
    for segment in segments {
        parts.push(decode(segment)?);
    }
    Ok(parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(path: &str) -> Option<(RepoType, String, String, String)> {
        match parse(path) {
            Route::Resolve {
                target,
                revision,
                path,
            } => Some((target.repo_type, target.id.to_string(), revision, path)),
            _ => None,
        }
    }

    #[test]
    fn resolve_urls() {
        assert_eq!(
            resolve("/org/m/resolve/refs%2Fpr%2F1/dir/my%20file%2Bname%231%3F.txt"),
            Some((
                RepoType::Model,
                "org/m".into(),
                "refs/pr/1".into(),
                "dir/my file+name#1?.txt".into()
            ))
        );
        assert_eq!(
            resolve("/gpt2/resolve/main/%C3%A9~_.-x.json"),
            Some((
                RepoType::Model,
                "gpt2".into(),
                "main".into(),
                "\u{e9}~_.-x.json".into()
            ))
        );
        assert_eq!(
            resolve("/datasets/org/d/resolve/v1.0/data/train.parquet").map(|r| r.0),
            Some(RepoType::Dataset)
        );
        assert_eq!(
            resolve("/spaces/s/resolve/main/app.py").map(|r| r.1),
            Some("s".into())
        );
    }

    #[test]
    fn tricks_are_refused() {
        for path in [
            "/org/m/resolve/main/%2e%2e/%2e%2e/x",
            "/org/m/resolve/main/../x",
            "/org/m/resolve/main/a%2F..%2F..%2Fx",
            "/org/m/resolve/main/a%5C..%5Cx",
            "/org/m/resolve/main/a%00b",
            "/org/m/resolve/main/a//b",
            "/../../resolve/main/x",
            "/org/%2e%2e/resolve/main/x",
        ] {
            assert!(
                matches!(parse(path), Route::BadRequest(_) | Route::NotFound),
                "{path}: {:?}",
                parse(path)
            );
        }
    }

    #[test]
    fn api_urls() {
        let info = |path: &str| match parse(path) {
            Route::Info { target, revision } => Some((target.id.to_string(), revision)),
            _ => None,
        };
        assert_eq!(
            info("/api/models/org/m/revision/refs%2Fpr%2F1"),
            Some(("org/m".into(), "refs/pr/1".into()))
        );
        assert_eq!(
            info("/api/models/gpt2"),
            Some(("gpt2".into(), "main".into()))
        );
        assert_eq!(
            info("/api/models/gpt2/revision/v1"),
            Some(("gpt2".into(), "v1".into()))
        );
        match parse("/api/datasets/org/d/tree/main/sub%20dir") {
            Route::Tree {
                target,
                revision,
                path,
            } => {
                assert_eq!(target.repo_type, RepoType::Dataset);
                assert_eq!((revision.as_str(), path.as_str()), ("main", "sub dir"));
                assert_eq!(target.after, "/tree/main/sub%20dir");
            }
            other => panic!("{other:?}"),
        }
    }
}
