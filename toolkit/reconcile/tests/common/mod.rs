//! Shared test support: loading snapshots and configs, running the engine, querying plans.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::{DateTime, Utc};
use dirsnap_config::DsConfig;
use dirsnap_model::{
    AdGroup, AdUser, AdUserTable, Filters, IidGroup, IidUser, IidUserTable, M365User, Membership,
};
use dirsnap_plan::{Action, Finding, Mode, Op, Plan};
use dirsnap_reconcile::{AdSnapshot, IidSnapshot, Inputs, Instance};
use std::path::{Path, PathBuf};

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn config_from_str(name: &str, yaml: &str) -> DsConfig {
    dirsnap_config::parse_config(Path::new(name), yaml).expect("config parses")
}

/// An AD snapshot's rows, owned.
#[derive(Debug, Clone, Default)]
pub struct Ad {
    pub users: Vec<AdUser>,
    pub groups: Vec<AdGroup>,
    pub memberships: Vec<Membership>,
    pub edges: dirsnap_reconcile::Edges,
    pub filters: Filters,
    pub taken_at: DateTime<Utc>,
    pub domain: Option<String>,
}

impl Ad {
    pub fn finish(mut self) -> Self {
        self.edges = dirsnap_reconcile::edges(&self.memberships);
        self
    }

    /// The users as the engine holds them (a table built from `users`).
    pub fn user_table(&self) -> AdUserTable {
        AdUserTable::from_rows(&self.users).expect("test users fit a table")
    }

    /// The engine's view, with `users` from [`Ad::user_table`].
    pub fn view<'t>(&'t self, users: &'t AdUserTable) -> AdSnapshot<'t> {
        AdSnapshot {
            users,
            groups: &self.groups,
            memberships: &self.edges,
            taken_at: self.taken_at,
            filters: &self.filters,
            domain: self.domain.as_deref(),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Iid {
    pub users: Vec<IidUser>,
    pub groups: Vec<IidGroup>,
    pub memberships: Vec<Membership>,
    pub edges: dirsnap_reconcile::Edges,
}

impl Iid {
    pub fn finish(mut self) -> Self {
        self.edges = dirsnap_reconcile::edges(&self.memberships);
        self
    }

    /// The users as the engine holds them (a table built from `users`).
    pub fn user_table(&self) -> IidUserTable {
        IidUserTable::from_rows(&self.users).expect("test users fit a table")
    }

    /// The engine's view, with `users` from [`Iid::user_table`].
    pub fn view<'t>(&'t self, users: &'t IidUserTable) -> IidSnapshot<'t> {
        IidSnapshot {
            users,
            groups: &self.groups,
            memberships: &self.edges,
            taken_at: None,
        }
    }
}

pub fn load_ad(dir: &Path) -> Ad {
    let snap = dirsnap_snapshot::Snapshot::open(dir).unwrap();
    let t = snap
        .read::<dirsnap_snapshot::Ad>(&dirsnap_snapshot::ReadOptions::default())
        .unwrap();
    Ad {
        users: t.users,
        groups: t.groups,
        memberships: t.memberships,
        edges: Default::default(),
        filters: t.manifest.filters.clone(),
        taken_at: t.manifest.taken_at,
        domain: t.manifest.source.domain.clone(),
    }
    .finish()
}

pub fn load_iid(dir: &Path) -> Iid {
    let snap = dirsnap_snapshot::Snapshot::open(dir).unwrap();
    let t = snap
        .read::<dirsnap_snapshot::Iid>(&dirsnap_snapshot::ReadOptions::default())
        .unwrap();
    Iid {
        users: t.users,
        groups: t.groups,
        memberships: t.memberships,
        edges: Default::default(),
    }
    .finish()
}

/// One instance's inputs, owned.
pub struct Setup {
    pub name: String,
    pub config: DsConfig,
    pub ad: Ad,
    pub previous_ad: Option<Ad>,
}

pub struct Run<'a> {
    pub setups: &'a [Setup],
    pub iid: &'a Iid,
    pub previous_iid: Option<&'a Iid>,
    pub m365: Option<&'a [M365User]>,
    pub mode: Mode,
    pub as_of: DateTime<Utc>,
    pub allow: Vec<String>,
    pub token_expires_at: Option<DateTime<Utc>>,
    /// Evidence for the presumed-pending rows `iid` ends with (`dirsnap_reconcile::pending`).
    pub pending_evidence: &'a [dirsnap_reconcile::pending::PendingEvidence],
    pub pending_dismissed: &'a [dirsnap_reconcile::pending::DismissedPending],
}

impl<'a> Run<'a> {
    pub fn new(setups: &'a [Setup], iid: &'a Iid, as_of: DateTime<Utc>) -> Self {
        Run {
            setups,
            iid,
            previous_iid: None,
            m365: None,
            mode: Mode::Recovery,
            as_of,
            allow: Vec::new(),
            token_expires_at: None,
            pending_evidence: &[],
            pending_dismissed: &[],
        }
    }

    pub fn plan(&self) -> Plan {
        self.try_plan().expect("reconcile succeeds")
    }

    pub fn try_plan(&self) -> Result<Plan, dirsnap_reconcile::ReconcileError> {
        let ad_users: Vec<(AdUserTable, Option<AdUserTable>)> = self
            .setups
            .iter()
            .map(|s| {
                (
                    s.ad.user_table(),
                    s.previous_ad.as_ref().map(Ad::user_table),
                )
            })
            .collect();
        let instances = self
            .setups
            .iter()
            .zip(&ad_users)
            .map(|(s, (users, previous_users))| Instance {
                name: s.name.clone(),
                config: &s.config,
                config_source: "test".into(),
                ad: s.ad.view(users),
                previous_ad: s
                    .previous_ad
                    .as_ref()
                    .zip(previous_users.as_ref())
                    .map(|(ad, users)| ad.view(users)),
            })
            .collect();
        let iid_users = self.iid.user_table();
        let previous_iid_users = self.previous_iid.map(Iid::user_table);
        dirsnap_reconcile::reconcile(&Inputs {
            instances,
            iid: self.iid.view(&iid_users),
            previous_iid: self
                .previous_iid
                .zip(previous_iid_users.as_ref())
                .map(|(iid, users)| iid.view(users)),
            m365: self.m365,
            mode: self.mode,
            as_of: self.as_of,
            token_expires_at: self.token_expires_at,
            allow_thresholds: self.allow.clone(),
            input_digests: Vec::new(),
            pending_evidence: self.pending_evidence,
            pending_dismissed: self.pending_dismissed,
        })
    }
}

pub fn ops(plan: &Plan, op: Op) -> Vec<&Action> {
    plan.actions.iter().filter(|a| a.op == op).collect()
}

/// The user or group names of the actions with `op`, sorted.
pub fn names(plan: &Plan, op: Op) -> Vec<String> {
    let mut v: Vec<String> = ops(plan, op)
        .iter()
        .map(|a| {
            a.user_name
                .clone()
                .or(a.display_name.clone())
                .unwrap_or_default()
        })
        .collect();
    v.sort();
    v
}

pub fn findings<'p>(plan: &'p Plan, code: &str) -> Vec<&'p Finding> {
    plan.findings.iter().filter(|f| f.code == code).collect()
}

pub fn finding_subjects(plan: &Plan, code: &str) -> Vec<String> {
    let mut v: Vec<String> = findings(plan, code)
        .iter()
        .map(|f| f.subject.clone())
        .collect();
    v.sort();
    v
}

pub fn member_names(a: &Action) -> Vec<String> {
    let mut v: Vec<String> = a.members.iter().map(|m| m.display.clone()).collect();
    v.sort();
    v
}

pub fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

pub mod scenario;
