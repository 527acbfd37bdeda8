use crate::SnapshotKind;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The snapshot format version this build writes and reads.
pub const SCHEMA_VERSION: u32 = 1;

/// `manifest.json` of a snapshot directory. See docs/snapshot-format.md.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub schema_version: u32,
    pub kind: SnapshotKind,
    pub source: Source,
    /// When the export started (UTC).
    pub taken_at: DateTime<Utc>,
    pub tool: ToolInfo,
    /// `sha256:` digest of the Directory Sync config the export ran with (secrets excluded).
    #[serde(default)]
    pub config_digest: Option<String>,
    /// The filters the exporter applied (LDAP for AD, SCIM for IIJ ID).
    #[serde(default)]
    pub filters: Filters,
    pub counts: Counts,
    /// Data files by name, with their sha256 and size.
    pub files: BTreeMap<String, FileEntry>,
    /// The non-secret Directory Sync configuration the export ran with, as JSON, so a plan
    /// built from several snapshots knows each instance's mapping and ownership filters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<serde_json::Value>,
    /// Anything the exporter wants a reader to know (paging anomalies, skipped referrals…).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// Where a snapshot came from.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Source {
    /// LDAP server or SCIM/Graph host that answered.
    #[serde(default)]
    pub host: Option<String>,
    /// LDAP search base (AD).
    #[serde(default)]
    pub base_dn: Option<String>,
    /// DNS domain of the AD base DN (AD).
    #[serde(default)]
    pub domain: Option<String>,
    /// SCIM base URL or Graph URL (IIJ ID, M365).
    #[serde(default)]
    pub tenant_url: Option<String>,
    /// The Directory Sync instance name (`dirsnap.instance` in config.yml).
    #[serde(default)]
    pub instance: Option<String>,
}

impl Source {
    /// A one-line description for humans.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(i) = &self.instance {
            parts.push(format!("instance {i}"));
        }
        if let Some(h) = &self.host {
            parts.push(h.clone());
        }
        if let Some(b) = &self.base_dn {
            parts.push(b.clone());
        }
        if let Some(t) = &self.tenant_url {
            parts.push(t.clone());
        }
        if parts.is_empty() {
            "unknown source".to_string()
        } else {
            parts.join(", ")
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolInfo {
    pub name: String,
    pub version: String,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Filters {
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default)]
    pub group: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Counts {
    pub users: u64,
    pub groups: u64,
    pub memberships: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// Lowercase hex sha256 of the file's bytes.
    pub sha256: String,
    pub bytes: u64,
    pub rows: u64,
}
