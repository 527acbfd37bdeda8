//! Search result entries decoded from the wire without loss: every value kept as bytes.
//!
//! ldap3's own `SearchEntry::construct` panics on malformed input and splits values into text
//! and binary by whether they happen to be UTF-8 (an objectGUID can be); this decoder returns
//! errors instead and leaves the interpretation to the converter.

use ldap3::asn1::{PL, StructureTag};

/// One attribute of an entry, as the server named it (`member;range=0-1499` included).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawAttr {
    pub name: String,
    pub values: Vec<Vec<u8>>,
}

/// A search result entry.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RawEntry {
    pub dn: String,
    pub attrs: Vec<RawAttr>,
}

impl RawEntry {
    /// The attribute named `name` (attribute names are case-insensitive in LDAP).
    pub fn get(&self, name: &str) -> Option<&RawAttr> {
        self.attrs
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(name))
    }

    pub fn first(&self, name: &str) -> Option<&[u8]> {
        self.get(name)
            .and_then(|a| a.values.first())
            .map(Vec::as_slice)
    }

    /// The first value as text (invalid UTF-8 replaced; `raw` keeps the exact bytes).
    pub fn text(&self, name: &str) -> Option<String> {
        self.first(name)
            .map(|v| String::from_utf8_lossy(v).into_owned())
    }

    /// Builds an entry from text values, for tests and recorded responses.
    pub fn from_text(dn: &str, attrs: &[(&str, &[&str])]) -> RawEntry {
        RawEntry {
            dn: dn.to_string(),
            attrs: attrs
                .iter()
                .map(|(name, values)| RawAttr {
                    name: (*name).to_string(),
                    values: values.iter().map(|v| v.as_bytes().to_vec()).collect(),
                })
                .collect(),
        }
    }
}

fn primitive(tag: StructureTag, what: &str) -> Result<Vec<u8>, String> {
    match tag.payload {
        PL::P(bytes) => Ok(bytes),
        PL::C(_) => Err(format!("{what}: expected a primitive value")),
    }
}

fn constructed(tag: StructureTag, what: &str) -> Result<Vec<StructureTag>, String> {
    match tag.payload {
        PL::C(items) => Ok(items),
        PL::P(_) => Err(format!("{what}: expected a constructed value")),
    }
}

/// Decodes a SearchResultEntry (`[APPLICATION 4] SEQUENCE { objectName, attributes }`).
pub fn decode_entry(tag: StructureTag) -> Result<RawEntry, String> {
    if tag.id != 4 {
        return Err(format!(
            "expected a search result entry (application tag 4), got tag {}",
            tag.id
        ));
    }
    let mut parts = constructed(tag, "search result entry")?.into_iter();
    let dn = parts
        .next()
        .ok_or_else(|| "search result entry without a DN".to_string())
        .and_then(|t| primitive(t, "entry DN"))?;
    let dn = String::from_utf8(dn).map_err(|_| "entry DN is not UTF-8".to_string())?;
    let mut attrs = Vec::new();
    if let Some(list) = parts.next() {
        for pa in constructed(list, "attribute list")? {
            let mut pa = constructed(pa, "partial attribute")?.into_iter();
            let name = pa
                .next()
                .ok_or_else(|| format!("{dn}: attribute without a type"))
                .and_then(|t| primitive(t, "attribute type"))?;
            let name = String::from_utf8(name)
                .map_err(|_| format!("{dn}: attribute type is not UTF-8"))?;
            let values = match pa.next() {
                Some(set) => constructed(set, "attribute values")?
                    .into_iter()
                    .map(|v| primitive(v, "attribute value"))
                    .collect::<Result<Vec<_>, _>>()?,
                None => Vec::new(),
            };
            attrs.push(RawAttr { name, values });
        }
    }
    Ok(RawEntry { dn, attrs })
}

/// The paged-results response control value: `SEQUENCE { size INTEGER, cookie OCTET STRING }`.
/// Returns the cookie (empty when the search is complete).
pub fn decode_paged_cookie(value: &[u8]) -> Result<Vec<u8>, String> {
    let (_, tag) =
        ldap3::asn1::parse_tag(value).map_err(|_| "malformed paged results control".to_string())?;
    let mut items = constructed(tag, "paged results control")?.into_iter();
    let _size = items.next();
    match items.next() {
        Some(cookie) => primitive(cookie, "paged results cookie"),
        None => Err("paged results control without a cookie".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ldap3::asn1::TagClass;

    fn p(id: u64, bytes: &[u8]) -> StructureTag {
        StructureTag {
            class: TagClass::Universal,
            id,
            payload: PL::P(bytes.to_vec()),
        }
    }
    fn c(class: TagClass, id: u64, items: Vec<StructureTag>) -> StructureTag {
        StructureTag {
            class,
            id,
            payload: PL::C(items),
        }
    }
    fn attr(name: &[u8], values: &[&[u8]]) -> StructureTag {
        c(
            TagClass::Universal,
            16,
            vec![
                p(4, name),
                c(
                    TagClass::Universal,
                    17,
                    values.iter().map(|v| p(4, v)).collect(),
                ),
            ],
        )
    }

    #[test]
    fn decodes_entries_keeping_binary_values() {
        let guid = [0u8, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];
        let entry = c(
            TagClass::Application,
            4,
            vec![
                p(4, b"CN=a,DC=x"),
                c(
                    TagClass::Universal,
                    16,
                    vec![
                        attr(b"objectGUID", &[&guid]),
                        attr(b"member;range=0-1", &[b"CN=b", b"CN=c"]),
                    ],
                ),
            ],
        );
        let e = decode_entry(entry).unwrap();
        assert_eq!(e.dn, "CN=a,DC=x");
        assert_eq!(e.first("OBJECTGUID"), Some(&guid[..]));
        assert_eq!(e.get("member;range=0-1").unwrap().values.len(), 2);
        assert!(decode_entry(p(4, b"x")).is_err());
        let bad = c(
            TagClass::Application,
            4,
            vec![c(TagClass::Universal, 16, vec![])],
        );
        assert!(decode_entry(bad).is_err());
    }

    #[test]
    fn paged_cookie() {
        // SEQUENCE { INTEGER 0, OCTET STRING "ab" }
        assert_eq!(
            decode_paged_cookie(&[0x30, 0x07, 0x02, 0x01, 0x00, 0x04, 0x02, b'a', b'b']).unwrap(),
            b"ab"
        );
        assert_eq!(
            decode_paged_cookie(&[0x30, 0x05, 0x02, 0x01, 0x00, 0x04, 0x00]).unwrap(),
            b""
        );
        assert!(decode_paged_cookie(&[0x30]).is_err());
    }
}
