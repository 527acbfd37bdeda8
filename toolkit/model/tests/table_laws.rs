//! Laws of the engine's user tables: whatever the rows and however a table is put together
//! (pushed one by one, reserved ahead, joined from parts split anywhere), it reads back
//! exactly the rows it was given.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use dirsnap_model::{AdUser, AdUserTable, Guid, IidUser, IidUserTable};
use proptest::prelude::*;

/// Text as a snapshot may hold it: empty, ASCII, Japanese, or long.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[a-z0-9@.=,]{1,12}",
        "[山田太郎花子営業部]{1,6}",
        "[a-z]{200,400}",
    ]
}

fn iid_user() -> impl Strategy<Value = IidUser> {
    (
        text(),
        text(),
        proptest::option::of(text()),
        proptest::option::of(text()),
        any::<bool>(),
        proptest::collection::vec(text(), 0..4),
        any::<bool>(),
    )
        .prop_map(
            |(id, user_name, external_id, downstream_id, active, emails, pending)| IidUser {
                id,
                user_name,
                external_id,
                downstream_id,
                active,
                emails,
                pending_deletion: pending,
                ..IidUser::default()
            },
        )
}

fn ad_user() -> impl Strategy<Value = AdUser> {
    (
        any::<[u8; 16]>(),
        text(),
        proptest::option::of(text()),
        proptest::option::of(proptest::collection::vec(any::<u8>(), 0..20)),
        proptest::option::of(any::<u32>()),
        any::<bool>(),
    )
        .prop_map(|(guid, dn, mail, consistency_guid, uac, enabled)| AdUser {
            object_guid: Guid(guid),
            dn,
            mail,
            consistency_guid,
            user_account_control: uac,
            enabled,
            ..AdUser::default()
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn iid_rows_read_back_however_the_table_is_joined(
        rows in proptest::collection::vec(iid_user(), 0..200),
        splits in proptest::collection::vec(any::<prop::sample::Index>(), 0..4),
        batch in 1usize..50,
    ) {
        let whole = IidUserTable::from_rows(&rows).unwrap();
        prop_assert_eq!(whole.len(), rows.len());
        prop_assert_eq!(whole.to_rows(), rows.clone());

        let mut cuts: Vec<usize> = splits.iter().map(|i| i.index(rows.len() + 1)).collect();
        cuts.sort_unstable();
        let mut joined = IidUserTable::new();
        joined.reserve_rows(rows.len());
        let mut start = 0;
        for end in cuts.into_iter().chain([rows.len()]) {
            let mut part = IidUserTable::new();
            for chunk in rows[start..end].chunks(batch) {
                part.reserve_for(chunk);
                for row in chunk {
                    part.push(row).unwrap();
                }
            }
            joined.append(part).unwrap();
            start = end;
        }
        prop_assert_eq!(joined.to_rows(), rows.clone());
        for (view, row) in joined.iter().zip(&rows) {
            prop_assert_eq!(view.user_name(), row.user_name.as_str());
            prop_assert_eq!(view.external_id(), row.external_id.as_deref());
            prop_assert_eq!(view.emails().iter().collect::<Vec<_>>(), row.emails.iter().map(String::as_str).collect::<Vec<_>>());
        }
    }

    #[test]
    fn ad_rows_read_back_and_views_agree_with_them(
        rows in proptest::collection::vec(ad_user(), 0..100),
    ) {
        let table = AdUserTable::from_rows(&rows).unwrap();
        prop_assert_eq!(table.iter().len(), rows.len());
        for (index, row) in rows.iter().enumerate() {
            let view = table.get(index).unwrap();
            prop_assert_eq!(view.index(), index);
            prop_assert_eq!(view.object_guid(), &row.object_guid);
            prop_assert_eq!(view.dn(), row.dn.as_str());
            prop_assert_eq!(view.mail(), row.mail.as_deref());
            prop_assert_eq!(view.consistency_guid(), row.consistency_guid.as_deref());
            prop_assert_eq!(view.consistency_guid_as_guid(), row.consistency_guid_as_guid());
            prop_assert_eq!(view.label(), row.label());
            prop_assert_eq!(view.to_row(), row.clone());
        }
        prop_assert!(table.get(rows.len()).is_none());
    }
}
