//! Deterministic identifiers derived from names, so regenerated fixtures are byte-identical.

use dirsnap_model::Guid;
use sha2::{Digest, Sha256};

/// A GUID derived from a seed string.
pub fn guid(seed: &str) -> Guid {
    let digest = Sha256::digest(seed.as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&digest[..16]);
    // Version 4 / RFC 4122 variant bits, so the text looks like what AD hands out.
    b[7] = (b[7] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    Guid(b)
}

/// A lowercase UUID text derived from a seed (IIJ ID's resource ids are UUIDs).
pub fn uuid(seed: &str) -> String {
    let digest = Sha256::digest(seed.as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&digest[..16]);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    format!(
        "{:02x}{:02x}{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}",
        b[0],
        b[1],
        b[2],
        b[3],
        b[4],
        b[5],
        b[6],
        b[7],
        b[8],
        b[9],
        b[10],
        b[11],
        b[12],
        b[13],
        b[14],
        b[15]
    )
}

/// A SID in the demo domain with the given relative id.
pub fn sid(rid: u32) -> String {
    format!("S-1-5-21-3623811015-3361044348-30300820-{rid}")
}
