//! From LDAP entries to the typed rows of an AD snapshot (docs/snapshot-format.md). Pure.

use crate::entry::RawEntry;
use base64::Engine as _;
use chrono::{DateTime, NaiveDateTime, Utc};
use dirsnap_model::{AdGroup, AdUser, Guid, UAC_ACCOUNTDISABLE, filetime_to_utc, sid_to_string};

/// Attributes whose values are binary by schema: always written as `{"base64": …}` in `raw`,
/// even when the bytes happen to be valid UTF-8, so a reader never has to guess.
const BINARY_ATTRIBUTES: &[&str] = &[
    "objectGUID",
    "objectSid",
    "mS-DS-ConsistencyGuid",
    "sIDHistory",
    "msExchMailboxGuid",
    "msExchArchiveGUID",
    "thumbnailPhoto",
    "jpegPhoto",
    "userCertificate",
    "userSMIMECertificate",
    "nTSecurityDescriptor",
    "tokenGroups",
    "msDS-KeyCredentialLink",
    "logonHours",
];

fn is_binary_attribute(name: &str) -> bool {
    let base = name.split(';').next().unwrap_or(name);
    BINARY_ATTRIBUTES
        .iter()
        .any(|b| b.eq_ignore_ascii_case(base))
}

/// An entry that could not become a row, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub dn: String,
    pub reason: String,
}

/// `raw`: every attribute as received, `{"attr": ["value", …]}`, binary values as
/// `{"base64": "…"}`. `skip` filters attributes out (a group's members live in
/// memberships.parquet).
pub fn raw_json(entry: &RawEntry, skip: impl Fn(&str) -> bool) -> String {
    // Written straight into one buffer: building a serde_json::Value per entry first costs
    // an allocation per value, which dominated the exporter's own CPU time.
    let mut out: Vec<u8> = Vec::with_capacity(64 * entry.attrs.len().max(1));
    out.push(b'{');
    let mut first = true;
    for a in &entry.attrs {
        if skip(&a.name) {
            continue;
        }
        if !first {
            out.push(b',');
        }
        first = false;
        json_str(&mut out, &a.name);
        out.extend_from_slice(b":[");
        let binary = is_binary_attribute(&a.name);
        for (i, v) in a.values.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            match (binary, std::str::from_utf8(v)) {
                (false, Ok(s)) => json_str(&mut out, s),
                _ => {
                    out.extend_from_slice(b"{\"base64\":\"");
                    let start = out.len();
                    out.resize(start + v.len().div_ceil(3) * 4, 0);
                    let n = base64::engine::general_purpose::STANDARD
                        .encode_slice(v, &mut out[start..])
                        .unwrap_or(0);
                    out.truncate(start + n);
                    out.extend_from_slice(b"\"}");
                }
            }
        }
        out.push(b']');
    }
    out.push(b'}');
    // Only valid UTF-8 (keys and values checked or base64) went in.
    String::from_utf8(out).unwrap_or_default()
}

fn json_str(out: &mut Vec<u8>, s: &str) {
    // serde_json's string escaping, without an intermediate String.
    let _ = serde_json::to_writer(&mut *out, s);
}

/// AD GeneralizedTime (`20240131235959.0Z`) as UTC.
pub fn parse_generalized_time(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    let body = s.strip_suffix('Z').unwrap_or(s);
    let (main, frac) = match body.split_once(['.', ',']) {
        Some((m, f)) => (m, f),
        None => (body, ""),
    };
    let naive = NaiveDateTime::parse_from_str(main, "%Y%m%d%H%M%S").ok()?;
    let mut t = naive.and_utc();
    if !frac.is_empty() && frac.chars().all(|c| c.is_ascii_digit()) {
        let digits: String = frac.chars().take(9).collect();
        let nanos: i64 = format!("{digits:0<9}").parse().ok()?;
        t += chrono::Duration::nanoseconds(nanos);
    }
    Some(t)
}

fn int(entry: &RawEntry, name: &str) -> Option<i64> {
    std::str::from_utf8(entry.first(name)?)
        .ok()?
        .trim()
        .parse()
        .ok()
}

fn guid(entry: &RawEntry) -> Result<Guid, Skipped> {
    let skipped = |reason: &str| Skipped {
        dn: entry.dn.clone(),
        reason: reason.to_string(),
    };
    let bytes = entry
        .first("objectGUID")
        .ok_or_else(|| skipped("no objectGUID (is the bind account allowed to read it?)"))?;
    Guid::from_slice(bytes).ok_or_else(|| skipped("objectGUID is not 16 bytes"))
}

fn is_deleted(entry: &RawEntry) -> bool {
    entry
        .text("isDeleted")
        .is_some_and(|v| v.eq_ignore_ascii_case("TRUE"))
}

/// `userAccountControl` is an unsigned flag word that AD may transmit as a negative 32-bit
/// integer.
fn uac(entry: &RawEntry) -> Option<u32> {
    let v = int(entry, "userAccountControl")?;
    u32::try_from(v)
        .ok()
        .or_else(|| i32::try_from(v).ok().map(|x| x as u32))
}

/// Converts a user entry. `taken_at` decides `expired`.
pub fn user(entry: &RawEntry, domain: &str, taken_at: DateTime<Utc>) -> Result<AdUser, Skipped> {
    let object_guid = guid(entry)?;
    let user_account_control = uac(entry);
    let account_expires = int(entry, "accountExpires").and_then(filetime_to_utc);
    Ok(AdUser {
        object_guid,
        object_sid: entry.first("objectSid").and_then(sid_to_string),
        dn: entry.dn.clone(),
        domain: domain.to_string(),
        sam_account_name: entry.text("sAMAccountName"),
        user_principal_name: entry.text("userPrincipalName"),
        mail: entry.text("mail"),
        given_name: entry.text("givenName"),
        sn: entry.text("sn"),
        display_name: entry.text("displayName"),
        department: entry.text("department"),
        title: entry.text("title"),
        telephone_number: entry.text("telephoneNumber"),
        mobile: entry.text("mobile"),
        consistency_guid: entry.first("mS-DS-ConsistencyGuid").map(<[u8]>::to_vec),
        user_account_control,
        enabled: user_account_control.is_none_or(|u| u & UAC_ACCOUNTDISABLE == 0),
        account_expires,
        expired: account_expires.is_some_and(|t| t <= taken_at),
        when_created: entry
            .text("whenCreated")
            .and_then(|s| parse_generalized_time(&s)),
        when_changed: entry
            .text("whenChanged")
            .and_then(|s| parse_generalized_time(&s)),
        usn_changed: int(entry, "uSNChanged"),
        is_deleted: is_deleted(entry),
        raw: raw_json(entry, |_| false),
    })
}

/// True for `member` and its ranged forms (`member;range=0-1499`).
pub fn is_member_attr(name: &str) -> bool {
    let base = name.split(';').next().unwrap_or(name);
    base.eq_ignore_ascii_case("member")
}

/// Converts a group entry; its members are handled separately (memberships.parquet).
pub fn group(entry: &RawEntry, domain: &str) -> Result<AdGroup, Skipped> {
    let object_guid = guid(entry)?;
    Ok(AdGroup {
        object_guid,
        object_sid: entry.first("objectSid").and_then(sid_to_string),
        dn: entry.dn.clone(),
        domain: domain.to_string(),
        sam_account_name: entry.text("sAMAccountName"),
        cn: entry.text("cn"),
        display_name: entry.text("displayName"),
        description: entry.text("description"),
        mail: entry.text("mail"),
        group_type: int(entry, "groupType").and_then(|v| {
            i32::try_from(v)
                .ok()
                .or_else(|| u32::try_from(v).ok().map(|x| x as i32))
        }),
        when_created: entry
            .text("whenCreated")
            .and_then(|s| parse_generalized_time(&s)),
        when_changed: entry
            .text("whenChanged")
            .and_then(|s| parse_generalized_time(&s)),
        usn_changed: int(entry, "uSNChanged"),
        is_deleted: is_deleted(entry),
        raw: raw_json(entry, is_member_attr),
    })
}

/// The DNS domain of a DN: its `DC=` components joined with dots (`DC=example,DC=co,DC=jp`
/// → `example.co.jp`). `None` when the DN has no `DC=` component.
pub fn domain_of(dn: &str) -> Option<String> {
    let parts: Vec<String> = split_dn(dn)
        .into_iter()
        .filter_map(|rdn| {
            let (k, v) = rdn.split_once('=')?;
            k.trim()
                .eq_ignore_ascii_case("dc")
                .then(|| v.trim().to_ascii_lowercase())
        })
        .collect();
    (!parts.is_empty()).then(|| parts.join("."))
}

/// Splits a DN into RDNs at unescaped commas.
fn split_dn(dn: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut escaped = false;
    for (i, c) in dn.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            ',' => {
                out.push(&dn[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&dn[start..]);
    out
}

/// DN comparison key: AD compares DNs case-insensitively and returns `member` values in the
/// same form as `distinguishedName`, so folding case is enough.
pub fn dn_key(dn: &str) -> String {
    dn.to_lowercase()
}

/// True when `dn` is `base` or lies under it.
pub fn is_under(dn: &str, base: &str) -> bool {
    let (d, b) = (dn_key(dn), dn_key(base));
    d == b || d.ends_with(&format!(",{b}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entry::RawAttr;
    use chrono::TimeZone;
    use serde_json::Value;

    fn bin(name: &str, v: &[u8]) -> RawAttr {
        RawAttr {
            name: name.into(),
            values: vec![v.to_vec()],
        }
    }

    #[test]
    fn generalized_time() {
        assert_eq!(
            parse_generalized_time("20240131235959.0Z"),
            Some(Utc.with_ymd_and_hms(2024, 1, 31, 23, 59, 59).unwrap())
        );
        assert_eq!(
            parse_generalized_time("20240131235959.5Z").map(|t| t.timestamp_subsec_millis()),
            Some(500)
        );
        assert_eq!(parse_generalized_time("garbage"), None);
    }

    #[test]
    fn domain_from_dn() {
        assert_eq!(
            domain_of("OU=Staff,DC=Example,DC=co,DC=jp").as_deref(),
            Some("example.co.jp")
        );
        assert_eq!(domain_of(r"OU=a\,DC=b,O=x"), None);
        assert!(is_under("CN=a,OU=x,DC=t", "ou=X,dc=T"));
        assert!(!is_under("CN=a,OU=xy,DC=t", "OU=y,DC=t"));
    }

    #[test]
    fn user_row_from_entry() {
        // objectGUID bytes that are valid ASCII must still be binary in raw.
        let guid = *b"ABCDEFGHIJKLMNOP";
        let taken = Utc.with_ymd_and_hms(2025, 6, 1, 0, 0, 0).unwrap();
        let mut e = RawEntry::from_text(
            "CN=山田 太郎,OU=Staff,DC=example,DC=co,DC=jp",
            &[
                ("sAMAccountName", &["yamada"]),
                ("displayName", &["山田 太郎"]),
                ("userAccountControl", &["514"]),
                // 2024-01-01T00:00:00Z: before taken_at
                ("accountExpires", &["133485408000000000"]),
                ("whenChanged", &["20250101000000.0Z"]),
                ("uSNChanged", &["4711"]),
            ],
        );
        e.attrs.push(bin("objectGUID", &guid));
        e.attrs.push(bin(
            "objectSid",
            &[1, 1, 0, 0, 0, 0, 0, 5, 0x20, 0x02, 0, 0],
        ));
        let u = user(&e, "example.co.jp", taken).unwrap();
        assert_eq!(u.object_guid.as_bytes(), &guid);
        assert_eq!(u.object_sid.as_deref(), Some("S-1-5-544"));
        assert!(!u.enabled);
        assert!(u.expired);
        assert_eq!(u.usn_changed, Some(4711));
        assert_eq!(u.display_name.as_deref(), Some("山田 太郎"));
        let raw: Value = serde_json::from_str(&u.raw).unwrap();
        assert_eq!(raw["displayName"][0], "山田 太郎");
        assert_eq!(raw["objectGUID"][0]["base64"], "QUJDREVGR0hJSktMTU5PUA==");

        // Never expires, enabled.
        let mut e2 = RawEntry::from_text(
            "CN=b,DC=x",
            &[
                ("userAccountControl", &["512"]),
                ("accountExpires", &["9223372036854775807"]),
            ],
        );
        e2.attrs.push(bin("objectGUID", &guid));
        let u2 = user(&e2, "x", taken).unwrap();
        assert!(u2.enabled && !u2.expired && u2.account_expires.is_none());

        let no_guid = RawEntry::from_text("CN=c,DC=x", &[]);
        assert!(
            user(&no_guid, "x", taken)
                .unwrap_err()
                .reason
                .contains("objectGUID")
        );
    }

    #[test]
    fn raw_json_escapes_text_and_encodes_binary() {
        let mut e = RawEntry::from_text(
            "CN=x",
            &[
                ("description", &["quote \" back \\ nl \n tab \t", "二"]),
                ("empty", &[]),
            ],
        );
        e.attrs.push(bin("info", &[0xff, 0xfe, 0x00]));
        e.attrs.push(bin("objectSid", b"plain ascii"));
        let raw: Value = serde_json::from_str(&raw_json(&e, |_| false)).unwrap();
        assert_eq!(
            raw,
            serde_json::json!({
                "description": ["quote \" back \\ nl \n tab \t", "二"],
                "empty": [],
                "info": [{"base64": "//4A"}],
                "objectSid": [{"base64": "cGxhaW4gYXNjaWk="}],
            })
        );
        assert_eq!(raw_json(&RawEntry::default(), |_| false), "{}");
        assert_eq!(raw_json(&e, |n| n != "empty"), r#"{"empty":[]}"#);
    }

    #[test]
    fn group_raw_leaves_members_out() {
        let mut e = RawEntry::from_text(
            "CN=g,DC=x",
            &[
                ("cn", &["g"]),
                ("groupType", &["-2147483646"]),
                ("member;range=0-1", &["CN=a,DC=x", "CN=b,DC=x"]),
            ],
        );
        e.attrs.push(bin("objectGUID", &[7u8; 16]));
        let g = group(&e, "x").unwrap();
        assert_eq!(g.group_type, Some(-2147483646));
        assert!(!g.raw.contains("member"));
        assert!(g.raw.contains("\"cn\":[\"g\"]"));
    }
}
