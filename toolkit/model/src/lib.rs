//! Domain types shared by every dirsnap crate: Active Directory objects, IIJ ID (SCIM)
//! resources, Microsoft 365 accounts, memberships, and the snapshot manifest.
//!
//! Nothing here performs I/O; the types are plain data so the reconcile engine can be a pure
//! function of them.

mod ad;
mod guid;
mod iid;
mod kind;
mod m365;
mod manifest;
mod membership;
pub mod scim_json;
pub mod table;

pub use ad::{AdGroup, AdUser, UAC_ACCOUNTDISABLE, filetime_to_utc};
pub use guid::{Guid, GuidParseError, sid_to_string};
pub use iid::{
    IidGroup, IidUser, URN_CORE_GROUP, URN_CORE_USER, URN_ENTERPRISE_USER,
    URN_IIJ_ENTERPRISE_GROUP, URN_IIJ_ENTERPRISEJP_USER, URN_OIDFJ_ENTERPRISEJP_USER,
};
pub use kind::{KindParseError, SnapshotKind};
pub use m365::{M365Group, M365User};
pub use manifest::{Counts, FileEntry, Filters, Manifest, SCHEMA_VERSION, Source, ToolInfo};
pub use membership::{MemberKind, Membership};
pub use scim_json::ScimJsonError;
pub use table::{AdUserTable, AdUserView, IidUserTable, IidUserView, TableError, TextList};
