//! Applies a plan to an in-memory IIJ ID state, the way IIJ ID would (per the profile's
//! assumptions). Used to prove convergence (apply, reconcile again → no actions) in tests and
//! by tools that do not need a server.

use crate::mapping::{get_path, split_urn};
use crate::profile::Profile;
use dirsnap_model::{IidGroup, IidUser, MemberKind, Membership};
use dirsnap_plan::{Op, PatchOp, Plan};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// An IIJ ID tenant's rows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IidState {
    pub users: Vec<IidUser>,
    pub groups: Vec<IidGroup>,
    pub memberships: Vec<Membership>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ApplyError {
    #[error("action {seq}: {message}")]
    Action { seq: u32, message: String },
}

/// The id given to the object created by action `seq` (deterministic).
pub fn created_id(seq: u32, group: bool) -> String {
    format!(
        "{}-0000-4000-8000-{seq:012x}",
        if group { "9a000000" } else { "5e000000" }
    )
}

/// Applies every action in seq order, failing like IIJ ID would (404 for a missing target,
/// 409 for a taken userName or group name). Returns the ids of created objects by seq.
pub fn apply_plan(
    state: &mut IidState,
    plan: &Plan,
    profile: &Profile,
) -> Result<BTreeMap<u32, String>, ApplyError> {
    let mut created: BTreeMap<u32, String> = BTreeMap::new();
    let mut actions: Vec<_> = plan.actions.iter().collect();
    actions.sort_by_key(|a| a.seq);
    for a in actions {
        let err = |m: String| ApplyError::Action {
            seq: a.seq,
            message: m,
        };
        match a.op {
            Op::CreateUser => {
                let mut body = a
                    .body
                    .clone()
                    .ok_or_else(|| err("create_user without body".into()))?;
                let id = created_id(a.seq, false);
                if let Value::Object(m) = &mut body {
                    m.insert("id".into(), json!(id));
                }
                let u = user_from_json(&body, profile, false);
                if state
                    .users
                    .iter()
                    .any(|x| crate::index::eq_ci(&x.user_name, &u.user_name))
                {
                    return Err(err(format!("409: userName {} already exists", u.user_name)));
                }
                if u.external_id.is_some()
                    && state.users.iter().any(|x| x.external_id == u.external_id)
                {
                    return Err(err("409: externalId has already been taken".into()));
                }
                state.users.push(u);
                created.insert(a.seq, id);
            }
            Op::UpdateUser
            | Op::EnableUser
            | Op::DisableUser
            | Op::RestoreUser
            | Op::PendingDeleteUser => {
                let target = a.target.clone().ok_or_else(|| err("no target".into()))?;
                let u = state
                    .users
                    .iter_mut()
                    .find(|u| u.id == target)
                    .ok_or_else(|| err(format!("404: user {target}")))?;
                let mut j = crate::iid_json::user_json(u, profile);
                for op in &a.operations {
                    patch(&mut j, op);
                }
                let pending = match a.op {
                    Op::PendingDeleteUser => true,
                    Op::RestoreUser => false,
                    _ => u.pending_deletion,
                };
                *u = user_from_json(&j, profile, pending);
            }
            Op::CreateGroup => {
                let body = a
                    .body
                    .clone()
                    .ok_or_else(|| err("create_group without body".into()))?;
                let id = created_id(a.seq, true);
                let name = body
                    .get("displayName")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                if state
                    .groups
                    .iter()
                    .any(|g| crate::index::eq_ci(&g.display_name, &name))
                {
                    return Err(err(format!("409: group {name} already exists")));
                }
                let mut raw = body.clone();
                if let Value::Object(m) = &mut raw {
                    m.insert("id".into(), json!(id));
                    m.remove("members");
                }
                state.groups.push(IidGroup {
                    id: id.clone(),
                    display_name: name,
                    raw: raw.to_string(),
                    ..IidGroup::default()
                });
                created.insert(a.seq, id);
            }
            Op::UpdateGroup => {
                let target = a.target.clone().ok_or_else(|| err("no target".into()))?;
                let g = state
                    .groups
                    .iter_mut()
                    .find(|g| g.id == target)
                    .ok_or_else(|| err(format!("404: group {target}")))?;
                for op in &a.operations {
                    if op.path.as_deref() == Some("displayName")
                        && let Some(Value::String(n)) = &op.value
                    {
                        g.display_name = n.clone();
                    }
                }
                g.raw = json!({"id": g.id, "displayName": g.display_name}).to_string();
            }
            Op::AddMembers | Op::RemoveMembers => {
                let group = match (&a.target, a.target_action) {
                    (Some(t), _) => t.clone(),
                    (None, Some(s)) => created
                        .get(&s)
                        .cloned()
                        .ok_or_else(|| err(format!("target action {s} created nothing")))?,
                    _ => return Err(err("no target".into())),
                };
                if !state.groups.iter().any(|g| g.id == group) {
                    return Err(err(format!("404: group {group}")));
                }
                for m in &a.members {
                    let value = match (&m.value, m.created_by) {
                        (Some(v), _) => Some(v.clone()),
                        (None, Some(s)) => created.get(&s).cloned(),
                        _ => None,
                    }
                    .ok_or_else(|| err(format!("member {} does not resolve", m.display)))?;
                    if !state.users.iter().any(|u| u.id == value) {
                        return Err(err(format!("400: member {value} does not exist")));
                    }
                    let exists = state.memberships.iter().position(|x| {
                        x.group_key == group && x.member_key.as_deref() == Some(value.as_str())
                    });
                    match (a.op, exists) {
                        (Op::AddMembers, None) => state.memberships.push(Membership {
                            group_key: group.clone(),
                            member_key: Some(value.clone()),
                            member_kind: MemberKind::User,
                            member_ref: Some(value.clone()),
                            member_display: Some(m.display.clone()),
                            in_scope: true,
                        }),
                        (Op::RemoveMembers, Some(i)) => {
                            state.memberships.remove(i);
                        }
                        _ => {}
                    }
                }
            }
            Op::DeleteGroup => {
                let target = a.target.clone().ok_or_else(|| err("no target".into()))?;
                let before = state.groups.len();
                state.groups.retain(|g| g.id != target);
                if state.groups.len() == before {
                    return Err(err(format!("404: group {target}")));
                }
                state.memberships.retain(|m| m.group_key != target);
            }
        }
    }
    Ok(created)
}

/// Applies one PATCH operation to a resource (the path forms the engine writes).
pub fn patch(j: &mut Value, op: &PatchOp) {
    let Some(path) = op.path.as_deref() else {
        if let (Some(Value::Object(v)), Value::Object(m)) = (&op.value, &mut *j) {
            for (k, x) in v {
                m.insert(k.clone(), x.clone());
            }
        }
        return;
    };
    let Value::Object(root) = j else { return };
    let (container, rest): (&mut Map<String, Value>, &str) = match split_urn(path) {
        Some((urn, rest)) => {
            let e = root
                .entry(urn.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            if !e.is_object() {
                *e = Value::Object(Map::new());
            }
            match e {
                Value::Object(m) => (m, rest),
                _ => return,
            }
        }
        None => (root, path),
    };
    match op.op.as_str() {
        "remove" => remove_dotted(container, rest),
        _ => {
            if let Some(v) = &op.value {
                set_dotted(container, rest, v.clone());
            }
        }
    }
}

fn set_dotted(m: &mut Map<String, Value>, path: &str, value: Value) {
    match path.split_once('.') {
        None => {
            m.insert(path.to_string(), value);
        }
        Some((head, rest)) => {
            let c = m
                .entry(head.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            if !c.is_object() {
                *c = Value::Object(Map::new());
            }
            if let Value::Object(c) = c {
                set_dotted(c, rest, value);
            }
        }
    }
}

fn remove_dotted(m: &mut Map<String, Value>, path: &str) {
    match path.split_once('.') {
        None => {
            m.remove(path);
        }
        Some((head, rest)) => {
            if let Some(Value::Object(c)) = m.get_mut(head) {
                remove_dotted(c, rest);
            }
        }
    }
}

fn s(j: &Value, path: &str) -> Option<String> {
    get_path(j, path)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// Builds the typed row of a SCIM User resource (what an exporter would store).
pub fn user_from_json(j: &Value, profile: &Profile, pending_deletion: bool) -> IidUser {
    let emails: Vec<(String, bool)> = j
        .get("emails")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|e| {
                    Some((
                        e.get("value")?.as_str()?.to_string(),
                        e.get("primary").and_then(Value::as_bool).unwrap_or(false),
                    ))
                })
                .collect()
        })
        .unwrap_or_default();
    let email = emails
        .iter()
        .find(|(_, p)| *p)
        .or(emails.first())
        .map(|(e, _)| e.clone());
    IidUser {
        id: s(j, "id").unwrap_or_default(),
        user_name: s(j, "userName").unwrap_or_default(),
        external_id: s(j, "externalId"),
        downstream_id: s(j, &profile.application_linking_id),
        active: j.get("active").and_then(Value::as_bool).unwrap_or(true),
        display_name: s(j, "displayName"),
        family_name: s(j, "name.familyName"),
        given_name: s(j, "name.givenName"),
        email,
        emails: emails.into_iter().map(|(e, _)| e).collect(),
        title: s(j, "title"),
        department: s(j, &profile.scim_path("department")),
        preferred_language: s(j, "preferredLanguage"),
        timezone: s(j, "timezone"),
        pending_deletion,
        meta_created: None,
        meta_last_modified: None,
        meta_version: None,
        raw: j.to_string(),
    }
}
