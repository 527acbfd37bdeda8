#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Write → read round trips and the refusal of damaged snapshots.

use chrono::{DateTime, TimeZone, Utc};
use dirsnap_model::{
    AdGroup, AdUser, Guid, IidGroup, IidUser, M365User, MemberKind, Membership, SnapshotKind,
};
use dirsnap_snapshot::{
    Ad, Iid, KindSpec, M365, ReadOptions, Snapshot, SnapshotError, SnapshotMeta, SnapshotWriter,
    Tables, Tabular,
};
use proptest::prelude::*;
use std::path::Path;

fn opt<T: std::fmt::Debug + Clone + 'static>(
    s: impl Strategy<Value = T> + 'static,
) -> BoxedStrategy<Option<T>> {
    prop_oneof![Just(None), s.prop_map(Some)].boxed()
}

/// Unicode text including the empty string, Japanese, control characters and emoji.
fn text() -> BoxedStrategy<String> {
    prop_oneof![
        Just(String::new()),
        "[a-z]{1,12}",
        "\\PC{0,24}",
        "[山田太郎花子営業部ｶﾀｶﾅ😀\u{0}\n\"\\\\]{0,10}",
    ]
    .boxed()
}

fn ts() -> BoxedStrategy<DateTime<Utc>> {
    (0i64..4_000_000_000_000_000i64)
        .prop_map(|us| DateTime::from_timestamp_micros(us).unwrap())
        .boxed()
}

fn guid() -> BoxedStrategy<Guid> {
    any::<[u8; 16]>().prop_map(Guid).boxed()
}

prop_compose! {
    fn ad_user()(
        object_guid in guid(), object_sid in opt(text()), dn in text(), domain in text(),
        names in proptest::collection::vec(opt(text()), 10),
        consistency_guid in opt(proptest::collection::vec(any::<u8>(), 0..20)),
        user_account_control in opt(any::<u32>()), enabled in any::<bool>(),
        account_expires in opt(ts()), expired in any::<bool>(),
        when_created in opt(ts()), when_changed in opt(ts()), usn_changed in opt(any::<i64>()),
        is_deleted in any::<bool>(), raw in text(),
    ) -> AdUser {
        let mut n = names.into_iter();
        let mut next = || n.next().flatten();
        AdUser {
            object_guid, object_sid, dn, domain,
            sam_account_name: next(), user_principal_name: next(), mail: next(),
            given_name: next(), sn: next(), display_name: next(), department: next(),
            title: next(), telephone_number: next(), mobile: next(),
            consistency_guid, user_account_control, enabled, account_expires, expired,
            when_created, when_changed, usn_changed, is_deleted, raw,
        }
    }
}

prop_compose! {
    fn ad_group()(
        object_guid in guid(), object_sid in opt(text()), dn in text(), domain in text(),
        sam in opt(text()), cn in opt(text()), display_name in opt(text()),
        description in opt(text()), mail in opt(text()), group_type in opt(any::<i32>()),
        when_created in opt(ts()), when_changed in opt(ts()), usn_changed in opt(any::<i64>()),
        is_deleted in any::<bool>(), raw in text(),
    ) -> AdGroup {
        AdGroup { object_guid, object_sid, dn, domain, sam_account_name: sam, cn, display_name,
            description, mail, group_type, when_created, when_changed, usn_changed, is_deleted, raw }
    }
}

prop_compose! {
    fn iid_user()(
        id in text(), user_name in text(), names in proptest::collection::vec(opt(text()), 10),
        active in any::<bool>(), emails in proptest::collection::vec(text(), 0..4),
        pending_deletion in any::<bool>(), meta_created in opt(ts()), meta_last_modified in opt(ts()),
        raw in text(),
    ) -> IidUser {
        let mut n = names.into_iter();
        let mut next = || n.next().flatten();
        IidUser {
            id, user_name, external_id: next(), downstream_id: next(), active,
            display_name: next(), family_name: next(), given_name: next(), email: next(), emails,
            title: next(), department: next(), preferred_language: next(), timezone: next(),
            pending_deletion, meta_created, meta_last_modified, meta_version: None, raw,
        }
    }
}

prop_compose! {
    fn membership()(
        group_key in text(), member_key in opt(text()),
        kind in prop_oneof![Just(MemberKind::User), Just(MemberKind::Group), Just(MemberKind::Unknown)],
        member_ref in opt(text()), member_display in opt(text()), in_scope in any::<bool>(),
    ) -> Membership {
        Membership { group_key, member_key, member_kind: kind, member_ref, member_display, in_scope }
    }
}

fn meta() -> SnapshotMeta {
    SnapshotMeta {
        taken_at: Some(Utc.with_ymd_and_hms(2026, 11, 27, 1, 0, 0).unwrap()),
        ..SnapshotMeta::default()
    }
}

fn write_and_read<K: KindSpec>(
    dir: &Path,
    users: &[K::User],
    groups: &[K::Group],
    memberships: &[Membership],
) -> Tables<K> {
    let target = dir.join("snap");
    let mut w = SnapshotWriter::<K>::create(&target).unwrap();
    // Write in two calls per table to exercise streaming.
    let (u1, u2) = users.split_at(users.len() / 2);
    w.write_users(u1).unwrap();
    w.write_users(u2).unwrap();
    w.write_groups(groups).unwrap();
    w.write_memberships(memberships).unwrap();
    let manifest = w.commit(meta()).unwrap();
    assert_eq!(manifest.counts.users, users.len() as u64);
    let snap = Snapshot::open(&target).unwrap();
    snap.verify().unwrap();
    snap.read::<K>(&ReadOptions::default()).unwrap()
}

/// The users `write_and_read` wrote into `dir`, read as the engine reads them.
fn user_table<R: Tabular>(dir: &Path, options: &ReadOptions) -> R::Columns {
    Snapshot::open(dir.join("snap"))
        .unwrap()
        .read_user_table::<R>(options)
        .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn ad_round_trip(
        users in proptest::collection::vec(ad_user(), 0..40),
        groups in proptest::collection::vec(ad_group(), 0..10),
        memberships in proptest::collection::vec(membership(), 0..40),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let t = write_and_read::<Ad>(dir.path(), &users, &groups, &memberships);
        let table = user_table::<AdUser>(dir.path(), &ReadOptions::default());
        prop_assert_eq!(table.to_rows(), users.clone());
        prop_assert_eq!(t.users, users);
        prop_assert_eq!(t.groups, groups);
        prop_assert_eq!(t.memberships, memberships);
    }

    #[test]
    fn iid_round_trip(
        users in proptest::collection::vec(iid_user(), 0..40),
        memberships in proptest::collection::vec(membership(), 0..40),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let groups: Vec<IidGroup> = users.iter().take(3).map(|u| IidGroup {
            id: u.id.clone(), display_name: u.user_name.clone(), external_id: u.external_id.clone(),
            ..IidGroup::default()
        }).collect();
        let t = write_and_read::<Iid>(dir.path(), &users, &groups, &memberships);
        let table = user_table::<IidUser>(dir.path(), &ReadOptions::default());
        prop_assert_eq!(table.to_rows(), users.clone());
        prop_assert_eq!(t.users, users);
        prop_assert_eq!(t.groups, groups);
        prop_assert_eq!(t.memberships, memberships);
    }
}

#[test]
fn empty_strings_and_nulls_stay_distinct() {
    let dir = tempfile::tempdir().unwrap();
    let users = vec![
        M365User {
            id: "a".into(),
            user_principal_name: "".into(),
            mail: Some(String::new()),
            account_enabled: None,
            licenses: vec![String::new(), "E3".into()],
            ..M365User::default()
        },
        M365User {
            id: "b".into(),
            mail: None,
            account_enabled: Some(false),
            ..M365User::default()
        },
    ];
    let t = write_and_read::<M365>(dir.path(), &users, &[], &[]);
    assert_eq!(t.users, users);
    assert_eq!(t.users[0].mail.as_deref(), Some(""));
    assert_eq!(t.users[1].mail, None);
}

#[test]
fn empty_snapshot_and_group_of_100k_members() {
    let dir = tempfile::tempdir().unwrap();
    let t = write_and_read::<Ad>(&dir.path().join("empty"), &[], &[], &[]);
    assert!(t.users.is_empty() && t.groups.is_empty() && t.memberships.is_empty());

    let group = AdGroup {
        object_guid: Guid([7; 16]),
        dn: "CN=big,DC=example,DC=com".into(),
        ..AdGroup::default()
    };
    let members: Vec<Membership> = (0..100_000u32)
        .map(|i| Membership {
            group_key: group.object_guid.to_string(),
            member_key: Some(format!("member-{i}")),
            member_kind: MemberKind::User,
            member_ref: Some(format!("CN=user{i},OU=Staff,DC=example,DC=com")),
            member_display: None,
            in_scope: true,
        })
        .collect();
    let t = write_and_read::<Ad>(
        &dir.path().join("big"),
        &[],
        std::slice::from_ref(&group),
        &members,
    );
    assert_eq!(t.groups, vec![group]);
    assert_eq!(t.memberships.len(), 100_000);
    assert_eq!(t.memberships, members);
}

fn small_snapshot(dir: &Path) -> std::path::PathBuf {
    let target = dir.join("snap");
    let mut w = SnapshotWriter::<Ad>::create(&target).unwrap();
    w.write_users(&[AdUser {
        object_guid: Guid([1; 16]),
        dn: "CN=a,DC=x".into(),
        raw: "{}".into(),
        ..AdUser::default()
    }])
    .unwrap();
    w.commit(meta()).unwrap();
    target
}

#[test]
fn corrupt_data_file_is_refused_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let snap = small_snapshot(dir.path());
    let file = snap.join("users.parquet");
    let mut bytes = std::fs::read(&file).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(&file, bytes).unwrap();
    let err = Snapshot::open(&snap)
        .unwrap()
        .read::<Ad>(&ReadOptions::default())
        .unwrap_err();
    assert!(matches!(err, SnapshotError::Checksum { .. }), "{err}");
    assert!(err.to_string().contains("users.parquet"), "{err}");
    assert!(err.is_invalid_input());
}

#[test]
fn schema_version_and_missing_manifest_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let snap = small_snapshot(dir.path());
    let manifest = snap.join("manifest.json");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(
        &manifest,
        text.replace("\"schema_version\": 1", "\"schema_version\": 99"),
    )
    .unwrap();
    let err = Snapshot::open(&snap).unwrap_err();
    assert!(
        matches!(err, SnapshotError::SchemaVersion { found: 99, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("manifest.json"), "{err}");

    std::fs::remove_file(&manifest).unwrap();
    let err = Snapshot::open(&snap).unwrap_err();
    assert!(
        matches!(err, SnapshotError::MissingManifest { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("no manifest.json"), "{err}");
}

#[test]
fn deleted_data_file_and_wrong_kind_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let snap = small_snapshot(dir.path());
    let err = Snapshot::open(&snap)
        .unwrap()
        .read::<Iid>(&ReadOptions::default())
        .unwrap_err();
    assert!(matches!(err, SnapshotError::KindMismatch { .. }), "{err}");
    std::fs::remove_file(snap.join("groups.parquet")).unwrap();
    let err = Snapshot::open(&snap).unwrap_err();
    assert!(err.to_string().contains("groups.parquet"), "{err}");
}

#[test]
fn existing_target_is_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let snap = small_snapshot(dir.path());
    let err = SnapshotWriter::<Ad>::create(&snap).unwrap_err();
    assert!(matches!(err, SnapshotError::TargetExists { .. }));
    assert_eq!(Snapshot::open(&snap).unwrap().kind(), SnapshotKind::Ad);
}

#[test]
fn a_panic_midway_leaves_no_directory() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("snap");
    let t2 = target.clone();
    let result = std::panic::catch_unwind(move || {
        let mut w = SnapshotWriter::<Ad>::create(&t2).unwrap();
        w.write_users(&[AdUser::default()]).unwrap();
        panic!("injected failure between two tables");
    });
    assert!(result.is_err());
    assert!(!target.exists());
    let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert!(
        leftovers.is_empty(),
        "temporary directory left behind: {leftovers:?}"
    );
}

#[test]
fn skip_raw_leaves_raw_empty() {
    let dir = tempfile::tempdir().unwrap();
    let snap = small_snapshot(dir.path());
    let t = Snapshot::open(&snap)
        .unwrap()
        .read::<Ad>(&ReadOptions::without_raw())
        .unwrap();
    assert_eq!(t.users[0].raw, "");
    assert_eq!(t.users[0].dn, "CN=a,DC=x");
}

#[test]
fn many_rows_across_row_groups_and_threads_round_trip_in_order() {
    // 150k rows: three row groups, the raw column built on its own thread, decoded in parallel.
    let dir = tempfile::tempdir().unwrap();
    let users: Vec<AdUser> = (0..150_000u32)
        .map(|i| AdUser {
            object_guid: Guid({
                let mut b = [0u8; 16];
                b[..4].copy_from_slice(&i.to_le_bytes());
                b
            }),
            dn: format!("CN=user{i},DC=x"),
            domain: "x".into(),
            sam_account_name: (i % 3 != 0).then(|| format!("u{i}")),
            raw: format!(r#"{{"n":["{i}"]}}"#),
            ..AdUser::default()
        })
        .collect();
    let t = write_and_read::<Ad>(dir.path(), &users, &[], &[]);
    assert_eq!(t.users.len(), users.len());
    assert!(
        t.users == users,
        "rows differ after a parallel write and read"
    );
    // As the engine reads them: one part per row group, joined across table chunks.
    let table = user_table::<AdUser>(dir.path(), &ReadOptions::default());
    assert_eq!(table.len(), users.len());
    assert!(
        table.to_rows() == users,
        "the user table differs from the rows written"
    );
    let without_raw = user_table::<AdUser>(dir.path(), &ReadOptions::without_raw());
    assert_eq!(without_raw.get(149_999).map(|u| u.raw()), Some(""));
    assert_eq!(
        without_raw.get(149_999).map(|u| u.dn()),
        Some("CN=user149999,DC=x")
    );
}

/// Overwrites the first bytes of one column's pages in `users.parquet` and re-records the
/// file's sha256, so the checksum passes and only that column is damaged.
fn damage_column(snap: &Path, column: &str) {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let mut bytes = std::fs::read(snap.join("users.parquet")).unwrap();
    let reader = SerializedFileReader::new(bytes::Bytes::from(bytes.clone())).unwrap();
    let mut damaged = 0;
    for rg in reader.metadata().row_groups() {
        for c in rg.columns() {
            if c.column_path().string() == column {
                let (start, len) = c.byte_range();
                let start = usize::try_from(start).unwrap();
                for b in &mut bytes[start..start + usize::try_from(len).unwrap().min(64)] {
                    *b = 0xff;
                }
                damaged += 1;
            }
        }
    }
    assert!(damaged > 0, "no column {column}");
    write_users_bytes(snap, &bytes);
}

/// Writes `bytes` as a snapshot's users.parquet and updates the manifest's checksum, so the
/// reader gets past the checksum to the content.
fn write_users_bytes(snap: &Path, bytes: &[u8]) {
    std::fs::write(snap.join("users.parquet"), bytes).unwrap();
    let manifest = snap.join("manifest.json");
    let mut m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&manifest).unwrap()).unwrap();
    m["files"]["users.parquet"]["sha256"] = serde_json::Value::String({
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(bytes))
    });
    std::fs::write(&manifest, serde_json::to_string_pretty(&m).unwrap()).unwrap();
}

#[test]
fn skip_raw_never_decodes_the_raw_column() {
    // Damaged raw pages: a reader that decompressed or decoded them would fail. With
    // skip_raw the read succeeds, so raw is not materialised at all; without it, the damage
    // is reported. Likewise the derived object_guid text column is never decoded.
    let dir = tempfile::tempdir().unwrap();
    let snap = small_snapshot(dir.path());
    damage_column(&snap, "raw");
    damage_column(&snap, "object_guid");
    let s = Snapshot::open(&snap).unwrap();
    let t = s.read::<Ad>(&ReadOptions::without_raw()).unwrap();
    assert_eq!(t.users.len(), 1);
    assert_eq!(t.users[0].object_guid, Guid([1; 16]));
    assert_eq!(t.users[0].dn, "CN=a,DC=x");
    assert_eq!(t.users[0].raw, "");
    let err = s.read::<Ad>(&ReadOptions::default()).unwrap_err();
    assert!(
        matches!(err, SnapshotError::BadData { .. }),
        "damaged raw pages must fail a full read: {err}"
    );
    assert!(err.to_string().contains("users.parquet"), "{err}");
}

#[test]
fn skip_columns_never_decodes_them() {
    // Like `raw`: a damaged column named in skip_columns is neither read nor decoded, its
    // field keeps its default, and every other column is decoded as usual.
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("snap");
    let mut w = SnapshotWriter::<Ad>::create(&target).unwrap();
    w.write_users(&[AdUser {
        object_guid: Guid([1; 16]),
        dn: "CN=a,DC=x".into(),
        telephone_number: Some("03-1234".into()),
        mobile: Some("090-1".into()),
        raw: "{}".into(),
        ..AdUser::default()
    }])
    .unwrap();
    w.commit(meta()).unwrap();
    damage_column(&target, "telephone_number");
    let s = Snapshot::open(&target).unwrap();
    let options = ReadOptions {
        skip_columns: vec!["telephone_number"],
        ..ReadOptions::default()
    };
    let t = s.read::<Ad>(&options).unwrap();
    let table = s.read_user_table::<AdUser>(&options).unwrap();
    assert_eq!(table.to_rows(), t.users);
    assert_eq!(t.users[0].telephone_number, None);
    assert_eq!(t.users[0].mobile.as_deref(), Some("090-1"));
    assert_eq!(t.users[0].raw, "{}");
    let err = s.read::<Ad>(&ReadOptions::default()).unwrap_err();
    assert!(matches!(err, SnapshotError::BadData { .. }), "{err}");
}

/// The first batch of a snapshot's users.parquet.
fn users_batch(snap: &Path) -> arrow_array::RecordBatch {
    parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
        std::fs::File::open(snap.join("users.parquet")).unwrap(),
    )
    .unwrap()
    .build()
    .unwrap()
    .next()
    .unwrap()
    .unwrap()
}

/// Replaces a snapshot's users.parquet by `batch` (as another tool would write it) and
/// updates the manifest's checksum, so only the file's content is wrong.
fn replace_users_file(snap: &Path, batch: &arrow_array::RecordBatch) {
    let mut buf = Vec::new();
    let mut w = parquet::arrow::ArrowWriter::try_new(&mut buf, batch.schema(), None).unwrap();
    w.write(batch).unwrap();
    w.close().unwrap();
    write_users_bytes(snap, &buf);
}

#[test]
fn a_skipped_column_is_still_type_checked() {
    // A users.parquet whose raw column is not a string is refused even with skip_raw.
    use arrow_array::{ArrayRef, Int64Array, RecordBatch};
    let dir = tempfile::tempdir().unwrap();
    let snap = small_snapshot(dir.path());
    let good = users_batch(&snap);
    let schema = good.schema();
    let raw_at = schema.index_of("raw").unwrap();
    let mut fields: Vec<_> = schema.fields().iter().cloned().collect();
    fields[raw_at] = std::sync::Arc::new(arrow_schema::Field::new(
        "raw",
        arrow_schema::DataType::Int64,
        false,
    ));
    let mut cols: Vec<ArrayRef> = good.columns().to_vec();
    cols[raw_at] = std::sync::Arc::new(Int64Array::from(vec![7i64]));
    let batch =
        RecordBatch::try_new(std::sync::Arc::new(arrow_schema::Schema::new(fields)), cols).unwrap();
    replace_users_file(&snap, &batch);
    let err = Snapshot::open(&snap)
        .unwrap()
        .read::<Ad>(&ReadOptions::without_raw())
        .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("raw") && text.contains("Int64"), "{text}");
}

#[test]
fn a_missing_column_is_called_missing() {
    // A users.parquet without its `dn` column (a file written by another tool): the message
    // says the column is missing, not that it "has type nothing".
    use arrow_array::RecordBatch;
    let dir = tempfile::tempdir().unwrap();
    let snap = small_snapshot(dir.path());
    let good = users_batch(&snap);
    let mut batch: RecordBatch = good.clone();
    batch.remove_column(good.schema().index_of("dn").unwrap());
    replace_users_file(&snap, &batch);
    let err = Snapshot::open(&snap)
        .unwrap()
        .read::<Ad>(&ReadOptions::default())
        .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("column `dn` is missing"), "{text}");
    assert!(!text.contains("nothing"), "{text}");
    assert!(text.contains("users.parquet"), "{text}");
}
