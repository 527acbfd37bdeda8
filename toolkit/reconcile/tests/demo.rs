#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The demo tenant (fixtures/demo, described in fixtures/demo/source.yml) must produce the
//! plan its story implies. Expected values come from source.yml's documented story, not from
//! the program's output.

mod common;
use common::*;
use dirsnap_plan::{Mode, Op, Severity};

fn demo() -> (Setup, Iid, Iid, Ad) {
    let dir = root().join("fixtures/demo");
    let config = dirsnap_config::load_config(&dir.join("config.yml")).unwrap();
    let setup = Setup {
        name: "example-main".into(),
        config,
        ad: load_ad(&dir.join("ad")),
        previous_ad: None,
    };
    (
        setup,
        load_iid(&dir.join("iid")),
        load_iid(&dir.join("iid-previous")),
        load_ad(&dir.join("ad-previous")),
    )
}

#[test]
fn demo_recovery_plan_tells_the_story() {
    let (setup, iid, _, _) = demo();
    let setups = [setup];
    let plan = Run::new(&setups, &iid, t("2026-11-27T01:00:00Z")).plan();
    println!("{}", plan.to_json().unwrap());
    // new: true → created; tsumugi has no mail → NO_NOTIFICATION_EMAIL.
    assert_eq!(
        names(&plan, Op::CreateUser),
        ["koharu.abe@example.co.jp", "tsumugi.ogawa@example.co.jp"]
    );
    assert_eq!(
        finding_subjects(&plan, "NO_NOTIFICATION_EMAIL"),
        ["user tsumugi.ogawa@example.co.jp"]
    );
    // newly_disabled → disable.
    assert_eq!(
        names(&plan, Op::DisableUser),
        ["kenji.tanaka@example.co.jp"]
    );
    assert!(names(&plan, Op::EnableUser).is_empty());
    // removed → pending deletion (never a hard delete); recreated sota: the old object is
    // gone (pending deletion) and the new one cannot be created while the login ID is held.
    assert_eq!(
        names(&plan, Op::PendingDeleteUser),
        ["sota.kimura@example.co.jp", "yui.yamaguchi@example.co.jp"]
    );
    let yui = ops(&plan, Op::PendingDeleteUser)
        .into_iter()
        .find(|a| a.user_name.as_deref() == Some("yui.yamaguchi@example.co.jp"))
        .unwrap();
    assert_eq!(yui.request.method, "DELETE");
    let rec = findings(&plan, "RECREATED_PENDING_DELETION");
    assert_eq!(rec.len(), 1);
    assert_eq!(rec[0].severity, Severity::Error);
    assert!(rec[0].subject.contains("sota.kimura"));
    // No M365 snapshot: the linkage check is inferred (downstreamId changes with the new
    // objectGUID → collision predicted, low confidence).
    let m = findings(&plan, "M365_RECREATE_COLLISION");
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].confidence, dirsnap_plan::Confidence::Low);
    // console_edit (yuki: title 主任; hina: displayName / givenName) is reverted to AD values
    // in recovery mode.
    assert_eq!(
        names(&plan, Op::UpdateUser),
        [
            "hina.yamazaki@example.co.jp",
            "yuki.takahashi@example.co.jp"
        ]
    );
    let yuki = ops(&plan, Op::UpdateUser)
        .into_iter()
        .find(|a| a.user_name.as_deref() == Some("yuki.takahashi@example.co.jp"))
        .unwrap();
    assert_eq!(yuki.changes.len(), 1);
    assert_eq!(yuki.changes[0].attribute, "title");
    assert_eq!(yuki.changes[0].old, serde_json::json!("主任"));
    assert!(yuki.changes[0].new.is_null());
    let hina = ops(&plan, Op::UpdateUser)
        .into_iter()
        .find(|a| a.user_name.as_deref() == Some("hina.yamazaki@example.co.jp"))
        .unwrap();
    let mut attrs: Vec<&str> = hina.changes.iter().map(|c| c.attribute.as_str()).collect();
    attrs.sort();
    assert_eq!(attrs, ["displayName", "name.givenName"]);
    // Groups: VPN利用者 is new; nothing is deleted.
    assert_eq!(names(&plan, Op::CreateGroup), ["VPN利用者"]);
    assert!(ops(&plan, Op::DeleteGroup).is_empty());
    assert!(ops(&plan, Op::UpdateGroup).is_empty());
    // Memberships: 営業部 + tsumugi (created first); 開発部 + koharu, − akari; old sota's
    // user is removed from 開発部 before its pending deletion; yui from 総務部.
    let adds = ops(&plan, Op::AddMembers);
    let add = |g: &str| {
        adds.iter()
            .find(|a| a.display_name.as_deref() == Some(g))
            .map(|a| member_names(a))
    };
    assert_eq!(add("営業部").unwrap(), ["tsumugi.ogawa@example.co.jp"]);
    assert_eq!(add("開発部").unwrap(), ["koharu.abe@example.co.jp"]);
    assert_eq!(
        add("VPN利用者").unwrap(),
        [
            "john.smith@example.co.jp",
            "maria.garcia@example.co.jp",
            "riku.hashimoto@example.co.jp",
            "taro.yamada@example.co.jp"
        ]
    );
    assert_eq!(adds.len(), 3);
    let removes = ops(&plan, Op::RemoveMembers);
    let rm = |g: &str| {
        removes
            .iter()
            .find(|a| a.display_name.as_deref() == Some(g))
            .map(|a| member_names(a))
    };
    assert_eq!(
        rm("開発部").unwrap(),
        ["akari.ikeda@example.co.jp", "sota.kimura@example.co.jp"]
    );
    assert_eq!(rm("総務部").unwrap(), ["yui.yamaguchi@example.co.jp"]);
    assert_eq!(removes.len(), 2);
    // Nested groups (全社員) are neither synced nor flattened.
    assert!(
        plan.actions
            .iter()
            .all(|a| a.display_name.as_deref() != Some("全社員"))
    );
    // Dependencies: member adds come after the creates they need; pending deletion after
    // the member removal.
    let seq_of = |op: Op, name: &str| {
        plan.actions
            .iter()
            .find(|a| {
                a.op == op
                    && (a.user_name.as_deref() == Some(name)
                        || a.display_name.as_deref() == Some(name))
            })
            .unwrap()
            .seq
    };
    let sales_add = adds
        .iter()
        .find(|a| a.display_name.as_deref() == Some("営業部"))
        .unwrap();
    assert!(
        sales_add
            .depends_on
            .contains(&seq_of(Op::CreateUser, "tsumugi.ogawa@example.co.jp"))
    );
    let vpn_add = adds
        .iter()
        .find(|a| a.display_name.as_deref() == Some("VPN利用者"))
        .unwrap();
    assert_eq!(
        vpn_add.target_action,
        Some(seq_of(Op::CreateGroup, "VPN利用者"))
    );
    let yui_rm = seq_of(Op::RemoveMembers, "総務部");
    assert!(yui.depends_on.contains(&yui_rm));
    // Unchanged users (e.g. taro, shota disabled before and now) get no action.
    assert!(
        plan.actions
            .iter()
            .all(|a| a.user_name.as_deref() != Some("taro.yamada@example.co.jp"))
    );
    assert!(
        plan.actions
            .iter()
            .all(|a| a.user_name.as_deref() != Some("shota.ito@example.co.jp"))
    );
    // Errors block the plan (exit 3).
    assert!(plan.summary.blocked);
}

#[test]
fn demo_normal_mode_reports_console_drift_and_sends_no_reverts() {
    let (setup, iid, prev, _) = demo();
    let setups = [setup];
    let mut run = Run::new(&setups, &iid, t("2026-11-27T01:00:00Z"));
    run.previous_iid = Some(&prev);
    run.mode = Mode::Normal;
    let plan = run.plan();
    assert_eq!(
        finding_subjects(&plan, "CONSOLE_DRIFT"),
        [
            "user hina.yamazaki@example.co.jp",
            "user yuki.takahashi@example.co.jp"
        ]
    );
    let yuki = findings(&plan, "CONSOLE_DRIFT")
        .into_iter()
        .find(|f| f.subject.contains("yuki"))
        .unwrap();
    assert!(yuki.message.contains("title"), "{}", yuki.message);
    // The cache equals AD for them, so normal mode sends nothing for the console edits.
    assert!(names(&plan, Op::UpdateUser).is_empty());
    // The rest of the story is the same as in recovery mode.
    assert_eq!(
        names(&plan, Op::CreateUser),
        ["koharu.abe@example.co.jp", "tsumugi.ogawa@example.co.jp"]
    );
    assert_eq!(
        names(&plan, Op::DisableUser),
        ["kenji.tanaka@example.co.jp"]
    );
}

#[test]
fn demo_with_previous_ad_reports_the_move() {
    let (mut setup, iid, _, prev_ad) = demo();
    setup.previous_ad = Some(prev_ad);
    let setups = [setup];
    let plan = Run::new(&setups, &iid, t("2026-11-27T01:00:00Z")).plan();
    // moved_to: Osaka → DN changes, objectGUID does not: info, and no IIJ ID change.
    assert_eq!(
        finding_subjects(&plan, "DN_CHANGED"),
        ["user sakura.kato@example.co.jp"]
    );
    assert!(
        plan.actions
            .iter()
            .all(|a| a.user_name.as_deref() != Some("sakura.kato@example.co.jp"))
    );
    let yui = ops(&plan, Op::PendingDeleteUser)
        .into_iter()
        .find(|a| a.user_name.as_deref() == Some("yui.yamaguchi@example.co.jp"))
        .unwrap();
    assert_eq!(yui.rule, "deleted");
}

#[test]
fn demo_plan_is_deterministic() {
    let (setup, iid, _, _) = demo();
    let setups = [setup];
    let run = Run::new(&setups, &iid, t("2026-11-27T01:00:00Z"));
    assert_eq!(run.plan().to_json().unwrap(), run.plan().to_json().unwrap());
}
