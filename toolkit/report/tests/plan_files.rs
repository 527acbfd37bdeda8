#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Plan directories round-trip, refuse tampering and existing targets; renderers escape what
//! they print.

use chrono::{TimeZone, Utc};
use dirsnap_plan::load_plan;
use dirsnap_plan::{
    Action, Confidence, Finding, Mode, Op, PLAN_SCHEMA_VERSION, Plan, Request, Resource, Severity,
};
use dirsnap_report::{Format, render, write_plan_dir};

fn plan() -> Plan {
    let mut p = Plan {
        schema_version: PLAN_SCHEMA_VERSION,
        mode: Mode::Recovery,
        as_of: Utc.with_ymd_and_hms(2026, 11, 27, 0, 0, 0).unwrap(),
        instances: Vec::new(),
        inputs: Vec::new(),
        summary: Default::default(),
        findings: vec![Finding {
            code: "NO_NOTIFICATION_EMAIL".into(),
            severity: Severity::Warning,
            instance: Some("main".into()),
            subject: "user <script>alert(1)</script>@example.co.jp".into(),
            keys: Default::default(),
            message: "m & m".into(),
            remediation: "r".into(),
            confidence: Confidence::High,
            actions: vec![1],
            allowed: false,
        }],
        actions: vec![Action {
            seq: 1,
            op: Op::CreateUser,
            resource: Resource::User,
            instance: "main".into(),
            target: None,
            target_action: None,
            user_name: Some("<script>alert(1)</script>@example.co.jp".into()),
            display_name: None,
            external_id: Some("x".into()),
            keys: Default::default(),
            matched_by: None,
            rule: "create.enabled".into(),
            reason: "because | *bold*".into(),
            changes: Vec::new(),
            request: Request {
                method: "POST".into(),
                path: "Users".into(),
            },
            operations: Vec::new(),
            body: Some(serde_json::json!({"userName": "x"})),
            members: Vec::new(),
            depends_on: Vec::new(),
            state_digest: None,
        }],
        skipped: Vec::new(),
        notes: Vec::new(),
    };
    p.summarize();
    p
}

#[test]
fn round_trip_and_tamper_detection() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("plan");
    let p = plan();
    let m = write_plan_dir(&out, &p, &[], Utc::now()).unwrap();
    assert_eq!(m["kind"], "plan");
    assert_eq!(m["counts"]["actions"], 1);
    let back = load_plan(&out).unwrap();
    assert_eq!(back.plan, p);
    // No temporary directory is left beside it.
    let names: Vec<String> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["plan"]);
    // Existing target refused.
    assert!(write_plan_dir(&out, &p, &[], Utc::now()).is_err());
    // Tampering detected.
    let text = std::fs::read_to_string(out.join("plan.json")).unwrap();
    std::fs::write(
        out.join("plan.json"),
        text.replace("create.enabled", "create.disabled"),
    )
    .unwrap();
    let e = load_plan(&out).unwrap_err();
    assert!(e.is_invalid_input());
    assert!(e.to_string().contains("checksum mismatch"), "{e}");
}

#[test]
fn html_and_markdown_escape_user_data() {
    let p = plan();
    let html = render(&p, Format::Html);
    assert!(!html.contains("<script>"));
    assert!(html.contains("&lt;script&gt;"));
    assert!(html.contains("m &amp; m"));
    let md = render(&p, Format::Markdown);
    assert!(md.contains("because \\| \\*bold\\*"));
    assert!(!md.contains("<script>"));
    let text = render(&p, Format::Text);
    assert!(text.contains("Users to create (1)"));
    assert!(text.contains("Findings (1)"));
    assert_eq!(render(&p, Format::Json), p.to_json().unwrap());
    assert_eq!(Format::parse("MD"), Some(Format::Markdown));
    assert_eq!(Format::parse("pdf"), None);
}
