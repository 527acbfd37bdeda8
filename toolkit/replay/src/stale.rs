//! The stale-plan check: re-read every object the remaining actions target and compare its
//! state digest with the one the plan was computed against.

use crate::journal::{ActionState, History};
use dirsnap_model::MemberKind;
use dirsnap_model::scim_json::{LinkingIdPath, UserOptions, group_from_scim, user_from_scim_with};
use dirsnap_plan::digest::{group_digest, user_digest};
use dirsnap_plan::{Op, Plan, Resource};
use dirsnap_scim::{ScimClient, ScimError};
use reqwest::Method;
use std::collections::BTreeSet;

/// One object whose state differs from the plan's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drift {
    pub resource: Resource,
    pub id: String,
    /// The object's name for people.
    pub name: String,
    pub seqs: Vec<u32>,
    /// `changed` or `gone`.
    pub what: &'static str,
}

pub(crate) fn list(d: &[Drift]) -> String {
    d.iter()
        .map(|x| {
            let seqs: Vec<String> = x.seqs.iter().map(u32::to_string).collect();
            format!(
                "  {} {} ({}): {} (actions {})",
                x.resource.as_str(),
                x.name,
                x.id,
                x.what,
                seqs.join(", ")
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Checks the targets of the actions not yet done. Objects that a done (or possibly done)
/// action of this plan already changed are not compared: their change is ours.
pub(crate) async fn check(
    client: &ScimClient,
    plan: &Plan,
    history: &History,
    linking_id: &LinkingIdPath,
) -> Result<(Vec<Drift>, Vec<String>), ScimError> {
    let touched: BTreeSet<&str> = plan
        .actions
        .iter()
        .filter(|a| {
            matches!(
                history.actions.get(&a.seq),
                Some(ActionState::Done { .. } | ActionState::Uncertain)
            )
        })
        .filter_map(|a| a.target.as_deref())
        .collect();
    let mut drifts: Vec<Drift> = Vec::new();
    let mut notes = Vec::new();
    let mut checked: BTreeSet<(&str, &str)> = BTreeSet::new();
    for a in &plan.actions {
        if history.done_id(a.seq).is_some() {
            continue;
        }
        let (Some(target), Some(expected)) = (a.target.as_deref(), a.state_digest.as_deref())
        else {
            continue;
        };
        if touched.contains(target) {
            continue;
        }
        if a.op == Op::RestoreUser {
            // A pending-deletion user is not readable over SCIM at IIJ ID (assumption A3).
            notes.push(format!(
                "action {}: user {target} is pending deletion and cannot be re-read; not checked",
                a.seq
            ));
            continue;
        }
        let name = a
            .user_name
            .clone()
            .or_else(|| a.display_name.clone())
            .unwrap_or_else(|| target.to_string());
        if !checked.insert((target, expected)) {
            if let Some(d) = drifts.iter_mut().find(|d| d.id == target) {
                d.seqs.push(a.seq);
            }
            continue;
        }
        let path = match a.resource {
            Resource::User => format!("Users/{target}"),
            Resource::Group => format!("Groups/{target}"),
        };
        let body = match client.send(Method::GET, client.url(&path)?, None).await {
            Ok(r) => r.body,
            Err(e) if e.status() == Some(404) => {
                drifts.push(Drift {
                    resource: a.resource,
                    id: target.to_string(),
                    name,
                    seqs: vec![a.seq],
                    what: "gone",
                });
                continue;
            }
            Err(e) => return Err(e),
        };
        let actual = match a.resource {
            Resource::User => user_from_scim_with(
                &body,
                &UserOptions {
                    linking_id: linking_id.clone(),
                    pending_deletion: false,
                },
            )
            .map(|u| user_digest(&u)),
            Resource::Group => group_from_scim(&body, &|_| None).map(|(g, ms)| {
                let ids: Vec<&str> = ms
                    .iter()
                    .filter(|m| m.member_kind != MemberKind::Group)
                    .filter_map(|m| m.member_key.as_deref().or(m.member_ref.as_deref()))
                    .collect();
                group_digest(&g, &ids)
            }),
        };
        let same = matches!(&actual, Ok(d) if d == expected);
        if !same {
            drifts.push(Drift {
                resource: a.resource,
                id: target.to_string(),
                name,
                seqs: vec![a.seq],
                what: "changed",
            });
        }
    }
    Ok((drifts, notes))
}
