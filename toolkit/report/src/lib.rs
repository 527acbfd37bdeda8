//! Plans as files and as reports.
//!
//! * [`files`]: the plan directory (`plan.json`, `actions.parquet`, `findings.parquet`,
//!   `report.md`, `report.html`, `manifest.json`), written atomically, read back checked.
//! * [`render`]: a plan as text (terminal), Markdown, HTML or JSON — summary counts first,
//!   then findings, then actions grouped by kind, each with its reason.

pub mod audit;
pub mod files;
pub mod render;

pub use files::{
    InputRef, PLAN_FILES, PlanDir, ReportError, load_plan, manifest_digest, write_plan_dir,
};
pub use render::{Format, render};
