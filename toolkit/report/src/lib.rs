//! Plans for people: a plan as text (terminal), Markdown, HTML or JSON — summary counts
//! first, then findings, then actions grouped by kind, each with its reason — and the audit
//! report before recovery mode.
//!
//! * [`render`]: the plan views; [`plan_reports`] are the two of them a plan directory holds
//!   (`report.md`, `report.html`), and [`write_plan_dir`] writes a plan directory with them.
//! * [`audit`]: the "safe to run recovery mode?" report.
//!
//! The plan directory itself (files, manifest, checksums) is dirsnap-plan's.

pub mod audit;
mod chart;
pub mod render;

pub use render::{Format, render};

use chrono::{DateTime, Utc};
use dirsnap_plan::{InputRef, Plan, PlanDirError, ReportFile};
use std::path::Path;

fn markdown(plan: &Plan, out: &mut dyn std::fmt::Write) -> std::fmt::Result {
    render::render_limited(plan, Format::Markdown, render::REPORT_ACTIONS_PER_KIND, out)
}

fn html(plan: &Plan, out: &mut dyn std::fmt::Write) -> std::fmt::Result {
    render::render_limited(plan, Format::Html, render::REPORT_ACTIONS_PER_KIND, out)
}

/// The human views a plan directory holds beside its data files: `report.md` and
/// `report.html`, each showing at most [`render::REPORT_ACTIONS_PER_KIND`] actions of a kind.
pub fn plan_reports() -> [ReportFile<'static>; 2] {
    [
        ReportFile {
            name: "report.md",
            render: &markdown,
        },
        ReportFile {
            name: "report.html",
            render: &html,
        },
    ]
}

/// Writes the plan directory `out` (which must not exist) with its reports, atomically
/// (dirsnap_plan::write_plan_dir).
pub fn write_plan_dir(
    out: &Path,
    plan: &Plan,
    inputs: &[InputRef],
    created_at: DateTime<Utc>,
) -> Result<serde_json::Value, PlanDirError> {
    dirsnap_plan::write_plan_dir(out, plan, inputs, &plan_reports(), created_at)
}
