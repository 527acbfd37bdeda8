use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Which system a snapshot was taken from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SnapshotKind {
    /// Active Directory, read over LDAP.
    Ad,
    /// IIJ ID Service, read over SCIM 2.0.
    Iid,
    /// Microsoft 365 (Entra ID), read over Microsoft Graph or from the admin center's CSV.
    M365,
}

impl SnapshotKind {
    pub const ALL: [SnapshotKind; 3] = [SnapshotKind::Ad, SnapshotKind::Iid, SnapshotKind::M365];

    pub fn as_str(self) -> &'static str {
        match self {
            SnapshotKind::Ad => "ad",
            SnapshotKind::Iid => "iid",
            SnapshotKind::M365 => "m365",
        }
    }

    /// The system's name with its article, for sentences: "an AD", "an IIJ ID", "a Microsoft
    /// 365" (never "a ad").
    pub fn with_article(self) -> &'static str {
        match self {
            SnapshotKind::Ad => "an AD",
            SnapshotKind::Iid => "an IIJ ID",
            SnapshotKind::M365 => "a Microsoft 365",
        }
    }

    /// The stable key objects of this kind are identified by, as shown to users.
    pub fn key_name(self) -> &'static str {
        match self {
            SnapshotKind::Ad => "objectGUID",
            SnapshotKind::Iid => "id",
            SnapshotKind::M365 => "id",
        }
    }
}

impl fmt::Display for SnapshotKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown snapshot kind {0:?}: expected one of ad, iid, m365")]
pub struct KindParseError(pub String);

impl FromStr for SnapshotKind {
    type Err = KindParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "ad" => Ok(SnapshotKind::Ad),
            "iid" => Ok(SnapshotKind::Iid),
            "m365" => Ok(SnapshotKind::M365),
            other => Err(KindParseError(other.to_string())),
        }
    }
}
