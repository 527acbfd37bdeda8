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

/// The keys of an action for people, without what it waits for.
fn key_parts(a: &Action) -> Vec<String> {
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
    parts
}

pub(crate) fn key_line(a: &Action) -> String {
    let mut parts = key_parts(a);
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
    finding_refs_limited(f, usize::MAX)
}

/// ` (actions #1, #2)`, at most `cap` of them and how many more.
fn finding_refs_limited(f: &Finding, cap: usize) -> String {
    if f.actions.is_empty() {
        return String::new();
    }
    let d: Vec<String> = f
        .actions
        .iter()
        .take(cap)
        .map(|s| format!("#{s}"))
        .collect();
    format!(
        " (actions {}{})",
        d.join(", "),
        more_refs(f.actions.len(), cap)
    )
}

/// `, and 9,950 more (plan.json lists them)` when a list of references was cut at `cap`.
fn more_refs(total: usize, cap: usize) -> String {
    if total > cap {
        format!(
            ", and {} more (plan.json lists them)",
            crate::chart::grouped((total - cap) as u64)
        )
    } else {
        String::new()
    }
}

/// References a row of a limited report links at most: a threshold finding can be about
/// every one of a million actions, and a group's member additions can wait for thousands of
/// creates.
pub const REPORT_REFS_PER_ROW: usize = 50;

fn refs_cap(per_kind: usize) -> usize {
    if per_kind == usize::MAX {
        usize::MAX
    } else {
        REPORT_REFS_PER_ROW
    }
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
    crate::chart::markdown_tables(o, "actions by kind", "findings by severity", &plan.summary);
    let _ = writeln!(
        o,
        "Skipped (left alone): {}\n",
        crate::chart::grouped(plan.summary.skipped)
    );
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
        let _ = writeln!(
            o,
            "{}{}\n",
            md_escape(&f.message),
            finding_refs_limited(f, refs_cap(per_kind))
        );
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

/// Shared by the plan and audit reports. Long text wraps anywhere rather than widening the
/// page (DNs, base64 anchors and e-mail addresses have no spaces), except codes and rules,
/// which break only where [`html_code`] lets them; the main tables have fixed column widths,
/// so no content can push them wider than the window. The font lists name the Japanese fonts
/// of Windows, macOS and Linux so that Japanese names get Japanese glyph shapes whatever the
/// page's language.
pub(crate) const CSS: &str = "body{font-family:system-ui,-apple-system,'Segoe UI','Hiragino Sans','Hiragino Kaku Gothic ProN','Yu Gothic UI','Yu Gothic',Meiryo,'Noto Sans CJK JP','Noto Sans JP',sans-serif;margin:2rem auto;max-width:90rem;padding:0 1rem;color:#1b1b1b;overflow-wrap:anywhere}\
h1{font-size:1.6rem}h2{border-bottom:1px solid #ddd;padding-bottom:.2rem;margin-top:2rem}\
table{border-collapse:collapse;margin:.5rem 0;max-width:100%}table.grid{table-layout:fixed;width:100%}td,th{border:1px solid #ddd;padding:.3rem .6rem;text-align:left;vertical-align:top}\
.error{background:#fde8e8}.warning{background:#fff6dd}.info{background:#eef5ff}\
.sev{font-weight:bold}.code{overflow-wrap:normal}\
.mono{font-family:ui-monospace,'Cascadia Mono',Consolas,'Noto Sans Mono CJK JP','MS Gothic',monospace;font-size:.85em}\
.blocked{color:#a00;font-weight:bold}.ok{color:#070;font-weight:bold}ul.changes{margin:.2rem 0;padding-left:1.2rem}\
.refs{margin-top:.3rem;font-size:.9em}a{color:#0b57d0}tr:target>td{background:#fff2a8}\
.charts{display:flex;flex-wrap:wrap;align-items:flex-start;gap:1rem 2rem;margin:1rem 0}.charts svg{max-width:100%;height:auto}.charts a:hover rect{opacity:.8}";

/// A code, rule or op for HTML: escaped, breakable after `_` and `.` (and nowhere else) when a
/// window is too narrow for it.
pub(crate) fn html_code(s: &str) -> String {
    html_escape(s).replace('_', "_<wbr>").replace('.', ".<wbr>")
}

/// A user or group name for HTML: escaped, and breakable before `@` so that an address too
/// long for its column wraps at its domain rather than one letter before the end.
pub(crate) fn html_name(s: &str) -> String {
    html_escape(s).replace('@', "<wbr>@")
}

/// The column widths of a `grid` table: fixed, so that no cell's content can widen the table
/// beyond the page; the columns left without a width share what remains.
pub(crate) fn html_cols(o: &mut dyn std::fmt::Write, widths: &[&str]) -> std::fmt::Result {
    o.write_str("<colgroup>")?;
    for w in widths {
        if w.is_empty() {
            o.write_str("<col>")?;
        } else {
            write!(o, "<col style=\"width:{w}\">")?;
        }
    }
    o.write_str("</colgroup>")
}

/// The `<head>` of both reports.
pub(crate) fn html_head(o: &mut dyn std::fmt::Write, title: &str) -> std::fmt::Result {
    write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{}</title><style>{CSS}</style></head><body>\n",
        html_escape(title)
    )
}

/// A reference to another row of a report: linked when the row is in the page.
pub(crate) struct Ref {
    pub href: Option<String>,
    pub text: String,
    /// A class for the link (a finding's severity).
    pub class: &'static str,
}

/// `<div class="refs">label: <a>…</a>, …, and N more</div>` for `refs` out of `total`.
pub(crate) fn html_refs(o: &mut String, label: &str, refs: &[Ref], total: usize) {
    if refs.is_empty() {
        return;
    }
    let _ = write!(o, "<div class=\"refs\">{}: ", html_escape(label));
    html_ref_list(o, refs, total);
    o.push_str("</div>");
}

/// The links of `refs` separated by commas, then how many of `total` are left out.
pub(crate) fn html_ref_list(o: &mut String, refs: &[Ref], total: usize) {
    for (i, r) in refs.iter().enumerate() {
        if i > 0 {
            o.push_str(", ");
        }
        match &r.href {
            Some(h) if r.class.is_empty() => {
                let _ = write!(o, "<a href=\"{}\">", html_escape(h));
            }
            Some(h) => {
                let _ = write!(o, "<a class=\"{}\" href=\"{}\">", r.class, html_escape(h));
            }
            None => {}
        }
        o.push_str(&html_escape(&r.text));
        if r.href.is_some() {
            o.push_str("</a>");
        }
    }
    o.push_str(&html_escape(&more_refs(total, refs.len())));
}

/// Which actions a limited report shows (the first `per_kind` of each kind), so that every
/// reference points at a row that is in the page, or at the note saying where the others are.
struct Shown<'a> {
    plan: &'a Plan,
    shown: Vec<bool>,
}

impl<'a> Shown<'a> {
    fn new(plan: &'a Plan, per_kind: usize) -> Self {
        let mut seen: std::collections::BTreeMap<Op, usize> = Default::default();
        let shown = plan
            .actions
            .iter()
            .map(|a| {
                let n = seen.entry(a.op).or_default();
                *n += 1;
                *n <= per_kind
            })
            .collect();
        Shown { plan, shown }
    }

    fn index(&self, seq: u32) -> Option<usize> {
        let i = usize::try_from(seq).ok()?.checked_sub(1)?;
        if self.plan.actions.get(i).is_some_and(|a| a.seq == seq) {
            return Some(i);
        }
        self.plan.actions.binary_search_by_key(&seq, |a| a.seq).ok()
    }

    fn is_shown(&self, seq: u32) -> bool {
        self.index(seq)
            .and_then(|i| self.shown.get(i).copied())
            .unwrap_or(false)
    }

    /// The link to action `seq`: its row, or for an action the report leaves out, the note at
    /// the end of its kind's list that says where to read it.
    fn action_ref(&self, seq: u32) -> Ref {
        match self.index(seq) {
            Some(i) if self.shown.get(i).copied().unwrap_or(false) => Ref {
                href: Some(format!("#action-{seq}")),
                text: format!("#{seq}"),
                class: "",
            },
            Some(i) => Ref {
                href: self
                    .plan
                    .actions
                    .get(i)
                    .map(|a| format!("#more-{}", a.op.as_str())),
                text: format!("#{seq} (not shown in this report)"),
                class: "",
            },
            None => Ref {
                href: None,
                text: format!("#{seq}"),
                class: "",
            },
        }
    }

    fn action_refs(&self, seqs: &[u32], cap: usize) -> Vec<Ref> {
        seqs.iter().take(cap).map(|s| self.action_ref(*s)).collect()
    }

    /// For each action the report shows, the findings about it (indexes into plan.findings).
    fn findings_about(&self) -> std::collections::HashMap<u32, Vec<usize>> {
        let mut about: std::collections::HashMap<u32, Vec<usize>> = Default::default();
        for (i, f) in self.plan.findings.iter().enumerate() {
            for seq in &f.actions {
                if self.is_shown(*seq) {
                    about.entry(*seq).or_default().push(i);
                }
            }
        }
        about
    }
}

/// The link to finding `index` (0-based in plan.findings), labelled with its severity and code.
pub(crate) fn finding_ref(index: usize, f: &Finding) -> Ref {
    Ref {
        href: Some(format!("#finding-{}", index + 1)),
        text: format!("{} {}", sev_label(f.severity), f.code),
        class: f.severity.as_str(),
    }
}

/// Where a severity's bar leads: the first finding of that severity.
pub(crate) fn first_finding_of(plan: &Plan, severity: &str) -> Option<String> {
    plan.findings
        .iter()
        .position(|f| f.severity.as_str() == severity)
        .map(|i| format!("#finding-{}", i + 1))
}

fn html(plan: &Plan, per_kind: usize, o: &mut dyn std::fmt::Write) -> std::fmt::Result {
    let cap = refs_cap(per_kind);
    let shown = Shown::new(plan, per_kind);
    let about = shown.findings_about();
    html_head(o, "dirsnap plan")?;
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
    let _ = writeln!(o, "<h2 id=\"summary\">Summary</h2>");
    let groups = groups(plan);
    crate::chart::html_charts(
        o,
        "Actions by kind",
        "Findings by severity",
        &plan.summary,
        &|op| {
            groups
                .iter()
                .any(|(g, _)| *g == op)
                .then(|| format!("#actions-{}", op.as_str()))
        },
        &|severity| first_finding_of(plan, severity),
    )?;
    let _ = writeln!(o, "<p>{}</p>", html_escape(&summary_line(plan)));
    let _ = writeln!(
        o,
        "<h2 id=\"findings\">Findings ({})</h2>",
        plan.findings.len()
    );
    if plan.findings.is_empty() {
        let _ = writeln!(o, "<p>None.</p>");
    } else {
        o.write_str("<table class=\"grid\">")?;
        html_cols(o, &["15.5rem", "16rem", "", "30%"])?;
        let _ = writeln!(
            o,
            "<tr><th>finding</th><th>subject</th><th>what</th><th>what to do</th></tr>"
        );
        for (i, f) in plan.findings.iter().enumerate() {
            let mut what = html_escape(&f.message);
            html_refs(
                &mut what,
                "actions",
                &shown.action_refs(&f.actions, cap),
                f.actions.len(),
            );
            let flags = finding_flags(f).trim();
            let _ = writeln!(
                o,
                "<tr id=\"finding-{}\" class=\"{}\"><td><span class=\"sev\">{}</span>{}<br><span class=\"mono code\">{}</span></td><td>{}</td><td>{what}</td><td>{}</td></tr>",
                i + 1,
                f.severity.as_str(),
                sev_label(f.severity),
                if flags.is_empty() {
                    String::new()
                } else {
                    format!(" {flags}")
                },
                html_code(&f.code),
                html_name(&f.subject),
                html_escape(&f.remediation)
            );
        }
        let _ = writeln!(o, "</table>");
    }
    let _ = writeln!(
        o,
        "<h2 id=\"actions\">Actions ({})</h2>",
        plan.actions.len()
    );
    for (op, actions) in groups.iter() {
        let _ = writeln!(
            o,
            "<h3 id=\"actions-{}\">{} ({})</h3>",
            op.as_str(),
            html_escape(op.heading()),
            actions.len()
        );
        o.write_str("<table class=\"grid\">")?;
        html_cols(o, &["3.5rem", "19rem", "16rem", ""])?;
        let _ = writeln!(
            o,
            "<tr><th>#</th><th>object</th><th>rule</th><th>reason and changes</th></tr>"
        );
        for a in actions.iter().take(per_kind) {
            let mut details = String::new();
            let k = key_parts(a).join(" · ");
            if !k.is_empty() || !a.depends_on.is_empty() {
                details.push_str("<div class=\"mono\">");
                details.push_str(&html_escape(&k));
                if !a.depends_on.is_empty() {
                    if !k.is_empty() {
                        details.push_str(" · ");
                    }
                    details.push_str("after ");
                    html_ref_list(
                        &mut details,
                        &shown.action_refs(&a.depends_on, cap),
                        a.depends_on.len(),
                    );
                }
                details.push_str("</div>");
            }
            let lines: Vec<String> = change_lines(a).into_iter().chain(member_line(a)).collect();
            if !lines.is_empty() {
                details.push_str("<ul class=\"changes\">");
                for l in lines {
                    let _ = write!(details, "<li>{}</li>", html_escape(&l));
                }
                details.push_str("</ul>");
            }
            if let Some(found) = about.get(&a.seq) {
                let refs: Vec<Ref> = found
                    .iter()
                    .take(cap)
                    .filter_map(|i| plan.findings.get(*i).map(|f| finding_ref(*i, f)))
                    .collect();
                html_refs(&mut details, "findings", &refs, found.len());
            }
            let _ = writeln!(
                o,
                "<tr id=\"action-{seq}\"><td><a href=\"#action-{seq}\">{seq}</a></td><td>{}<br><span class=\"mono\">{}</span></td><td class=\"mono code\">{}</td><td>{}{details}</td></tr>",
                html_name(&subject_of(a)),
                html_escape(&a.instance),
                html_code(&a.rule),
                html_escape(&a.reason),
                seq = a.seq,
            );
        }
        let _ = writeln!(o, "</table>");
        if let Some(more) = omitted(*op, per_kind, actions.len()) {
            let _ = writeln!(
                o,
                "<p id=\"more-{}\">{}</p>",
                op.as_str(),
                html_escape(&more)
            );
        }
    }
    if !plan.skipped.is_empty() {
        let _ = writeln!(
            o,
            "<h2 id=\"skipped\">Skipped ({})</h2><ul>",
            plan.skipped.len()
        );
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
        let _ = writeln!(o, "<h2 id=\"notes\">Notes</h2><ul>");
        for n in &plan.notes {
            let _ = writeln!(o, "<li>{}</li>", html_escape(n));
        }
        let _ = writeln!(o, "</ul>");
    }
    writeln!(o, "</body></html>")
}
