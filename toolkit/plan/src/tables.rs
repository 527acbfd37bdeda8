//! `actions.parquet` and `findings.parquet`: the plan as tables, for DuckDB, pyarrow and
//! polars (columns in docs/plan-format.md). Nested values (keys, changes, operations, body,
//! members) are JSON text, the same text `plan.json` holds.

use crate::action::Action;
use crate::finding::{Confidence, Finding};
use crate::json::ActionJson;
use arrow_array::builder::{BooleanBuilder, ListBuilder, StringBuilder, UInt32Builder};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use serde::Serialize;
use std::sync::Arc;

fn json_text<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

fn u32_list(rows: impl Iterator<Item = Vec<u32>>) -> ArrayRef {
    let mut b = ListBuilder::new(UInt32Builder::new());
    for r in rows {
        for v in r {
            b.values().append_value(v);
        }
        b.append(true);
    }
    Arc::new(b.finish())
}

fn strings<'a>(rows: impl Iterator<Item = Option<&'a str>>) -> ArrayRef {
    let mut b = StringBuilder::new();
    for r in rows {
        b.append_option(r);
    }
    Arc::new(b.finish())
}

fn owned_strings(rows: impl Iterator<Item = Option<String>>) -> ArrayRef {
    let mut b = StringBuilder::new();
    for r in rows {
        b.append_option(r);
    }
    Arc::new(b.finish())
}

/// The columns of `actions.parquet` (docs/plan-format.md). Nested values (keys, changes,
/// operations, body, members) are JSON text.
pub fn actions_batch(actions: &[Action]) -> Result<RecordBatch, arrow_schema::ArrowError> {
    let parts = actions
        .iter()
        .map(ActionJson::of)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| arrow_schema::ArrowError::ExternalError(Box::new(e)))?;
    actions_batch_with(actions, &parts)
}

/// [`actions_batch`] from the JSON parts `plan.json`'s writer already serialized.
pub(crate) fn actions_batch_with(
    actions: &[Action],
    parts: &[ActionJson],
) -> Result<RecordBatch, arrow_schema::ArrowError> {
    let list_u32 = DataType::List(Arc::new(Field::new("item", DataType::UInt32, true)));
    let schema = Arc::new(Schema::new(vec![
        Field::new("seq", DataType::UInt32, false),
        Field::new("op", DataType::Utf8, false),
        Field::new("resource", DataType::Utf8, false),
        Field::new("instance", DataType::Utf8, false),
        Field::new("target", DataType::Utf8, true),
        Field::new("target_action", DataType::UInt32, true),
        Field::new("user_name", DataType::Utf8, true),
        Field::new("display_name", DataType::Utf8, true),
        Field::new("external_id", DataType::Utf8, true),
        Field::new("keys", DataType::Utf8, false),
        Field::new("matched_by", DataType::Utf8, true),
        Field::new("rule", DataType::Utf8, false),
        Field::new("reason", DataType::Utf8, false),
        Field::new("changes", DataType::Utf8, false),
        Field::new("method", DataType::Utf8, false),
        Field::new("path", DataType::Utf8, false),
        Field::new("operations", DataType::Utf8, false),
        Field::new("body", DataType::Utf8, true),
        Field::new("members", DataType::Utf8, false),
        Field::new("depends_on", list_u32, false),
        Field::new("state_digest", DataType::Utf8, true),
    ]));
    let mut seq = UInt32Builder::new();
    let mut target_action = UInt32Builder::new();
    for a in actions {
        seq.append_value(a.seq);
        target_action.append_option(a.target_action);
    }
    let cols: Vec<ArrayRef> = vec![
        Arc::new(seq.finish()),
        strings(actions.iter().map(|a| Some(a.op.as_str()))),
        strings(actions.iter().map(|a| Some(a.resource.as_str()))),
        strings(actions.iter().map(|a| Some(a.instance.as_str()))),
        strings(actions.iter().map(|a| a.target.as_deref())),
        Arc::new(target_action.finish()),
        strings(actions.iter().map(|a| a.user_name.as_deref())),
        strings(actions.iter().map(|a| a.display_name.as_deref())),
        strings(actions.iter().map(|a| a.external_id.as_deref())),
        strings(parts.iter().map(|p| Some(p.keys.as_str()))),
        strings(actions.iter().map(|a| a.matched_by.as_deref())),
        strings(actions.iter().map(|a| Some(a.rule.as_str()))),
        strings(actions.iter().map(|a| Some(a.reason.as_str()))),
        strings(parts.iter().map(|p| Some(p.changes.as_str()))),
        strings(actions.iter().map(|a| Some(a.request.method.as_str()))),
        strings(actions.iter().map(|a| Some(a.request.path.as_str()))),
        strings(parts.iter().map(|p| Some(p.operations.as_str()))),
        strings(parts.iter().map(|p| p.body.as_deref())),
        strings(parts.iter().map(|p| Some(p.members.as_str()))),
        u32_list(actions.iter().map(|a| a.depends_on.clone())),
        strings(actions.iter().map(|a| a.state_digest.as_deref())),
    ];
    RecordBatch::try_new(schema, cols)
}

/// The columns of `findings.parquet` (docs/plan-format.md).
pub fn findings_batch(findings: &[Finding]) -> Result<RecordBatch, arrow_schema::ArrowError> {
    let list_u32 = DataType::List(Arc::new(Field::new("item", DataType::UInt32, true)));
    let schema = Arc::new(Schema::new(vec![
        Field::new("code", DataType::Utf8, false),
        Field::new("severity", DataType::Utf8, false),
        Field::new("instance", DataType::Utf8, true),
        Field::new("subject", DataType::Utf8, false),
        Field::new("keys", DataType::Utf8, false),
        Field::new("message", DataType::Utf8, false),
        Field::new("remediation", DataType::Utf8, false),
        Field::new("confidence", DataType::Utf8, false),
        Field::new("actions", list_u32, false),
        Field::new("allowed", DataType::Boolean, false),
    ]));
    let mut allowed = BooleanBuilder::new();
    for f in findings {
        allowed.append_value(f.allowed);
    }
    let cols: Vec<ArrayRef> = vec![
        strings(findings.iter().map(|f| Some(f.code.as_str()))),
        strings(findings.iter().map(|f| Some(f.severity.as_str()))),
        strings(findings.iter().map(|f| f.instance.as_deref())),
        strings(findings.iter().map(|f| Some(f.subject.as_str()))),
        owned_strings(findings.iter().map(|f| Some(json_text(&f.keys)))),
        strings(findings.iter().map(|f| Some(f.message.as_str()))),
        strings(findings.iter().map(|f| Some(f.remediation.as_str()))),
        strings(findings.iter().map(|f| {
            Some(match f.confidence {
                Confidence::High => "high",
                Confidence::Low => "low",
            })
        })),
        u32_list(findings.iter().map(|f| f.actions.clone())),
        Arc::new(allowed.finish()),
    ];
    RecordBatch::try_new(schema, cols)
}
