//! Flyway-like change versions: dot- or underscore-separated numbers compared numerically.
//!
//! Pure value type: no I/O. `1.10` sorts after `1.9`, leading zeros do not matter (`0001 == 1`)
//! and trailing zero segments do not either (`1.0 == 1`), as in Flyway.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

/// Why a version string is not a version.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VersionError {
    /// The string is empty.
    #[error("version is empty")]
    Empty,
    /// A segment between separators is empty or not all ASCII digits.
    #[error(
        "version {version:?}: segment {segment:?} is not a number (use digits separated by '.' or '_')"
    )]
    BadSegment {
        /// The whole version string.
        version: String,
        /// The offending segment.
        segment: String,
    },
}

/// A change version. Equality, ordering and hashing use the numeric value; `Display` shows the
/// string as written.
#[derive(Debug, Clone)]
pub struct Version {
    /// As written in the manifest.
    text: String,
    /// Segments without leading zeros, trailing zero segments removed. Digit strings are compared
    /// by length first, then lexically, so segments of any length compare numerically.
    segments: Vec<String>,
}

impl Version {
    /// Parses a version such as `1.10`, `2_1` or `0003`.
    pub fn parse(text: &str) -> Result<Self, VersionError> {
        if text.is_empty() {
            return Err(VersionError::Empty);
        }
        let mut segments = Vec::new();
        for segment in text.split(['.', '_']) {
            if segment.is_empty() || !segment.bytes().all(|b| b.is_ascii_digit()) {
                return Err(VersionError::BadSegment {
                    version: text.to_owned(),
                    segment: segment.to_owned(),
                });
            }
            segments.push(segment.trim_start_matches('0').to_owned());
        }
        while segments.last().is_some_and(String::is_empty) {
            segments.pop();
        }
        Ok(Self {
            text: text.to_owned(),
            segments,
        })
    }

    /// The version as written.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl FromStr for Version {
    type Err = VersionError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl PartialEq for Version {
    fn eq(&self, other: &Self) -> bool {
        self.segments == other.segments
    }
}

impl Eq for Version {}

impl Hash for Version {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.segments.hash(state);
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        // A missing segment counts as 0; normalised segments have no trailing zeros, so a plain
        // element-wise comparison where the shorter list sorts first is exactly that.
        for (a, b) in self.segments.iter().zip(&other.segments) {
            let by_value = a.len().cmp(&b.len()).then_with(|| a.cmp(b));
            if by_value != Ordering::Equal {
                return by_value;
            }
        }
        self.segments.len().cmp(&other.segments.len())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap()
    }

    #[test]
    fn numeric_ordering_table() {
        // (lower, higher)
        let cases = [
            ("1.9", "1.10"),
            ("1", "2"),
            ("9", "10"),
            ("1", "1.1"),
            ("1.0", "1.0.1"),
            ("1_9", "1.10"),
            ("2", "10.0"),
            ("0.9.9", "1"),
            ("20240101", "20240102"),
            ("1.2.3", "1.3"),
            // Longer than u64: still numeric.
            ("99999999999999999999999", "100000000000000000000000"),
        ];
        for (lo, hi) in cases {
            assert!(v(lo) < v(hi), "{lo} < {hi}");
            assert!(v(hi) > v(lo), "{hi} > {lo}");
            assert_ne!(v(lo), v(hi));
        }
    }

    #[test]
    fn equal_versions_table() {
        let cases = [
            ("0001", "1"),
            ("1.0", "1"),
            ("1.0.0", "1"),
            ("1_2", "1.2"),
            ("01.002", "1.2"),
            ("0", "0.0"),
        ];
        for (a, b) in cases {
            assert_eq!(v(a), v(b), "{a} == {b}");
            assert_eq!(v(a).cmp(&v(b)), Ordering::Equal);
            let set: std::collections::HashSet<Version> = [v(a), v(b)].into_iter().collect();
            assert_eq!(set.len(), 1, "{a} and {b} hash alike");
        }
    }

    #[test]
    fn display_keeps_the_written_form() {
        assert_eq!(v("0001.10").to_string(), "0001.10");
        assert_eq!(v("2_1").as_str(), "2_1");
    }

    #[test]
    fn rejects_non_versions() {
        assert_eq!(Version::parse(""), Err(VersionError::Empty));
        for bad in ["1.", ".1", "1..2", "v1", "1.a", "1-2", " 1", "1.2 "] {
            let err = Version::parse(bad).unwrap_err();
            assert!(
                matches!(err, VersionError::BadSegment { .. }),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn sorts_a_shuffled_list() {
        let mut list: Vec<Version> = ["1.10", "1.2", "1.9", "0002", "1", "1.1.1"]
            .into_iter()
            .map(v)
            .collect();
        list.sort();
        let shown: Vec<String> = list.iter().map(ToString::to_string).collect();
        assert_eq!(shown, ["1", "1.1.1", "1.2", "1.9", "1.10", "0002"]);
    }
}
