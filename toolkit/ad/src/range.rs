//! Ranged retrieval of `member` (AD's MaxValRange, [MS-ADTS] 3.1.1.3.1.3.3).
//!
//! Above the server's value limit (1500 by default) AD does not return `member` whole: it
//! returns `member;range=0-1499` and the client asks for `member;range=1500-*`, then
//! `member;range=3000-*`, … until an answer's range ends in `*`. Samba only ranges when asked,
//! so the exporter can also force windows of a given size from the first request on.
//!
//! The loop is generic over [`RangeSource`] so it can be tested with recorded answers.

use crate::convert::is_member_attr;
use crate::entry::{RawAttr, RawEntry};
use crate::error::AdError;
use std::future::Future;

/// The range in an attribute description `member;range=START-END` (`END` = `*`: the last).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    pub start: u32,
    /// `None` for `*`: this answer holds the last values.
    pub end: Option<u32>,
}

/// Parses the `range=` option of an attribute description, if any.
pub fn parse_range(attr_name: &str) -> Option<Range> {
    let option = attr_name.split(';').skip(1).find_map(|o| {
        o.get(..6)
            .filter(|p| p.eq_ignore_ascii_case("range="))
            .and_then(|_| o.get(6..))
    })?;
    let (start, end) = option.split_once('-')?;
    Some(Range {
        start: start.parse().ok()?,
        end: match end {
            "*" => None,
            e => Some(e.parse().ok()?),
        },
    })
}

/// The attribute to request for the values from `start` on: `member;range=START-*`, or a
/// forced window of `step` values.
pub fn request_attr(start: u32, step: Option<u32>) -> String {
    match step {
        Some(n) => format!(
            "member;range={start}-{}",
            start.saturating_add(n.max(1) - 1)
        ),
        None => format!("member;range={start}-*"),
    }
}

/// What the first answer for a group said about its members.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Members {
    /// Every value is here.
    Complete(Vec<Vec<u8>>),
    /// The values up to a range end; the rest starts at `next`.
    Partial { values: Vec<Vec<u8>>, next: u32 },
}

/// Reads the member values out of a group entry, ranged or not.
pub fn members_of(entry: &RawEntry) -> Result<Members, String> {
    let ranged: Vec<&RawAttr> = entry
        .attrs
        .iter()
        .filter(|a| is_member_attr(&a.name) && a.name.contains(';'))
        .collect();
    match ranged.as_slice() {
        [] => Ok(Members::Complete(
            entry
                .attrs
                .iter()
                .filter(|a| a.name.eq_ignore_ascii_case("member"))
                .flat_map(|a| a.values.iter().cloned())
                .collect(),
        )),
        [attr] => {
            let range = parse_range(&attr.name)
                .ok_or_else(|| format!("{}: cannot read the range of {:?}", entry.dn, attr.name))?;
            if range.start != 0 {
                return Err(format!(
                    "{}: first answer starts at value {}, not 0 ({:?})",
                    entry.dn, range.start, attr.name
                ));
            }
            Ok(match range.end {
                None => Members::Complete(attr.values.clone()),
                Some(end) => Members::Partial {
                    values: attr.values.clone(),
                    next: end.saturating_add(1),
                },
            })
        }
        many => Err(format!(
            "{}: several ranged member attributes in one answer ({})",
            entry.dn,
            many.iter()
                .map(|a| a.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// Reads one group's entry again asking for one attribute (a base search).
pub trait RangeSource {
    /// `Ok(None)` when the object no longer exists.
    fn fetch(
        &mut self,
        base: &str,
        attribute: &str,
    ) -> impl Future<Output = Result<Option<RawEntry>, AdError>>;

    /// The server, for error messages.
    fn url(&self) -> String;
}

/// Fetches the remaining member values of `base` from `next` on, appending them to `values`.
/// Returns the number of requests made.
pub async fn fetch_rest<S: RangeSource>(
    source: &mut S,
    base: &str,
    mut next: u32,
    step: Option<u32>,
    values: &mut Vec<Vec<u8>>,
) -> Result<u32, AdError> {
    let protocol = |source: &S, detail: String| AdError::Protocol {
        url: source.url(),
        detail: format!("ranged retrieval of member of {base:?}: {detail}"),
    };
    let mut requests = 0u32;
    loop {
        let attribute = request_attr(next, step);
        requests += 1;
        let entry = source.fetch(base, &attribute).await?.ok_or_else(|| {
            protocol(
                source,
                "the group disappeared during the export; run the export again".into(),
            )
        })?;
        let ranged = entry
            .attrs
            .iter()
            .find(|a| is_member_attr(&a.name) && a.name.contains(';'));
        let Some(attr) = ranged else {
            // Asked past the last value (the previous window ended exactly at the end): AD
            // and Samba then return no member attribute at all.
            if entry.get("member").is_some_and(|a| !a.values.is_empty()) {
                return Err(protocol(
                    source,
                    format!("asked for {attribute} but the server returned member without a range"),
                ));
            }
            return Ok(requests);
        };
        let range = parse_range(&attr.name)
            .ok_or_else(|| protocol(source, format!("cannot read the range of {:?}", attr.name)))?;
        if range.start != next {
            return Err(protocol(
                source,
                format!("asked for {attribute}, the server answered {}", attr.name),
            ));
        }
        values.extend(attr.values.iter().cloned());
        match range.end {
            None => return Ok(requests),
            Some(end) if end >= next && !attr.values.is_empty() => next = end.saturating_add(1),
            Some(_) => {
                return Err(protocol(
                    source,
                    format!(
                        "answer {} does not advance ({} values)",
                        attr.name,
                        attr.values.len()
                    ),
                ));
            }
        }
    }
}
