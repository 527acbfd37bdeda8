//! `plan.json`: indented like pretty JSON down to the plan's lists, one compact line per
//! action, finding, skipped object and note. The action lines are also where
//! `actions.parquet`'s JSON-text columns come from ([`ActionJson`]), serialized once for both.

use crate::action::Action;
use crate::plan::Plan;
use serde::Serialize;

impl Plan {
    /// `plan.json` text (see [`Plan::write_json`]), byte-identical for equal plans.
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        let mut out = Vec::new();
        self.write_json(&mut out)?;
        String::from_utf8(out).map_err(|e| {
            serde_json::Error::io(std::io::Error::new(std::io::ErrorKind::InvalidData, e))
        })
    }

    /// Writes `plan.json`: indented like pretty JSON down to the plan's lists, one compact line
    /// per action, finding, skipped object and note; newline-terminated. A plan of a million
    /// changes stays greppable and line-diffable at about two thirds of the pretty size.
    pub fn write_json<W: std::io::Write>(&self, w: &mut W) -> Result<(), serde_json::Error> {
        self.write_json_head(w)?;
        let mut line = Vec::new();
        for (i, a) in self.actions.iter().enumerate() {
            line.clear();
            ActionJson::of(a)?.write_action(a, &mut line)?;
            write_list_item(w, i == 0, &line)?;
        }
        self.write_json_tail(w)
    }

    /// `plan.json` up to and including `"actions": [`; then come the actions, one
    /// [`write_list_item`] each, then [`Plan::write_json_tail`].
    pub fn write_json_head<W: std::io::Write>(&self, w: &mut W) -> Result<(), serde_json::Error> {
        let io = serde_json::Error::io;
        w.write_all(b"{").map_err(io)?;
        field(w, true, "schema_version", &self.schema_version)?;
        field(w, false, "mode", &self.mode)?;
        field(w, false, "as_of", &self.as_of)?;
        field(w, false, "instances", &self.instances)?;
        field(w, false, "inputs", &self.inputs)?;
        field(w, false, "summary", &self.summary)?;
        field(w, false, "findings", &self.findings)?;
        w.write_all(b",\n  \"actions\": [").map_err(io)
    }

    /// Closes the action list and writes the rest of `plan.json`.
    pub fn write_json_tail<W: std::io::Write>(&self, w: &mut W) -> Result<(), serde_json::Error> {
        let io = serde_json::Error::io;
        w.write_all(if self.actions.is_empty() {
            b"]"
        } else {
            b"\n  ]"
        })
        .map_err(io)?;
        field(w, false, "skipped", &self.skipped)?;
        if !self.notes.is_empty() {
            field(w, false, "notes", &self.notes)?;
        }
        w.write_all(b"\n}\n").map_err(io)
    }

    pub fn from_json(text: &str) -> Result<Plan, serde_json::Error> {
        serde_json::from_str(text)
    }
}

/// One top-level member of `plan.json`: `"name": value`, the value laid out by [`Lines`] as a
/// member of the top-level object.
fn field<W: std::io::Write, T: Serialize + ?Sized>(
    w: &mut W,
    first: bool,
    name: &str,
    value: &T,
) -> Result<(), serde_json::Error> {
    w.write_all(if first { b"\n  " } else { b",\n  " })
        .map_err(serde_json::Error::io)?;
    serde_json::to_writer(&mut *w, name)?;
    w.write_all(b": ").map_err(serde_json::Error::io)?;
    let mut ser = serde_json::Serializer::with_formatter(
        &mut *w,
        Lines {
            depth: 1,
            has_value: false,
        },
    );
    value.serialize(&mut ser)
}

/// One element of `plan.json`'s action list: its compact JSON `line` on a line of its own.
pub fn write_list_item<W: std::io::Write>(
    w: &mut W,
    first: bool,
    line: &[u8],
) -> Result<(), serde_json::Error> {
    w.write_all(if first { b"\n    " } else { b",\n    " })
        .map_err(serde_json::Error::io)?;
    w.write_all(line).map_err(serde_json::Error::io)
}

/// The nested values of an action as compact JSON text, serialized once for both
/// `plan.json` and the JSON-text columns of `actions.parquet`.
#[derive(Debug, Clone, Default)]
pub struct ActionJson {
    pub keys: String,
    pub changes: String,
    pub operations: String,
    pub body: Option<String>,
    pub members: String,
}

impl ActionJson {
    pub fn of(a: &Action) -> Result<ActionJson, serde_json::Error> {
        Ok(ActionJson {
            keys: serde_json::to_string(&a.keys)?,
            changes: serde_json::to_string(&a.changes)?,
            operations: serde_json::to_string(&a.operations)?,
            body: a.body.as_ref().map(serde_json::to_string).transpose()?,
            members: serde_json::to_string(&a.members)?,
        })
    }

    /// Appends `a` as compact JSON — the bytes `serde_json::to_vec(a)` gives — reusing
    /// these serialized parts. Field order and omissions follow [`Action`]'s serde
    /// attributes (a test holds the two together).
    pub fn write_action(&self, a: &Action, out: &mut Vec<u8>) -> Result<(), serde_json::Error> {
        fn key(out: &mut Vec<u8>, name: &str) {
            out.push(b',');
            out.push(b'"');
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b"\":");
        }
        fn value<T: Serialize + ?Sized>(out: &mut Vec<u8>, v: &T) -> Result<(), serde_json::Error> {
            serde_json::to_writer(&mut *out, v)
        }
        out.extend_from_slice(b"{\"seq\":");
        value(out, &a.seq)?;
        key(out, "op");
        value(out, &a.op)?;
        key(out, "resource");
        value(out, &a.resource)?;
        key(out, "instance");
        value(out, &a.instance)?;
        key(out, "target");
        value(out, &a.target)?;
        if let Some(t) = a.target_action {
            key(out, "target_action");
            value(out, &t)?;
        }
        if let Some(n) = &a.user_name {
            key(out, "userName");
            value(out, n)?;
        }
        if let Some(n) = &a.display_name {
            key(out, "displayName");
            value(out, n)?;
        }
        key(out, "externalId");
        value(out, &a.external_id)?;
        key(out, "keys");
        out.extend_from_slice(self.keys.as_bytes());
        if let Some(m) = &a.matched_by {
            key(out, "matched_by");
            value(out, m)?;
        }
        key(out, "rule");
        value(out, &a.rule)?;
        key(out, "reason");
        value(out, &a.reason)?;
        if !a.changes.is_empty() {
            key(out, "changes");
            out.extend_from_slice(self.changes.as_bytes());
        }
        key(out, "request");
        value(out, &a.request)?;
        if !a.operations.is_empty() {
            key(out, "operations");
            out.extend_from_slice(self.operations.as_bytes());
        }
        if let Some(b) = &self.body {
            key(out, "body");
            out.extend_from_slice(b.as_bytes());
        }
        if !a.members.is_empty() {
            key(out, "members");
            out.extend_from_slice(self.members.as_bytes());
        }
        key(out, "depends_on");
        value(out, &a.depends_on)?;
        if let Some(d) = &a.state_digest {
            key(out, "state_digest");
            value(out, d)?;
        }
        out.push(b'}');
        Ok(())
    }
}

/// A JSON formatter that indents the containers down to [`Lines::PRETTY_DEPTH`] as
/// `serde_json`'s pretty printer does and writes everything deeper compactly, so each element
/// of a top-level list is one line.
#[derive(Debug, Default)]
struct Lines {
    depth: usize,
    has_value: bool,
}

impl Lines {
    const PRETTY_DEPTH: usize = 2;

    fn pretty(&self) -> bool {
        self.depth <= Self::PRETTY_DEPTH
    }

    fn indent<W: ?Sized + std::io::Write>(&self, w: &mut W) -> std::io::Result<()> {
        for _ in 0..self.depth {
            w.write_all(b"  ")?;
        }
        Ok(())
    }

    fn open<W: ?Sized + std::io::Write>(&mut self, w: &mut W, c: &[u8]) -> std::io::Result<()> {
        self.depth += 1;
        self.has_value = false;
        w.write_all(c)
    }

    fn close<W: ?Sized + std::io::Write>(&mut self, w: &mut W, c: &[u8]) -> std::io::Result<()> {
        let pretty = self.pretty();
        self.depth -= 1;
        if pretty && self.has_value {
            w.write_all(b"\n")?;
            self.indent(w)?;
        }
        w.write_all(c)
    }

    fn item<W: ?Sized + std::io::Write>(&mut self, w: &mut W, first: bool) -> std::io::Result<()> {
        if self.pretty() {
            w.write_all(if first { b"\n" } else { b",\n" })?;
            self.indent(w)
        } else if first {
            Ok(())
        } else {
            w.write_all(b",")
        }
    }
}

impl serde_json::ser::Formatter for Lines {
    fn begin_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.open(w, b"[")
    }
    fn end_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.close(w, b"]")
    }
    fn begin_array_value<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.item(w, first)
    }
    fn end_array_value<W: ?Sized + std::io::Write>(&mut self, _w: &mut W) -> std::io::Result<()> {
        self.has_value = true;
        Ok(())
    }
    fn begin_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.open(w, b"{")
    }
    fn end_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.close(w, b"}")
    }
    fn begin_object_key<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.item(w, first)
    }
    fn begin_object_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        w.write_all(if self.pretty() { b": " } else { b":" })
    }
    fn end_object_value<W: ?Sized + std::io::Write>(&mut self, _w: &mut W) -> std::io::Result<()> {
        self.has_value = true;
        Ok(())
    }
}

#[cfg(test)]
mod json_lines_tests {
    use serde::Serialize;

    fn lines(v: &serde_json::Value) -> String {
        let mut out = Vec::new();
        let mut ser = serde_json::Serializer::with_formatter(&mut out, super::Lines::default());
        let _ = v.serialize(&mut ser);
        String::from_utf8(out).unwrap_or_default()
    }

    fn sample_actions() -> Vec<super::Action> {
        use super::*;
        use crate::*;
        let base = Action {
            seq: 7,
            op: Op::UpdateUser,
            resource: Resource::User,
            instance: "ad-1 \"x\"".into(),
            target: Some("u-1".into()),
            target_action: None,
            user_name: Some("太郎@x".into()),
            display_name: None,
            external_id: None,
            keys: [("dn", "CN=a\\,b".to_string()), ("id", "u-1".to_string())]
                .into_iter()
                .collect(),
            matched_by: Some("externalId".into()),
            rule: "update".into(),
            reason: "title: a → b\n".into(),
            changes: vec![Change {
                attribute: "title".into(),
                old: serde_json::json!("a"),
                new: serde_json::Value::Null,
            }],
            request: Request {
                method: "PATCH".into(),
                path: "Users/u-1".into(),
            },
            operations: vec![PatchOp {
                op: "remove".into(),
                path: Some("title".into()),
                value: None,
            }],
            body: None,
            members: Vec::new(),
            depends_on: vec![1, 2],
            state_digest: Some("sha256:00".into()),
        };
        let mut group = base.clone();
        group.op = Op::AddMembers;
        group.resource = Resource::Group;
        group.target = None;
        group.target_action = Some(3);
        group.user_name = None;
        group.display_name = Some("営業".into());
        group.external_id = Some("".into());
        group.keys = Keys::new();
        group.matched_by = None;
        group.changes = Vec::new();
        group.operations = Vec::new();
        group.body = Some(serde_json::json!({"schemas": ["s"], "members": []}));
        group.members = vec![MemberRef {
            value: None,
            created_by: Some(3),
            display: "a".into(),
            object_guid: Some("g".into()),
        }];
        group.depends_on = Vec::new();
        group.state_digest = None;
        vec![base, group]
    }

    #[test]
    fn action_lines_are_exactly_serde_json() {
        for a in sample_actions() {
            let mut line = Vec::new();
            super::ActionJson::of(&a)
                .and_then(|j| j.write_action(&a, &mut line))
                .unwrap_or_default();
            assert_eq!(
                String::from_utf8_lossy(&line),
                serde_json::to_string(&a).unwrap_or_default()
            );
        }
    }

    #[test]
    fn plan_json_is_the_lines_layout_of_the_whole_plan() {
        use super::*;
        use crate::*;
        let mut plan = Plan {
            schema_version: PLAN_SCHEMA_VERSION,
            mode: Mode::Recovery,
            as_of: chrono::DateTime::from_timestamp(1_764_000_000, 0).unwrap_or_default(),
            instances: Vec::new(),
            inputs: vec![InputDigest {
                role: "ad".into(),
                instance: None,
                digest: "sha256:1".into(),
            }],
            summary: Summary::default(),
            findings: Vec::new(),
            actions: sample_actions(),
            skipped: Vec::new(),
            notes: vec!["a note".into()],
        };
        plan.summarize();
        for p in [
            plan.clone(),
            Plan {
                actions: Vec::new(),
                notes: Vec::new(),
                ..plan
            },
        ] {
            let mut want = Vec::new();
            let mut ser =
                serde_json::Serializer::with_formatter(&mut want, super::Lines::default());
            let _ = p.serialize(&mut ser);
            want.push(b'\n');
            let got = p.to_json().unwrap_or_default();
            assert_eq!(got, String::from_utf8_lossy(&want));
            assert_eq!(Plan::from_json(&got).ok(), Some(p));
        }
    }

    #[test]
    fn lists_of_the_top_object_get_one_line_per_element() {
        let v = serde_json::json!({
            "a": 1,
            "list": [{"x": [1, 2], "y": {"z": null}}, {"x": []}],
            "empty": [],
            "obj": {"k": {"deep": [true]}, "n": "s"}
        });
        let want = "{\n  \"a\": 1,\n  \"list\": [\n    {\"x\":[1,2],\"y\":{\"z\":null}},\n    {\"x\":[]}\n  ],\n  \"empty\": [],\n  \"obj\": {\n    \"k\": {\"deep\":[true]},\n    \"n\": \"s\"\n  }\n}";
        assert_eq!(lines(&v), want);
        let back: serde_json::Value = serde_json::from_str(&lines(&v)).unwrap_or_default();
        assert_eq!(back, v);
        // Down to the lists it is exactly serde_json's pretty form.
        let shallow = serde_json::json!({"a": [1, 2], "b": {"c": "d"}, "e": []});
        assert_eq!(
            lines(&shallow),
            serde_json::to_string_pretty(&shallow).unwrap_or_default()
        );
    }
}
