#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! What disables, pending deletions, restores and enables say about Microsoft 365 (issue 19;
//! docs/findings.md M365_ACCOUNTS_BLOCKED … M365_LINKAGE_UNVERIFIED; assumptions M1–M4):
//! the texts a reviewer reads, the one-finding-per-op volume rule, and the switches.

mod common;
use common::*;
use dirsnap_plan::{Op, Plan};

fn fixture(name: &str) -> Plan {
    scenario::run_file(
        &root()
            .join("fixtures/scenarios")
            .join(format!("{name}.yml")),
    )
}

/// Runs a scenario written here (its expectations are checked like a fixture's).
fn inline(yaml: &str) -> Plan {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("case.yml");
    std::fs::write(&path, yaml).unwrap();
    scenario::run_file(&path)
}

fn reason_of(plan: &Plan, op: Op, user: &str) -> String {
    ops(plan, op)
        .into_iter()
        .find(|a| a.user_name.as_deref() == Some(user))
        .unwrap_or_else(|| panic!("no {op} of {user}"))
        .reason
        .clone()
}

fn only_finding<'p>(plan: &'p Plan, code: &str) -> &'p dirsnap_plan::Finding {
    let found = findings(plan, code);
    assert_eq!(found.len(), 1, "{code}: {found:?}");
    found[0]
}

#[test]
fn a_disable_names_the_licensed_account_it_blocks_and_counts_users_without_one() {
    let plan = fixture("m365-disable-licensed-account");
    let finding = only_finding(&plan, "M365_ACCOUNTS_BLOCKED");
    assert_eq!(finding.subject, "m365 disable_user");
    assert!(
        finding.message.contains(
            "Blocked, licences deactivated (1): taro@example.co.jp (id m365-0, by immutableId; licences ENTERPRISEPACK, EMS)"
        ),
        "{}",
        finding.message
    );
    assert!(
        finding
            .message
            .contains("1 more user it disables has no Microsoft 365 account"),
        "{}",
        finding.message
    );
    // The finding is about taro's action only; jiro has no account.
    let taro = ops(&plan, Op::DisableUser)
        .into_iter()
        .find(|a| a.user_name.as_deref() == Some("taro@example.co.jp"))
        .unwrap()
        .seq;
    assert_eq!(finding.actions, vec![taro]);
    assert!(
        reason_of(&plan, Op::DisableUser, "taro@example.co.jp").ends_with(
            "; Microsoft 365: IIJ ID blocks the linked account taro@example.co.jp (id m365-0, by immutableId; licences ENTERPRISEPACK, EMS) and deactivates its licences"
        )
    );
    assert!(
        reason_of(&plan, Op::DisableUser, "jiro@example.co.jp")
            .ends_with("; Microsoft 365: no account has this user's linkage ID as immutableId or its userName as UPN")
    );
}

#[test]
fn a_pending_deletion_finds_the_account_by_immutable_id_under_another_upn() {
    let plan = fixture("m365-pending-deletion-account");
    let finding = only_finding(&plan, "M365_ACCOUNTS_BLOCKED");
    assert!(
        finding.message.contains(
            "taro@example.co.jp: taro.yamada@example.co.jp (id m365-0, by immutableId; licences ENTERPRISEPACK)"
        ),
        "{}",
        finding.message
    );
    // hanako stays in scope: her account is not mentioned.
    assert!(!finding.message.contains("hanako"), "{}", finding.message);
}

#[test]
fn restore_and_enable_unblock_and_say_the_licences_may_not_come_back() {
    let plan = fixture("m365-restore-blocked-account");
    let unblocked = findings(&plan, "M365_ACCOUNTS_UNBLOCKED");
    let restore = unblocked
        .iter()
        .find(|f| f.subject == "m365 restore_user")
        .unwrap();
    assert!(
        restore
            .message
            .contains("Unblocked (1): taro@example.co.jp (id m365-0, by immutableId; no licences)"),
        "{}",
        restore.message
    );
    assert!(
        restore.message.contains("assumption M3"),
        "{}",
        restore.message
    );
    let enable = unblocked
        .iter()
        .find(|f| f.subject == "m365 enable_user")
        .unwrap();
    assert!(
        enable.message.contains("assumption M2"),
        "{}",
        enable.message
    );
    assert!(
        reason_of(&plan, Op::EnableUser, "jiro@example.co.jp").contains(
            "; Microsoft 365: IIJ ID unblocks the linked account jiro@example.co.jp (id m365-1, by immutableId; licences ENTERPRISEPACK)"
        )
    );
}

#[test]
fn without_a_snapshot_one_finding_counts_every_op_of_the_instance() {
    let plan = fixture("m365-lifecycle-without-snapshot");
    let finding = only_finding(&plan, "M365_LINKAGE_UNVERIFIED");
    assert!(
        finding.message.starts_with(
            "this plan disables 1 user, puts 1 user into pending deletion, restores 1 user from pending deletion."
        ),
        "{}",
        finding.message
    );
    assert_eq!(finding.actions.len(), 3);
    // Nothing is claimed about an account that was not looked at.
    for action in &plan.actions {
        assert!(
            !action.reason.contains("Microsoft 365"),
            "{}",
            action.reason
        );
    }
}

const LINKED_CONFIG: &str = r#"config: |
  ad:
    ldap:
      filter:
        user: 'objectClass=user'
  iid:
    scim:
      attribute:
        user:
          ad_bind:
            userName: userPrincipalName
            externalId: userPrincipalName
            downstreamId: [mS-DS-ConsistencyGuid, objectGUID]
            displayName: displayName
            emails: mail
  dirsnap:
    instance: main
"#;

#[test]
fn five_thousand_disables_make_one_finding_that_names_twenty() {
    // 5,000 keeps the scenario YAML under its parser's node budget; the rule has no size in it.
    let n = 5_000;
    let mut yaml = format!("description: volume\n{LINKED_CONFIG}ad:\n  users:\n");
    for i in 1..=n {
        yaml.push_str(&format!("    - {{sam: u{i}, guid: {i}, disabled: true}}\n"));
    }
    yaml.push_str("iid:\n  users:\n");
    for i in 1..=n {
        yaml.push_str(&format!(
            "    - {{id: id-{i}, userName: u{i}@example.co.jp, externalId: u{i}@example.co.jp, downstreamId: \"guid:{i}\", displayName: u{i}, emails: [u{i}@example.co.jp]}}\n"
        ));
    }
    yaml.push_str("m365:\n");
    for i in 1..=n {
        yaml.push_str(&format!(
            "  - {{upn: u{i}@example.co.jp, immutableId: \"guid:{i}\", licenses: [ENTERPRISEPACK]}}\n"
        ));
    }
    // Checked below rather than listed.
    yaml.push_str("allow_thresholds: [disables]\nexpect: {}\n");
    let plan = inline_unchecked(&yaml);
    assert_eq!(ops(&plan, Op::DisableUser).len(), n);
    let codes: Vec<&str> = plan.findings.iter().map(|f| f.code.as_str()).collect();
    assert_eq!(codes, vec!["THRESHOLD_EXCEEDED", "M365_ACCOUNTS_BLOCKED"]);
    let finding = only_finding(&plan, "M365_ACCOUNTS_BLOCKED");
    assert_eq!(finding.actions.len(), n);
    assert!(
        finding.message.contains(&format!(
            "; … and {} more (each action's reason names its account)",
            n - 20
        )),
        "{}",
        finding.message
    );
    assert_eq!(finding.message.matches("by immutableId").count(), 20);
    assert!(plan.actions.iter().all(|a| {
        a.reason
            .contains("; Microsoft 365: IIJ ID blocks the linked account")
    }));
}

/// Runs a scenario written here without checking its expectations: the test asserts on
/// the plan itself (thousands of actions are not written out).
fn inline_unchecked(yaml: &str) -> Plan {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("case.yml");
    std::fs::write(&path, yaml).unwrap();
    scenario::plan_file(&path).1
}

#[test]
fn an_account_with_the_upn_but_another_immutable_id_is_not_the_users() {
    let plan = inline(&format!(
        r#"description: the account with taro's UPN carries another immutableId (assumption M4)
{LINKED_CONFIG}ad:
  users:
    - {{sam: taro, guid: 1, disabled: true}}
iid:
  users:
    - {{id: u-taro, userName: taro@example.co.jp, externalId: taro@example.co.jp, downstreamId: "guid:1", displayName: taro, emails: [taro@example.co.jp]}}
m365:
  - {{upn: taro@example.co.jp, immutableId: "guid:9", licenses: [ENTERPRISEPACK]}}
expect:
  actions:
    - disable_user(disable) taro@example.co.jp
  findings: []
"#
    ));
    assert!(
        reason_of(&plan, Op::DisableUser, "taro@example.co.jp")
            .contains("no account has this user's linkage ID")
    );
}

#[test]
fn the_switches_turn_the_checks_off() {
    // m365_enable_unblocks: false (M2) leaves enables out; m365_linkage: false (RC6) says
    // nothing without a snapshot.
    let config = LINKED_CONFIG.replace(
        "    instance: main\n",
        "    instance: main\n    profile:\n      m365_enable_unblocks: false\n",
    );
    let plan = inline(&format!(
        r#"description: enable with m365_enable_unblocks false
{config}ad:
  users:
    - {{sam: jiro, guid: 2}}
iid:
  users:
    - {{id: u-jiro, userName: jiro@example.co.jp, externalId: jiro@example.co.jp, downstreamId: "guid:2", displayName: jiro, emails: [jiro@example.co.jp], active: false}}
m365:
  - {{upn: jiro@example.co.jp, blocked: true, immutableId: "guid:2"}}
expect:
  actions:
    - enable_user(enable) jiro@example.co.jp
  findings: []
"#
    ));
    assert!(!reason_of(&plan, Op::EnableUser, "jiro@example.co.jp").contains("Microsoft 365"));
    let config = LINKED_CONFIG.replace(
        "    instance: main\n",
        "    instance: main\n    profile:\n      m365_linkage: false\n",
    );
    inline(&format!(
        r#"description: disable without --m365 and without the linkage
{config}ad:
  users:
    - {{sam: taro, guid: 1, disabled: true}}
iid:
  users:
    - {{id: u-taro, userName: taro@example.co.jp, externalId: taro@example.co.jp, downstreamId: "guid:1", displayName: taro, emails: [taro@example.co.jp]}}
expect:
  actions:
    - disable_user(disable) taro@example.co.jp
  findings: []
"#
    ));
}
