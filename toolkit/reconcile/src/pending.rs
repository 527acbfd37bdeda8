//! Pending deletion from the sources there are (lifecycle table "Delete user" / "User leaves
//! the scope → pending deletion"; assumptions A3, MK1, MK2, PD1–PD5 in
//! docs/iij-assumptions.md). IIJ ID hides a user pending deletion over SCIM (MK2), so a live
//! export never shows one, yet the user still holds its login ID and externalId (MK1): a
//! create with them is refused (409), and a user back in scope is restored, not created. Three
//! sources say which users are pending:
//!
//! * **history** (confidence low, PD1): a user an earlier IID snapshot listed (`--history`,
//!   or `--previous-iid`) and the live listing lacks, unless something shows it was deleted
//!   for good — its userName or externalId is now held by another live user (PD2), or a later
//!   snapshot's user held them after it (PD3), or the console's list is given and lacks it;
//! * **the console's list** (confidence high, PD4): `--pending-list`, the administrator's copy
//!   of IIJ ID Console's "Users pending deletion" view; when given it is authoritative;
//! * **the API** (profile `pending_deletion_listed`): the live listing has the user, flagged.
//!   Those rows need nothing from here.
//!
//! This module is the rule, pure: rows in, the presumed rows (cloned from the snapshot that
//! listed each last; few) with their memberships and evidence out. The loader
//! (`dirsnap_app::inputs`) reads the files and appends the rows to the live users it owns;
//! the engine reads the evidence (`Inputs::pending_evidence`) to word every finding and
//! action about such a user with its source and confidence.

use crate::index::{Ci, Map, map_with_capacity};
use crate::inputs::IidSnapshot;
use crate::key::{Key, MemberEdge};
use chrono::{DateTime, SecondsFormat, Utc};
use dirsnap_model::scim_json::{ColumnPaths, user_from_columns};
use dirsnap_model::{IidUser, IidUserView, MemberKind};
use dirsnap_plan::Confidence;

/// Where the pending-deletion state of a presumed user comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PendingSource {
    /// An earlier IID snapshot listed the user, the live listing does not.
    History {
        /// The snapshot as the command line named it.
        snapshot: String,
        taken_at: DateTime<Utc>,
    },
    /// The console's pending-deletion list has the user.
    ConsoleList {
        /// The list as the command line named it.
        file: String,
        /// Its line in the file (1-based; the header is line 1).
        line: usize,
        /// When the console says it was deleted, when the list gives it.
        deleted_at: Option<DateTime<Utc>>,
        /// The IID snapshot whose row (attributes, memberships) stands for the user, if one
        /// listed it: snapshot and its time.
        row_from: Option<(String, DateTime<Utc>)>,
    },
}

/// Why one IIJ ID user the live listing lacks is taken to be pending deletion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingEvidence {
    /// The SCIM id of its row (a placeholder when `id_known` is false).
    pub id: String,
    pub user_name: String,
    pub source: PendingSource,
    /// Whether `id` is the user's SCIM id; a console list row without an id and no snapshot
    /// row to take it from is not (nothing can be sent to such a user).
    pub id_known: bool,
}

fn time(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

impl PendingEvidence {
    /// History is a presumption; the console's own list is the state itself.
    pub fn confidence(&self) -> Confidence {
        match self.source {
            PendingSource::History { .. } => Confidence::Low,
            PendingSource::ConsoleList { .. } => Confidence::High,
        }
    }

    /// Where the state comes from, for findings and action reasons: "presumed pending
    /// deletion: …" / "pending deletion per the console's list …".
    pub fn describe(&self) -> String {
        match &self.source {
            PendingSource::History { snapshot, taken_at } => format!(
                "presumed pending deletion (confidence low): the IID snapshot {snapshot} (taken {}) listed it and the live listing does not; IIJ ID hides pending users over SCIM (assumption MK2) and nothing shows it was deleted for good (assumption PD1)",
                time(taken_at)
            ),
            PendingSource::ConsoleList {
                file,
                line,
                deleted_at,
                row_from,
            } => {
                let deleted = deleted_at
                    .map(|t| format!(", deleted at {}", time(&t)))
                    .unwrap_or_default();
                let row = match row_from {
                    Some((snapshot, taken_at)) => format!(
                        "; its attributes and memberships are those the IID snapshot {snapshot} (taken {}) listed",
                        time(taken_at)
                    ),
                    None if self.id_known => {
                        "; no IID snapshot lists it, so only its keys are known".into()
                    }
                    None => "; no IID snapshot lists it and the list gives no id, so its SCIM id is unknown".into(),
                };
                format!(
                    "pending deletion per the console's list {file} (line {line}{deleted}){row}"
                )
            }
        }
    }
}

/// A user history suggested but something shows was deleted for good.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DismissedPending {
    pub user_name: String,
    pub id: String,
    /// Why it is taken as deleted for good (or not pending at all).
    pub why: String,
}

/// One row of the console's pending-deletion list (`--pending-list`; its format is in
/// docs/pending-deletion.md).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConsoleRow {
    /// Its line in the file (1-based).
    pub line: usize,
    pub user_name: String,
    pub external_id: Option<String>,
    pub id: Option<String>,
    pub deleted_at: Option<DateTime<Utc>>,
}

/// The console's list and how the command line named it.
#[derive(Debug, Clone, Copy)]
pub struct ConsoleList<'a> {
    pub file: &'a str,
    pub rows: &'a [ConsoleRow],
}

/// The presumed-pending users: rows to append to the live users (each `pending_deletion`),
/// their memberships in groups that still exist, the evidence per row, and the users history
/// suggested but that were deleted for good.
#[derive(Debug, Default)]
pub struct Presumed {
    pub users: Vec<IidUser>,
    pub edges: Vec<MemberEdge>,
    pub evidence: Vec<PendingEvidence>,
    pub dismissed: Vec<DismissedPending>,
}

/// A user an earlier snapshot listed and the live listing lacks.
struct Candidate {
    row: IidUser,
    snapshot: String,
    taken_at: DateTime<Utc>,
    /// Groups (keys) it was a member of in that snapshot.
    groups: Vec<Key>,
}

/// The presumption, built one history snapshot at a time so only one is held in memory.
pub struct Presumption<'l> {
    live: IidSnapshot<'l>,
    live_ids: Map<Key, ()>,
    candidates: Map<Key, Candidate>,
    /// The tenant lists users pending deletion (profile `pending_deletion_listed`).
    listing_shows_pending: bool,
}

impl<'l> Presumption<'l> {
    /// Starts from the live listing (only its ids are indexed here).
    pub fn new(live: IidSnapshot<'l>) -> Presumption<'l> {
        let mut live_ids = map_with_capacity(live.users.len());
        for u in live.users {
            live_ids.insert(Key::parse(u.id()), ());
        }
        Presumption {
            live,
            live_ids,
            candidates: map_with_capacity(0),
            listing_shows_pending: false,
        }
    }

    /// The tenant lists users pending deletion (profile `pending_deletion_listed`, the API
    /// source): a user the live listing lacks was deleted for good, so history presumes
    /// nothing (assumption PD6); the console's list still counts.
    pub fn listing_shows_pending(&mut self, yes: bool) {
        self.listing_shows_pending = yes;
    }

    /// Adds an earlier IID snapshot (`label`: as named on the command line). Of several
    /// snapshots listing a user, the most recent one's row stands for it (with its
    /// memberships).
    pub fn add_history(&mut self, label: &str, snap: IidSnapshot<'_>) {
        let taken_at = snap.taken_at.unwrap_or(DateTime::<Utc>::UNIX_EPOCH);
        let mut taken: Map<Key, ()> = map_with_capacity(0);
        for user in snap.users {
            let key = Key::parse(user.id());
            if self.live_ids.contains_key(&key) {
                continue;
            }
            if self
                .candidates
                .get(&key)
                .is_some_and(|c| c.taken_at >= taken_at)
            {
                continue;
            }
            taken.insert(key.clone(), ());
            self.candidates.insert(
                key,
                Candidate {
                    row: user.to_row(),
                    snapshot: label.to_string(),
                    taken_at,
                    groups: Vec::new(),
                },
            );
        }
        if taken.is_empty() {
            return;
        }
        // Memberships are kept while pending (MK2): those this snapshot lists, for groups
        // that still exist.
        let mut live_groups: Map<Key, ()> = map_with_capacity(self.live.groups.len());
        for g in self.live.groups {
            live_groups.insert(Key::parse(&g.id), ());
        }
        for edge in snap.memberships.iter() {
            if edge.kind() == MemberKind::Group || !live_groups.contains_key(edge.group) {
                continue;
            }
            let Some(member) = edge.member() else {
                continue;
            };
            if taken.contains_key(&member)
                && let Some(c) = self.candidates.get_mut(&member)
                && !c.groups.contains(edge.group)
            {
                c.groups.push(edge.group.clone());
            }
        }
    }

    /// The presumed users, after the evidence against each (a live user holding its keys, a
    /// later user holding them, the console's list lacking it) and the console's list.
    pub fn finish(self, list: Option<ConsoleList<'_>>) -> Presumed {
        let Presumption {
            live,
            candidates,
            listing_shows_pending,
            ..
        } = self;
        let mut out = Presumed::default();
        if candidates.is_empty() && list.is_none_or(|l| l.rows.is_empty()) {
            return out;
        }
        let mut by_name: Map<Ci<'_>, IidUserView<'_>> = map_with_capacity(live.users.len());
        let mut by_external: Map<&str, IidUserView<'_>> = map_with_capacity(live.users.len());
        for u in live.users {
            by_name.entry(Ci(u.user_name())).or_insert(u);
            if let Some(e) = u.external_id().filter(|e| !e.is_empty()) {
                by_external.entry(e).or_insert(u);
            }
        }
        let live_holder = |user_name: &str, external_id: Option<&str>| -> Option<String> {
            if let Some(u) = by_name.get(&Ci(user_name)) {
                return Some(format!(
                    "its userName is held by the live user {} (id {})",
                    u.user_name(),
                    u.id()
                ));
            }
            let u = external_id
                .filter(|e| !e.is_empty())
                .and_then(|e| by_external.get(e))?;
            Some(format!(
                "its externalId is held by the live user {} (id {})",
                u.user_name(),
                u.id()
            ))
        };

        // Most recent first: of two earlier users with one login ID, the later one could only
        // have been created once the earlier was deleted for good (MK1; assumption PD3).
        let mut ordered: Vec<Candidate> = candidates.into_values().collect();
        ordered.sort_by(|a, b| {
            b.taken_at
                .cmp(&a.taken_at)
                .then_with(|| a.row.id.cmp(&b.row.id))
        });
        let mut kept: Vec<Candidate> = Vec::new();
        for c in ordered {
            let listed_on_console = list.is_some_and(|l| {
                l.rows
                    .iter()
                    .any(|r| match r.id.as_deref().filter(|s| !s.is_empty()) {
                        Some(id) => id == c.row.id,
                        None => Ci(&r.user_name) == Ci(&c.row.user_name),
                    })
            });
            if listing_shows_pending && !listed_on_console {
                out.dismissed.push(dismissed(
                    &c.row,
                    format!(
                        "the IID snapshot {} listed it, but the tenant lists users pending deletion (profile pending_deletion_listed) and the live listing lacks it: deleted for good",
                        c.snapshot
                    ),
                ));
                continue;
            }
            let why = live_holder(&c.row.user_name, c.row.external_id.as_deref()).or_else(|| {
                kept.iter()
                    .find(|k| {
                        Ci(&k.row.user_name) == Ci(&c.row.user_name)
                            || (non_empty(&k.row.external_id).is_some()
                                && non_empty(&k.row.external_id) == non_empty(&c.row.external_id))
                    })
                    .map(|k| {
                        format!(
                            "the user {} (id {}), listed later by {}, held its login ID or externalId after it",
                            k.row.user_name, k.row.id, k.snapshot
                        )
                    })
            });
            match why {
                Some(why) => out.dismissed.push(dismissed(&c.row, why)),
                None => kept.push(c),
            }
        }

        let Some(list) = list else {
            for c in kept {
                let evidence = PendingEvidence {
                    id: c.row.id.clone(),
                    user_name: c.row.user_name.clone(),
                    source: PendingSource::History {
                        snapshot: c.snapshot.clone(),
                        taken_at: c.taken_at,
                    },
                    id_known: true,
                };
                out.push(c, evidence);
            }
            out.sort();
            return out;
        };

        // The console's list is authoritative: what history suggests and the list lacks was
        // deleted for good (assumption PD4).
        let mut kept: Vec<Option<Candidate>> = kept.into_iter().map(Some).collect();
        let mut from_list: Vec<(Candidate, PendingEvidence)> = Vec::new();
        for row in list.rows {
            let hit = kept.iter_mut().find(|c| {
                c.as_ref()
                    .is_some_and(|c| match row.id.as_deref().filter(|s| !s.is_empty()) {
                        Some(id) => c.row.id == id,
                        None => Ci(&c.row.user_name) == Ci(&row.user_name),
                    })
            });
            let source = |row_from| PendingSource::ConsoleList {
                file: list.file.to_string(),
                line: row.line,
                deleted_at: row.deleted_at,
                row_from,
            };
            if let Some(mut c) = hit.and_then(Option::take) {
                set_keys(&mut c.row, &row.user_name, row.external_id.as_deref());
                let evidence = PendingEvidence {
                    id: c.row.id.clone(),
                    user_name: c.row.user_name.clone(),
                    source: source(Some((c.snapshot.clone(), c.taken_at))),
                    id_known: true,
                };
                from_list.push((c, evidence));
                continue;
            }
            let id = row.id.clone().filter(|s| !s.is_empty());
            let live_row = id
                .as_deref()
                .and_then(|id| live.users.iter().find(|u| u.id() == id));
            match live_row {
                // Listed by the API as pending already (profile pending_deletion_listed).
                Some(u) if u.pending_deletion() => continue,
                Some(u) => {
                    out.dismissed.push(DismissedPending {
                        user_name: row.user_name.clone(),
                        id: u.id().to_owned(),
                        why: format!(
                            "the console's list {} (line {}) has it, but the live listing has it as a user not pending deletion: restored since the list was made",
                            list.file, row.line
                        ),
                    });
                    continue;
                }
                None => {}
            }
            if let Some(why) = live_holder(&row.user_name, row.external_id.as_deref()) {
                out.dismissed.push(DismissedPending {
                    user_name: row.user_name.clone(),
                    id: id.clone().unwrap_or_default(),
                    why: format!(
                        "the console's list {} (line {}) has it, but {why}: the list is older than the live listing",
                        list.file, row.line
                    ),
                });
                continue;
            }
            let id_known = id.is_some();
            let mut user = IidUser {
                id: id.unwrap_or_else(|| format!("unknown-id:{}", row.user_name)),
                user_name: row.user_name.clone(),
                external_id: row.external_id.clone().filter(|s| !s.is_empty()),
                active: true,
                pending_deletion: true,
                ..IidUser::default()
            };
            user.raw = user_from_columns(&user, &ColumnPaths::default()).to_string();
            let evidence = PendingEvidence {
                id: user.id.clone(),
                user_name: user.user_name.clone(),
                source: source(None),
                id_known,
            };
            from_list.push((
                Candidate {
                    row: user,
                    snapshot: String::new(),
                    taken_at: DateTime::<Utc>::UNIX_EPOCH,
                    groups: Vec::new(),
                },
                evidence,
            ));
        }
        for c in kept.into_iter().flatten() {
            let why = format!(
                "the IID snapshot {} (taken {}) listed it, but the console's list {} of users pending deletion does not: deleted for good",
                c.snapshot,
                time(&c.taken_at),
                list.file
            );
            out.dismissed.push(dismissed(&c.row, why));
        }
        for (c, evidence) in from_list {
            out.push(c, evidence);
        }
        out.sort();
        out
    }
}

/// `""` is unset (A4).
fn non_empty(s: &Option<String>) -> Option<&str> {
    s.as_deref().filter(|s| !s.is_empty())
}

fn dismissed(row: &IidUser, why: String) -> DismissedPending {
    DismissedPending {
        user_name: row.user_name.clone(),
        id: row.id.clone(),
        why,
    }
}

/// The console's list is the current state: its userName and externalId win over an earlier
/// snapshot's (in the typed columns and in `raw`).
fn set_keys(row: &mut IidUser, user_name: &str, external_id: Option<&str>) {
    let external_id = external_id.filter(|s| !s.is_empty());
    let same_name = row.user_name == user_name;
    let same_external = external_id.is_none() || non_empty(&row.external_id) == external_id;
    if same_name && same_external {
        return;
    }
    row.user_name = user_name.to_string();
    if let Some(e) = external_id {
        row.external_id = Some(e.to_string());
    }
    if let Ok(serde_json::Value::Object(mut raw)) =
        serde_json::from_str::<serde_json::Value>(&row.raw)
    {
        raw.insert("userName".into(), user_name.into());
        if let Some(e) = external_id {
            raw.insert("externalId".into(), e.into());
        }
        row.raw = serde_json::Value::Object(raw).to_string();
    }
}

impl Presumed {
    fn push(&mut self, c: Candidate, evidence: PendingEvidence) {
        let mut row = c.row;
        row.pending_deletion = true;
        let member = Key::parse(&row.id);
        for group in c.groups {
            self.edges.push(MemberEdge {
                group,
                member: Some(member.clone()),
                kind: MemberKind::User,
            });
        }
        self.users.push(row);
        self.evidence.push(evidence);
    }

    /// A fixed order whatever the order of the inputs: by userName, then id.
    fn sort(&mut self) {
        let users = std::mem::take(&mut self.users);
        let evidence = std::mem::take(&mut self.evidence);
        let mut pairs: Vec<(IidUser, PendingEvidence)> = users.into_iter().zip(evidence).collect();
        pairs.sort_by(|(x, _), (y, _)| {
            (x.user_name.to_lowercase(), &x.id).cmp(&(y.user_name.to_lowercase(), &y.id))
        });
        (self.users, self.evidence) = pairs.into_iter().unzip();
        self.edges.sort_by(|a, b| {
            (a.group.to_string(), a.member.as_ref().map(Key::to_string))
                .cmp(&(b.group.to_string(), b.member.as_ref().map(Key::to_string)))
        });
        self.dismissed.sort_by(|a, b| {
            (a.user_name.to_lowercase(), &a.id).cmp(&(b.user_name.to_lowercase(), &b.id))
        });
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;
    use crate::key::{Edges, edges};
    use dirsnap_model::{IidGroup, IidUserTable, Membership};

    fn user(id: &str, name: &str) -> IidUser {
        IidUser {
            id: id.into(),
            user_name: name.into(),
            external_id: Some(name.into()),
            active: true,
            ..IidUser::default()
        }
    }

    fn group(id: &str) -> IidGroup {
        IidGroup {
            id: id.into(),
            display_name: id.into(),
            ..IidGroup::default()
        }
    }

    fn member(g: &str, u: &str) -> Membership {
        Membership {
            group_key: g.into(),
            member_key: Some(u.into()),
            member_kind: MemberKind::User,
            member_ref: None,
            member_display: None,
            in_scope: true,
        }
    }

    fn at(day: u32) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(&format!("2026-11-{day:02}T00:00:00Z"))
            .unwrap()
            .to_utc()
    }

    fn table(users: &[IidUser]) -> IidUserTable {
        IidUserTable::from_rows(users).unwrap()
    }

    fn snap<'a>(
        users: &'a IidUserTable,
        groups: &'a [IidGroup],
        e: &'a Edges,
        day: u32,
    ) -> IidSnapshot<'a> {
        IidSnapshot {
            users,
            groups,
            memberships: e,
            taken_at: Some(at(day)),
        }
    }

    fn names(p: &Presumed) -> Vec<&str> {
        p.users.iter().map(|u| u.user_name.as_str()).collect()
    }

    #[test]
    fn history_presumes_the_missing_users_unless_something_shows_they_were_deleted_for_good() {
        let live_users = [
            user("u-live", "live@x"),
            // Took over the login ID of u-renamed's old user: that one was deleted for good.
            user("u-new", "taken@x"),
            IidUser {
                external_id: Some("ext-held@x".into()),
                ..user("u-ext", "other@x")
            },
        ];
        let live_groups = [group("g-kept")];
        let no_edges = Edges::default();
        let old_users = [
            user("u-live", "live@x"),
            user("u-gone", "gone@x"),
            user("u-old", "taken@x"),
            user("u-ext-old", "ext-held@x"),
            user("u-earlier", "twice@x"),
        ];
        let old_groups = [group("g-kept"), group("g-deleted")];
        let old_edges = edges(&[member("g-kept", "u-gone"), member("g-deleted", "u-gone")]);
        let newer_users = [user("u-later", "twice@x")];
        let (live_users, old_users) = (table(&live_users), table(&old_users));
        let newer_users = table(&newer_users);
        let mut p = Presumption::new(snap(&live_users, &live_groups, &no_edges, 27));
        p.add_history("old", snap(&old_users, &old_groups, &old_edges, 10));
        p.add_history("newer", snap(&newer_users, &[], &no_edges, 20));
        let out = p.finish(None);
        assert_eq!(names(&out), vec!["gone@x", "twice@x"]);
        assert!(out.users.iter().all(|u| u.pending_deletion));
        assert_eq!(out.evidence[1].id, "u-later");
        assert!(matches!(
            &out.evidence[1].source,
            PendingSource::History { snapshot, .. } if snapshot == "newer"
        ));
        assert_eq!(out.evidence[0].confidence(), Confidence::Low);
        // Memberships from the snapshot that listed the user, in groups that still exist.
        assert_eq!(out.edges.len(), 1);
        assert_eq!(out.edges[0].group, Key::parse("g-kept"));
        let dismissed: Vec<(&str, &str)> = out
            .dismissed
            .iter()
            .map(|d| (d.id.as_str(), d.why.as_str()))
            .collect();
        assert_eq!(dismissed.len(), 3, "{dismissed:?}");
        assert!(
            dismissed.iter().any(|(id, why)| *id == "u-old"
                && why.contains("userName is held by the live user taken@x"))
        );
        assert!(dismissed.iter().any(|(id, why)| *id == "u-ext-old"
            && why.contains("externalId is held by the live user other@x")));
        assert!(
            dismissed
                .iter()
                .any(|(id, why)| *id == "u-earlier" && why.contains("u-later"))
        );
    }

    #[test]
    fn the_console_list_is_authoritative_and_may_name_users_no_snapshot_lists() {
        let no_edges = Edges::default();
        let old = [user("u-a", "a@x"), user("u-b", "b@x")];
        let rows = [
            ConsoleRow {
                line: 2,
                user_name: "a@x".into(),
                ..ConsoleRow::default()
            },
            ConsoleRow {
                line: 3,
                user_name: "c@x".into(),
                external_id: Some("c@x".into()),
                ..ConsoleRow::default()
            },
        ];
        let (empty, old) = (IidUserTable::new(), table(&old));
        let mut p = Presumption::new(snap(&empty, &[], &no_edges, 27));
        p.add_history("old", snap(&old, &[], &no_edges, 10));
        let out = p.finish(Some(ConsoleList {
            file: "list.csv",
            rows: &rows,
        }));
        assert_eq!(names(&out), vec!["a@x", "c@x"]);
        assert!(
            out.evidence
                .iter()
                .all(|e| e.confidence() == Confidence::High)
        );
        assert!(out.evidence[0].id_known);
        assert_eq!(out.evidence[0].id, "u-a");
        // c@x: no snapshot and no id: its SCIM id is unknown.
        assert!(!out.evidence[1].id_known);
        assert!(out.evidence[1].describe().contains("SCIM id is unknown"));
        assert_eq!(out.dismissed.len(), 1);
        assert_eq!(out.dismissed[0].id, "u-b");
        assert!(out.dismissed[0].why.contains("does not: deleted for good"));
    }

    #[test]
    fn a_tenant_that_lists_pending_users_leaves_history_nothing_to_presume() {
        let no_edges = Edges::default();
        let old = [user("u-a", "a@x")];
        let (empty, old) = (IidUserTable::new(), table(&old));
        let mut p = Presumption::new(snap(&empty, &[], &no_edges, 27));
        p.listing_shows_pending(true);
        p.add_history("old", snap(&old, &[], &no_edges, 10));
        let out = p.finish(None);
        assert!(out.users.is_empty());
        assert!(out.dismissed[0].why.contains("pending_deletion_listed"));
    }
}
