//! Human views of a plan. All three tell the same story in the same order: what the plan
//! covers, summary counts, findings (errors first), then actions grouped by kind with the
//! rule, the matched key and old → new values, then what was skipped and why.

use dirsnap_plan::{Action, Confidence, Finding, Op, Plan, Severity, show};
use std::fmt::Write as _;

/// Output format of `dirsnap plan show`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
    Markdown,
    Html,
}

impl Format {
    pub fn parse(s: &str) -> Option<Format> {
        match s.to_ascii_lowercase().as_str() {
            "text" | "txt" => Some(Format::Text),
            "json" => Some(Format::Json),
            "markdown" | "md" => Some(Format::Markdown),
            "html" => Some(Format::Html),
            _ => None,
        }
    }
}

pub fn render(plan: &Plan, format: Format) -> String {
    let mut s = String::new();
    let _ = render_to(plan, format, &mut s);
    s
}

/// Renders into any `fmt::Write` (a file through an adapter), so a plan with hundreds of
/// thousands of actions is never held twice in memory.
pub fn render_to(plan: &Plan, format: Format, o: &mut dyn std::fmt::Write) -> std::fmt::Result {
    render_limited(plan, format, usize::MAX, o)
}

/// Actions of one kind the plan directory's report.md / report.html show in full; the rest
/// are counted, with where to read them. Every finding is always shown. A report people can
/// open and read stays a few megabytes even for a plan of a million changes, while
/// `dirsnap plan show` and actions.parquet hold every action.
pub const REPORT_ACTIONS_PER_KIND: usize = 1000;

/// [`render_to`] showing at most `per_kind` actions of each kind (text, Markdown, HTML).
pub fn render_limited(
    plan: &Plan,
    format: Format,
    per_kind: usize,
    o: &mut dyn std::fmt::Write,
) -> std::fmt::Result {
    match format {
        Format::Text => text(plan, per_kind, o),
        Format::Json => o.write_str(&plan.to_json().map_err(|_| std::fmt::Error)?),
        Format::Markdown => markdown(plan, per_kind, o),
        Format::Html => html(plan, per_kind, o),
    }
}

/// The line saying how many actions of a kind a limited report leaves out.
fn omitted(op: Op, shown: usize, total: usize) -> Option<String> {
    (total > shown).then(|| {
        format!(
            "… and {} more {} actions, not shown in this report: `dirsnap plan show PLAN` lists every action, and actions.parquet holds them all (e.g. DuckDB: SELECT seq, user_name, display_name, reason FROM 'PLAN/actions.parquet' WHERE op = '{}')",
            total - shown,
            op.as_str(),
            op.as_str()
        )
    })
}

fn groups(plan: &Plan) -> Vec<(Op, Vec<&Action>)> {
    Op::ALL
        .iter()
        .map(|op| {
            (
                *op,
                plan.actions
                    .iter()
                    .filter(|a| a.op == *op)
                    .collect::<Vec<_>>(),
            )
        })
        .filter(|(_, v)| !v.is_empty())
        .collect()
}

/// The plan's instant for people: to the second (plan.json keeps it exact).
pub(crate) fn as_of(plan: &Plan) -> String {
    plan.as_of
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

pub(crate) fn subject_of(a: &Action) -> String {
    a.user_name
        .clone()
        .or_else(|| a.display_name.clone())
        .unwrap_or_else(|| a.target.clone().unwrap_or_default())
}

pub(crate) fn change_lines(a: &Action) -> Vec<String> {
    if !matches!(a.op, Op::UpdateUser | Op::RestoreUser | Op::UpdateGroup) {
        return Vec::new();
    }
    a.changes
        .iter()
        .map(|c| format!("{}: {} → {}", c.attribute, show(&c.old), show(&c.new)))
        .collect()
}

pub(crate) fn member_line(a: &Action) -> Option<String> {
    if a.members.is_empty() {
        return None;
    }
    let names: Vec<String> = a
        .members
        .iter()
        .map(|m| match m.created_by {
            Some(s) => format!("{} (created by #{s})", m.display),
            None => m.display.clone(),
        })
        .collect();
    Some(format!("members: {}", names.join(", ")))
}

pub(crate) fn key_line(a: &Action) -> String {
    let mut parts = Vec::new();
    if let Some(m) = &a.matched_by {
        parts.push(format!("matched by {m}"));
    }
    if let Some(g) = a.keys.get("objectGUID") {
        parts.push(format!("objectGUID {g}"));
    }
    if let Some(t) = &a.target {
        parts.push(format!("id {t}"));
    }
    if !a.depends_on.is_empty() {
        let d: Vec<String> = a.depends_on.iter().map(|s| format!("#{s}")).collect();
        parts.push(format!("after {}", d.join(", ")));
    }
    parts.join(" · ")
}

/// `create_user 2, update_user 1, …` in execution order (empty when there is no action).
pub fn op_counts(s: &dirsnap_plan::Summary) -> String {
    Op::ALL
        .iter()
        .filter_map(|op| {
            s.by_op
                .get(op.as_str())
                .map(|n| format!("{} {n}", op.as_str()))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `1 error, 2 warning, 3 info` (empty when there is no finding).
pub fn severity_counts(s: &dirsnap_plan::Summary) -> String {
    ["error", "warning", "info"]
        .iter()
        .filter_map(|k| s.by_severity.get(*k).map(|n| format!("{n} {k}")))
        .collect::<Vec<_>>()
        .join(", ")
}

fn summary_line(plan: &Plan) -> String {
    let s = &plan.summary;
    let (ops, sev) = (op_counts(s), severity_counts(s));
    format!(
        "{} actions{}; {} findings{}; {} skipped",
        s.actions,
        if ops.is_empty() {
            String::new()
        } else {
            format!(" ({ops})")
        },
        s.findings,
        if sev.is_empty() {
            String::new()
        } else {
            format!(" ({sev})")
        },
        s.skipped
    )
}

fn verdict(plan: &Plan) -> &'static str {
    if plan.summary.blocked {
        "BLOCKED: error findings or thresholds must be resolved (or explicitly allowed) before this plan is applied"
    } else if plan.actions.is_empty() {
        "nothing to do: AD and IIJ ID agree"
    } else {
        "ready for review"
    }
}

fn instances_line(plan: &Plan) -> String {
    plan.instances
        .iter()
        .map(|i| match &i.domain {
            Some(d) => format!("{} ({d})", i.name),
            None => i.name.clone(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn sev_label(s: Severity) -> &'static str {
    match s {
        Severity::Error => "ERROR",
        Severity::Warning => "WARNING",
        Severity::Info => "INFO",
    }
}

fn finding_refs(f: &Finding) -> String {
    if f.actions.is_empty() {
        return String::new();
    }
    let d: Vec<String> = f.actions.iter().map(|s| format!("#{s}")).collect();
    format!(" (actions {})", d.join(", "))
}

fn finding_flags(f: &Finding) -> &'static str {
    if f.allowed {
        " (allowed)"
    } else if f.confidence == Confidence::Low {
        " (low confidence)"
    } else {
        ""
    }
}

fn text(plan: &Plan, per_kind: usize, o: &mut dyn std::fmt::Write) -> std::fmt::Result {
    let _ = writeln!(
        o,
        "dirsnap plan — {} mode, as of {}",
        plan.mode,
        as_of(plan)
    );
    let _ = writeln!(o, "instances: {}", instances_line(plan));
    let _ = writeln!(o, "summary:   {}", summary_line(plan));
    let _ = writeln!(o, "verdict:   {}", verdict(plan));
    if !plan.findings.is_empty() {
        let _ = writeln!(o, "\nFindings ({})", plan.findings.len());
        for f in &plan.findings {
            let _ = writeln!(
                o,
                "  {:<7} {}  {}{}{}",
                sev_label(f.severity),
                f.code,
                f.subject,
                f.instance
                    .as_ref()
                    .map(|i| format!("  [{i}]"))
                    .unwrap_or_default(),
                finding_flags(f),
            );
            let _ = writeln!(o, "          {}{}", f.message, finding_refs(f));
            let _ = writeln!(o, "          → {}", f.remediation);
        }
    }
    for (op, actions) in groups(plan) {
        let _ = writeln!(o, "\n{} ({})", op.heading(), actions.len());
        for a in actions.iter().take(per_kind) {
            let _ = writeln!(
                o,
                "  #{:<5} {} {}  [{}]  {}",
                a.seq,
                a.op,
                subject_of(a),
                a.instance,
                a.rule
            );
            let _ = writeln!(o, "         {}", a.reason);
            let k = key_line(a);
            if !k.is_empty() {
                let _ = writeln!(o, "         {k}");
            }
            for c in change_lines(a) {
                let _ = writeln!(o, "         {c}");
            }
            if let Some(m) = member_line(a) {
                let _ = writeln!(o, "         {m}");
            }
        }
        if let Some(more) = omitted(op, per_kind, actions.len()) {
            let _ = writeln!(o, "  {more}");
        }
    }
    if !plan.skipped.is_empty() {
        let _ = writeln!(o, "\nSkipped ({})", plan.skipped.len());
        for s in &plan.skipped {
            let _ = writeln!(o, "  {} {}  — {}", s.resource.as_str(), s.name, s.reason);
        }
    }
    if !plan.notes.is_empty() {
        let _ = writeln!(o, "\nNotes");
        for n in &plan.notes {
            let _ = writeln!(o, "  - {n}");
        }
    }
    Ok(())
}

/// Escapes Markdown inline syntax (and newlines, which would break list items).
pub fn md_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '|' | '*' | '_' | '`' | '<' | '>' | '[' | ']' | '\\' | '#' => {
                o.push('\\');
                o.push(c);
            }
            '\n' | '\r' => o.push(' '),
            _ => o.push(c),
        }
    }
    o
}

fn markdown(plan: &Plan, per_kind: usize, o: &mut dyn std::fmt::Write) -> std::fmt::Result {
    let _ = writeln!(o, "# dirsnap plan\n");
    let _ = writeln!(o, "- **mode**: {}", plan.mode);
    let _ = writeln!(o, "- **as of**: {}", as_of(plan));
    let _ = writeln!(o, "- **instances**: {}", md_escape(&instances_line(plan)));
    let _ = writeln!(o, "- **verdict**: {}\n", verdict(plan));
    let _ = writeln!(o, "## Summary\n");
    let _ = writeln!(o, "| what | count |\n|---|---:|");
    for op in Op::ALL {
        if let Some(n) = plan.summary.by_op.get(op.as_str()) {
            let _ = writeln!(o, "| `{}` | {n} |", op.as_str());
        }
    }
    for k in ["error", "warning", "info"] {
        if let Some(n) = plan.summary.by_severity.get(k) {
            let _ = writeln!(o, "| findings: {k} | {n} |");
        }
    }
    let _ = writeln!(o, "| skipped | {} |\n", plan.summary.skipped);
    let _ = writeln!(o, "## Findings ({})\n", plan.findings.len());
    if plan.findings.is_empty() {
        let _ = writeln!(o, "None.\n");
    }
    for f in &plan.findings {
        let _ = writeln!(
            o,
            "### {} `{}` — {}{}\n",
            sev_label(f.severity),
            f.code,
            md_escape(&f.subject),
            finding_flags(f)
        );
        let _ = writeln!(o, "{}{}\n", md_escape(&f.message), finding_refs(f));
        let _ = writeln!(o, "**What to do:** {}\n", md_escape(&f.remediation));
    }
    let _ = writeln!(o, "## Actions ({})\n", plan.actions.len());
    for (op, actions) in groups(plan) {
        let _ = writeln!(o, "### {} ({})\n", op.heading(), actions.len());
        for a in actions.iter().take(per_kind) {
            let _ = writeln!(
                o,
                "- **#{}** `{}` **{}** — rule `{}`; {}",
                a.seq,
                a.op.as_str(),
                md_escape(&subject_of(a)),
                a.rule,
                md_escape(&a.reason)
            );
            let k = key_line(a);
            if !k.is_empty() {
                let _ = writeln!(o, "  - {}", md_escape(&k));
            }
            for c in change_lines(a) {
                let _ = writeln!(o, "  - {}", md_escape(&c));
            }
            if let Some(m) = member_line(a) {
                let _ = writeln!(o, "  - {}", md_escape(&m));
            }
        }
        if let Some(more) = omitted(op, per_kind, actions.len()) {
            let _ = writeln!(o, "\n{more}");
        }
        let _ = writeln!(o);
    }
    if !plan.skipped.is_empty() {
        let _ = writeln!(o, "## Skipped ({})\n", plan.skipped.len());
        for s in &plan.skipped {
            let _ = writeln!(
                o,
                "- {} **{}** — {}",
                s.resource.as_str(),
                md_escape(&s.name),
                md_escape(&s.reason)
            );
        }
        let _ = writeln!(o);
    }
    if !plan.notes.is_empty() {
        let _ = writeln!(o, "## Notes\n");
        for n in &plan.notes {
            let _ = writeln!(o, "- {}", md_escape(n));
        }
    }
    Ok(())
}

/// Escapes text for HTML element content and attribute values.
pub fn html_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            _ => o.push(c),
        }
    }
    o
}

pub(crate) const CSS: &str = "body{font-family:system-ui,-apple-system,'Segoe UI','Hiragino Sans','Noto Sans JP',sans-serif;margin:2rem auto;max-width:72rem;padding:0 1rem;color:#1b1b1b}\
h1{font-size:1.6rem}h2{border-bottom:1px solid #ddd;padding-bottom:.2rem;margin-top:2rem}\
table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #ddd;padding:.3rem .6rem;text-align:left;vertical-align:top}\
.error{background:#fde8e8}.warning{background:#fff6dd}.info{background:#eef5ff}\
.sev{font-weight:bold;white-space:nowrap}.mono{font-family:ui-monospace,monospace;font-size:.85em}\
.blocked{color:#a00;font-weight:bold}.ok{color:#070;font-weight:bold}ul.changes{margin:.2rem 0}";

fn html(plan: &Plan, per_kind: usize, o: &mut dyn std::fmt::Write) -> std::fmt::Result {
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>dirsnap plan</title><style>{CSS}</style></head><body>\n"
    );
    let _ = writeln!(o, "<h1>dirsnap plan</h1>");
    let _ = writeln!(
        o,
        "<p>{} mode, as of {} — instances: {}</p>",
        plan.mode,
        html_escape(&as_of(plan)),
        html_escape(&instances_line(plan))
    );
    let _ = writeln!(
        o,
        "<p class=\"{}\">{}</p>",
        if plan.summary.blocked {
            "blocked"
        } else {
            "ok"
        },
        html_escape(verdict(plan))
    );
    let _ = writeln!(
        o,
        "<h2>Summary</h2><table><tr><th>what</th><th>count</th></tr>"
    );
    for op in Op::ALL {
        if let Some(n) = plan.summary.by_op.get(op.as_str()) {
            let _ = writeln!(
                o,
                "<tr><td class=\"mono\">{}</td><td>{n}</td></tr>",
                op.as_str()
            );
        }
    }
    for k in ["error", "warning", "info"] {
        if let Some(n) = plan.summary.by_severity.get(k) {
            let _ = writeln!(
                o,
                "<tr class=\"{k}\"><td>findings: {k}</td><td>{n}</td></tr>"
            );
        }
    }
    let _ = writeln!(
        o,
        "<tr><td>skipped</td><td>{}</td></tr></table>",
        plan.summary.skipped
    );
    let _ = writeln!(o, "<h2>Findings ({})</h2>", plan.findings.len());
    if plan.findings.is_empty() {
        let _ = writeln!(o, "<p>None.</p>");
    } else {
        let _ = writeln!(
            o,
            "<table><tr><th>severity</th><th>code</th><th>subject</th><th>what</th><th>what to do</th></tr>"
        );
        for f in &plan.findings {
            let _ = writeln!(
                o,
                "<tr class=\"{}\"><td class=\"sev\">{}{}</td><td class=\"mono\">{}</td><td>{}</td><td>{}{}</td><td>{}</td></tr>",
                f.severity.as_str(),
                sev_label(f.severity),
                finding_flags(f),
                html_escape(&f.code),
                html_escape(&f.subject),
                html_escape(&f.message),
                html_escape(&finding_refs(f)),
                html_escape(&f.remediation)
            );
        }
        let _ = writeln!(o, "</table>");
    }
    let _ = writeln!(o, "<h2>Actions ({})</h2>", plan.actions.len());
    for (op, actions) in groups(plan) {
        let _ = writeln!(
            o,
            "<h3>{} ({})</h3>",
            html_escape(op.heading()),
            actions.len()
        );
        let _ = writeln!(
            o,
            "<table><tr><th>#</th><th>object</th><th>rule</th><th>reason and changes</th></tr>"
        );
        for a in actions.iter().take(per_kind) {
            let mut details = String::new();
            let k = key_line(a);
            if !k.is_empty() {
                let _ = write!(details, "<div class=\"mono\">{}</div>", html_escape(&k));
            }
            let lines: Vec<String> = change_lines(a).into_iter().chain(member_line(a)).collect();
            if !lines.is_empty() {
                details.push_str("<ul class=\"changes\">");
                for l in lines {
                    let _ = write!(details, "<li>{}</li>", html_escape(&l));
                }
                details.push_str("</ul>");
            }
            let _ = writeln!(
                o,
                "<tr id=\"a{}\"><td>{}</td><td>{}<br><span class=\"mono\">{}</span></td><td class=\"mono\">{}</td><td>{}{details}</td></tr>",
                a.seq,
                a.seq,
                html_escape(&subject_of(a)),
                html_escape(&a.instance),
                html_escape(&a.rule),
                html_escape(&a.reason)
            );
        }
        let _ = writeln!(o, "</table>");
        if let Some(more) = omitted(op, per_kind, actions.len()) {
            let _ = writeln!(o, "<p>{}</p>", html_escape(&more));
        }
    }
    if !plan.skipped.is_empty() {
        let _ = writeln!(o, "<h2>Skipped ({})</h2><ul>", plan.skipped.len());
        for s in &plan.skipped {
            let _ = writeln!(
                o,
                "<li>{} <b>{}</b> — {}</li>",
                s.resource.as_str(),
                html_escape(&s.name),
                html_escape(&s.reason)
            );
        }
        let _ = writeln!(o, "</ul>");
    }
    if !plan.notes.is_empty() {
        let _ = writeln!(o, "<h2>Notes</h2><ul>");
        for n in &plan.notes {
            let _ = writeln!(o, "<li>{}</li>", html_escape(n));
        }
        let _ = writeln!(o, "</ul>");
    }
    writeln!(o, "</body></html>")
}
