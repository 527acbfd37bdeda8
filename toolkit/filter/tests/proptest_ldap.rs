#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Property tests for LDAP filters: the parser is total, and print → parse is the
//! identity on ASTs.

use dirsnap_filter::ldap::{self, LdapEntry, LdapFilter, escape_value};
use proptest::prelude::*;

fn attr() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => "[a-zA-Z][a-zA-Z0-9-]{0,8}",
        1 => "[0-9]{1,3}(\\.[0-9]{1,3}){1,4}",
        1 => "[a-zA-Z][a-zA-Z0-9]{0,5};[a-zA-Z0-9-]{1,6}",
        1 => Just("member;range=0-1499".to_string()),
        1 => Just("member;range=1500-*".to_string()),
        1 => Just("cn;Range".to_string()),
    ]
}

fn rule() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9]{1,3}(\\.[0-9]{1,3}){0,4}",
        "[a-zA-Z][a-zA-Z0-9]{0,12}",
        prop::sample::select(vec![
            "1.2.840.113556.1.4.803",
            "1.2.840.113556.1.4.804",
            "1.2.840.113556.1.4.1941",
            "caseExactMatch",
        ])
        .prop_map(String::from),
    ]
    .prop_filter("dn is a keyword", |r| !r.eq_ignore_ascii_case("dn"))
}

fn bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..12),
        "[ -~]{0,12}".prop_map(String::into_bytes),
        any::<String>().prop_map(String::into_bytes),
        "[0-9]{1,2}-[0-9*]{1,2}[=~<>:][a-z]{0,2}".prop_map(String::into_bytes),
    ]
}

fn nonempty() -> impl Strategy<Value = Vec<u8>> {
    bytes().prop_filter("non-empty", |b| !b.is_empty())
}

fn leaf() -> impl Strategy<Value = LdapFilter> {
    prop_oneof![
        (attr(), bytes()).prop_map(|(attr, value)| LdapFilter::Equality { attr, value }),
        (
            attr(),
            prop::option::of(nonempty()),
            prop::collection::vec(nonempty(), 0..3),
            prop::option::of(nonempty())
        )
            .prop_filter("some part", |(_, i, a, f)| i.is_some()
                || !a.is_empty()
                || f.is_some())
            .prop_map(|(attr, initial, any, final_)| LdapFilter::Substrings {
                attr,
                initial,
                any,
                final_
            }),
        (attr(), bytes()).prop_map(|(attr, value)| LdapFilter::GreaterOrEqual { attr, value }),
        (attr(), bytes()).prop_map(|(attr, value)| LdapFilter::LessOrEqual { attr, value }),
        attr().prop_map(|attr| LdapFilter::Present { attr }),
        (attr(), bytes()).prop_map(|(attr, value)| LdapFilter::Approx { attr, value }),
        (
            prop::option::of(attr()),
            any::<bool>(),
            prop::option::of(rule()),
            bytes()
        )
            .prop_filter("attr or rule", |(a, _, r, _)| a.is_some() || r.is_some())
            .prop_map(
                |(attr, dn_attributes, rule, value)| LdapFilter::Extensible {
                    attr,
                    dn_attributes,
                    rule,
                    value
                }
            ),
    ]
}

fn filter() -> impl Strategy<Value = LdapFilter> {
    leaf().prop_recursive(5, 48, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(LdapFilter::And),
            prop::collection::vec(inner.clone(), 0..4).prop_map(LdapFilter::Or),
            inner.prop_map(|f| LdapFilter::Not(Box::new(f))),
        ]
    })
}

struct Entry;

impl LdapEntry for Entry {
    fn values(&self, attr: &str) -> Vec<&[u8]> {
        match attr.to_ascii_lowercase().as_str() {
            "cn" => vec![b"Babs Jensen", b"\xff\xfe"],
            "useraccountcontrol" => vec![b"-1", b"514"],
            "member" => vec![b"CN=a,DC=x"],
            _ => Vec::new(),
        }
    }
    fn dn(&self) -> &str {
        "CN=Babs\\, J+UID=1,OU=a\\2cb,DC=example,DC=local\\"
    }
    fn in_chain(&self, _: &str, _: &str) -> bool {
        true
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn parse_never_panics_on_arbitrary_strings(s in any::<String>()) {
        if let Ok(f) = ldap::parse(&s) {
            let _ = f.evaluate(&Entry);
        }
    }

    #[test]
    fn parse_never_panics_on_filterish_strings(s in r"[()&|!=~<>*:;\\ a-zA-Z0-9.,-]{0,80}") {
        if let Ok(f) = ldap::parse(&s) {
            prop_assert_eq!(ldap::parse(&f.to_string()).unwrap(), f.clone());
            let _ = f.evaluate(&Entry);
        }
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash(n in 257usize..5000, which in 0usize..3) {
        let open = ["(!", "(&", "(|(a=b)"][which];
        let s = format!("{}(a=b){}", open.repeat(n), ")".repeat(n));
        prop_assert!(ldap::parse(&s).is_err());
    }

    #[test]
    fn print_parse_round_trip(f in filter()) {
        let text = f.to_string();
        let parsed = ldap::parse(&text);
        prop_assert!(parsed.is_ok(), "{} -> {:?}", text, parsed);
        prop_assert_eq!(parsed.unwrap(), f.clone());
        let _ = f.evaluate(&Entry);
    }

    #[test]
    fn escaped_values_round_trip(value in bytes()) {
        let text = format!("(cn={})", escape_value(&value));
        prop_assert_eq!(
            ldap::parse(&text).unwrap(),
            LdapFilter::Equality { attr: "cn".into(), value }
        );
    }
}
