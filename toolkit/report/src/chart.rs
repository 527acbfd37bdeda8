//! The visual summary at the top of the plan and audit reports: actions by kind and findings
//! by severity as inline SVG bar charts (no script, no external asset: the reports are opened
//! offline, often from a file share), and the same numbers as Markdown tables.
//!
//! Bars are linear in the count, so 13 and 130,000 actions look as different as they are;
//! every bar carries its number, and a bar that is not zero is never drawn shorter than a
//! sliver, so a single delete among thousands of creates still shows.

use crate::render::html_escape;
use dirsnap_plan::{Op, Summary};

/// One bar: `key` is the op or severity (`data-key`, for tools and the browser test).
pub(crate) struct Bar {
    pub key: String,
    pub label: String,
    pub count: u64,
    pub color: &'static str,
    /// Where clicking the bar leads (an anchor in the same page); none for an empty bar.
    pub href: Option<String>,
    /// The tooltip: what the bar counts, in words.
    pub title: String,
}

const WIDTH: u64 = 540;
const LABEL_END: u64 = 164;
const BAR_START: u64 = 170;
/// Room for the longest bar, leaving space for its number on the right.
const BAR_SPAN: u64 = 290;
const ROW: u64 = 24;
const TOP: u64 = 28;
const MIN_BAR: u64 = 2;

const SEVERITIES: [&str; 3] = ["error", "warning", "info"];

/// Additions green, changes blue, removals amber, deletions red: the kinds a reviewer should
/// look at twice stand out before any label is read.
fn op_color(op: Op) -> &'static str {
    match op {
        Op::CreateUser | Op::RestoreUser | Op::EnableUser | Op::CreateGroup | Op::AddMembers => {
            "#2e7d32"
        }
        Op::UpdateUser | Op::UpdateGroup => "#1565c0",
        Op::RemoveMembers | Op::DisableUser => "#b26a00",
        Op::PendingDeleteUser | Op::DeleteGroup => "#c62828",
    }
}

fn severity_color(severity: &str) -> &'static str {
    match severity {
        "error" => "#c62828",
        "warning" => "#b26a00",
        _ => "#1565c0",
    }
}

/// `130000` → `130,000`.
pub(crate) fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut o = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            o.push(',');
        }
        o.push(c);
    }
    o
}

fn bar_length(count: u64, max: u64, span: u64, min: u64) -> u64 {
    if count == 0 || max == 0 {
        return 0;
    }
    // u128: a count times the span cannot overflow whatever the plan's size.
    let scaled = (u128::from(span) * u128::from(count) + u128::from(max) / 2) / u128::from(max);
    u64::try_from(scaled).unwrap_or(span).max(min)
}

/// The bars for the actions chart: one per kind the plan has, in execution order, each
/// linking where `href` says.
pub(crate) fn action_bars(summary: &Summary, href: &dyn Fn(Op) -> Option<String>) -> Vec<Bar> {
    Op::ALL
        .iter()
        .filter_map(|op| {
            let count = *summary.by_op.get(op.as_str())?;
            Some(Bar {
                key: op.as_str().to_string(),
                label: op.as_str().to_string(),
                count,
                color: op_color(*op),
                href: if count > 0 { href(*op) } else { None },
                title: format!("{}: {}", op.heading(), grouped(count)),
            })
        })
        .collect()
}

/// The bars for the findings chart: always the three severities, zeros included, since "no
/// error" is something a reviewer wants to read.
pub(crate) fn severity_bars(summary: &Summary, href: &dyn Fn(&str) -> Option<String>) -> Vec<Bar> {
    SEVERITIES
        .iter()
        .map(|k| {
            let count = summary.by_severity.get(*k).copied().unwrap_or(0);
            Bar {
                key: (*k).to_string(),
                label: (*k).to_string(),
                count,
                color: severity_color(k),
                href: if count > 0 { href(k) } else { None },
                title: format!("{k} findings: {}", grouped(count)),
            }
        })
        .collect()
}

/// One chart as an `<svg>` element. `name` is `actions` or `findings` (`data-chart`, and the
/// prefix of the title's id); `empty` is written in place of bars when there are none.
pub(crate) fn svg(
    o: &mut dyn std::fmt::Write,
    name: &str,
    heading: &str,
    total: u64,
    bars: &[Bar],
    empty: &str,
) -> std::fmt::Result {
    let rows = bars.len().max(1) as u64;
    let height = TOP + rows * ROW + 4;
    let max = bars.iter().map(|b| b.count).max().unwrap_or(0);
    let described: Vec<String> = bars
        .iter()
        .map(|b| format!("{} {}", b.label, grouped(b.count)))
        .collect();
    write!(
        o,
        "<svg class=\"chart\" data-chart=\"{name}\" data-total=\"{total}\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{height}\" viewBox=\"0 0 {WIDTH} {height}\" role=\"img\" aria-labelledby=\"chart-{name}-title\">\
<title id=\"chart-{name}-title\">{}: {}{}</title>\
<text x=\"0\" y=\"16\" font-size=\"15\" font-weight=\"bold\" fill=\"#1b1b1b\">{} ({})</text>",
        html_escape(heading),
        grouped(total),
        if described.is_empty() {
            String::new()
        } else {
            html_escape(&format!(" ({})", described.join(", ")))
        },
        html_escape(heading),
        grouped(total),
    )?;
    if bars.is_empty() {
        write!(
            o,
            "<text x=\"{BAR_START}\" y=\"{}\" font-size=\"13\" fill=\"#555\">{}</text>",
            TOP + 16,
            html_escape(empty)
        )?;
    }
    for (i, b) in bars.iter().enumerate() {
        let y = TOP + i as u64 * ROW;
        let len = bar_length(b.count, max, BAR_SPAN, MIN_BAR);
        if let Some(h) = &b.href {
            write!(o, "<a href=\"{}\">", html_escape(h))?;
        }
        write!(
            o,
            "<g data-key=\"{}\" data-count=\"{}\"><title>{}</title>\
<text x=\"{LABEL_END}\" y=\"{}\" text-anchor=\"end\" font-size=\"13\" class=\"chart-label\" fill=\"#1b1b1b\">{}</text>\
<rect x=\"{BAR_START}\" y=\"{}\" width=\"{len}\" height=\"16\" rx=\"2\" fill=\"{}\"/>\
<text x=\"{}\" y=\"{}\" font-size=\"13\" class=\"chart-count\" fill=\"#1b1b1b\">{}</text></g>",
            html_escape(&b.key),
            b.count,
            html_escape(&b.title),
            y + 14,
            html_escape(&b.label),
            y + 2,
            b.color,
            BAR_START + len + 6,
            y + 14,
            grouped(b.count),
        )?;
        if b.href.is_some() {
            o.write_str("</a>")?;
        }
    }
    o.write_str("</svg>")
}

/// Both charts side by side (they wrap below each other on a narrow window).
pub(crate) fn html_charts(
    o: &mut dyn std::fmt::Write,
    actions_heading: &str,
    findings_heading: &str,
    summary: &Summary,
    action_href: &dyn Fn(Op) -> Option<String>,
    finding_href: &dyn Fn(&str) -> Option<String>,
) -> std::fmt::Result {
    o.write_str("<div class=\"charts\">")?;
    svg(
        o,
        "actions",
        actions_heading,
        summary.actions,
        &action_bars(summary, action_href),
        "no action",
    )?;
    svg(
        o,
        "findings",
        findings_heading,
        summary.findings,
        &severity_bars(summary, finding_href),
        "no finding",
    )?;
    o.write_str("</div>\n")
}

const MD_BAR: u64 = 20;

fn md_bar(count: u64, max: u64) -> String {
    "█".repeat(usize::try_from(bar_length(count, max, MD_BAR, 1)).unwrap_or(0))
}

/// The charts' numbers as two Markdown tables, with a bar of block characters for the eye.
pub(crate) fn markdown_tables(
    o: &mut dyn std::fmt::Write,
    actions_heading: &str,
    findings_heading: &str,
    summary: &Summary,
) {
    let actions = action_bars(summary, &|_| None);
    markdown_table(
        o,
        actions_heading,
        &actions,
        "all actions",
        summary.actions,
        |key| format!("`{key}`"),
    );
    let findings = severity_bars(summary, &|_| None);
    markdown_table(
        o,
        findings_heading,
        &findings,
        "all findings",
        summary.findings,
        str::to_string,
    );
}

/// One of [`markdown_tables`]' tables: a row per bar (its key as `key_cell` writes it), then
/// the total.
fn markdown_table(
    o: &mut dyn std::fmt::Write,
    heading: &str,
    bars: &[Bar],
    total_label: &str,
    total: u64,
    key_cell: impl Fn(&str) -> String,
) {
    let max = bars.iter().map(|b| b.count).max().unwrap_or(0);
    let _ = writeln!(o, "| {heading} | count | |\n|---|---:|---|");
    for b in bars {
        let _ = writeln!(
            o,
            "| {} | {} | {} |",
            key_cell(&b.key),
            grouped(b.count),
            md_bar(b.count, max)
        );
    }
    let _ = writeln!(o, "| **{total_label}** | **{}** | |\n", grouped(total));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_are_grouped() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1000), "1,000");
        assert_eq!(grouped(130_000), "130,000");
        assert_eq!(grouped(1_234_567), "1,234,567");
    }

    #[test]
    fn bars_are_linear_but_never_invisible() {
        assert_eq!(bar_length(0, 10, 290, MIN_BAR), 0);
        assert_eq!(bar_length(10, 10, 290, MIN_BAR), 290);
        assert_eq!(bar_length(5, 10, 290, MIN_BAR), 145);
        assert_eq!(bar_length(1, 130_000, 290, MIN_BAR), MIN_BAR);
        assert_eq!(bar_length(1, 130_000, MD_BAR, 1), 1);
        assert_eq!(bar_length(u64::MAX, u64::MAX, 290, MIN_BAR), 290);
    }
}
