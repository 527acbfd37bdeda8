use serde::{Deserialize, Serialize};

/// What a member of a group is.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum MemberKind {
    User,
    Group,
    /// Not resolved: outside the exported scope, or a foreign security principal.
    #[default]
    Unknown,
}

impl MemberKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MemberKind::User => "user",
            MemberKind::Group => "group",
            MemberKind::Unknown => "unknown",
        }
    }

    pub fn parse(s: &str) -> Option<MemberKind> {
        match s {
            "user" => Some(MemberKind::User),
            "group" => Some(MemberKind::Group),
            "unknown" => Some(MemberKind::Unknown),
            _ => None,
        }
    }
}

/// One direct membership: a row of `memberships.parquet`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Membership {
    /// The group's stable key: objectGUID text (AD) or SCIM id (IIJ ID).
    pub group_key: String,
    /// The member's stable key, when the member is inside the exported scope.
    pub member_key: Option<String>,
    pub member_kind: MemberKind,
    /// How the source named the member: its DN (AD) or `$ref` / `value` (SCIM).
    pub member_ref: Option<String>,
    /// SCIM `display` of the member, when sent.
    pub member_display: Option<String>,
    /// The member is itself in the snapshot (resolved to `member_key`).
    pub in_scope: bool,
}
