#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! SCIM filter tests: RFC 7644 §3.4.2.2 examples (parse, print, evaluate), IIJ paths,
//! case rules, value types, error messages and PATCH paths.

use dirsnap_filter::scim::{
    self, AttrPath, AttributeSchema, CompareOp, CompareValue, DefaultSchema, Filter, PatchPath,
};
use serde_json::{Value, json};

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const IIJ: &str = "urn:iij:params:scim:schemas:extension:enterprisejp:2.0:User";
const OIDFJ: &str = "urn:oidfj:params:scim:schemas:extention:enterprisejp:2.0:User";

/// Employee, enterprise extension, work mail at example.com, lastModified 04:42:34Z.
fn bjensen() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
        "id": "2819c223-7f76-453a-919d-413861904646",
        "externalId": "bjensen-EXT",
        "userName": "bjensen",
        "name": {"familyName": "O'Malley", "givenName": "Barbara"},
        "title": "Tour Guide",
        "userType": "Employee",
        "active": true,
        "emails": [
            {"type": "work", "value": "bjensen@example.com", "primary": true},
            {"type": "home", "value": "babs@jensen.org"}
        ],
        "ims": [{"type": "aim", "value": "bjensen"}],
        "meta": {"lastModified": "2011-05-13T04:42:34Z", "version": "W/\"3694e05e9dff591\""},
        ENTERPRISE: {"department": "Tour Operations", "employeeNumber": "701984"}
    })
}

/// Intern, empty title, home mail at example.org, xmpp at foo.com, lastModified equal
/// to bjensen's instant but written with +09:00.
fn jsmith() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "id": "a1",
        "userName": "Jsmith",
        "title": "",
        "userType": "Intern",
        "active": false,
        "emails": [{"type": "home", "value": "js@example.org"}],
        "ims": [{"type": "xmpp", "value": "js@foo.com"}],
        "meta": {"lastModified": "2011-05-13T13:42:34+09:00"}
    })
}

/// Employee with a work mail elsewhere and an upper-case xmpp domain, modified in 2012.
fn cjones() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "id": "c1",
        "userName": "Cjones",
        "name": {"familyName": "Jones"},
        "title": "Engineer",
        "userType": "Employee",
        "emails": [{"type": "work", "value": "cjones@other.net"}],
        "ims": [{"type": "xmpp", "value": "cjones@FOO.com"}],
        "meta": {"lastModified": "2012-01-01T00:00:00Z"}
    })
}

/// A Group.
fn group() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "id": "g1",
        "displayName": "Tour Guides",
        "members": [
            {"value": "2819c223-7f76-453a-919d-413861904646", "display": "Babs Jensen"},
            {"value": "902c246b-6245-4190-8e05-00816be7344a", "display": "Mandy Pepperidge"}
        ],
        "meta": {"lastModified": "2010-01-23T04:56:22Z"}
    })
}

fn resources() -> [(&'static str, Value); 4] {
    [
        ("bjensen", bjensen()),
        ("jsmith", jsmith()),
        ("cjones", cjones()),
        ("group", group()),
    ]
}

/// (filter, expected match for [bjensen, jsmith, cjones, group])
const RFC_EXAMPLES: &[(&str, [bool; 4])] = &[
    (r#"userName eq "bjensen""#, [true, false, false, false]),
    (
        r#"name.familyName co "O'Malley""#,
        [true, false, false, false],
    ),
    (r#"userName sw "J""#, [false, true, false, false]),
    (
        r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J""#,
        [false, true, false, false],
    ),
    ("title pr", [true, false, true, false]),
    (
        r#"meta.lastModified gt "2011-05-13T04:42:34Z""#,
        [false, false, true, false],
    ),
    (
        r#"meta.lastModified ge "2011-05-13T04:42:34Z""#,
        [true, true, true, false],
    ),
    (
        r#"meta.lastModified lt "2011-05-13T04:42:34Z""#,
        [false, false, false, true],
    ),
    (
        r#"meta.lastModified le "2011-05-13T04:42:34Z""#,
        [true, true, false, true],
    ),
    (
        r#"title pr and userType eq "Employee""#,
        [true, false, true, false],
    ),
    (
        r#"title pr or userType eq "Intern""#,
        [true, true, true, false],
    ),
    (
        r#"schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User""#,
        [true, false, false, false],
    ),
    (
        r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#,
        [true, false, false, false],
    ),
    (
        r#"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#,
        // The group has no userType (so `ne` holds) and no emails.
        [false, false, false, true],
    ),
    (
        r#"userType eq "Employee" and (emails.type eq "work")"#,
        [true, false, true, false],
    ),
    (
        r#"userType eq "Employee" and emails[type eq "work" and value co "@example.com"]"#,
        [true, false, false, false],
    ),
    (
        r#"emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]"#,
        [true, true, true, false],
    ),
];

#[test]
fn rfc7644_examples_parse_print_and_evaluate() {
    let res = resources();
    for (text, expected) in RFC_EXAMPLES {
        let f = scim::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        // Canonical form drops only redundant grouping parentheses.
        let canonical = text.replace(r#"(emails.type eq "work")"#, r#"emails.type eq "work""#);
        assert_eq!(f.to_string(), canonical, "canonical print of {text}");
        assert_eq!(scim::parse(&f.to_string()).unwrap(), f);
        for ((name, r), want) in res.iter().zip(expected) {
            assert_eq!(f.matches(r, &DefaultSchema), *want, "{text} on {name}");
        }
    }
}

#[test]
fn rfc7644_example_asts() {
    assert_eq!(
        scim::parse(r#"userName eq "bjensen""#).unwrap(),
        Filter::Compare {
            path: AttrPath::new("userName"),
            op: CompareOp::Eq,
            value: CompareValue::String("bjensen".into()),
        }
    );
    let f = scim::parse(r#"title pr and userType eq "Employee" or userName sw "J""#).unwrap();
    let Filter::Or(items) = &f else {
        panic!("or at top: {f:?}")
    };
    assert!(matches!(&items[0], Filter::And(a) if a.len() == 2));
    let f = scim::parse(r#"userType ne "Employee" and not (emails co "example.com")"#).unwrap();
    let Filter::And(items) = &f else {
        panic!("{f:?}")
    };
    assert!(matches!(&items[1], Filter::Not(_)));
    let f = scim::parse(r#"emails[type eq "work" and value co "@example.com"]"#).unwrap();
    let Filter::ValuePath { path, filter } = &f else {
        panic!("{f:?}")
    };
    assert_eq!(path, &AttrPath::new("emails"));
    assert!(matches!(filter.as_ref(), Filter::And(a) if a.len() == 2));
    let f = scim::parse(r#"urn:ietf:params:scim:schemas:core:2.0:User:name.familyName eq "x""#)
        .unwrap();
    let Filter::Compare { path, .. } = f else {
        panic!()
    };
    assert_eq!(
        path,
        AttrPath {
            urn: Some("urn:ietf:params:scim:schemas:core:2.0:User".into()),
            name: "name".into(),
            sub: Some("familyName".into()),
        }
    );
}

#[test]
fn precedence_and_associativity() {
    let a = || Filter::Present {
        path: AttrPath::new("a"),
    };
    let b = || Filter::Present {
        path: AttrPath::new("b"),
    };
    let c = || Filter::Present {
        path: AttrPath::new("c"),
    };
    assert_eq!(
        scim::parse("a pr or b pr and c pr").unwrap(),
        Filter::Or(vec![a(), Filter::And(vec![b(), c()])])
    );
    assert_eq!(
        scim::parse("a pr and b pr or c pr").unwrap(),
        Filter::Or(vec![Filter::And(vec![a(), b()]), c()])
    );
    assert_eq!(
        scim::parse("a pr and b pr and c pr").unwrap(),
        Filter::And(vec![a(), b(), c()])
    );
    assert_eq!(
        scim::parse("(a pr and b pr) and c pr").unwrap(),
        Filter::And(vec![Filter::And(vec![a(), b()]), c()])
    );
    assert_eq!(
        scim::parse("not (a pr) and b pr").unwrap(),
        Filter::And(vec![Filter::Not(Box::new(a())), b()])
    );
    assert_eq!(
        scim::parse("(a pr or b pr) and c pr").unwrap().to_string(),
        "(a pr or b pr) and c pr"
    );
    assert_eq!(scim::parse("((((a pr))))").unwrap().to_string(), "a pr");
}

#[test]
fn display_name_empty_selects_nothing() {
    let f = scim::parse(r#"displayName eq """#).unwrap();
    for (name, r) in resources() {
        assert!(!f.matches(&r, &DefaultSchema), "{name}");
    }
    assert!(!f.matches(&json!({"displayName": null}), &DefaultSchema));
    assert!(!f.matches(&json!({"displayName": "x"}), &DefaultSchema));
    assert_eq!(f.to_string(), r#"displayName eq """#);
}

fn iij_user() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", IIJ, OIDFJ],
        "userName": "taro@example.jp",
        IIJ: {"downstreamId": "AD-0001"},
        OIDFJ: {"organization": {"departmentName": "営業部"}, "familyNameKana": "ヤマダ"}
    })
}

#[test]
fn iij_extension_paths() {
    let u = iij_user();
    let cases: &[(&str, bool)] = &[
        (
            r#"urn:iij:params:scim:schemas:extension:enterprisejp:2.0:User:downstreamId eq "AD-0001""#,
            true,
        ),
        (
            r#"urn:iij:params:scim:schemas:extension:enterprisejp:2.0:User:downstreamId eq "ad-0001""#,
            true,
        ),
        (
            r#"URN:IIJ:params:scim:schemas:extension:ENTERPRISEJP:2.0:User:DOWNSTREAMID eq "AD-0001""#,
            true,
        ),
        (
            "urn:iij:params:scim:schemas:extension:enterprisejp:2.0:User:downstreamId pr",
            true,
        ),
        (
            r#"urn:oidfj:params:scim:schemas:extention:enterprisejp:2.0:User:familyNameKana eq "ヤマダ""#,
            true,
        ),
        (
            r#"urn:oidfj:params:scim:schemas:extention:enterprisejp:2.0:User:organization.departmentName sw "営業""#,
            true,
        ),
        // Unqualified names only see the core (top-level) attributes.
        (r#"downstreamId eq "AD-0001""#, false),
        // The correctly spelled URN is a different schema.
        (
            "urn:oidfj:params:scim:schemas:extension:enterprisejp:2.0:User:familyNameKana pr",
            false,
        ),
        (
            r#"urn:ietf:params:scim:schemas:core:2.0:User:userName eq "TARO@example.jp""#,
            true,
        ),
    ];
    for (text, want) in cases {
        let f = scim::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(f.matches(&u, &DefaultSchema), *want, "{text}");
        assert_eq!(scim::parse(&f.to_string()).unwrap(), f);
    }
    let Filter::Present { path } =
        scim::parse("urn:iij:params:scim:schemas:extension:enterprisejp:2.0:User:downstreamId pr")
            .unwrap()
    else {
        panic!()
    };
    assert_eq!(path.urn.as_deref(), Some(IIJ));
    assert_eq!(path.name, "downstreamId");
    assert_eq!(path.sub, None);
    assert!(
        scim::parse(&format!(r#"{ENTERPRISE}:department eq "Tour Operations""#))
            .unwrap()
            .matches(&bjensen(), &DefaultSchema)
    );
}

#[test]
fn keywords_and_attribute_names_are_case_insensitive() {
    let b = bjensen();
    for text in [
        r#"USERNAME EQ "BJENSEN""#,
        r#"userName Eq "bjensen" AnD title Pr"#,
        r#"NOT (userName eq "nobody") OR title pr"#,
        r#"EMAILS[TYPE eq "WORK"]"#,
        r#"Name.FamilyName eq "o'malley""#,
        r#"active eq TRUE"#,
        r#"nickName EQ NULL"#,
    ] {
        let f = scim::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert!(f.matches(&b, &DefaultSchema), "{text}");
    }
    assert_eq!(
        scim::parse(r#"userName EQ "x" AND title PR"#)
            .unwrap()
            .to_string(),
        r#"userName eq "x" and title pr"#
    );
}

#[test]
fn case_exact_attributes() {
    let b = bjensen();
    let yes = |t: &str| scim::parse(t).unwrap().matches(&b, &DefaultSchema);
    assert!(yes(r#"externalId eq "bjensen-EXT""#));
    assert!(!yes(r#"externalId eq "BJENSEN-ext""#));
    assert!(!yes(r#"externalId sw "BJ""#));
    assert!(!yes(r#"id eq "2819C223-7F76-453A-919D-413861904646""#));
    assert!(yes(r#"id eq "2819c223-7f76-453a-919d-413861904646""#));
    assert!(!yes(r#"meta.version eq "w/\"3694E05E9DFF591\"""#));
    assert!(yes(r#"meta.version eq "W/\"3694e05e9dff591\"""#));
    assert!(yes(r#"title eq "TOUR GUIDE""#));

    struct AllExact;
    impl AttributeSchema for AllExact {
        fn case_exact(&self, _: &AttrPath) -> bool {
            true
        }
    }
    let f = scim::parse(r#"title eq "TOUR GUIDE""#).unwrap();
    assert!(!f.matches(&b, &AllExact));

    // Inside a value filter the schema sees the full path.
    struct EmailTypeExact;
    impl AttributeSchema for EmailTypeExact {
        fn case_exact(&self, p: &AttrPath) -> bool {
            p.name == "emails" && p.sub.as_deref() == Some("type")
        }
    }
    assert!(
        !scim::parse(r#"emails[type eq "WORK"]"#)
            .unwrap()
            .matches(&b, &EmailTypeExact)
    );
    assert!(
        scim::parse(r#"emails[type eq "work"]"#)
            .unwrap()
            .matches(&b, &EmailTypeExact)
    );
}

#[test]
fn value_types() {
    let r = json!({
        "count": 7,
        "ratio": 0.5,
        "big": 18446744073709551615u64,
        "active": true,
        "name": "7",
        "tags": ["a", "B", null],
        "empty": [],
        "blank": "",
        "nothing": null,
        "obj": {},
        "nums": [1, 20],
        "meta": {"created": "2024-04-01T09:00:00+09:00"},
    });
    let cases: &[(&str, bool)] = &[
        ("count eq 7", true),
        ("count eq 7.0", true),
        ("count gt 6.5", true),
        ("count ge 7", true),
        ("count lt 7", false),
        ("count le -1", false),
        ("ratio lt 1", true),
        ("ratio eq 5e-1", true),
        ("big gt 1", true),
        ("big eq 18446744073709551615", true),
        ("count co 7", false),
        // number vs string never matches, and never panics
        (r#"count eq "7""#, false),
        ("name eq 7", false),
        (r#"name eq "7""#, true),
        ("active eq true", true),
        ("active ne false", true),
        ("active eq false", false),
        ("active gt false", false),
        (r#"active eq "true""#, false),
        ("nums gt 10", true),
        ("nums lt 1", false),
        (r#"tags eq "b""#, true),
        (r#"tags[value eq "a"]"#, true),
        ("tags pr", true),
        ("empty pr", false),
        ("blank pr", false),
        ("nothing pr", false),
        ("obj pr", false),
        ("missing pr", false),
        ("missing eq null", true),
        ("nothing eq null", true),
        ("empty eq null", true),
        ("name eq null", false),
        ("name ne null", true),
        ("missing ne null", false),
        (r#"missing ne "x""#, true),
        (r#"missing eq "x""#, false),
        (r#"missing gt "x""#, false),
        ("name gt null", false),
        (r#"meta.created eq "2024-04-01T00:00:00Z""#, true),
        (r#"meta.created lt "2024-04-01T00:00:01Z""#, true),
        (r#"meta.created gt "2024-03-31T23:59:59.999Z""#, true),
        (r#"meta.created co "+09:00""#, true),
        (r#"name gt "6""#, true),
        (r#"name lt "6""#, false),
    ];
    for (text, want) in cases {
        let f = scim::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(f.matches(&r, &DefaultSchema), *want, "{text}");
        assert_eq!(scim::parse(&f.to_string()).unwrap(), f, "{text}");
    }
    // A non-object resource has no attributes.
    assert!(
        !scim::parse("a pr")
            .unwrap()
            .matches(&json!([1, 2]), &DefaultSchema)
    );
    assert!(
        scim::parse("a eq null")
            .unwrap()
            .matches(&json!("x"), &DefaultSchema)
    );
}

#[test]
fn group_members_value_filter() {
    let g = group();
    let f = scim::parse(r#"members[value eq "2819c223-7f76-453a-919d-413861904646"]"#).unwrap();
    assert!(f.matches(&g, &DefaultSchema));
    let f = scim::parse(r#"members[value eq "nope"]"#).unwrap();
    assert!(!f.matches(&g, &DefaultSchema));
    let f = scim::parse(r#"members.display co "pepper""#).unwrap();
    assert!(f.matches(&g, &DefaultSchema));
    let f =
        scim::parse(r#"urn:ietf:params:scim:schemas:core:2.0:Group:displayName eq "tour guides""#)
            .unwrap();
    assert!(f.matches(&g, &DefaultSchema));
    let f = scim::parse(r#"members[not (display pr)]"#).unwrap();
    assert!(!f.matches(&g, &DefaultSchema));
}

#[test]
fn strings_use_json_escapes() {
    let f = scim::parse(r#"displayName eq "a\"b\\c\/d\n\u00e9\ud83d\ude00""#).unwrap();
    let Filter::Compare {
        value: CompareValue::String(s),
        ..
    } = &f
    else {
        panic!()
    };
    assert_eq!(s, "a\"b\\c/d\né😀");
    assert_eq!(f.to_string(), r#"displayName eq "a\"b\\c/d\né😀""#);
    assert_eq!(scim::parse(&f.to_string()).unwrap(), f);
    assert!(f.matches(&json!({"displayName": "A\"B\\C/D\nÉ😀"}), &DefaultSchema));
}

#[test]
fn attribute_names_called_like_keywords() {
    let f = scim::parse(r#"not eq "x" and and pr or or pr"#).unwrap();
    assert_eq!(scim::parse(&f.to_string()).unwrap(), f);
    assert!(f.matches(&json!({"or": 1}), &DefaultSchema));
    assert!(f.matches(&json!({"not": "X", "and": true}), &DefaultSchema));
    let f = scim::parse("members.$ref pr").unwrap();
    assert!(f.matches(
        &json!({"members": [{"$ref": "https://x/Users/1"}]}),
        &DefaultSchema
    ));
}

fn err(text: &str) -> scim::ScimFilterError {
    match scim::parse(text) {
        Ok(f) => panic!("{text:?} parsed as {f:?}"),
        Err(e) => e,
    }
}

#[test]
fn error_messages_and_positions() {
    assert_eq!(
        err(r#"userName equals "x""#).to_string(),
        r#"expected an operator (eq, ne, co, sw, ew, gt, ge, lt, le, pr) at position 9, found "equals""#
    );
    let cases: &[(&str, usize, &str)] = &[
        ("", 0, "expected an attribute path"),
        ("   ", 3, "expected an attribute path"),
        ("userName", 8, "expected an operator"),
        ("userName eq", 11, "expected a value"),
        (r#"userName eq "abc"#, 12, "unterminated string"),
        (r#"userName eq "a\qb""#, 14, "invalid escape"),
        (r#"userName eq "\ud800""#, 13, "surrogate"),
        (r#"userName eq "\u12""#, 13, "four hex digits"),
        ("userName eq bjensen", 12, "expected a value"),
        ("userName eq 01", 12, "invalid number"),
        ("userName eq 1e999", 12, "invalid number"),
        ("userName eq 12abc", 12, "invalid number"),
        ("userName eq -", 12, "invalid number"),
        (
            r#"(userName eq "x""#,
            16,
            r#"expected ")" at position 16 to close the "(" at position 0"#,
        ),
        (r#"userName eq "x")"#, 15, "unbalanced"),
        (r#"userName eq "x" title pr"#, 16, r#"expected "and", "or""#),
        (r#"userName eq "x" and"#, 19, "expected an attribute path"),
        ("not title pr", 4, "expected an operator"),
        ("not (title pr", 13, "expected \")\""),
        (r#""x" eq "y""#, 0, "expected an attribute path"),
        (
            r#"emails[type eq "work"].value eq "x""#,
            22,
            "only valid in PATCH paths",
        ),
        (
            r#"emails[type eq "work""#,
            21,
            r#"expected "]" at position 21 to close the "[" at position 6"#,
        ),
        (r#"emails[types[value pr]]"#, 12, "cannot be nested"),
        (
            r#"emails.value[type pr]"#,
            12,
            "cannot follow a sub-attribute",
        ),
        ("a.b.c pr", 0, "too many"),
        ("1abc pr", 0, "invalid number"),
        ("name:familyName pr", 0, "must be a URN"),
        (
            "urn:ietf:params:scim:schemas:core:2.0:User: pr",
            43,
            "invalid attribute name",
        ),
        ("urn:x:2.0 pr", 6, "invalid attribute name"),
        ("a-b.c_d pr and 9x pr", 15, "invalid number"),
        ("title pr & userName pr", 9, "unexpected character"),
        ("userName eq 'x'", 12, "unexpected character"),
        ("名前 pr", 0, "unexpected character"),
    ];
    for (text, pos, msg) in cases {
        let e = err(text);
        assert_eq!(e.position(), *pos, "{text:?}: {e}");
        assert!(e.to_string().contains(msg), "{text:?}: {e}");
        assert_eq!(e.scim_type(), "invalidFilter");
    }
    assert_eq!(
        err("").to_string(),
        "expected an attribute path, \"(\" or \"not (\" at position 0, found end of input"
    );
}

#[test]
fn nesting_is_capped() {
    let ok = format!("{}a pr{}", "(".repeat(256), ")".repeat(256));
    assert!(scim::parse(&ok).is_ok());
    let nots = format!("{}a pr{}", "not (".repeat(256), ")".repeat(256));
    assert_eq!(scim::parse(&nots).unwrap().to_string(), nots);
    let too_deep = format!("{}a pr{}", "(".repeat(257), ")".repeat(257));
    let e = scim::parse(&too_deep).unwrap_err();
    assert_eq!(e.position(), 256);
    assert!(e.to_string().contains("nested too deeply"));
    let hostile = "(".repeat(10_000);
    assert!(scim::parse(&hostile).is_err());
    let hostile = "not (".repeat(10_000);
    assert!(scim::parse(&hostile).is_err());
    let hostile = "a[".repeat(10_000);
    assert!(scim::parse(&hostile).is_err());
}

#[test]
fn long_flat_chains_do_not_recurse() {
    let text = vec![r#"userName eq "x""#; 50_000].join(" or ");
    let f = scim::parse(&text).unwrap();
    let Filter::Or(items) = &f else { panic!() };
    assert_eq!(items.len(), 50_000);
    assert!(!f.matches(&bjensen(), &DefaultSchema));
    assert_eq!(f.to_string(), text);
}

#[test]
fn patch_paths() {
    let p = PatchPath::parse(
        "urn:iij:params:scim:schemas:extension:enterprisejp:2.0:User:downstreamId",
    )
    .unwrap();
    assert_eq!(
        p,
        PatchPath {
            attr: AttrPath {
                urn: Some(IIJ.into()),
                name: "downstreamId".into(),
                sub: None
            },
            filter: None,
            sub: None,
        }
    );
    let p = PatchPath::parse(r#"members[value eq "2819c223"]"#).unwrap();
    assert_eq!(p.attr, AttrPath::new("members"));
    assert_eq!(
        p.filter,
        Some(Filter::Compare {
            path: AttrPath::new("value"),
            op: CompareOp::Eq,
            value: CompareValue::String("2819c223".into())
        })
    );
    assert_eq!(p.sub, None);
    let p = PatchPath::parse(r#"emails[type eq "work" and primary eq true].value"#).unwrap();
    assert_eq!(p.sub.as_deref(), Some("value"));
    assert_eq!(
        p.to_string(),
        r#"emails[type eq "work" and primary eq true].value"#
    );
    let p = PatchPath::parse("name.familyName").unwrap();
    assert_eq!(p.attr.sub.as_deref(), Some("familyName"));
    let p = PatchPath::parse(&format!("{ENTERPRISE}:manager.value")).unwrap();
    assert_eq!(p.attr.urn.as_deref(), Some(ENTERPRISE));
    assert_eq!(p.to_string(), format!("{ENTERPRISE}:manager.value"));
    for text in [
        "urn:iij:params:scim:schemas:extension:enterprisejp:2.0:User:downstreamId",
        r#"members[value eq "2819c223"]"#,
        r#"emails[type eq "work"].value"#,
        "userName",
    ] {
        let p: PatchPath = text.parse().unwrap();
        assert_eq!(p.to_string(), text);
    }

    let bad: &[(&str, usize, &str)] = &[
        ("", 0, "expected an attribute path"),
        (r#"emails[type eq "work"]."#, 23, "invalid attribute name"),
        (
            r#"emails[type eq "work"].value.x"#,
            22,
            "single sub-attribute",
        ),
        (
            r#"emails[type eq "work"].urn:x:y"#,
            22,
            "single sub-attribute",
        ),
        (r#"emails[type eq "work"] pr"#, 23, "expected end of path"),
        (
            r#"name.familyName[x pr]"#,
            15,
            "cannot follow a sub-attribute",
        ),
        ("emails[", 7, "expected an attribute path"),
        (r#"userName eq "x""#, 9, "expected end of path"),
    ];
    for (text, pos, msg) in bad {
        let e = PatchPath::parse(text).unwrap_err();
        assert_eq!(e.position(), *pos, "{text:?}: {e}");
        assert!(e.to_string().contains(msg), "{text:?}: {e}");
        assert_eq!(e.scim_type(), "invalidPath");
    }
}

#[test]
fn attr_path_from_str() {
    let p: AttrPath =
        "urn:oidfj:params:scim:schemas:extention:enterprisejp:2.0:User:organization.departmentName"
            .parse()
            .unwrap();
    assert_eq!(p.urn.as_deref(), Some(OIDFJ));
    assert_eq!(p.name, "organization");
    assert_eq!(p.sub.as_deref(), Some("departmentName"));
    assert!("user name".parse::<AttrPath>().is_err());
    assert!("".parse::<AttrPath>().is_err());
}
