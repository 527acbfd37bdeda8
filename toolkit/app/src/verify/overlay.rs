//! The objects a plan touched, read back from the tenant and laid over the IIJ ID snapshot
//! the plan was computed from: the tenant as it is now, as far as the plan is concerned.

use crate::error::AppError;
use crate::inputs::IidRows;
use dirsnap_model::scim_json::{LinkingIdPath, UserOptions, group_from_scim, user_from_scim_with};
use dirsnap_model::{IidGroup, IidUser, IidUserTable, MemberKind};
use dirsnap_plan::PlanDir;
use dirsnap_plan::{Op, Resource};
use dirsnap_reconcile::{Key, MemberEdge};
use dirsnap_replay::journal::History;
use dirsnap_scim::{ScimClient, ScimError};
use futures::StreamExt as _;
use reqwest::Method;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashSet};

/// The state of one touched object now.
pub(super) enum Fresh {
    Found(Value),
    Gone,
}

fn path_segment(id: &str) -> String {
    url::form_urlencoded::byte_serialize(id.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

pub(super) async fn read_objects(
    client: &ScimClient,
    collection: &str,
    ids: &BTreeSet<String>,
    concurrency: usize,
) -> Result<BTreeMap<String, Fresh>, ScimError> {
    let mut out = BTreeMap::new();
    let mut reads = futures::stream::iter(ids.iter().map(|id| async move {
        let url = client.url(&format!("{collection}/{}", path_segment(id)))?;
        match client.send(Method::GET, url, None).await {
            Ok(r) => Ok((id.clone(), Fresh::Found(r.body))),
            Err(e) if e.status() == Some(404) => Ok((id.clone(), Fresh::Gone)),
            Err(e) => Err(e),
        }
    }))
    .buffer_unordered(concurrency.max(1));
    while let Some(r) = reads.next().await {
        let (id, fresh) = r?;
        out.insert(id, fresh);
    }
    Ok(out)
}

/// The ids of the objects the plan touched: its targets, and what its creates made.
pub(super) fn touched(plan: &PlanDir, history: &History) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut users = BTreeSet::new();
    let mut groups = BTreeSet::new();
    for a in &plan.plan.actions {
        let mut ids: Vec<String> = a.target.iter().cloned().collect();
        if matches!(a.op, Op::CreateUser | Op::CreateGroup)
            && let Some(Some(id)) = history.done_id(a.seq)
        {
            ids.push(id.to_string());
        }
        match a.resource {
            Resource::User => users.extend(ids),
            Resource::Group => groups.extend(ids),
        }
    }
    (users, groups)
}

/// Lays the re-read objects over a snapshot's rows.
pub(super) fn overlay(
    base: &IidRows,
    users: &BTreeMap<String, Fresh>,
    groups: &BTreeMap<String, Fresh>,
    pending_deleted: &BTreeSet<String>,
    linking_id: &LinkingIdPath,
) -> Result<IidRows, AppError> {
    let conv = |source| AppError::VerifyConvert { source };
    let mut out_users: Vec<IidUser> = Vec::with_capacity(base.users.len());
    for u in base.users.iter().map(|u| u.to_row()) {
        match users.get(&u.id) {
            None => out_users.push(u),
            Some(Fresh::Found(_)) => {}
            // A user we moved to pending deletion is not readable over SCIM at IIJ ID (A3):
            // its 404 is the expected outcome, and the row stays, flagged.
            Some(Fresh::Gone) if pending_deleted.contains(&u.id) => {
                let mut u = u;
                u.pending_deletion = true;
                u.active = false;
                out_users.push(u);
            }
            Some(Fresh::Gone) => {}
        }
    }
    let opts = UserOptions {
        linking_id: linking_id.clone(),
        pending_deletion: false,
    };
    for fresh in users.values() {
        if let Fresh::Found(body) = fresh {
            out_users.push(user_from_scim_with(body, &opts).map_err(conv)?);
        }
    }
    let user_ids: HashSet<String> = out_users.iter().map(|u| u.id.clone()).collect();
    let mut out_groups: Vec<IidGroup> = base
        .groups
        .iter()
        .filter(|g| !groups.contains_key(&g.id))
        .cloned()
        .collect();
    let kept: HashSet<Key> = out_groups.iter().map(|g| Key::parse(&g.id)).collect();
    let mut edges: Vec<MemberEdge> = base
        .edges
        .iter()
        .filter(|e| kept.contains(e.group))
        .map(|e| e.to_edge())
        .collect();
    let mut group_ids: HashSet<String> = out_groups.iter().map(|g| g.id.clone()).collect();
    group_ids.extend(
        groups
            .iter()
            .filter(|(_, f)| matches!(f, Fresh::Found(_)))
            .map(|(id, _)| id.clone()),
    );
    let resolve = |key: &str| {
        if user_ids.contains(key) {
            Some(MemberKind::User)
        } else if group_ids.contains(key) {
            Some(MemberKind::Group)
        } else {
            None
        }
    };
    for fresh in groups.values() {
        if let Fresh::Found(body) = fresh {
            let (g, members) = group_from_scim(body, &resolve).map_err(conv)?;
            out_groups.push(g);
            edges.extend(members.iter().map(MemberEdge::from));
        }
    }
    Ok(IidRows {
        users: IidUserTable::from_rows(&out_users)?,
        groups: out_groups,
        edges: edges.into_iter().collect(),
        // Part read back just now: compared with nothing.
        taken_at: None,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    fn user(id: &str, name: &str) -> IidUser {
        IidUser {
            id: id.into(),
            user_name: name.into(),
            active: true,
            ..IidUser::default()
        }
    }

    fn edge(g: &str, m: &str) -> MemberEdge {
        MemberEdge {
            group: Key::parse(g),
            member: Some(Key::parse(m)),
            kind: MemberKind::User,
        }
    }

    #[test]
    fn overlay_replaces_touched_rows_and_keeps_the_rest() {
        let base = IidRows {
            users: IidUserTable::from_rows(&[
                user("u1", "a@x"),
                user("u2", "b@x"),
                user("u3", "c@x"),
            ])
            .unwrap(),
            groups: vec![
                IidGroup {
                    id: "g1".into(),
                    display_name: "G1".into(),
                    ..IidGroup::default()
                },
                IidGroup {
                    id: "g2".into(),
                    display_name: "G2".into(),
                    ..IidGroup::default()
                },
            ],
            edges: [edge("g1", "u1"), edge("g1", "u2"), edge("g2", "u3")]
                .into_iter()
                .collect(),
            taken_at: None,
        };
        let users: BTreeMap<String, Fresh> = [
            (
                "u1".to_string(),
                Fresh::Found(json!({"id": "u1", "userName": "a@x", "active": false})),
            ),
            ("u2".to_string(), Fresh::Gone),
            ("u3".to_string(), Fresh::Gone),
            (
                "u9".to_string(),
                Fresh::Found(json!({"id": "u9", "userName": "new@x", "active": true})),
            ),
        ]
        .into();
        let groups: BTreeMap<String, Fresh> = [(
            "g1".to_string(),
            Fresh::Found(json!({"id": "g1", "displayName": "G1", "members": [{"value": "u9"}]})),
        )]
        .into();
        let pending: BTreeSet<String> = ["u2".to_string()].into();
        let out = overlay(&base, &users, &groups, &pending, &LinkingIdPath::default()).unwrap();
        let out_users = out.users.to_rows();
        let by_id: BTreeMap<&str, &IidUser> =
            out_users.iter().map(|u| (u.id.as_str(), u)).collect();
        // Read back: replaced. Deleted by the plan (404): kept, pending. Gone otherwise: removed.
        assert!(!by_id["u1"].active);
        assert!(by_id["u2"].pending_deletion && !by_id["u2"].active);
        assert!(!by_id.contains_key("u3"));
        assert_eq!(by_id["u9"].user_name, "new@x");
        // g1's members are what the server says now; g2 (untouched) keeps its snapshot edges.
        let mut edges: Vec<MemberEdge> = out.edges.iter().map(|e| e.to_edge()).collect();
        edges.sort();
        let mut want = vec![edge("g1", "u9"), edge("g2", "u3")];
        want.sort();
        assert_eq!(edges, want);
        assert_eq!(out.groups.len(), 2);
    }
}
