#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The engine's laws, on random small tenants: determinism (byte-identical plan.json, also
//! when input rows come in another order), idempotence (apply the plan, reconcile again →
//! no actions), ownership (objects outside iid.scim.filter are never touched), no user is
//! ever hard-deleted, and every member action names a user that exists or is created first.
//! Convergence and "never hard-deleted" are also checked through the mock IIJ ID — the
//! independent model of IIJ ID's rules — by replaying the plan onto it over HTTP: the
//! engine's own in-memory apply could agree with the engine's mistakes.

mod common;
use common::scenario::{
    AdGroupSpec, AdSpec, AdUserSpec, BuildAd, BuildIid, IidGroupSpec, IidSpec, IidUserSpec,
};
use common::*;
use dirsnap_plan::{Op, Plan};
use dirsnap_reconcile::apply::{IidState, apply_plan};
use dirsnap_reconcile::profile::Profile;
use proptest::prelude::*;
use std::collections::BTreeSet;

const NAMES: [&str; 6] = ["taro", "hanako", "jiro", "yuki", "ren", "mai"];
const TITLES: [Option<&str>; 3] = [None, Some("課長"), Some("部長")];

fn config(with_link: bool, user_filter: bool, group_filter: bool) -> String {
    let mut c = String::from(
        "ad:\n  ldap:\n    filter:\n      user: 'objectClass=user'\n      group: 'objectClass=group'\niid:\n  scim:\n",
    );
    if user_filter || group_filter {
        c.push_str("    filter:\n");
        if user_filter {
            c.push_str(
                "      user: 'userName sw \"t\" or userName sw \"h\" or userName sw \"j\"'\n",
            );
        }
        if group_filter {
            c.push_str("      group: 'displayName ne \"G2\"'\n");
        }
    }
    c.push_str("    attribute:\n      user:\n        default:\n          emails:\n            - primary: true\n        ad_bind:\n          userName: userPrincipalName\n          externalId: userPrincipalName\n");
    if with_link {
        c.push_str("          downstreamId: [mS-DS-ConsistencyGuid, objectGUID]\n");
    }
    c.push_str("          displayName: displayName\n          emails: mail\n          title: title\ndirsnap:\n  instance: main\n  thresholds:\n    pending_deletions: 1000\n");
    c
}

#[derive(Debug, Clone)]
struct AdU {
    name: usize,
    guid: u32,
    disabled: bool,
    title: usize,
    no_mail: bool,
}

#[derive(Debug, Clone)]
struct IidU {
    name: usize,
    /// None: no externalId.
    ext: bool,
    /// downstreamId: the AD guid, another guid, or none.
    link: Option<u32>,
    active: bool,
    pending: bool,
    title: usize,
    display_same: bool,
}

#[derive(Debug, Clone)]
struct World {
    with_link: bool,
    user_filter: bool,
    group_filter: bool,
    ad_users: Vec<AdU>,
    iid_users: Vec<IidU>,
    ad_groups: Vec<Vec<usize>>,
    iid_groups: Vec<(usize, Vec<usize>)>,
}

fn ad_user() -> impl Strategy<Value = AdU> {
    (
        0..NAMES.len(),
        1u32..4,
        any::<bool>(),
        0..3usize,
        prop::bool::weighted(0.15),
    )
        .prop_map(|(name, g, disabled, title, no_mail)| AdU {
            name,
            guid: name as u32 * 10 + g,
            disabled,
            title,
            no_mail,
        })
}

fn iid_user() -> impl Strategy<Value = IidU> {
    (
        0..NAMES.len(),
        prop::bool::weighted(0.8),
        prop::option::of(1u32..4),
        prop::bool::weighted(0.8),
        prop::bool::weighted(0.15),
        0..3usize,
        prop::bool::weighted(0.8),
    )
        .prop_map(
            |(name, ext, link, active, pending, title, display_same)| IidU {
                name,
                ext,
                link: link.map(|g| name as u32 * 10 + g),
                active,
                pending,
                title,
                display_same,
            },
        )
}

fn world() -> impl Strategy<Value = World> {
    (
        any::<bool>(),
        prop::bool::weighted(0.3),
        prop::bool::weighted(0.3),
        prop::collection::vec(ad_user(), 0..7),
        prop::collection::vec(iid_user(), 0..7),
        prop::collection::vec(prop::collection::vec(0..7usize, 0..5), 0..4),
        prop::collection::vec((0..4usize, prop::collection::vec(0..7usize, 0..5)), 0..4),
    )
        .prop_map(
            |(with_link, user_filter, group_filter, ad_users, iid_users, ad_groups, iid_groups)| {
                World {
                    with_link,
                    user_filter,
                    group_filter,
                    ad_users,
                    iid_users,
                    ad_groups,
                    iid_groups,
                }
            },
        )
}

struct Built {
    setups: Vec<Setup>,
    iid: Iid,
}

fn build(w: &World, reverse: bool) -> Built {
    let mut users: Vec<AdUserSpec> = Vec::new();
    let mut seen = BTreeSet::new();
    for (i, u) in w.ad_users.iter().enumerate() {
        // Distinct sAMAccountNames; userPrincipalName from the name pool (duplicates happen).
        if !seen.insert(u.guid) {
            continue;
        }
        users.push(AdUserSpec {
            sam: format!("{}{i}", NAMES[u.name]),
            guid: u.guid,
            upn: Some(format!("{}@example.co.jp", NAMES[u.name])),
            display: Some(NAMES[u.name].to_string()),
            disabled: u.disabled,
            title: TITLES[u.title].map(str::to_string),
            no_mail: u.no_mail,
            ..AdUserSpec::default()
        });
    }
    let groups: Vec<AdGroupSpec> = w
        .ad_groups
        .iter()
        .enumerate()
        .map(|(gi, members)| AdGroupSpec {
            name: format!("G{gi}"),
            guid: 1000 + gi as u32,
            ou: None,
            members: members
                .iter()
                .filter_map(|m| users.get(*m).map(|u| u.sam.clone()))
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect(),
            description: None,
            mail: None,
        })
        .collect();
    let mut iid_users: Vec<IidUserSpec> = Vec::new();
    let mut taken = BTreeSet::new();
    for (i, u) in w.iid_users.iter().enumerate() {
        // IIJ ID keeps userName unique.
        if !taken.insert(u.name) {
            continue;
        }
        let name = NAMES[u.name];
        let upn = format!("{name}@example.co.jp");
        iid_users.push(IidUserSpec {
            id: format!("u-{i}"),
            user_name: upn.clone(),
            external_id: u.ext.then(|| upn.clone()),
            downstream_id: u.link.map(|g| format!("guid:{g}")),
            active: u.active,
            pending: u.pending,
            display_name: Some(if u.display_same {
                name.to_string()
            } else {
                format!("{name} (old)")
            }),
            emails: vec![upn],
            title: TITLES[u.title].map(str::to_string),
            ..IidUserSpec::default()
        });
    }
    let iid_groups: Vec<IidGroupSpec> = w
        .iid_groups
        .iter()
        .enumerate()
        .map(|(i, (name, members))| IidGroupSpec {
            id: format!("g-{i}"),
            name: format!("G{name}"),
            members: members
                .iter()
                .filter_map(|m| iid_users.get(*m).map(|u| u.id.clone()))
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect(),
            description: None,
            email: None,
        })
        .collect::<Vec<_>>();
    // IIJ ID keeps group names unique.
    let mut names = BTreeSet::new();
    let iid_groups: Vec<IidGroupSpec> = iid_groups
        .into_iter()
        .filter(|g| names.insert(g.name.clone()))
        .collect();
    let config = config_from_str(
        "laws.yml",
        &config(w.with_link, w.user_filter, w.group_filter),
    );
    let now = t("2026-11-27T00:00:00Z");
    let mut ad = AdSpec {
        users,
        groups,
        ..AdSpec::default()
    }
    .build(now, &config);
    let mut iid = IidSpec {
        users: iid_users,
        groups: iid_groups,
    }
    .build();
    if reverse {
        ad.users.reverse();
        ad.groups.reverse();
        ad.memberships.reverse();
        ad = ad.finish();
        iid.users.reverse();
        iid.groups.reverse();
        iid.memberships.reverse();
        iid = iid.finish();
    }
    Built {
        setups: vec![Setup {
            name: "main".into(),
            config,
            ad,
            previous_ad: None,
        }],
        iid,
    }
}

fn plan_of(b: &Built) -> Plan {
    Run::new(&b.setups, &b.iid, t("2026-11-27T00:00:00Z")).plan()
}

fn owned_user_ids(b: &Built) -> Option<BTreeSet<String>> {
    let f = b.setups[0].config.iid.user_filter.as_ref()?;
    let f = dirsnap_filter::scim::parse(&f.value).unwrap();
    let profile = Profile::default();
    Some(
        b.iid
            .users
            .iter()
            .filter(|u| {
                f.matches(
                    &dirsnap_reconcile::user_json(u, &profile),
                    &dirsnap_filter::DefaultSchema,
                )
            })
            .map(|u| u.id.clone())
            .collect(),
    )
}

proptest! {
    #![proptest_config(ProptestConfig {
        // PROPTEST_CASES raises it for a deeper run; 96 keeps `cargo test` quick.
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(96),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn determinism_same_inputs_same_bytes(w in world()) {
        let a = build(&w, false);
        let p1 = plan_of(&a).to_json().unwrap();
        let p2 = plan_of(&a).to_json().unwrap();
        prop_assert_eq!(&p1, &p2);
        // Row order of the snapshots does not matter either.
        let b = build(&w, true);
        let p3 = plan_of(&b).to_json().unwrap();
        prop_assert_eq!(&p1, &p3);
    }

    #[test]
    fn idempotence_apply_then_reconcile_gives_no_actions(w in world()) {
        let b = build(&w, false);
        let plan = plan_of(&b);
        let mut state = IidState {
            users: b.iid.users.clone(),
            groups: b.iid.groups.clone(),
            memberships: b.iid.memberships.clone(),
        };
        let res = apply_plan(&mut state, &plan, &Profile::default());
        prop_assert!(res.is_ok(), "applying the plan failed: {:?}\n{}", res, plan.to_json().unwrap());
        let after = Iid { users: state.users, groups: state.groups, memberships: state.memberships, edges: Default::default() }.finish();
        let again = Run::new(&b.setups, &after, t("2026-11-27T00:00:00Z")).plan();
        prop_assert!(
            again.actions.is_empty(),
            "second plan not empty:\n{}\nfirst plan:\n{}",
            again.to_json().unwrap(),
            plan.to_json().unwrap()
        );
    }

    #[test]
    fn objects_outside_ownership_are_never_touched(w in world()) {
        let b = build(&w, false);
        let plan = plan_of(&b);
        if let Some(owned) = owned_user_ids(&b) {
            for a in plan.actions.iter().filter(|a| a.op.resource() == dirsnap_plan::Resource::User) {
                if let Some(t) = &a.target {
                    prop_assert!(owned.contains(t), "action {} targets unowned user {}", a.seq, t);
                }
            }
        }
        if b.setups[0].config.iid.group_filter.is_some() {
            // The filter excludes G2.
            for a in plan.actions.iter().filter(|a| a.op.resource() == dirsnap_plan::Resource::Group) {
                if let Some(t) = &a.target {
                    let g = b.iid.groups.iter().find(|g| &g.id == t).unwrap();
                    prop_assert_ne!(&g.display_name, "G2");
                }
            }
        }
    }

    #[test]
    fn no_user_is_ever_hard_deleted(w in world()) {
        let b = build(&w, false);
        let plan = plan_of(&b);
        let mut state = IidState {
            users: b.iid.users.clone(),
            groups: b.iid.groups.clone(),
            memberships: b.iid.memberships.clone(),
        };
        apply_plan(&mut state, &plan, &Profile::default()).unwrap();
        for u in &b.iid.users {
            prop_assert!(state.users.iter().any(|x| x.id == u.id), "user {} vanished", u.user_name);
        }
        for a in &plan.actions {
            if a.op == Op::PendingDeleteUser {
                // Users go to pending deletion, never away.
                prop_assert!(a.target.is_some());
            }
        }
    }

    #[test]
    fn member_actions_name_existing_or_earlier_created_users(w in world()) {
        let b = build(&w, false);
        let plan = plan_of(&b);
        let ids: BTreeSet<&str> = b.iid.users.iter().map(|u| u.id.as_str()).collect();
        for a in plan.actions.iter().filter(|a| matches!(a.op, Op::AddMembers | Op::RemoveMembers)) {
            for m in &a.members {
                match (&m.value, m.created_by) {
                    (Some(v), _) => prop_assert!(ids.contains(v.as_str()), "member {v} does not exist"),
                    (None, Some(s)) => {
                        let c = plan.action(s).unwrap();
                        prop_assert_eq!(c.op, Op::CreateUser);
                        prop_assert!(s < a.seq && a.depends_on.contains(&s));
                    }
                    (None, None) => prop_assert!(false, "member {} names no user", m.display),
                }
            }
            if let Some(t) = a.target_action {
                prop_assert!(t < a.seq && a.depends_on.contains(&t));
            }
        }
        for a in &plan.actions {
            for d in &a.depends_on {
                prop_assert!(*d < a.seq, "action {} depends on later action {}", a.seq, d);
            }
        }
    }
}

/// Replays `plan` onto a mock IIJ ID seeded with `iid` (over HTTP, as `dirsnap replay` does)
/// and returns the mock's state afterwards, pending users included.
fn through_the_mock(iid: &Iid, plan: &Plan) -> Iid {
    use dirsnap_mock_scim::{MockConfig, MockServer, TokenSpec};
    use dirsnap_snapshot::{SnapshotMeta, SnapshotWriter};
    let dir = tempfile::tempdir().unwrap();
    let seed = dir.path().join("seed");
    let mut w = SnapshotWriter::<dirsnap_snapshot::Iid>::create(&seed).unwrap();
    w.write_users(&iid.users).unwrap();
    w.write_groups(&iid.groups).unwrap();
    w.write_memberships(&iid.memberships).unwrap();
    w.commit(SnapshotMeta {
        taken_at: Some(t("2026-11-27T00:00:00Z")),
        ..SnapshotMeta::default()
    })
    .unwrap();
    let plan_dir = dir.path().join("plan");
    dirsnap_plan::write_plan_dir(&plan_dir, plan, &[], &[], t("2026-11-27T00:00:00Z")).unwrap();
    let token = "laws-token";
    let mut config = MockConfig::iij();
    config.tokens.push(TokenSpec::new(token.to_string()));
    config.seed_snapshot = Some(seed);
    let mut server = MockServer::spawn(config, "127.0.0.1:0").unwrap();
    let client = dirsnap_scim::ScimClient::new(dirsnap_scim::ClientOptions::new(
        server.url(),
        dirsnap_config::Secret::new(token.to_string()),
    ))
    .unwrap();
    let loaded = dirsnap_plan::load_plan(&plan_dir).unwrap();
    let options = dirsnap_replay::ReplayOptions {
        concurrency: 2,
        delete_limit: dirsnap_replay::DeleteLimit::Total(u64::MAX),
        force_stale: true,
        allow_blocked: true,
        ..dirsnap_replay::ReplayOptions::default()
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let summary = runtime
        .block_on(dirsnap_replay::replay(&client, &loaded, &options, &()))
        .unwrap();
    assert_eq!(
        summary.failures.len(),
        0,
        "replay failures: {:?}",
        summary.failures
    );
    let after = dir.path().join("after");
    server.dump_snapshot(&after).unwrap();
    server.stop();
    load_iid(&after)
}

proptest! {
    #![proptest_config(ProptestConfig {
        // Each case starts a mock server and replays over HTTP: fewer cases than the laws
        // above, more with PROPTEST_CASES.
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(24),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn replayed_onto_the_mock_the_plan_converges_and_deletes_no_user(w in world()) {
        let b = build(&w, false);
        let plan = plan_of(&b);
        let after = through_the_mock(&b.iid, &plan);
        for u in &b.iid.users {
            prop_assert!(after.users.iter().any(|x| x.id == u.id), "user {} vanished from the mock", u.user_name);
        }
        let again = Run::new(&b.setups, &after, t("2026-11-27T00:00:00Z")).plan();
        prop_assert!(
            again.actions.is_empty(),
            "replayed onto the mock, the plan does not converge; second plan:\n{}\nfirst plan:\n{}",
            again.to_json().unwrap(),
            plan.to_json().unwrap()
        );
    }
}
