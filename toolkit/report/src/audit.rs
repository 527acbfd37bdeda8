//! The consistency audit to run before Directory Sync's recovery mode (`dirsnap audit`).
//!
//! Recovery mode throws away Directory Sync's cache and re-diffs AD against the live tenant.
//! The audit answers, for a person with no other context, "is it safe to press that button?":
//! what was edited in the console since the last sync and whether recovery reverts it,
//! orphans it would delete, users it would take over by userName, users pending deletion,
//! duplicates and group-name collisions, and the full list of what recovery would do.
//!
//! Pure: built from the recovery-mode plan, the normal-mode plan (for console drift, when the
//! last-known state is known) and the IIJ ID users pending deletion.

use crate::render::{
    REPORT_REFS_PER_ROW, Ref, change_lines, html_code, html_cols, html_escape, html_head,
    html_name, html_refs, key_line, md_escape, member_line, subject_of,
};
use dirsnap_plan::codes;
use dirsnap_plan::{Action, Finding, Op, Plan, Severity, Summary};
use serde::Serialize;
use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;

/// One line of a section: a subject and what is known about it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Item {
    pub subject: String,
    /// `error`, `warning`, `info`, or the action op.
    pub tag: String,
    pub lines: Vec<String>,
    /// How audit.html links it to the rows it is about (not part of audit.json).
    #[serde(skip)]
    pub links: Links,
}

/// An item's place among the report's links: findings link to their actions, actions back to
/// the findings and console edits about them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Links {
    /// The element id of the row that is the item's home (`finding-3`, `action-12`,
    /// `drift-1`); other rows about the same object link there.
    pub anchor: Option<String>,
    /// Seqs of the recovery-mode plan's actions the item is about.
    pub actions: Vec<u32>,
    /// The findings and console edits about this action, in the order the report lists them.
    pub findings: Vec<LinkTo>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LinkTo {
    pub anchor: String,
    pub label: String,
    /// `error`, `warning` or `info`.
    pub severity: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Section {
    pub id: &'static str,
    pub title: &'static str,
    /// What the section means, for someone who has not read the docs.
    pub intro: String,
    pub items: Vec<Item>,
    /// Shown instead of items when there are none (e.g. why it cannot be known).
    pub empty: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Audit {
    /// Safe to run recovery mode now.
    pub safe: bool,
    /// Why not (empty when safe), then what to know anyway.
    pub reasons: Vec<String>,
    pub notes: Vec<String>,
    pub as_of: String,
    pub instances: Vec<String>,
    pub counts: Counts,
    pub sections: Vec<Section>,
    /// The recovery-mode plan's counts, for the charts (its plan.json has them).
    #[serde(skip)]
    pub summary: Summary,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Counts {
    pub console_edits: usize,
    pub console_edits_reverted: usize,
    pub orphans: usize,
    pub unlinked_matches: usize,
    pub pending_deletion: usize,
    pub duplicates: usize,
    pub group_name_collisions: usize,
    pub recovery_actions: usize,
    pub deletes: usize,
    pub blocking_findings: usize,
    /// Creates recovery mode would send for users deleted in the console (409 expected).
    pub predicted_conflicts: usize,
}

/// An IIJ ID user in pending deletion, as the snapshot shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingUser {
    pub user_name: String,
    pub id: String,
}

pub struct AuditInput<'a> {
    /// What recovery mode would do (`--mode recovery` against the live tenant).
    pub recovery: &'a Plan,
    /// The normal-mode plan against the last-known state, when `--previous-iid` was given:
    /// its CONSOLE_DRIFT findings are the console edits.
    pub normal: Option<&'a Plan>,
    pub pending: &'a [PendingUser],
    /// Pending deletions plus group deletes the admin expects (`--allow-deletes`).
    pub allow_deletes: u64,
    /// Console edits may be reverted by recovery mode (`--accept-console-edits`).
    pub accept_console_edits: bool,
}

/// `index`: the finding's position in the recovery-mode plan (none for the normal-mode plan's).
fn finding_item(index: Option<usize>, f: &Finding) -> Item {
    let mut lines = vec![f.message.clone(), format!("What to do: {}", f.remediation)];
    if let Some(i) = &f.instance {
        lines.push(format!("instance {i}"));
    }
    Item {
        subject: f.subject.clone(),
        tag: f.severity.as_str().to_string(),
        lines: {
            lines.insert(0, f.code.clone());
            lines
        },
        links: Links {
            anchor: index.map(|i| format!("finding-{}", i + 1)),
            actions: f.actions.clone(),
            findings: Vec::new(),
        },
    }
}

fn action_item(a: &Action) -> Item {
    let mut lines = vec![format!("#{} rule {}: {}", a.seq, a.rule, a.reason)];
    let k = key_line(a);
    if !k.is_empty() {
        lines.push(k);
    }
    lines.extend(change_lines(a));
    lines.extend(member_line(a));
    Item {
        subject: subject_of(a),
        tag: a.op.as_str().to_string(),
        lines,
        links: Links {
            anchor: None,
            actions: vec![a.seq],
            findings: Vec::new(),
        },
    }
}

/// The section listing every action: each action's row there is its home.
const ACTIONS_SECTION: &str = "recovery-actions";

fn is_delete(a: &Action) -> bool {
    matches!(a.op, Op::PendingDeleteUser | Op::DeleteGroup)
}

/// The plan's findings with one of `codes`, each with its position in the plan.
fn findings_with<'a>(plan: &'a Plan, codes: &[&str]) -> Vec<(usize, &'a Finding)> {
    plan.findings
        .iter()
        .enumerate()
        .filter(|(_, f)| codes.contains(&f.code.as_str()))
        .collect()
}

fn finding_items(plan: &Plan, codes: &[&str]) -> Vec<Item> {
    findings_with(plan, codes)
        .into_iter()
        .map(|(i, f)| finding_item(Some(i), f))
        .collect()
}

pub fn audit(input: &AuditInput<'_>) -> Audit {
    let plan = input.recovery;
    let mut counts = Counts {
        recovery_actions: plan.actions.len(),
        ..Counts::default()
    };
    let mut sections = Vec::new();

    // Console drift: live vs last-known, with what recovery would do to each object.
    let mut drift_items = Vec::new();
    if let Some(normal) = input.normal {
        for (_, f) in findings_with(normal, &[codes::CONSOLE_DRIFT]) {
            let id = f.keys.get("id").cloned();
            let touching: Vec<&Action> = plan
                .actions
                .iter()
                .filter(|a| {
                    (id.is_some() && a.target == id)
                        || a.user_name
                            .as_ref()
                            .is_some_and(|n| f.subject == format!("user {n}"))
                        || (a.user_name.is_none()
                            && a.display_name
                                .as_ref()
                                .is_some_and(|n| f.subject == format!("group {n}")))
                })
                .collect();
            let mut item = finding_item(None, f);
            item.lines.remove(0);
            item.links = Links {
                anchor: Some(format!("drift-{}", drift_items.len() + 1)),
                actions: touching.iter().map(|a| a.seq).collect(),
                findings: Vec::new(),
            };
            if touching.is_empty() {
                item.lines
                    .push("recovery mode leaves this object as it is now".into());
            } else {
                counts.console_edits_reverted += 1;
                for a in touching {
                    item.lines.push(format!(
                        "recovery mode would {} it (#{}): {}",
                        a.op.as_str(),
                        a.seq,
                        a.reason
                    ));
                    // Recovery creates a user with a drift finding only when the live
                    // tenant no longer shows it: deleted in the console, so pending deletion.
                    if a.op == Op::CreateUser {
                        counts.predicted_conflicts += 1;
                        item.lines.push("a user deleted in the console goes into pending deletion and keeps its login ID (assumption A3): this create fails (409) until the user is restored, or deleted for good, in IIJ ID Console".into());
                    }
                }
            }
            drift_items.push(item);
        }
    }
    counts.console_edits = drift_items.len();
    sections.push(Section {
        id: "console-drift",
        title: "Edited in IIJ ID Console since the last sync",
        intro: "Objects whose live state differs from what Directory Sync last wrote (its cache). Recovery mode re-reads the tenant and writes the AD values again: a console edit on a synchronized attribute is reverted, a user created in the console is adopted or deleted according to AD.".into(),
        items: drift_items,
        empty: if input.normal.is_some() {
            "None: the live tenant matches the last-known state.".into()
        } else {
            "Not known: pass --previous-iid with a snapshot of the state the last sync left (e.g. exported right after it) to see console edits.".into()
        },
    });

    // Orphans: owned objects with no AD source, which recovery deletes.
    let orphans: Vec<Item> = plan
        .actions
        .iter()
        .filter(|a| is_delete(a))
        .map(action_item)
        .collect();
    counts.orphans = orphans.len();
    counts.deletes = orphans.len();
    let mut foreign = finding_items(
        plan,
        &[codes::FOREIGN_GROUP_DELETE, codes::FOREIGN_USER_DELETE],
    );
    let mut orphan_items = orphans;
    orphan_items.append(&mut foreign);
    sections.push(Section {
        id: "orphans",
        title: "Deletions: orphans and replaced objects recovery mode would delete",
        intro: "IIJ ID objects this instance owns whose AD source is gone (deleted, out of scope, or replaced by a recreated account). Recovery mode puts these users into pending deletion (restorable from the console for a while) and deletes these groups (not restorable). Objects another instance owns are listed with a FOREIGN_* finding and left alone.".into(),
        items: orphan_items,
        empty: "None.".into(),
    });

    // Unlinked matches: taken over by userName.
    let mut unlinked: Vec<Item> = plan
        .actions
        .iter()
        .filter(|a| a.matched_by.as_deref() == Some("userName"))
        .map(action_item)
        .collect();
    unlinked.extend(finding_items(plan, &[codes::OWNERSHIP_CONFLICT]));
    counts.unlinked_matches = unlinked.len();
    sections.push(Section {
        id: "unlinked",
        title: "Unlinked matches: IIJ ID users taken over by userName",
        intro: "IIJ ID users that match an AD user only by userName (no or another externalId). Recovery mode adopts them and overwrites their attributes with the AD values: check each is the same person.".into(),
        items: unlinked,
        empty: "None: every matched user is linked by externalId.".into(),
    });

    // Users pending deletion.
    let mut pending: Vec<Item> = input
        .pending
        .iter()
        .map(|p| Item {
            subject: format!("user {}", p.user_name),
            tag: "pending".into(),
            lines: vec![format!("id {}: pending deletion in IIJ ID", p.id)],
            links: Links::default(),
        })
        .collect();
    pending.extend(
        plan.actions
            .iter()
            .filter(|a| a.op == Op::RestoreUser)
            .map(action_item),
    );
    pending.extend(finding_items(plan, &[codes::RECREATED_PENDING_DELETION]));
    counts.pending_deletion = input.pending.len();
    sections.push(Section {
        id: "pending",
        title: "Users pending deletion",
        intro: "Users in IIJ ID's pending deletion: their login ID stays reserved. Recovery mode restores one when its AD account is back in scope with the same userName and externalId; a new AD account with the same login ID errors until the pending user is deleted for good.".into(),
        items: pending,
        empty: "None known. IIJ ID does not list pending users over SCIM (assumption MK2): the snapshot shows them only when they come from another source.".into(),
    });

    let dup = finding_items(
        plan,
        &[
            codes::DUPLICATE_KEY,
            codes::AMBIGUOUS_MATCH,
            codes::LIVE_UNIQUENESS_CONFLICT,
        ],
    );
    counts.duplicates = dup.len();
    sections.push(Section {
        id: "duplicates",
        title: "Duplicates",
        intro: "Two objects share a key that must be unique (userName, externalId, application-linking ID), so Directory Sync cannot tell which is which; nothing is done for them.".into(),
        items: dup,
        empty: "None.".into(),
    });

    let coll = finding_items(plan, &[codes::GROUP_NAME_COLLISION]);
    counts.group_name_collisions = coll.len();
    sections.push(Section {
        id: "group-collisions",
        title: "Group-name collisions",
        intro: "Different AD groups (within one domain or across instances) that map to one IIJ ID group name; IIJ ID group names are unique, so one of them fails.".into(),
        items: coll,
        empty: "None.".into(),
    });

    let shown = [
        codes::CONSOLE_DRIFT,
        codes::FOREIGN_GROUP_DELETE,
        codes::FOREIGN_USER_DELETE,
        codes::OWNERSHIP_CONFLICT,
        codes::RECREATED_PENDING_DELETION,
        codes::DUPLICATE_KEY,
        codes::AMBIGUOUS_MATCH,
        codes::LIVE_UNIQUENESS_CONFLICT,
        codes::GROUP_NAME_COLLISION,
    ];
    let mut other: Vec<(usize, &Finding)> = plan
        .findings
        .iter()
        .enumerate()
        .filter(|(_, f)| !shown.contains(&f.code.as_str()))
        .collect();
    other.sort_by_key(|(_, f)| match f.severity {
        Severity::Error => 0,
        Severity::Warning => 1,
        Severity::Info => 2,
    });
    sections.push(Section {
        id: "other-findings",
        title: "Other findings",
        intro: "Everything else the recovery-mode plan predicts (docs/findings.md explains every code).".into(),
        items: other
            .into_iter()
            .map(|(i, f)| finding_item(Some(i), f))
            .collect(),
        empty: "None.".into(),
    });

    let mut actions: Vec<&Action> = plan.actions.iter().collect();
    actions.sort_by_key(|a| (a.op.rank(), a.seq));
    sections.push(Section {
        id: ACTIONS_SECTION,
        title: "What recovery mode would do",
        intro: "Every request a recovery-mode run would send, grouped by kind, each with its rule and reason. This is the plan under recovery-plan/ in this directory.".into(),
        items: actions
            .into_iter()
            .map(|a| {
                let mut item = action_item(a);
                item.links.anchor = Some(format!("action-{}", a.seq));
                item.links.actions.clear();
                item
            })
            .collect(),
        empty: "Nothing: AD and the live tenant agree.".into(),
    });
    link_back(&mut sections);

    counts.blocking_findings = plan.findings.iter().filter(|f| f.blocks()).count();
    let mut reasons = Vec::new();
    let mut notes = Vec::new();
    if counts.blocking_findings > 0 {
        let codes: std::collections::BTreeSet<&str> = plan
            .findings
            .iter()
            .filter(|f| f.blocks())
            .map(|f| f.code.as_str())
            .collect();
        reasons.push(format!(
            "{} blocking finding(s) ({}): Directory Sync would fail or do something unwanted on these objects",
            counts.blocking_findings,
            codes.into_iter().collect::<Vec<_>>().join(", ")
        ));
    }
    if counts.deletes as u64 > input.allow_deletes {
        let users = plan
            .actions
            .iter()
            .filter(|a| a.op == Op::PendingDeleteUser)
            .count();
        let groups = plan
            .actions
            .iter()
            .filter(|a| a.op == Op::DeleteGroup)
            .count();
        reasons.push(format!(
            "recovery mode would put {users} user(s) into pending deletion and delete {groups} group(s), more than the {} expected (--allow-deletes); check each under Deletions",
            input.allow_deletes
        ));
    }
    if counts.predicted_conflicts > 0 {
        reasons.push(format!(
            "{} user(s) deleted in IIJ ID Console would be created again by recovery mode and fail (409): their login IDs are held in pending deletion; restore them, or delete them for good, in the console first",
            counts.predicted_conflicts
        ));
    }
    if counts.console_edits_reverted > 0 && input.accept_console_edits {
        notes.push(format!(
            "{} console edit(s) will be overwritten or deleted by recovery mode (accepted with --accept-console-edits)",
            counts.console_edits_reverted
        ));
    } else if counts.console_edits_reverted > 0 {
        reasons.push(format!(
            "{} object(s) edited in IIJ ID Console would be overwritten or deleted by recovery mode; copy the edits to AD first, or accept losing them (--accept-console-edits)",
            counts.console_edits_reverted
        ));
    }
    if input.normal.is_none() {
        notes.push("console edits are not known without --previous-iid".into());
    }
    if counts.unlinked_matches > 0 {
        notes.push(format!(
            "{} IIJ ID user(s) would be taken over by userName: check they are the same people",
            counts.unlinked_matches
        ));
    }
    Audit {
        safe: reasons.is_empty(),
        reasons,
        notes,
        as_of: crate::render::as_of(plan),
        instances: plan.instances.iter().map(|i| i.name.clone()).collect(),
        counts,
        sections,
        summary: plan.summary.clone(),
    }
}

/// Gives every action item the findings and console edits that are about its action, in the
/// order the report lists them.
fn link_back(sections: &mut [Section]) {
    let mut about: HashMap<u32, Vec<LinkTo>> = HashMap::new();
    for item in sections.iter().flat_map(|s| &s.items) {
        let Some(anchor) = &item.links.anchor else {
            continue;
        };
        if anchor.starts_with("action-") {
            continue;
        }
        let label = if anchor.starts_with("drift-") {
            format!("console edit of {}", item.subject)
        } else {
            format!(
                "{} {}",
                item.tag.to_uppercase(),
                item.lines.first().map(String::as_str).unwrap_or_default()
            )
        };
        for seq in &item.links.actions {
            about.entry(*seq).or_default().push(LinkTo {
                anchor: anchor.clone(),
                label: label.clone(),
                severity: item.tag.clone(),
            });
        }
    }
    for item in sections.iter_mut().flat_map(|s| s.items.iter_mut()) {
        let is_action = Op::ALL.iter().any(|op| op.as_str() == item.tag);
        if !is_action {
            continue;
        }
        let seq = match &item.links.anchor {
            Some(a) => a
                .strip_prefix("action-")
                .and_then(|n| n.parse::<u32>().ok()),
            None => item.links.actions.first().copied(),
        };
        if let Some(found) = seq.and_then(|s| about.get(&s)) {
            item.links.findings = found.clone();
        }
    }
}

fn verdict_line(a: &Audit) -> String {
    if a.safe {
        "SAFE to run recovery mode: nothing it would do is destructive or blocked".into()
    } else {
        "NOT SAFE to run recovery mode yet".into()
    }
}

pub fn markdown(a: &Audit) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "# dirsnap audit — before recovery mode\n");
    let _ = writeln!(
        o,
        "- **as of**: {}\n- **instances**: {}\n",
        a.as_of,
        md_escape(&a.instances.join(", "))
    );
    let _ = writeln!(o, "## Verdict: {}\n", verdict_line(a));
    for r in &a.reasons {
        let _ = writeln!(o, "- {}", md_escape(r));
    }
    for n in &a.notes {
        let _ = writeln!(o, "- note: {}", md_escape(n));
    }
    let _ = writeln!(o, "\n| section | count |\n|---|---:|");
    for s in &a.sections {
        let _ = writeln!(o, "| {} | {} |", s.title, s.items.len());
    }
    let _ = writeln!(o);
    crate::chart::markdown_tables(
        &mut o,
        "what recovery mode would do",
        "its findings by severity",
        &a.summary,
    );
    for s in &a.sections {
        let _ = writeln!(o, "## {} ({})\n", s.title, s.items.len());
        let _ = writeln!(o, "{}\n", md_escape(&s.intro));
        if s.items.is_empty() {
            let _ = writeln!(o, "{}\n", md_escape(&s.empty));
            continue;
        }
        for i in &s.items {
            let _ = writeln!(o, "- `{}` **{}**", i.tag, md_escape(&i.subject));
            for l in &i.lines {
                let _ = writeln!(o, "  - {}", md_escape(l));
            }
        }
        let _ = writeln!(o);
    }
    o
}

pub fn html(a: &Audit) -> String {
    let mut o = String::new();
    // Links only to rows that are in the page: a finding the audit does not list is named,
    // not linked.
    let anchors: BTreeSet<&str> = a
        .sections
        .iter()
        .flat_map(|s| &s.items)
        .filter_map(|i| i.links.anchor.as_deref())
        .collect();
    let action_ref = |seq: u32| {
        let anchor = format!("action-{seq}");
        Ref {
            href: anchors
                .contains(anchor.as_str())
                .then(|| format!("#{anchor}")),
            text: format!("#{seq}"),
            class: "",
        }
    };
    let _ = html_head(&mut o, "dirsnap audit");
    let _ = write!(
        o,
        "<h1>dirsnap audit — before recovery mode</h1>\n<p>as of {} — instances: {}</p>\n",
        html_escape(&a.as_of),
        html_escape(&a.instances.join(", "))
    );
    let _ = writeln!(
        o,
        "<h2 class=\"{}\">Verdict: {}</h2><ul>",
        if a.safe { "ok" } else { "blocked" },
        html_escape(&verdict_line(a))
    );
    for r in &a.reasons {
        let _ = writeln!(o, "<li>{}</li>", html_escape(r));
    }
    for n in &a.notes {
        let _ = writeln!(o, "<li>note: {}</li>", html_escape(n));
    }
    let _ = writeln!(o, "</ul>");
    let first_with = |tag: &str, prefix: &str| {
        a.sections
            .iter()
            .flat_map(|s| &s.items)
            .filter(|i| i.tag == tag)
            .filter_map(|i| i.links.anchor.as_deref())
            .find(|anchor| anchor.starts_with(prefix))
            .map(|anchor| format!("#{anchor}"))
    };
    let _ = crate::chart::html_charts(
        &mut o,
        "What recovery mode would do",
        "Its findings by severity",
        &a.summary,
        &|op| first_with(op.as_str(), "action-"),
        &|severity| first_with(severity, "finding-"),
    );
    let _ = writeln!(o, "<table><tr><th>section</th><th>count</th></tr>");
    for s in &a.sections {
        let _ = writeln!(
            o,
            "<tr><td><a href=\"#{}\">{}</a></td><td>{}</td></tr>",
            s.id,
            html_escape(s.title),
            s.items.len()
        );
    }
    let _ = writeln!(o, "</table>");
    for s in &a.sections {
        let _ = writeln!(
            o,
            "<h2 id=\"{}\">{} ({})</h2><p>{}</p>",
            s.id,
            html_escape(s.title),
            s.items.len(),
            html_escape(&s.intro)
        );
        if s.items.is_empty() {
            let _ = writeln!(o, "<p>{}</p>", html_escape(&s.empty));
            continue;
        }
        o.push_str("<table class=\"grid\">");
        let _ = html_cols(&mut o, &["13rem", "19rem", ""]);
        let _ = writeln!(o, "<tr><th>kind</th><th>object</th><th>details</th></tr>");
        for i in &s.items {
            let class = match i.tag.as_str() {
                "error" | "warning" | "info" => i.tag.as_str(),
                "pending_delete_user" | "delete_group" => "warning",
                _ => "",
            };
            let mut details = String::from("<ul class=\"changes\">");
            for l in &i.lines {
                let _ = write!(details, "<li>{}</li>", html_escape(l));
            }
            details.push_str("</ul>");
            let seqs = &i.links.actions;
            let refs: Vec<Ref> = seqs
                .iter()
                .take(REPORT_REFS_PER_ROW)
                .map(|s| action_ref(*s))
                .collect();
            html_refs(
                &mut details,
                if seqs.len() == 1 { "action" } else { "actions" },
                &refs,
                seqs.len(),
            );
            let found = &i.links.findings;
            let refs: Vec<Ref> = found
                .iter()
                .take(REPORT_REFS_PER_ROW)
                .map(|f| Ref {
                    href: anchors
                        .contains(f.anchor.as_str())
                        .then(|| format!("#{}", f.anchor)),
                    text: f.label.clone(),
                    class: severity_class(&f.severity),
                })
                .collect();
            html_refs(&mut details, "findings", &refs, found.len());
            let id = i
                .links
                .anchor
                .as_ref()
                .map(|a| format!(" id=\"{}\"", html_escape(a)))
                .unwrap_or_default();
            let _ = writeln!(
                o,
                "<tr{id} class=\"{class}\"><td class=\"mono code\">{}</td><td>{}</td><td>{details}</td></tr>",
                html_code(&i.tag),
                html_name(&i.subject)
            );
        }
        let _ = writeln!(o, "</table>");
    }
    let _ = writeln!(o, "</body></html>");
    o
}

fn severity_class(severity: &str) -> &'static str {
    match severity {
        "error" => "error",
        "warning" => "warning",
        "info" => "info",
        _ => "",
    }
}

/// The verdict and the counts, for the terminal.
pub fn text_summary(a: &Audit) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "verdict: {}", verdict_line(a));
    for r in &a.reasons {
        let _ = writeln!(o, "  - {r}");
    }
    for n in &a.notes {
        let _ = writeln!(o, "  note: {n}");
    }
    for s in &a.sections {
        let _ = writeln!(o, "{:>6}  {}", s.items.len(), s.title);
    }
    o
}
