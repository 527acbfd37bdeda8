#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The structure of the HTML reports, without a browser: every internal link names an element
//! of the page, findings and actions link both ways (to the note about an action a limited
//! report leaves out, never to nothing), and the SVG summary and the Markdown tables carry the
//! plan summary's numbers. scripts/test-browser checks the rendering itself in Chromium.

use chrono::{TimeZone, Utc};
use dirsnap_plan::{
    Action, Confidence, Finding, Mode, Op, PLAN_SCHEMA_VERSION, Plan, Request, Resource, Severity,
};
use dirsnap_report::audit::{self, AuditInput, PendingUser};
use dirsnap_report::render::{REPORT_REFS_PER_ROW, render_limited};
use dirsnap_report::{Format, render};
use std::collections::{BTreeMap, BTreeSet};

fn action(seq: u32, op: Op, name: &str) -> Action {
    let group = matches!(
        op,
        Op::CreateGroup | Op::UpdateGroup | Op::AddMembers | Op::RemoveMembers | Op::DeleteGroup
    );
    Action {
        seq,
        op,
        resource: if group {
            Resource::Group
        } else {
            Resource::User
        },
        instance: "main".into(),
        target: (op != Op::CreateUser).then(|| format!("id-{seq}")),
        target_action: None,
        user_name: (!group).then(|| name.to_string()),
        display_name: group.then(|| name.to_string()),
        external_id: None,
        keys: Default::default(),
        matched_by: None,
        rule: "create.enabled".into(),
        reason: format!("reason of #{seq}"),
        changes: Vec::new(),
        request: Request {
            method: "POST".into(),
            path: "Users".into(),
        },
        operations: Vec::new(),
        body: None,
        members: Vec::new(),
        depends_on: Vec::new(),
        state_digest: None,
    }
}

fn finding(code: &str, severity: Severity, subject: &str, actions: Vec<u32>) -> Finding {
    Finding {
        code: code.into(),
        severity,
        instance: Some("main".into()),
        subject: subject.into(),
        keys: Default::default(),
        message: format!("message of {code}"),
        remediation: format!("what to do about {code}"),
        confidence: Confidence::High,
        actions,
        allowed: false,
    }
}

/// Three creates, a group with members that waits for two of them, a pending deletion;
/// findings about one, two and no action.
fn plan() -> Plan {
    let mut members = action(5, Op::AddMembers, "営業部");
    members.depends_on = vec![1, 2];
    let mut p = Plan {
        schema_version: PLAN_SCHEMA_VERSION,
        mode: Mode::Recovery,
        as_of: Utc.with_ymd_and_hms(2026, 11, 27, 0, 0, 0).unwrap(),
        instances: Vec::new(),
        inputs: Vec::new(),
        summary: Default::default(),
        findings: vec![
            finding(
                "RECREATED_PENDING_DELETION",
                Severity::Error,
                "user sota.kimura@example.co.jp",
                vec![6],
            ),
            finding(
                "NO_NOTIFICATION_EMAIL",
                Severity::Warning,
                "user <script>alert(1)</script>@example.co.jp",
                vec![2, 3],
            ),
            finding(
                "TOKEN_EXPIRY",
                Severity::Warning,
                "token example-main",
                vec![],
            ),
        ],
        actions: vec![
            action(1, Op::CreateUser, "koharu.abe@example.co.jp"),
            action(2, Op::CreateUser, "<script>alert(1)</script>@example.co.jp"),
            action(3, Op::CreateUser, "木村 蒼太"),
            action(4, Op::CreateGroup, "営業部"),
            members,
            action(6, Op::PendingDeleteUser, "sota.kimura@example.co.jp"),
        ],
        skipped: Vec::new(),
        notes: Vec::new(),
    };
    p.summarize();
    p
}

fn html_limited(p: &Plan, per_kind: usize) -> String {
    let mut s = String::new();
    render_limited(p, Format::Html, per_kind, &mut s).unwrap();
    s
}

/// Every value of `attr="…"` in `html`, in order.
fn attr_values(html: &str, attr: &str) -> Vec<String> {
    let pat = format!(" {attr}=\"");
    html.match_indices(&pat)
        .map(|(i, _)| {
            let rest = &html[i + pat.len()..];
            rest[..rest.find('"').unwrap()].to_string()
        })
        .collect()
}

fn ids(html: &str) -> BTreeSet<String> {
    let all = attr_values(html, "id");
    let set: BTreeSet<String> = all.iter().cloned().collect();
    assert_eq!(set.len(), all.len(), "duplicate ids in {all:?}");
    set
}

/// Asserts every `href="#x"` names an element; returns the internal hrefs.
fn internal_links_resolve(html: &str) -> Vec<String> {
    let ids = ids(html);
    let hrefs = attr_values(html, "href");
    assert!(!hrefs.is_empty());
    for h in &hrefs {
        let target = h
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("external link {h}"));
        assert!(ids.contains(target), "dead link {h}; ids: {ids:?}");
    }
    hrefs
}

/// The `<tr>` element whose id is `id`.
fn row<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html
        .find(&format!("<tr id=\"{id}\""))
        .unwrap_or_else(|| panic!("no row {id}"));
    let end = start + html[start..].find("</tr>").unwrap();
    &html[start..end]
}

/// The bars of the chart `name`: key → count, and its total.
fn chart(html: &str, name: &str) -> (u64, BTreeMap<String, u64>) {
    let start = html
        .find(&format!("data-chart=\"{name}\""))
        .unwrap_or_else(|| panic!("no {name} chart"));
    let svg = &html[start..start + html[start..].find("</svg>").unwrap()];
    let total = attr_values(&format!(" {svg}"), "data-total")[0]
        .parse()
        .unwrap();
    let keys = attr_values(svg, "data-key");
    let counts = attr_values(svg, "data-count");
    assert_eq!(keys.len(), counts.len());
    let bars = keys
        .into_iter()
        .zip(counts.iter().map(|c| c.parse().unwrap()))
        .collect();
    (total, bars)
}

fn expected_ops(p: &Plan) -> BTreeMap<String, u64> {
    p.summary.by_op.clone()
}

fn expected_severities(p: &Plan) -> BTreeMap<String, u64> {
    ["error", "warning", "info"]
        .iter()
        .map(|k| (k.to_string(), *p.summary.by_severity.get(*k).unwrap_or(&0)))
        .collect()
}

#[test]
fn findings_and_actions_link_both_ways() {
    let p = plan();
    let html = render(&p, Format::Html);
    internal_links_resolve(&html);
    for (i, f) in p.findings.iter().enumerate() {
        let id = format!("finding-{}", i + 1);
        let r = row(&html, &id);
        for seq in &f.actions {
            assert!(r.contains(&format!("href=\"#action-{seq}\"")), "{r}");
            let back = row(&html, &format!("action-{seq}"));
            assert!(back.contains(&format!("href=\"#{id}\"")), "{back}");
        }
    }
    // An action no finding is about has no findings line.
    assert!(!row(&html, "action-1").contains("findings:"));
    // What an action waits for is linked too.
    let members = row(&html, "action-5");
    assert!(
        members.contains("after <a href=\"#action-1\">#1</a>, <a href=\"#action-2\">#2</a>"),
        "{members}"
    );
    // Sections have stable anchors the summary links to.
    assert!(html.contains("<h3 id=\"actions-create_user\">"));
    assert!(html.contains("<h2 id=\"findings\">"));
}

#[test]
fn a_limited_report_links_actions_it_leaves_out_to_the_note_about_them() {
    let p = plan();
    let html = html_limited(&p, 1);
    internal_links_resolve(&html);
    let ids = ids(&html);
    assert!(ids.contains("action-1") && !ids.contains("action-2") && !ids.contains("action-3"));
    assert!(ids.contains("more-create_user"));
    let f = row(&html, "finding-2");
    assert!(
        f.contains("<a href=\"#more-create_user\">#2 (not shown in this report)</a>"),
        "{f}"
    );
    // The group's member additions wait for #2, which is left out as well.
    let members = row(&html, "action-5");
    assert!(
        members.contains("<a href=\"#more-create_user\">#2 (not shown in this report)</a>"),
        "{members}"
    );
    // And the pending deletion, shown, still links back to its finding.
    assert!(row(&html, "action-6").contains("href=\"#finding-1\""));
}

#[test]
fn references_are_capped_in_reports_but_not_in_plan_show() {
    let mut p = plan();
    let n = REPORT_REFS_PER_ROW as u32 + 70;
    p.actions = (1..=n)
        .map(|s| action(s, Op::PendingDeleteUser, &format!("u{s}@example.co.jp")))
        .collect();
    p.findings = vec![finding(
        "THRESHOLD_EXCEEDED",
        Severity::Error,
        "threshold pending_deletions",
        (1..=n).collect(),
    )];
    p.summarize();
    let limited = html_limited(&p, dirsnap_report::render::REPORT_ACTIONS_PER_KIND);
    internal_links_resolve(&limited);
    let f = row(&limited, "finding-1");
    assert_eq!(
        f.matches("href=\"#action-").count(),
        REPORT_REFS_PER_ROW,
        "{f}"
    );
    assert!(f.contains(", and 70 more (plan.json lists them)"), "{f}");
    let mut md = String::new();
    render_limited(
        &p,
        Format::Markdown,
        dirsnap_report::render::REPORT_ACTIONS_PER_KIND,
        &mut md,
    )
    .unwrap();
    assert!(md.contains(", and 70 more (plan.json lists them))"), "{md}");
    // `plan show` is never capped.
    let full = render(&p, Format::Html);
    assert_eq!(
        row(&full, "finding-1").matches("href=\"#action-").count(),
        n as usize
    );
    // Every action still links back to the one finding.
    assert!(row(&limited, &format!("action-{n}")).contains("href=\"#finding-1\""));
}

#[test]
fn the_svg_summary_and_the_markdown_carry_the_plan_summary() {
    let p = plan();
    let html = render(&p, Format::Html);
    let (total, bars) = chart(&html, "actions");
    assert_eq!(total, p.summary.actions);
    assert_eq!(bars, expected_ops(&p));
    let (total, bars) = chart(&html, "findings");
    assert_eq!(total, p.summary.findings);
    assert_eq!(bars, expected_severities(&p));
    assert_eq!(bars["info"], 0, "a zero severity still has its row");
    // Above the findings, and self-contained: no script, no external reference.
    assert!(html.find("<svg").unwrap() < html.find("id=\"findings\"").unwrap());
    for bad in [
        "<script", "src=", "http://", "https://", "<link", "@import", "url(",
    ] {
        let n = html.matches(bad).count();
        // The one allowed http: the SVG namespace.
        let allowed = usize::from(bad == "http://") * 2;
        assert!(n <= allowed, "{bad} appears {n} times");
    }
    // The bars link to the kinds' sections and to the first finding of a severity.
    assert!(html.contains("<a href=\"#actions-pending_delete_user\"><g data-key=\"pending_delete_user\" data-count=\"1\">"));
    assert!(html.contains("<a href=\"#finding-2\"><g data-key=\"warning\" data-count=\"2\">"));

    let md = render(&p, Format::Markdown);
    assert!(
        md.contains("| `create_user` | 3 | ████████████████████ |"),
        "{md}"
    );
    assert!(
        md.contains("| `pending_delete_user` | 1 | ███████ |"),
        "{md}"
    );
    assert!(md.contains("| **all actions** | **6** | |"), "{md}");
    assert!(md.contains("| error | 1 | ██████████ |"), "{md}");
    assert!(
        md.contains("| warning | 2 | ████████████████████ |"),
        "{md}"
    );
    assert!(md.contains("| info | 0 |  |"), "{md}");
    assert!(md.contains("| **all findings** | **3** | |"), "{md}");
}

#[test]
fn an_empty_plan_has_charts_that_say_so() {
    let mut p = plan();
    p.actions.clear();
    p.findings.clear();
    p.summarize();
    let html = render(&p, Format::Html);
    let (total, bars) = chart(&html, "actions");
    assert_eq!((total, bars.len()), (0, 0));
    assert!(html.contains(">no action</text>"));
    let (total, bars) = chart(&html, "findings");
    assert_eq!(total, 0);
    assert_eq!(bars.values().sum::<u64>(), 0);
    // Nothing to link to: no link at all, rather than a dead one.
    assert!(attr_values(&html, "href").is_empty());
}

#[test]
fn user_data_is_escaped_everywhere_it_now_appears() {
    let p = plan();
    let html = render(&p, Format::Html);
    assert!(!html.contains("<script>"));
    // Escaped first, then made breakable before the domain.
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;<wbr>@example.co.jp"));
    let a = audit::audit(&AuditInput {
        recovery: &p,
        normal: None,
        pending: &[],
        allow_deletes: 0,
        accept_console_edits: false,
    });
    assert!(!audit::html(&a).contains("<script>"));
    assert!(!audit::markdown(&a).contains("<script>"));
}

fn normal_plan_with_drift() -> Plan {
    let mut p = plan();
    p.mode = Mode::Normal;
    let mut drift = finding(
        "CONSOLE_DRIFT",
        Severity::Warning,
        "user sota.kimura@example.co.jp",
        vec![],
    );
    drift.keys.insert("id", "id-6".into());
    p.findings = vec![drift];
    p.summarize();
    p
}

#[test]
fn the_audit_links_findings_console_edits_and_actions_both_ways() {
    let recovery = plan();
    let normal = normal_plan_with_drift();
    let pending = [PendingUser {
        user_name: "old@example.co.jp".into(),
        id: "id-99".into(),
    }];
    let a = audit::audit(&AuditInput {
        recovery: &recovery,
        normal: Some(&normal),
        pending: &pending,
        allow_deletes: 0,
        accept_console_edits: false,
    });
    let html = audit::html(&a);
    internal_links_resolve(&html);
    // Each finding of the recovery-mode plan has its row, linking to its actions, which link
    // back.
    for (i, f) in recovery.findings.iter().enumerate() {
        let id = format!("finding-{}", i + 1);
        let r = row(&html, &id);
        for seq in &f.actions {
            assert!(r.contains(&format!("href=\"#action-{seq}\"")), "{r}");
            let back = row(&html, &format!("action-{seq}"));
            assert!(back.contains(&format!("href=\"#{id}\"")), "{back}");
        }
    }
    // The console edit links to the action recovery mode would take on it, and back.
    let drift = row(&html, "drift-1");
    assert!(drift.contains("href=\"#action-6\""), "{drift}");
    let deletion = row(&html, "action-6");
    assert!(
        deletion.contains("href=\"#drift-1\"")
            && deletion.contains("console edit of user sota.kimura@example.co.jp"),
        "{deletion}"
    );
    // The deletion is listed under Deletions as well: that row links to its home row.
    let deletions = &html[html.find("<h2 id=\"orphans\"").unwrap()..];
    let deletions = &deletions[..deletions.find("</table>").unwrap()];
    assert!(
        deletions.contains("action: <a href=\"#action-6\">#6</a>"),
        "{deletions}"
    );
    assert!(deletions.contains("href=\"#finding-1\""), "{deletions}");

    // The charts are the recovery-mode plan's summary.
    let (total, bars) = chart(&html, "actions");
    assert_eq!(
        (total, bars),
        (recovery.summary.actions, expected_ops(&recovery))
    );
    let (total, bars) = chart(&html, "findings");
    assert_eq!(
        (total, bars),
        (recovery.summary.findings, expected_severities(&recovery))
    );
    let md = audit::markdown(&a);
    assert!(
        md.contains("| what recovery mode would do | count | |"),
        "{md}"
    );
    assert!(md.contains("| `create_user` | 3 |"), "{md}");
    assert!(md.contains("| **all findings** | **3** | |"), "{md}");

    // None of this is part of audit.json.
    let json = serde_json::to_value(&a).unwrap();
    let text = json.to_string();
    assert!(
        !text.contains("\"links\"") && !text.contains("drift-1"),
        "{text}"
    );
    assert!(json.get("summary").is_none());
}
