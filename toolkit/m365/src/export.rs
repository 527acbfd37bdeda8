//! Writing M365 snapshots: from Graph (streamed page by page) or from the admin center CSV.
//! Either way the snapshot appears only when complete (SnapshotWriter's atomic commit).

use crate::csv_import::{CsvOptions, read_csv_file};
use crate::error::M365Error;
use crate::graph::{Collection, GraphClient, GraphOptions, GraphStats, Progress, USER_SELECT};
use chrono::Utc;
use dirsnap_model::{M365User, Manifest, Source};
use dirsnap_snapshot::{M365, SnapshotMeta, SnapshotWriter};
use std::collections::HashSet;
use std::path::Path;

/// How many of the exported users are in each state the recreated-account checks look at.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Tally {
    pub users: u64,
    /// Not soft-deleted, `accountEnabled = true`.
    pub enabled: u64,
    /// Not soft-deleted, `accountEnabled = false` (sign-in blocked).
    pub blocked: u64,
    /// Not soft-deleted, `accountEnabled` not known.
    pub enabled_unknown: u64,
    /// Soft-deleted (recycle bin).
    pub deleted: u64,
    pub licensed: u64,
    pub immutable_id_set: u64,
    pub immutable_id_unknown: u64,
}

impl Tally {
    pub fn add(&mut self, u: &M365User) {
        self.users += 1;
        if u.deleted {
            self.deleted += 1;
        } else {
            match u.account_enabled {
                Some(true) => self.enabled += 1,
                Some(false) => self.blocked += 1,
                None => self.enabled_unknown += 1,
            }
        }
        if !u.licenses.is_empty() {
            self.licensed += 1;
        }
        if !u.immutable_id_known {
            self.immutable_id_unknown += 1;
        } else if u.immutable_id.is_some() {
            self.immutable_id_set += 1;
        }
    }
}

/// The result of an export: the manifest written and what the summary shows.
#[derive(Debug, Clone)]
pub struct ExportReport {
    pub manifest: Manifest,
    pub tally: Tally,
    /// Graph only: request counters.
    pub stats: Option<GraphStats>,
    /// Users listed twice (paging overlap, or deleted while the export ran); kept once.
    pub duplicates: u64,
    /// Things the user should read (unreadable CSV values, duplicates); also in the manifest.
    pub warnings: Vec<String>,
}

/// Exports `/users` and (unless disabled) the deleted users to a new snapshot at `target`.
pub async fn export_graph(
    options: GraphOptions,
    target: &Path,
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<ExportReport, M365Error> {
    let taken_at = Utc::now();
    let mut client = GraphClient::new(options)?;
    // Created first: an existing target fails before any network traffic.
    let mut writer = SnapshotWriter::<M365>::create(target)?;
    let mut seen: HashSet<String> = HashSet::new();
    let mut tally = Tally::default();
    let mut duplicates = 0u64;
    let mut collections = vec![Collection::Users];
    if client.include_deleted() {
        collections.push(Collection::DeletedUsers);
    }
    for collection in collections {
        let mut on_page = |users: Vec<M365User>| -> Result<(), M365Error> {
            let before = users.len();
            let kept: Vec<M365User> = users
                .into_iter()
                .filter(|u| seen.insert(u.id.to_ascii_lowercase()))
                .collect();
            duplicates += (before - kept.len()) as u64;
            for u in &kept {
                tally.add(u);
            }
            writer.write_users(&kept)?;
            Ok(())
        };
        client.list(collection, progress, &mut on_page).await?;
    }

    let base = client.base_url().clone();
    let stats = client.stats().clone();
    let mut notes = vec![
        format!(
            "Microsoft Graph: GET /users and /directory/deletedItems/microsoft.graph.user with \
             $select={USER_SELECT}"
        ),
        "licenses holds assignedLicenses[].skuId".to_string(),
        "soft-deleted users: user_principal_name is the original name (Entra prefixes it with \
         the object id while in the recycle bin); raw keeps the name as received"
            .to_string(),
    ];
    if !client.include_deleted() {
        notes.push("deleted users were not exported (--no-deleted)".to_string());
    }
    let mut warnings = Vec::new();
    if duplicates > 0 {
        warnings.push(format!(
            "{duplicates} users were listed twice (the directory changed during the export); each \
             is kept once, as first listed"
        ));
    }
    if stats.retries > 0 {
        notes.push(format!(
            "{} requests retried ({} throttled), {:.1}s waited",
            stats.retries,
            stats.throttled,
            stats.waited.as_secs_f64()
        ));
    }
    notes.extend(warnings.iter().cloned());
    let manifest = writer.commit(SnapshotMeta {
        source: Source {
            host: base.host_str().map(str::to_string),
            tenant_url: Some(base.as_str().trim_end_matches('/').to_string()),
            ..Source::default()
        },
        taken_at: Some(taken_at),
        notes,
        ..SnapshotMeta::default()
    })?;
    Ok(ExportReport {
        manifest,
        tally,
        stats: Some(stats),
        duplicates,
        warnings,
    })
}

/// Imports the admin center's "Export users" CSV into a new snapshot at `target`.
pub fn import_csv(
    csv: &Path,
    options: CsvOptions,
    target: &Path,
) -> Result<ExportReport, M365Error> {
    let taken_at = Utc::now();
    let writer = SnapshotWriter::<M365>::create(target)?;
    let import = read_csv_file(csv, options)?;
    let mut writer = writer;
    let mut tally = Tally::default();
    for u in &import.users {
        tally.add(u);
    }
    writer.write_users(&import.users)?;
    let name = csv
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| csv.display().to_string());
    let mut notes = vec![format!(
        "imported from the Microsoft 365 admin center CSV {name} ({}); raw holds each row as a \
         JSON object",
        import.encoding
    )];
    if import.immutable_id_known {
        notes.push("the CSV has an immutableId column: immutable_id is known".to_string());
    } else {
        notes.push(
            "the CSV cannot tell immutableId: immutable_id is null and immutable_id_known false \
             for every user"
                .to_string(),
        );
    }
    notes.push("licenses holds the license names as the admin center shows them".to_string());
    if !import.ignored_columns.is_empty() {
        notes.push(format!(
            "columns kept only in raw: {}",
            import.ignored_columns.join(", ")
        ));
    }
    const SHOWN: usize = 20;
    notes.extend(import.warnings.iter().take(SHOWN).cloned());
    if import.warnings.len() > SHOWN {
        notes.push(format!(
            "… and {} more unreadable values",
            import.warnings.len() - SHOWN
        ));
    }
    let manifest = writer.commit(SnapshotMeta {
        // The admin center produced the file; which tenant is not in it.
        source: Source {
            host: Some("admin.microsoft.com".to_string()),
            ..Source::default()
        },
        taken_at: Some(taken_at),
        notes,
        ..SnapshotMeta::default()
    })?;
    Ok(ExportReport {
        manifest,
        tally,
        stats: None,
        duplicates: 0,
        warnings: import.warnings,
    })
}
