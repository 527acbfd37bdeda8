//! The export itself: connect, read users and groups page by page, resolve members, write
//! the snapshot atomically.

use crate::convert::{self, Skipped, domain_of, is_under};
use crate::entry::RawEntry;
use crate::error::AdError;
use crate::filters::{self, DELETED_GROUPS, DELETED_USERS, EffectiveFilters};
use crate::members::{MemberCounts, ScopeIndex};
use crate::range::{self, Members};
use crate::session::{Session, WireStats, show_deleted};
use crate::settings::{ConnectionPlan, Transport};
use crate::tls;
use chrono::{DateTime, Utc};
use dirsnap_config::{DsConfig, Secret};
use dirsnap_model::{AdGroup, AdUser, Filters, Manifest, MemberKind, Source};
use dirsnap_snapshot::{Ad, SnapshotMeta, SnapshotWriter};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// AD refuses pages above MaxPageSize (1000 by default), so larger requests are not offered.
pub const MAX_PAGE_SIZE: u32 = 1000;
/// Users are handed to the Parquet writer in batches of this many rows.
const WRITE_BATCH: usize = 4096;

/// Attributes read for every user, besides those the config's `ad_bind` maps.
pub const USER_ATTRIBUTES: &[&str] = &[
    "objectGUID",
    "objectSid",
    "distinguishedName",
    "objectClass",
    "cn",
    "name",
    "sAMAccountName",
    "userPrincipalName",
    "mail",
    "proxyAddresses",
    "givenName",
    "sn",
    "displayName",
    "initials",
    "department",
    "company",
    "title",
    "physicalDeliveryOfficeName",
    "employeeID",
    "employeeNumber",
    "telephoneNumber",
    "mobile",
    "facsimileTelephoneNumber",
    "pager",
    "ipPhone",
    "homePhone",
    "preferredLanguage",
    "mS-DS-ConsistencyGuid",
    "userAccountControl",
    "accountExpires",
    "pwdLastSet",
    "whenCreated",
    "whenChanged",
    "uSNCreated",
    "uSNChanged",
    "isDeleted",
    "isRecycled",
    "lastKnownParent",
];

/// Attributes read for every group (plus `member`, ranged when asked).
pub const GROUP_ATTRIBUTES: &[&str] = &[
    "objectGUID",
    "objectSid",
    "distinguishedName",
    "objectClass",
    "cn",
    "name",
    "sAMAccountName",
    "displayName",
    "description",
    "mail",
    "groupType",
    "managedBy",
    "info",
    "whenCreated",
    "whenChanged",
    "uSNCreated",
    "uSNChanged",
    "isDeleted",
    "isRecycled",
    "lastKnownParent",
];

/// How to export, beyond what config.yml says.
#[derive(Debug, Clone)]
pub struct ExportOptions {
    /// Entries per page of the paged-results control (1–1000).
    pub page_size: u32,
    /// Ask for `member` in windows of this many values from the start (`member;range=0-N`),
    /// instead of relying on the server to range large groups.
    pub member_range_step: Option<u32>,
    /// Also read tombstones (show-deleted control), marked `is_deleted`.
    pub include_deleted: bool,
    /// Extra trusted CA certificates (PEM) for LDAPS / StartTLS.
    pub ca_file: Option<PathBuf>,
}

impl Default for ExportOptions {
    fn default() -> Self {
        ExportOptions {
            page_size: MAX_PAGE_SIZE,
            member_range_step: None,
            include_deleted: false,
            ca_file: None,
        }
    }
}

/// Receives progress while the export runs (the CLI draws a bar from it).
pub trait Progress {
    /// A new step starts, e.g. "reading users".
    fn phase(&self, _what: &str) {}
    /// `n` more objects were read.
    fn objects(&self, _n: u64) {}
}

/// A [`Progress`] that shows nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoProgress;
impl Progress for NoProgress {}

/// What an export did, for the summary line and for tests.
#[derive(Debug, Clone)]
pub struct ExportSummary {
    pub manifest: Manifest,
    /// The domain controller that answered, as a URL.
    pub server: String,
    pub users: u64,
    pub disabled_users: u64,
    pub expired_users: u64,
    pub deleted_users: u64,
    pub groups: u64,
    pub deleted_groups: u64,
    pub memberships: u64,
    pub members_out_of_scope: u64,
    pub nested_group_members: u64,
    /// Groups whose members needed ranged retrieval beyond the first answer.
    pub ranged_groups: u64,
    /// Entries left out (no objectGUID…), with why.
    pub skipped: Vec<Skipped>,
    pub wire: WireStats,
    pub filters: EffectiveFilters,
    pub elapsed: Duration,
}

/// One subtree search the export makes.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SearchSpec {
    pub base: String,
    pub filter: String,
    pub attributes: Vec<String>,
}

/// The searches an export of `cfg` makes (what `--explain` prints, what the benchmark
/// replays with ldapsearch). Every search is paged with `page_size`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Searches {
    pub page_size: u32,
    pub users: SearchSpec,
    pub groups: SearchSpec,
    /// `member;range=…` windows requested when forced (`--member-range-size`).
    pub member_range_size: Option<u32>,
    /// Tombstone searches (show-deleted control) under the domain root, when asked.
    pub deleted: Option<[SearchSpec; 2]>,
}

/// Validates `cfg` and `options` and returns the searches an export would make, without
/// connecting.
pub fn searches(cfg: &DsConfig, options: &ExportOptions) -> Result<Searches, AdError> {
    let file = cfg.path.display().to_string();
    if !(1..=MAX_PAGE_SIZE).contains(&options.page_size) {
        return Err(AdError::Config {
            file,
            key: "page size".into(),
            message: format!(
                "{} is outside 1..={MAX_PAGE_SIZE} (AD's MaxPageSize)",
                options.page_size
            ),
        });
    }
    if options.member_range_step == Some(0) {
        return Err(AdError::Config {
            file,
            key: "member range size".into(),
            message: "must be at least 1".into(),
        });
    }
    let plan = ConnectionPlan::from_config(cfg)?;
    let filters = filters::effective(cfg)?;
    let user_attrs = user_attributes(cfg);
    let mut group_attrs: Vec<String> = GROUP_ATTRIBUTES.iter().map(|s| s.to_string()).collect();
    group_attrs.push(match options.member_range_step {
        Some(step) => range::request_attr(0, Some(step)),
        None => "member".into(),
    });
    let deleted = options.include_deleted.then(|| {
        [
            SearchSpec {
                base: "(defaultNamingContext)".into(),
                filter: DELETED_USERS.into(),
                attributes: user_attrs.clone(),
            },
            SearchSpec {
                base: "(defaultNamingContext)".into(),
                filter: DELETED_GROUPS.into(),
                attributes: group_attrs.clone(),
            },
        ]
    });
    Ok(Searches {
        page_size: options.page_size,
        users: SearchSpec {
            base: plan.base_dn.clone(),
            filter: filters.user,
            attributes: user_attrs,
        },
        groups: SearchSpec {
            base: plan.base_dn,
            filter: filters.group,
            attributes: group_attrs,
        },
        member_range_size: options.member_range_step,
        deleted,
    })
}

/// Exports the AD users and groups `cfg` selects to a new snapshot at `out`.
pub async fn export(
    cfg: &DsConfig,
    password: &Secret,
    out: &Path,
    options: &ExportOptions,
    progress: &dyn Progress,
) -> Result<ExportSummary, AdError> {
    let started = Instant::now();
    let searches = searches(cfg, options)?;
    let plan = ConnectionPlan::from_config(cfg)?;
    let filters = EffectiveFilters {
        user: searches.users.filter.clone(),
        group: searches.groups.filter.clone(),
    };
    let uses_tls = plan
        .endpoints
        .iter()
        .any(|e| e.transport != Transport::Plain);
    let tls = if uses_tls {
        Some(tls::client_config(
            options.ca_file.as_deref(),
            plan.verify_name,
        )?)
    } else {
        None
    };
    let user_attrs = searches.users.attributes.clone();
    let group_attrs = searches.groups.attributes.clone();

    // Fail on an existing target before touching the network.
    let mut writer = SnapshotWriter::<Ad>::create(out)?;
    let taken_at = Utc::now();

    progress.phase("connecting");
    let mut session = Session::open(&plan, password, tls.as_ref()).await?;
    let server = session.endpoint.display();
    let root = session.root_dse().await?;
    let default_nc = root.text("defaultNamingContext");
    let domain = domain_of(&plan.base_dn)
        .or_else(|| default_nc.as_deref().and_then(domain_of))
        .unwrap_or_default();

    let mut state = State {
        domain,
        taken_at,
        index: ScopeIndex::default(),
        user_batch: Vec::with_capacity(WRITE_BATCH),
        skipped: Vec::new(),
        users: 0,
        disabled: 0,
        expired: 0,
        deleted_users: 0,
    };

    progress.phase("reading users");
    session
        .paged_search(
            "users",
            &plan.base_dn,
            &filters.user,
            &user_attrs,
            options.page_size,
            &[],
            |entry| {
                progress.objects(1);
                state.add_user(&entry, &mut writer)
            },
        )
        .await?;

    progress.phase("reading groups");
    let mut groups: Vec<AdGroup> = Vec::new();
    let mut pending: Vec<Members> = Vec::new();
    let mut group_skips = Vec::new();
    let url = server.clone();
    session
        .paged_search(
            "groups",
            &plan.base_dn,
            &filters.group,
            &group_attrs,
            options.page_size,
            &[],
            |entry| {
                progress.objects(1);
                match convert::group(&entry, &state.domain) {
                    Ok(g) => {
                        let members =
                            range::members_of(&entry).map_err(|detail| AdError::Protocol {
                                url: url.clone(),
                                detail,
                            })?;
                        state.index.insert(&g.dn, g.object_guid, MemberKind::Group);
                        groups.push(g);
                        pending.push(members);
                    }
                    Err(s) => group_skips.push(s),
                }
                Ok(())
            },
        )
        .await?;
    state.skipped.extend(group_skips);

    let mut ranged_groups = 0u64;
    if pending.iter().any(|m| matches!(m, Members::Partial { .. })) {
        progress.phase("reading members of large groups (ranged retrieval)");
    }
    let mut member_lists: Vec<Vec<Vec<u8>>> = Vec::with_capacity(pending.len());
    for (g, members) in groups.iter().zip(pending) {
        match members {
            Members::Complete(values) => member_lists.push(values),
            Members::Partial { mut values, next } => {
                ranged_groups += 1;
                // By GUID, so a group renamed during the export is still found.
                let base = format!("<GUID={}>", g.object_guid);
                range::fetch_rest(
                    &mut session,
                    &base,
                    next,
                    options.member_range_step,
                    &mut values,
                )
                .await?;
                member_lists.push(values);
            }
        }
    }

    let mut deleted_groups = 0u64;
    if options.include_deleted {
        progress.phase("reading deleted objects");
        let root_dn = default_nc.clone().unwrap_or_else(|| plan.base_dn.clone());
        let show = [show_deleted()];
        session
            .paged_search(
                "deleted users",
                &root_dn,
                DELETED_USERS,
                &user_attrs,
                options.page_size,
                &show,
                |entry| {
                    if deleted_in_scope(&entry, &plan.base_dn) {
                        progress.objects(1);
                        state.add_user(&entry, &mut writer)?;
                    }
                    Ok(())
                },
            )
            .await?;
        let mut deleted = Vec::new();
        let mut skips = Vec::new();
        session
            .paged_search(
                "deleted groups",
                &root_dn,
                DELETED_GROUPS,
                &group_attrs,
                options.page_size,
                &show,
                |entry| {
                    if deleted_in_scope(&entry, &plan.base_dn) {
                        progress.objects(1);
                        match convert::group(&entry, &state.domain) {
                            Ok(g) => deleted.push(g),
                            Err(s) => skips.push(s),
                        }
                    }
                    Ok(())
                },
            )
            .await?;
        deleted_groups = deleted.len() as u64;
        // Tombstones have no members (AD strips them); they are listed for the engine's
        // recreated-object checks only.
        member_lists.extend(deleted.iter().map(|_| Vec::new()));
        groups.extend(deleted);
        state.skipped.extend(skips);
    }
    let wire = session.stats.clone();
    session.close().await;

    progress.phase("writing snapshot");
    state.flush(&mut writer)?;
    writer.write_groups(&groups)?;
    let mut counts = MemberCounts::default();
    for (g, dns) in groups.iter().zip(&member_lists) {
        let rows = state.index.resolve(g.object_guid, dns, &mut counts);
        writer.write_memberships(&rows)?;
    }

    let notes = notes(
        &plan,
        &server,
        &root,
        &wire,
        options,
        uses_tls,
        ranged_groups,
        &state,
        deleted_groups,
    );
    let meta = SnapshotMeta {
        source: Source {
            host: Some(session_host(&plan, &server)),
            base_dn: Some(plan.base_dn.clone()),
            domain: Some(state.domain.clone()).filter(|d| !d.is_empty()),
            tenant_url: None,
            instance: cfg.dirsnap.instance.clone(),
        },
        taken_at: Some(taken_at),
        config_digest: Some(cfg.digest()),
        filters: Filters {
            user: Some(filters.user.clone()),
            group: Some(filters.group.clone()),
        },
        config: Some(cfg.redacted_document()),
        notes,
    };
    let manifest = writer.commit(meta)?;
    Ok(ExportSummary {
        server,
        users: state.users,
        disabled_users: state.disabled,
        expired_users: state.expired,
        deleted_users: state.deleted_users,
        groups: groups.len() as u64,
        deleted_groups,
        memberships: counts.rows,
        members_out_of_scope: counts.out_of_scope,
        nested_group_members: counts.nested_groups,
        ranged_groups,
        skipped: state.skipped,
        wire,
        filters,
        elapsed: started.elapsed(),
        manifest,
    })
}

#[allow(clippy::too_many_arguments)]
fn notes(
    plan: &ConnectionPlan,
    server: &str,
    root: &RawEntry,
    wire: &WireStats,
    options: &ExportOptions,
    uses_tls: bool,
    ranged_groups: u64,
    state: &State,
    deleted_groups: u64,
) -> Vec<String> {
    let mut notes = vec![format!(
        "read from {server} as {} ({} searches, {} pages of up to {} entries)",
        plan.bind_dn, wire.searches, wire.pages, options.page_size
    )];
    if let Some(host) = root.text("dnsHostName") {
        notes.push(format!("domain controller dnsHostName: {host}"));
    }
    if uses_tls && !plan.verify_name {
        notes.push(
            "verify_mode: false: the TLS certificate chain was verified, its name was not".into(),
        );
    }
    if wire.referrals_skipped > 0 {
        notes.push(format!(
            "{} continuation references (other naming contexts) were skipped, not chased",
            wire.referrals_skipped
        ));
    }
    if wire.unpaged_answers > 0 {
        notes.push(format!(
            "{} searches were answered without the paged-results control (server ignored paging)",
            wire.unpaged_answers
        ));
    }
    if ranged_groups > 0 {
        notes.push(format!(
            "{ranged_groups} groups had their members read by ranged retrieval ({} extra requests)",
            wire.range_requests
        ));
    }
    if options.include_deleted {
        notes.push(format!(
            "--include-deleted: {} deleted users and {deleted_groups} deleted groups whose last \
             known parent is under the base DN (tombstones; the configured filters do not \
             apply to them)",
            state.deleted_users
        ));
    }
    for s in state.skipped.iter().take(20) {
        notes.push(format!("skipped {}: {}", s.dn, s.reason));
    }
    if state.skipped.len() > 20 {
        notes.push(format!("… and {} more skipped", state.skipped.len() - 20));
    }
    notes
}

/// The address that answered, as written in config.yml.
fn session_host(plan: &ConnectionPlan, server: &str) -> String {
    plan.endpoints
        .iter()
        .find(|e| e.display() == server)
        .map_or_else(|| server.to_string(), |e| e.address.clone())
}

/// A tombstone belongs to the export when it was deleted from under the base DN.
fn deleted_in_scope(entry: &RawEntry, base_dn: &str) -> bool {
    entry
        .text("lastKnownParent")
        .is_some_and(|parent| is_under(&parent, base_dn))
}

/// The user attributes to request: the fixed list plus every AD attribute `ad_bind` maps,
/// so the engine can compute what Directory Sync sends from `raw`.
pub fn user_attributes(cfg: &DsConfig) -> Vec<String> {
    let mut attrs: Vec<String> = USER_ATTRIBUTES.iter().map(|s| s.to_string()).collect();
    for bind in &cfg.iid.ad_bind {
        for source in &bind.sources {
            let valid = !source.is_empty()
                && source
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == ';');
            if !valid {
                tracing::warn!(attribute = %source, target = %bind.target, "ad_bind source is not an LDAP attribute name; not requested");
                continue;
            }
            if !attrs.iter().any(|a| a.eq_ignore_ascii_case(source)) {
                attrs.push(source.clone());
            }
        }
    }
    attrs
}

struct State {
    domain: String,
    taken_at: DateTime<Utc>,
    index: ScopeIndex,
    user_batch: Vec<AdUser>,
    skipped: Vec<Skipped>,
    users: u64,
    disabled: u64,
    expired: u64,
    deleted_users: u64,
}

impl State {
    fn add_user(
        &mut self,
        entry: &RawEntry,
        writer: &mut SnapshotWriter<Ad>,
    ) -> Result<(), AdError> {
        match convert::user(entry, &self.domain, self.taken_at) {
            Ok(u) => {
                self.users += 1;
                if u.is_deleted {
                    self.deleted_users += 1;
                } else {
                    self.index.insert(&u.dn, u.object_guid, MemberKind::User);
                    self.disabled += u64::from(!u.enabled);
                    self.expired += u64::from(u.expired);
                }
                self.user_batch.push(u);
                if self.user_batch.len() >= WRITE_BATCH {
                    self.flush(writer)?;
                }
            }
            Err(s) => {
                tracing::warn!(dn = %s.dn, reason = %s.reason, "entry skipped");
                self.skipped.push(s);
            }
        }
        Ok(())
    }

    fn flush(&mut self, writer: &mut SnapshotWriter<Ad>) -> Result<(), AdError> {
        writer.write_users(&self.user_batch)?;
        self.user_batch.clear();
        Ok(())
    }
}
