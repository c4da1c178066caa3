//! A typed, streaming reader of `trees/<commit>.json`: the `files` object is visited one entry
//! at a time and only the entries the caller keeps are stored (a listing of a million files
//! filtered to one costs the memory of one), while every entry is still checked as
//! `serde_json::Value` reading checked it: the last of duplicate keys wins, `size` must be an
//! unsigned integer and `blob_id` a string, other fields of another type read as absent, `null`
//! reads as absent, unknown fields are skipped.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::{Entry, is_valid_xet_hash};

/// The top-level object: its `format_version` (as `Value::as_f64` reads it) and `files`.
pub(super) struct Top {
    pub(super) version: Option<f64>,
    pub(super) files: Option<Files>,
}

/// What the `files` object held.
pub(super) struct Files {
    /// The entries kept, path → entry (the last of duplicate paths).
    pub(super) kept: BTreeMap<String, Entry>,
    /// Entries read, kept or not.
    pub(super) total: usize,
    /// Whether every Xet hash is valid.
    pub(super) valid: bool,
    /// The first entry with a `size` or `blob_id` of the wrong type.
    pub(super) error: Option<String>,
}

impl Top {
    pub(super) fn parse<'de, D: Deserializer<'de>>(
        deserializer: D,
        keep: &mut dyn FnMut(&str) -> bool,
    ) -> Result<Top, D::Error> {
        deserializer.deserialize_map(TopVisitor { keep })
    }
}

struct TopVisitor<'k> {
    keep: &'k mut dyn FnMut(&str) -> bool,
}

impl<'de> Visitor<'de> for TopVisitor<'_> {
    type Value = Top;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Top, A::Error> {
        let mut top = Top {
            version: None,
            files: None,
        };
        while let Some(key) = map.next_key::<TopKey>()? {
            match key {
                TopKey::Version => {
                    top.version = match map.next_value_seed(ScalarSeed { keep: false })? {
                        Scalar::Unsigned(n) => Some(n as f64),
                        Scalar::Number(n) => Some(n),
                        _ => None,
                    };
                }
                TopKey::Files => {
                    top.files = Some(map.next_value_seed(FilesSeed {
                        keep: &mut *self.keep,
                    })?);
                }
                TopKey::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(top)
    }
}

/// A key of the top-level object.
enum TopKey {
    Version,
    Files,
    Other,
}

impl<'de> de::Deserialize<'de> for TopKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<TopKey, D::Error> {
        deserializer.deserialize_identifier(KeyVisitor(|key: &str| match key {
            "format_version" => TopKey::Version,
            "files" => TopKey::Files,
            _ => TopKey::Other,
        }))
    }
}

/// A key of an entry object.
#[derive(Clone, Copy)]
enum Field {
    Size,
    BlobId,
    LfsSha256,
    LfsSize,
    XetHash,
    Other,
}

impl<'de> de::Deserialize<'de> for Field {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Field, D::Error> {
        deserializer.deserialize_identifier(KeyVisitor(|key: &str| match key {
            "size" => Field::Size,
            "blob_id" => Field::BlobId,
            "lfs_sha256" => Field::LfsSha256,
            "lfs_size" => Field::LfsSize,
            "xet_hash" => Field::XetHash,
            _ => Field::Other,
        }))
    }
}

/// Reads a key without keeping it (the name is matched as it is read).
struct KeyVisitor<F>(F);

impl<'de, T, F: FnOnce(&str) -> T> Visitor<'de> for KeyVisitor<F> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<T, E> {
        Ok((self.0)(key))
    }
}

struct FilesSeed<'k> {
    keep: &'k mut dyn FnMut(&str) -> bool,
}

impl<'de> DeserializeSeed<'de> for FilesSeed<'_> {
    type Value = Files;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Files, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for FilesSeed<'_> {
    type Value = Files;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("`files` as an object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Files, A::Error> {
        let mut files = Files {
            kept: BTreeMap::new(),
            total: 0,
            valid: true,
            error: None,
        };
        while let Some(path) = map.next_key_seed(PathSeed {
            keep: &mut *self.keep,
        })? {
            files.total += 1;
            let keep = path.is_some();
            let raw = map.next_value_seed(EntrySeed { keep })?;
            files.valid &= raw.xet_valid;
            match raw.into_entry() {
                Ok(entry) => {
                    if let (Some(path), Some(entry)) = (path, entry) {
                        files.kept.insert(path, entry);
                    }
                }
                Err(field) => {
                    files.error.get_or_insert_with(|| match &path {
                        Some(path) => format!("bad `{field}` for `{path}`"),
                        None => format!("bad `{field}` for an entry"),
                    });
                }
            }
        }
        Ok(files)
    }
}

/// A path of the `files` object: `Some` when the caller keeps it (only then is it copied).
struct PathSeed<'k> {
    keep: &'k mut dyn FnMut(&str) -> bool,
}

impl<'de> DeserializeSeed<'de> for PathSeed<'_> {
    type Value = Option<String>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for PathSeed<'_> {
    type Value = Option<String>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a path")
    }

    fn visit_str<E: de::Error>(self, path: &str) -> Result<Option<String>, E> {
        Ok((self.keep)(path).then(|| path.to_owned()))
    }
}

/// One entry's fields as read (the last of duplicate keys).
#[derive(Default)]
struct RawEntry {
    size: Option<Scalar>,
    blob_id: Option<Scalar>,
    lfs_sha256: Option<Scalar>,
    lfs_size: Option<Scalar>,
    xet_hash: Option<Scalar>,
    xet_valid: bool,
}

impl RawEntry {
    /// The entry (`None` when not kept), or the name of the field of the wrong type.
    fn into_entry(self) -> Result<Option<Entry>, &'static str> {
        let size = match self.size {
            Some(Scalar::Unsigned(size)) => size,
            _ => return Err("size"),
        };
        let blob_id = match self.blob_id {
            Some(Scalar::Text(text)) => text,
            _ => return Err("blob_id"),
        };
        let Some(blob_id) = blob_id else {
            return Ok(None);
        };
        let text = |value: Option<Scalar>| match value {
            Some(Scalar::Text(text)) => text,
            _ => None,
        };
        Ok(Some(Entry {
            size,
            blob_id,
            lfs_sha256: text(self.lfs_sha256),
            lfs_size: match self.lfs_size {
                Some(Scalar::Unsigned(size)) => Some(size),
                _ => None,
            },
            xet_hash: text(self.xet_hash),
        }))
    }
}

struct EntrySeed {
    keep: bool,
}

impl<'de> DeserializeSeed<'de> for EntrySeed {
    type Value = RawEntry;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<RawEntry, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for EntrySeed {
    type Value = RawEntry;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an entry object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawEntry, A::Error> {
        let mut raw = RawEntry::default();
        while let Some(field) = map.next_key::<Field>()? {
            if let Field::Other = field {
                map.next_value::<IgnoredAny>()?;
                continue;
            }
            let value = map.next_value_seed(ScalarSeed {
                // A Xet hash is always read: every one is checked, kept entry or not.
                keep: self.keep || matches!(field, Field::XetHash),
            })?;
            // `null` reads as absent (and, the last key winning, replaces an earlier value).
            let value = (!matches!(value, Scalar::Null)).then_some(value);
            match field {
                Field::Size => raw.size = value,
                Field::BlobId => raw.blob_id = value,
                Field::LfsSha256 => raw.lfs_sha256 = value,
                Field::LfsSize => raw.lfs_size = value,
                Field::XetHash => raw.xet_hash = value,
                Field::Other => {}
            }
        }
        raw.xet_valid = match &raw.xet_hash {
            Some(Scalar::Text(Some(hash))) => is_valid_xet_hash(hash),
            _ => true,
        };
        Ok(raw)
    }
}

/// A JSON value reduced to what a listing field needs.
enum Scalar {
    /// A string: its text when it was kept.
    Text(Option<String>),
    /// An unsigned integer (what `Value::as_u64` accepts).
    Unsigned(u64),
    /// Any other number.
    Number(f64),
    Null,
    /// A boolean, an array or an object.
    Other,
}

/// Reads one value as a [`Scalar`], copying a string only when `keep`.
struct ScalarSeed {
    keep: bool,
}

impl<'de> DeserializeSeed<'de> for ScalarSeed {
    type Value = Scalar;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Scalar, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ScalarSeed {
    type Value = Scalar;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Scalar, E> {
        Ok(Scalar::Text(self.keep.then(|| text.to_owned())))
    }

    fn visit_u64<E: de::Error>(self, n: u64) -> Result<Scalar, E> {
        Ok(Scalar::Unsigned(n))
    }

    fn visit_i64<E: de::Error>(self, n: i64) -> Result<Scalar, E> {
        Ok(match u64::try_from(n) {
            Ok(n) => Scalar::Unsigned(n),
            Err(_) => Scalar::Number(n as f64),
        })
    }

    fn visit_f64<E: de::Error>(self, n: f64) -> Result<Scalar, E> {
        Ok(Scalar::Number(n))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Scalar, E> {
        Ok(Scalar::Other)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Scalar, E> {
        Ok(Scalar::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Scalar, E> {
        Ok(Scalar::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Scalar, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Scalar::Other)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Scalar, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Scalar::Other)
    }
}
