#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Property tests for SCIM filters: the parser is total, and print → parse is the
//! identity on ASTs.

use dirsnap_filter::scim::{
    self, AttrPath, CompareOp, CompareValue, DefaultSchema, Filter, PatchPath,
};
use proptest::prelude::*;
use serde_json::json;

fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => "[a-zA-Z][a-zA-Z0-9_-]{0,8}",
        1 => prop::sample::select(vec![
            "not", "and", "or", "pr", "eq", "true", "null", "$ref", "NOT", "Or",
        ])
        .prop_map(String::from),
    ]
}

fn urn() -> impl Strategy<Value = Option<String>> {
    prop::sample::select(vec![
        None,
        None,
        Some("urn:ietf:params:scim:schemas:core:2.0:User"),
        Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"),
        Some("urn:iij:params:scim:schemas:extension:enterprisejp:2.0:User"),
        Some("urn:oidfj:params:scim:schemas:extention:enterprisejp:2.0:User"),
        Some("urn:x"),
    ])
    .prop_map(|u| u.map(String::from))
}

fn attr_path() -> impl Strategy<Value = AttrPath> {
    (urn(), name(), prop::option::of(name())).prop_map(|(urn, name, sub)| AttrPath {
        urn,
        name,
        sub,
    })
}

fn value() -> impl Strategy<Value = CompareValue> {
    prop_oneof![
        any::<String>().prop_map(CompareValue::String),
        "[ -~]{0,12}".prop_map(CompareValue::String),
        any::<i64>().prop_map(|n| CompareValue::Number(n.into())),
        any::<u64>().prop_map(|n| CompareValue::Number(n.into())),
        any::<f64>().prop_filter_map("finite", |f| {
            serde_json::Number::from_f64(f).map(CompareValue::Number)
        }),
        any::<bool>().prop_map(CompareValue::Bool),
        Just(CompareValue::Null),
    ]
}

fn op() -> impl Strategy<Value = CompareOp> {
    prop::sample::select(vec![
        CompareOp::Eq,
        CompareOp::Ne,
        CompareOp::Co,
        CompareOp::Sw,
        CompareOp::Ew,
        CompareOp::Gt,
        CompareOp::Ge,
        CompareOp::Lt,
        CompareOp::Le,
    ])
}

fn leaf() -> impl Strategy<Value = Filter> {
    prop_oneof![
        3 => (attr_path(), op(), value()).prop_map(|(path, op, value)| Filter::Compare { path, op, value }),
        1 => attr_path().prop_map(|path| Filter::Present { path }),
    ]
}

fn combine(inner: BoxedStrategy<Filter>) -> BoxedStrategy<Filter> {
    prop_oneof![
        prop::collection::vec(inner.clone(), 2..4).prop_map(Filter::And),
        prop::collection::vec(inner.clone(), 2..4).prop_map(Filter::Or),
        inner.prop_map(|f| Filter::Not(Box::new(f))),
    ]
    .boxed()
}

/// Filters allowed inside `[...]`: no nested value paths.
fn value_filter() -> BoxedStrategy<Filter> {
    leaf().boxed().prop_recursive(4, 24, 3, combine).boxed()
}

fn filter() -> BoxedStrategy<Filter> {
    let value_path = (urn(), name(), value_filter()).prop_map(|(urn, name, f)| Filter::ValuePath {
        path: AttrPath {
            urn,
            name,
            sub: None,
        },
        filter: Box::new(f),
    });
    prop_oneof![3 => leaf(), 1 => value_path]
        .boxed()
        .prop_recursive(5, 48, 3, combine)
        .boxed()
}

fn sample_resource() -> serde_json::Value {
    json!({
        "userName": "bjensen",
        "not": "x",
        "name": {"familyName": "Jensen"},
        "emails": [{"type": "work", "value": "a@example.com"}, "raw"],
        "count": 3,
        "flag": true,
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "x"},
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn parse_never_panics_on_arbitrary_strings(s in any::<String>()) {
        let _ = scim::parse(&s);
        let _ = PatchPath::parse(&s);
    }

    #[test]
    fn parse_never_panics_on_filterish_strings(s in r#"[()\[\]" a-zA-Z0-9.:$\\_-]{0,80}"#) {
        if let Ok(f) = scim::parse(&s) {
            // Whatever parses must print and re-parse to the same AST, and evaluate.
            prop_assert_eq!(scim::parse(&f.to_string()).unwrap(), f.clone());
            let _ = f.matches(&sample_resource(), &DefaultSchema);
        }
        let _ = PatchPath::parse(&s);
    }

    #[test]
    fn keyword_soup_never_panics(words in prop::collection::vec(prop::sample::select(vec![
        "(", ")", "[", "]", "not", "and", "or", "eq", "pr", "a", "b.c", "\"x\"", "1", "-2.5e3",
        "true", "null", "urn:x:y", "].d", "\"\\u", "\\", "\"", "emails[",
    ]), 0..40)) {
        let s = words.join(" ");
        if let Ok(f) = scim::parse(&s) {
            prop_assert_eq!(scim::parse(&f.to_string()).unwrap(), f.clone());
        }
        let _ = PatchPath::parse(&words.concat());
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash(n in 257usize..3000, which in 0usize..4) {
        let open = ["(", "not (", "a[", "(not ("][which];
        let s = format!("{}a pr{}", open.repeat(n), ")".repeat(n));
        prop_assert!(scim::parse(&s).is_err());
    }

    #[test]
    fn print_parse_round_trip(f in filter()) {
        let text = f.to_string();
        let parsed = scim::parse(&text);
        prop_assert!(parsed.is_ok(), "{} -> {:?}", text, parsed);
        prop_assert_eq!(parsed.unwrap(), f.clone());
        // Evaluation is total too.
        let _ = f.matches(&sample_resource(), &DefaultSchema);
    }

    #[test]
    fn patch_path_round_trip(
        attr in attr_path(),
        filter in prop::option::of(value_filter()),
        sub in prop::option::of(name()),
    ) {
        let p = match filter {
            Some(f) => PatchPath { attr: AttrPath { sub: None, ..attr }, filter: Some(f), sub },
            None => PatchPath { attr, filter: None, sub: None },
        };
        let text = p.to_string();
        prop_assert_eq!(PatchPath::parse(&text).unwrap(), p);
    }
}
