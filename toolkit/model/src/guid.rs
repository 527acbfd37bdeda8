use std::fmt;
use std::str::FromStr;

/// A Windows GUID as AD stores it in `objectGUID`: 16 bytes whose first three fields are
/// little-endian. Its canonical text (`{3}{2}{1}{0}-{5}{4}-{7}{6}-{8}{9}-{10..16}`) is what
/// PowerShell's `Get-ADUser` prints and what `<GUID=...>` search bases expect.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Guid(pub [u8; 16]);

impl Guid {
    pub fn from_slice(bytes: &[u8]) -> Option<Guid> {
        <[u8; 16]>::try_from(bytes).ok().map(Guid)
    }

    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// Standard base64 of the 16 binary bytes: the encoding Entra Connect uses for an
    /// objectGUID / mS-DS-ConsistencyGuid source anchor (immutableId).
    pub fn to_base64(&self) -> String {
        base64_encode(&self.0)
    }

    pub fn is_nil(&self) -> bool {
        self.0 == [0u8; 16]
    }
}

/// Where each byte goes in the canonical text: the first three fields are little-endian.
const TEXT_ORDER: [usize; 16] = [3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15];

impl Guid {
    /// The canonical text (lowercase, `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`) written into
    /// `buf`, without the `fmt` machinery or an allocation: a snapshot of a million users
    /// formats a million or two of them.
    pub fn text<'b>(&self, buf: &'b mut [u8; 36]) -> &'b str {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut at = 0;
        for (i, byte_index) in TEXT_ORDER.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                buf[at] = b'-';
                at += 1;
            }
            let byte = self.0[*byte_index];
            buf[at] = HEX[usize::from(byte >> 4)];
            buf[at + 1] = HEX[usize::from(byte & 0x0f)];
            at += 2;
        }
        // Only ASCII was written, so this never falls back.
        std::str::from_utf8(buf).unwrap_or_default()
    }
}

impl fmt::Display for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.text(&mut [0u8; 36]))
    }
}

impl fmt::Debug for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Guid({self})")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid GUID {0:?}: expected 8-4-4-4-12 hexadecimal digits")]
pub struct GuidParseError(pub String);

impl FromStr for Guid {
    type Err = GuidParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim().trim_start_matches('{').trim_end_matches('}');
        let err = || GuidParseError(s.to_string());
        let parts: Vec<&str> = t.split('-').collect();
        if parts.len() != 5 || parts.iter().map(|p| p.len()).collect::<Vec<_>>() != [8, 4, 4, 4, 12]
        {
            return Err(err());
        }
        let hex: String = parts.concat();
        let mut text = [0u8; 16];
        for (i, slot) in text.iter_mut().enumerate() {
            let pair = hex.get(2 * i..2 * i + 2).ok_or_else(err)?;
            *slot = u8::from_str_radix(pair, 16).map_err(|_| err())?;
        }
        // Undo the mixed-endian display order of the first three fields.
        let b = [
            text[3], text[2], text[1], text[0], text[5], text[4], text[7], text[6], text[8],
            text[9], text[10], text[11], text[12], text[13], text[14], text[15],
        ];
        Ok(Guid(b))
    }
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Formats a binary security identifier (`objectSid`) as `S-1-5-21-…`.
/// Returns `None` when the bytes are not a well-formed SID.
pub fn sid_to_string(bytes: &[u8]) -> Option<String> {
    let revision = *bytes.first()?;
    let count = *bytes.get(1)? as usize;
    let authority = bytes.get(2..8)?;
    if bytes.len() != 8 + 4 * count {
        return None;
    }
    let mut auth: u64 = 0;
    for b in authority {
        auth = (auth << 8) | u64::from(*b);
    }
    let mut s = format!("S-{revision}-{auth}");
    for i in 0..count {
        let sub = bytes.get(8 + 4 * i..12 + 4 * i)?;
        let v = u32::from_le_bytes([sub[0], sub[1], sub[2], sub[3]]);
        s.push('-');
        s.push_str(&v.to_string());
    }
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_matches_the_formatted_fields() {
        for seed in [0u8, 0x0f, 0x5a, 0xa5, 0xf0, 0xff] {
            let mut bytes = [0u8; 16];
            for (i, b) in bytes.iter_mut().enumerate() {
                *b = seed.wrapping_mul(31).wrapping_add(i as u8 * 17) ^ seed;
            }
            let b = bytes;
            let expected = format!(
                "{:02x}{:02x}{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}",
                b[3],
                b[2],
                b[1],
                b[0],
                b[5],
                b[4],
                b[7],
                b[6],
                b[8],
                b[9],
                b[10],
                b[11],
                b[12],
                b[13],
                b[14],
                b[15]
            );
            assert_eq!(Guid(bytes).text(&mut [0u8; 36]), expected);
            assert_eq!(Guid(bytes).to_string(), expected);
        }
    }

    #[test]
    fn guid_text_is_mixed_endian() {
        // Bytes as AD returns them for {01020304-0506-0708-090a-0b0c0d0e0f10}.
        let g = Guid([4, 3, 2, 1, 6, 5, 8, 7, 9, 10, 11, 12, 13, 14, 15, 16]);
        assert_eq!(g.to_string(), "01020304-0506-0708-090a-0b0c0d0e0f10");
        assert_eq!(
            "01020304-0506-0708-090A-0B0C0D0E0F10".parse::<Guid>(),
            Ok(g)
        );
        assert_eq!(
            "{01020304-0506-0708-090a-0b0c0d0e0f10}".parse::<Guid>(),
            Ok(g)
        );
        assert!(
            "0102030-0506-0708-090a-0b0c0d0e0f10"
                .parse::<Guid>()
                .is_err()
        );
        assert!(
            "zz020304-0506-0708-090a-0b0c0d0e0f10"
                .parse::<Guid>()
                .is_err()
        );
        assert!("".parse::<Guid>().is_err());
    }

    #[test]
    fn base64_matches_known_values() {
        assert_eq!(base64_encode(b""), "");
        assert_eq!(base64_encode(b"f"), "Zg==");
        assert_eq!(base64_encode(b"fo"), "Zm8=");
        assert_eq!(base64_encode(b"foo"), "Zm9v");
        assert_eq!(Guid([0xff; 16]).to_base64(), "/////////////////////w==");
    }

    #[test]
    fn sid_formats_like_windows() {
        // S-1-5-21-1004336348-1177238915-682003330-512
        let sid = [
            1u8, 5, 0, 0, 0, 0, 0, 5, 21, 0, 0, 0, 0xdc, 0xf4, 0xdc, 0x3b, 0x83, 0x3d, 0x2b, 0x46,
            0x82, 0x8b, 0xa6, 0x28, 0x00, 0x02, 0x00, 0x00,
        ];
        assert_eq!(
            sid_to_string(&sid).as_deref(),
            Some("S-1-5-21-1004336348-1177238915-682003330-512")
        );
        assert_eq!(sid_to_string(&sid[..10]), None);
    }
}
