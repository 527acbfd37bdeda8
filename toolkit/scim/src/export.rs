//! Reading a whole IIJ ID tenant (what `dirsnap export iid` writes as a snapshot): every user
//! and group the token can see, members included, converted to snapshot rows by
//! `dirsnap_model::scim_json` (the same conversion the mock's dump uses).

use crate::client::ScimClient;
use crate::error::ScimError;
use crate::list::{ListOptions, ResourceType};
use dirsnap_model::scim_json::{self, LinkingIdPath, ScimJsonError, UserOptions};
use dirsnap_model::{IidGroup, IidUser, MemberKind, Membership};
use futures::StreamExt as _;
use std::collections::{HashMap, HashSet};

#[derive(Debug, Clone)]
pub struct ExportOptions {
    /// `iid.scim.filter.user`, applied by the server.
    pub user_filter: Option<String>,
    pub group_filter: Option<String>,
    pub page_size: usize,
    /// Requests in flight at once.
    pub concurrency: usize,
    pub linking_id: LinkingIdPath,
    /// Trust the `members` of list responses (one pass) instead of reading each group by id.
    /// Whether IIJ ID lists complete member arrays is not documented
    /// (docs/iij-assumptions.md A10), so the default reads every group by id.
    pub group_members_in_list: bool,
}

impl Default for ExportOptions {
    fn default() -> Self {
        ExportOptions {
            user_filter: None,
            group_filter: None,
            page_size: 100,
            concurrency: 4,
            linking_id: LinkingIdPath::default(),
            group_members_in_list: false,
        }
    }
}

/// Progress callbacks: `(done, total)` per phase.
pub trait ExportProgress: Sync {
    fn users(&self, _done: u64, _total: u64) {}
    fn groups(&self, _done: u64, _total: u64) {}
    fn members(&self, _done: u64, _total: u64) {}
}

/// Progress that goes nowhere.
#[derive(Debug)]
pub struct NoProgress;
impl ExportProgress for NoProgress {}

#[derive(Debug, Default)]
pub struct IidExport {
    pub users: Vec<IidUser>,
    pub groups: Vec<IidGroup>,
    pub memberships: Vec<Membership>,
    /// Paging anomalies and other things the manifest should record.
    pub notes: Vec<String>,
    /// Requests made (pages and per-group reads), retries not counted.
    pub requests: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Scim(#[from] ScimError),
    #[error("{0}")]
    Convert(#[from] ScimJsonError),
}

/// Percent-encodes an id for use as one path segment.
fn path_segment(id: &str) -> String {
    url::form_urlencoded::byte_serialize(id.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

/// Reads every user and group.
pub async fn export_iid(
    client: &ScimClient,
    options: &ExportOptions,
    progress: &dyn ExportProgress,
) -> Result<IidExport, ExportError> {
    let mut notes = Vec::new();
    let list = |filter: &Option<String>, excluded: Option<&str>| ListOptions {
        filter: filter.clone(),
        page_size: options.page_size,
        concurrency: options.concurrency,
        excluded_attributes: excluded.map(str::to_string),
        ..ListOptions::default()
    };
    let users = client
        .list(
            ResourceType::Users,
            &list(&options.user_filter, None),
            &|d, t| progress.users(d, t),
        )
        .await?;
    notes.extend(users.notes.iter().cloned());
    let excluded = (!options.group_members_in_list).then_some("members");
    let groups = client
        .list(
            ResourceType::Groups,
            &list(&options.group_filter, excluded),
            &|d, t| progress.groups(d, t),
        )
        .await?;
    notes.extend(groups.notes.iter().cloned());
    let mut requests = users.pages + groups.pages;

    let user_opts = UserOptions {
        linking_id: options.linking_id.clone(),
        pending_deletion: false,
    };
    let user_rows = users
        .resources
        .iter()
        .map(|r| scim_json::user_from_scim_with(r, &user_opts))
        .collect::<Result<Vec<_>, _>>()?;
    let user_ids: HashSet<&str> = user_rows.iter().map(|u| u.id.as_str()).collect();
    let group_ids: HashSet<String> = groups
        .resources
        .iter()
        .filter_map(|g| {
            g.get("id")
                .and_then(serde_json::Value::as_str)
                .map(str::to_string)
        })
        .collect();
    let resolve = |key: &str| {
        if user_ids.contains(key) {
            Some(MemberKind::User)
        } else if group_ids.contains(key) {
            Some(MemberKind::Group)
        } else {
            None
        }
    };

    // Every group by id, so members are complete whatever the list responses carry.
    let full_groups: Vec<serde_json::Value> = if options.group_members_in_list {
        groups.resources
    } else {
        let total = groups.resources.len() as u64;
        let mut done = 0u64;
        let mut out = Vec::with_capacity(groups.resources.len());
        let mut reads = futures::stream::iter(groups.resources.iter().map(|g| {
            let id = g
                .get("id")
                .and_then(serde_json::Value::as_str)
                .unwrap_or_default();
            let path = format!("Groups/{}", path_segment(id));
            async move { client.get(&path).await }
        }))
        .buffered(options.concurrency.max(1));
        while let Some(r) = reads.next().await {
            let r = r?;
            done += 1;
            requests += 1;
            progress.members(done, total);
            out.push(r.body);
        }
        out
    };
    let mut group_rows = Vec::with_capacity(full_groups.len());
    let mut memberships = Vec::new();
    for g in &full_groups {
        let (group, members) = scim_json::group_from_scim(g, &resolve)?;
        group_rows.push(group);
        memberships.extend(members);
    }
    group_rows.sort_by(|a, b| a.id.cmp(&b.id));
    // Membership rows in group order (stable: members as the server listed them).
    let order: HashMap<&str, usize> = group_rows
        .iter()
        .enumerate()
        .map(|(i, g)| (g.id.as_str(), i))
        .collect();
    memberships.sort_by_key(|m| {
        order
            .get(m.group_key.as_str())
            .copied()
            .unwrap_or(usize::MAX)
    });
    Ok(IidExport {
        users: user_rows,
        groups: group_rows,
        memberships,
        notes,
        requests,
    })
}
