use crate::Guid;
use chrono::{DateTime, Utc};

/// `userAccountControl` bit: the account is disabled.
pub const UAC_ACCOUNTDISABLE: u32 = 0x0002;

/// An Active Directory user as exported (one row of an AD snapshot's `users.parquet`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AdUser {
    pub object_guid: Guid,
    /// `S-1-5-…` text form of `objectSid`.
    pub object_sid: Option<String>,
    pub dn: String,
    /// DNS name of the domain the object came from, e.g. `example.co.jp`.
    pub domain: String,
    pub sam_account_name: Option<String>,
    pub user_principal_name: Option<String>,
    pub mail: Option<String>,
    pub given_name: Option<String>,
    pub sn: Option<String>,
    pub display_name: Option<String>,
    pub department: Option<String>,
    pub title: Option<String>,
    pub telephone_number: Option<String>,
    pub mobile: Option<String>,
    /// `mS-DS-ConsistencyGuid`, binary as stored (normally 16 bytes).
    pub consistency_guid: Option<Vec<u8>>,
    pub user_account_control: Option<u32>,
    /// Derived: `ACCOUNTDISABLE` is not set.
    pub enabled: bool,
    /// `accountExpires`; `None` when it is 0 or 0x7FFFFFFFFFFFFFFF (never).
    pub account_expires: Option<DateTime<Utc>>,
    /// Derived: `account_expires` is at or before the snapshot's `taken_at`.
    pub expired: bool,
    pub when_created: Option<DateTime<Utc>>,
    pub when_changed: Option<DateTime<Utc>>,
    pub usn_changed: Option<i64>,
    /// A tombstone read with the show-deleted control.
    pub is_deleted: bool,
    /// Every attribute as received, as a JSON object `{"attr": ["value", …]}`; binary values
    /// are `{"base64": "…"}`.
    pub raw: String,
}

impl AdUser {
    /// The login-ish name people recognise, for messages.
    pub fn label(&self) -> &str {
        self.user_principal_name
            .as_deref()
            .or(self.sam_account_name.as_deref())
            .unwrap_or(&self.dn)
    }

    /// `mS-DS-ConsistencyGuid` as a GUID when it is exactly 16 bytes.
    pub fn consistency_guid_as_guid(&self) -> Option<Guid> {
        self.consistency_guid.as_deref().and_then(Guid::from_slice)
    }
}

/// An Active Directory group (one row of an AD snapshot's `groups.parquet`). Its direct
/// members are rows of `memberships.parquet`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AdGroup {
    pub object_guid: Guid,
    pub object_sid: Option<String>,
    pub dn: String,
    pub domain: String,
    pub sam_account_name: Option<String>,
    pub cn: Option<String>,
    pub display_name: Option<String>,
    pub description: Option<String>,
    pub mail: Option<String>,
    /// `groupType` (signed, as AD stores it).
    pub group_type: Option<i32>,
    pub when_created: Option<DateTime<Utc>>,
    pub when_changed: Option<DateTime<Utc>>,
    pub usn_changed: Option<i64>,
    pub is_deleted: bool,
    pub raw: String,
}

impl AdGroup {
    pub fn label(&self) -> &str {
        self.cn
            .as_deref()
            .or(self.sam_account_name.as_deref())
            .unwrap_or(&self.dn)
    }
}

/// Converts a Windows FILETIME (100 ns ticks since 1601-01-01 UTC), as used by
/// `accountExpires`, to UTC. 0 and `i64::MAX` mean "never" and give `None`.
pub fn filetime_to_utc(ticks: i64) -> Option<DateTime<Utc>> {
    const EPOCH_DIFF_SECS: i64 = 11_644_473_600;
    if ticks <= 0 || ticks == i64::MAX {
        return None;
    }
    let secs = ticks / 10_000_000 - EPOCH_DIFF_SECS;
    let nanos = (ticks % 10_000_000) * 100;
    DateTime::from_timestamp(secs, u32::try_from(nanos).ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filetime_never_and_known_instant() {
        assert_eq!(filetime_to_utc(0), None);
        assert_eq!(filetime_to_utc(i64::MAX), None);
        // 2024-01-01T00:00:00Z
        let t = filetime_to_utc(133_485_408_000_000_000);
        assert_eq!(
            t.map(|t| t.to_rfc3339()),
            Some("2024-01-01T00:00:00+00:00".into())
        );
    }
}
