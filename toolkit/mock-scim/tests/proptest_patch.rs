#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Laws of the store under arbitrary client input: no request body makes it panic, every
//! refusal is a SCIM error (4xx), and whatever it accepts still satisfies the invariants
//! (required name present, uniqueness kept, the snapshot conversion works).

use dirsnap_mock_scim::clock::LogicalClock;
use dirsnap_mock_scim::schema::{Kind, Registry};
use dirsnap_mock_scim::store::{Env, Store};
use dirsnap_mock_scim::{Profile, snapshot};
use proptest::prelude::*;
use serde_json::{Value, json};
use std::collections::HashSet;

fn path() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("userName".to_owned()),
        Just("externalId".to_owned()),
        Just("displayName".to_owned()),
        Just("name.givenName".to_owned()),
        Just("emails".to_owned()),
        Just("emails[type eq \"work\"].value".to_owned()),
        Just("emails[value co \"@\"]".to_owned()),
        Just("members[value eq \"u\"]".to_owned()),
        Just("active".to_owned()),
        Just("id".to_owned()),
        Just("groups".to_owned()),
        Just("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User".to_owned()),
        Just("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department".to_owned()),
        Just("urn:iij:params:scim:schemas:extension:enterprisejp:2.0:User:downstreamId".to_owned()),
        "[a-zA-Z\\[\\]\\. :\"=]{0,24}",
    ]
}

fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        "[a-z@. ]{0,8}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-zA-Z]{1,6}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn operation() -> impl Strategy<Value = Value> {
    (
        prop_oneof![
            Just("add"),
            Just("remove"),
            Just("replace"),
            Just("Replace"),
            Just("move")
        ],
        prop::option::of(path()),
        prop::option::of(value()),
    )
        .prop_map(|(op, path, value)| {
            let mut o = json!({"op": op});
            if let Some(p) = path {
                o["path"] = json!(p);
            }
            if let Some(v) = value {
                o["value"] = v;
            }
            o
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_patches_never_break_the_store(
        ops in prop::collection::vec(operation(), 1..6),
        create in value(),
    ) {
        let registry = Registry::builtin();
        let profile = Profile::iij();
        let clock = LogicalClock::new(chrono::DateTime::UNIX_EPOCH, chrono::Duration::seconds(1));
        let env = Env { registry: &registry, profile: &profile, clock: &clock, base_url: "http://mock/" };
        let mut store = Store::new(1);
        let a = store.create(&env, Kind::User, &json!({"userName": "a@x", "externalId": "A"})).unwrap().entry.id;
        store.create(&env, Kind::User, &json!({"userName": "b@x", "externalId": "B"})).unwrap();
        // An arbitrary create body: accepted or a 4xx, never a panic.
        if let Err(e) = store.create(&env, Kind::User, &create) {
            prop_assert!((400..500).contains(&e.status), "{e}");
        }
        let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops});
        match store.patch(&env, Kind::User, &a, &body, None) {
            Ok(entry) => {
                let name = entry.resource["userName"].as_str().unwrap_or("");
                prop_assert!(!name.is_empty());
            }
            Err(e) => prop_assert!((400..500).contains(&e.status), "{e}"),
        }
        // Uniqueness still holds, and the state still converts to snapshot rows.
        let rows = snapshot::tables(&store, &profile).unwrap();
        let names: HashSet<String> = rows.users.iter().map(|u| u.user_name.to_lowercase()).collect();
        prop_assert_eq!(names.len(), rows.users.len());
        let exts: Vec<&String> = rows.users.iter().filter_map(|u| u.external_id.as_ref()).collect();
        let unique: HashSet<&&String> = exts.iter().collect();
        prop_assert_eq!(unique.len(), exts.len());
    }
}
