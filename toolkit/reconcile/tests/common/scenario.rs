//! Scenario files (fixtures/scenarios/*.yml) at the engine level: the format and the row
//! builders live in dirsnap-harness (docs/scenarios.md); this runs the pure engine on them,
//! without files or processes (toolkit/cli/tests/scenarios.rs runs them end to end).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;
// Each test binary uses a different part of the format.
#[allow(unused_imports)]
pub use dirsnap_harness::scenario::{
    AdGroupSpec, AdSpec, AdUserSpec, IidGroupSpec, IidSpec, IidUserSpec, m365_rows,
};

/// The engine-test form of a scenario's AD and IID specs.
pub trait BuildAd {
    fn build(&self, taken_at: DateTime<Utc>, config: &DsConfig) -> Ad;
}

impl BuildAd for AdSpec {
    fn build(&self, taken_at: DateTime<Utc>, config: &DsConfig) -> Ad {
        ad_of(self.rows(taken_at, config).unwrap(), taken_at)
    }
}

pub trait BuildIid {
    fn build(&self) -> Iid;
}

impl BuildIid for IidSpec {
    fn build(&self) -> Iid {
        let r = self.rows();
        Iid {
            users: r.users,
            groups: r.groups,
            memberships: r.memberships,
            edges: Default::default(),
        }
        .finish()
    }
}

fn ad_of(r: dirsnap_harness::scenario::AdRows, taken_at: DateTime<Utc>) -> Ad {
    Ad {
        users: r.users,
        groups: r.groups,
        memberships: r.memberships,
        edges: Default::default(),
        filters: r.filters,
        taken_at,
        domain: Some(r.domain),
    }
    .finish()
}

/// Runs one scenario file through the engine and checks its expectations; returns the plan.
pub fn run_file(path: &std::path::Path) -> Plan {
    let (sc, plan) = plan_file(path);
    let json: serde_json::Value = serde_json::from_str(&plan.to_json().unwrap()).unwrap();
    if let Err(e) = dirsnap_harness::scenario::check(&sc.expect, &json) {
        panic!(
            "scenario {} ({})\n{e}\nplan:\n{}",
            path.display(),
            sc.description.trim(),
            plan.to_json().unwrap()
        );
    }
    plan
}

/// Runs one scenario file through the engine; its expectations are the caller's to check.
pub fn plan_file(path: &std::path::Path) -> (dirsnap_harness::scenario::Scenario, Plan) {
    let sc = dirsnap_harness::scenario::load(path).unwrap();
    let now = sc.now(path).unwrap();
    let setups: Vec<Setup> = sc
        .instances(path)
        .unwrap()
        .into_iter()
        .map(|i| Setup {
            name: i.name,
            ad: ad_of(i.ad, now),
            previous_ad: i.previous_ad.map(|p| ad_of(p, now)),
            config: i.config,
        })
        .collect();
    let mut iid = sc.iid.build();
    let prev = sc.previous_iid.as_ref().map(BuildIid::build);
    let presumed = presume(&sc, &iid, prev.as_ref(), now);
    // As the loader does: the presumed rows go after the live ones.
    iid.users.extend(presumed.users.iter().cloned());
    for e in &presumed.edges {
        iid.edges.push(e.group.clone(), e.member.clone(), e.kind);
    }
    let m365 = sc.m365.as_deref().map(m365_rows);
    let mut run = Run::new(&setups, &iid, now);
    run.pending_evidence = &presumed.evidence;
    run.pending_dismissed = &presumed.dismissed;
    run.previous_iid = prev.as_ref();
    run.m365 = m365.as_deref();
    run.mode = match sc.mode.as_deref() {
        Some("normal") => Mode::Normal,
        _ => Mode::Recovery,
    };
    run.allow = sc.allow_thresholds.clone();
    run.token_expires_at = sc.token_expires_at.as_deref().map(t);
    let plan = run.plan();
    (sc, plan)
}

/// The presumed-pending users of a scenario, as the loader derives them: the cache
/// (`previous_iid`) and each `history` snapshot, then the console's list.
fn presume(
    sc: &dirsnap_harness::scenario::Scenario,
    live: &Iid,
    previous_iid: Option<&Iid>,
    now: DateTime<Utc>,
) -> dirsnap_reconcile::pending::Presumed {
    use dirsnap_reconcile::pending::{ConsoleList, ConsoleRow, Presumption};
    let history: Vec<(DateTime<Utc>, Iid)> = sc
        .history
        .iter()
        .map(|h| (t(&h.taken_at), h.iid().build()))
        .collect();
    let rows: Option<Vec<ConsoleRow>> = sc.pending_list.as_ref().map(|rows| {
        rows.iter()
            .enumerate()
            .map(|(i, r)| ConsoleRow {
                line: i + 2,
                user_name: r.user_name.clone(),
                external_id: r
                    .external_id
                    .as_deref()
                    .map(dirsnap_harness::scenario::value),
                id: r.id.clone(),
                deleted_at: r.deleted_at.as_deref().map(t),
            })
            .collect()
    });
    let live_users = live.user_table();
    let previous_users = previous_iid.map(Iid::user_table);
    let history_users: Vec<_> = history.iter().map(|(_, h)| h.user_table()).collect();
    let mut p = Presumption::new(live.view(&live_users));
    if let Some((prev, users)) = previous_iid.zip(previous_users.as_ref()) {
        p.add_history(
            "previous-iid",
            IidSnapshot {
                taken_at: Some(now),
                ..prev.view(users)
            },
        );
    }
    for (i, ((at, h), users)) in history.iter().zip(&history_users).enumerate() {
        p.add_history(
            &format!("history-{i}"),
            IidSnapshot {
                taken_at: Some(*at),
                ..h.view(users)
            },
        );
    }
    p.finish(rows.as_deref().map(|rows| ConsoleList {
        file: "pending-list.csv",
        rows,
    }))
}
