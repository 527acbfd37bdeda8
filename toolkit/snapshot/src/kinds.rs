use crate::Record;
use dirsnap_model::{AdGroup, AdUser, IidGroup, IidUser, M365Group, M365User, SnapshotKind};

/// Compile-time description of a snapshot kind: which model types its tables hold.
pub trait KindSpec: 'static {
    const KIND: SnapshotKind;
    type User: Record;
    type Group: Record;
}

/// Marker for Active Directory snapshots.
#[derive(Debug)]
pub struct Ad;
/// Marker for IIJ ID snapshots.
#[derive(Debug)]
pub struct Iid;
/// Marker for Microsoft 365 snapshots.
#[derive(Debug)]
pub struct M365;

impl KindSpec for Ad {
    const KIND: SnapshotKind = SnapshotKind::Ad;
    type User = AdUser;
    type Group = AdGroup;
}
impl KindSpec for Iid {
    const KIND: SnapshotKind = SnapshotKind::Iid;
    type User = IidUser;
    type Group = IidGroup;
}
impl KindSpec for M365 {
    const KIND: SnapshotKind = SnapshotKind::M365;
    type User = M365User;
    type Group = M365Group;
}
