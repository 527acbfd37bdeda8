#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! LDAP filter tests: RFC 4515 §4 examples, IIJ ID Directory Sync filters, AD matching
//! rules, three-valued logic and malformed input.

use std::collections::{HashMap, HashSet, VecDeque};

use dirsnap_filter::ldap::{self, LdapEntry, LdapFilter, Truth, escape_value};

/// Shared `memberOf` graph: DN (lowercase) → DNs of the groups it is a direct member of.
#[derive(Default)]
struct Graph(HashMap<String, Vec<String>>);

struct Entry<'g> {
    dn: String,
    attrs: Vec<(String, Vec<Vec<u8>>)>,
    graph: Option<&'g Graph>,
}

impl<'g> Entry<'g> {
    fn new(dn: &str, attrs: &[(&str, &[&str])]) -> Self {
        Entry {
            dn: dn.into(),
            attrs: attrs
                .iter()
                .map(|(a, vs)| {
                    (
                        a.to_string(),
                        vs.iter().map(|v| v.as_bytes().to_vec()).collect(),
                    )
                })
                .collect(),
            graph: None,
        }
    }

    fn with_bytes(mut self, attr: &str, value: &[u8]) -> Self {
        self.attrs.push((attr.into(), vec![value.to_vec()]));
        self
    }

    fn in_graph(mut self, g: &'g Graph) -> Self {
        self.graph = Some(g);
        self
    }
}

impl LdapEntry for Entry<'_> {
    fn values(&self, attr: &str) -> Vec<&[u8]> {
        self.attrs
            .iter()
            .filter(|(a, _)| a.eq_ignore_ascii_case(attr))
            .flat_map(|(_, vs)| vs.iter().map(Vec::as_slice))
            .collect()
    }

    fn dn(&self) -> &str {
        &self.dn
    }

    fn in_chain(&self, attr: &str, target_dn: &str) -> bool {
        let Some(graph) = self.graph else {
            return false;
        };
        if !attr.eq_ignore_ascii_case("memberOf") {
            return false;
        }
        let target = target_dn.to_lowercase();
        let mut seen = HashSet::new();
        let mut queue: VecDeque<String> = self
            .values("memberOf")
            .iter()
            .map(|v| String::from_utf8_lossy(v).to_lowercase())
            .collect();
        while let Some(dn) = queue.pop_front() {
            if dn == target {
                return true;
            }
            if seen.insert(dn.clone()) {
                queue.extend(graph.0.get(&dn).into_iter().flatten().cloned());
            }
        }
        false
    }
}

fn babs() -> Entry<'static> {
    Entry::new(
        "cn=Babs Jensen,o=University of Michigan,c=US",
        &[
            ("objectClass", &["top", "person", "organizationalPerson"]),
            ("cn", &["Babs Jensen", "Barbara Jensen"]),
            ("sn", &["Jensen"]),
            ("o", &["University of Michigan"]),
        ],
    )
}

fn tim() -> Entry<'static> {
    Entry::new(
        "cn=Tim Howes,o=Netscape,c=US",
        &[
            ("objectClass", &["top", "person"]),
            ("cn", &["Tim Howes"]),
            ("sn", &["Howes"]),
            ("o", &["Netscape"]),
            ("seeAlso", &[""]),
        ],
    )
}

fn fred() -> Entry<'static> {
    Entry::new(
        "cn=Fred Flintstone,o=Ace Industry,c=US",
        &[
            ("objectClass", &["person"]),
            ("cn", &["Fred Flintstone", "Betty Rubble"]),
            ("o", &["Parens R Us (for all your parenthetical needs)"]),
            ("filename", &["C:\\MyFile"]),
            ("sn", &["Lučić"]),
        ],
    )
    .with_bytes("1.3.6.1.4.1.1466.0", &[0x04, 0x02, 0x48, 0x69])
}

fn lowercase_fred() -> Entry<'static> {
    Entry::new(
        "cn=fred flintstone,ou=People,dc=example",
        &[("cn", &["fred flintstone", "cn=*x*"])],
    )
}

/// Expected (babs, tim, fred, lowercase_fred).
type Expect = [Truth; 4];
const T: Truth = Truth::True;
const F: Truth = Truth::False;
const U: Truth = Truth::Undefined;

#[test]
fn rfc4515_examples() {
    let entries = [babs(), tim(), fred(), lowercase_fred()];
    let cases: &[(&str, Expect, &str)] = &[
        ("(cn=Babs Jensen)", [T, F, F, F], "(cn=Babs Jensen)"),
        ("(!(cn=Tim Howes))", [T, F, T, T], "(!(cn=Tim Howes))"),
        (
            "(&(objectClass=Person)(|(sn=Jensen)(cn=Babs J*)))",
            [T, F, F, F],
            "(&(objectClass=Person)(|(sn=Jensen)(cn=Babs J*)))",
        ),
        ("(o=univ*of*mich*)", [T, F, F, F], "(o=univ*of*mich*)"),
        ("(seeAlso=)", [F, T, F, F], "(seeAlso=)"),
        (
            "(cn:caseExactMatch:=Fred Flintstone)",
            [F, F, T, F],
            "(cn:caseExactMatch:=Fred Flintstone)",
        ),
        ("(cn:=Betty Rubble)", [F, F, T, F], "(cn:=Betty Rubble)"),
        (
            "(sn:dn:2.4.6.8.10:=Barney Rubble)",
            [U, U, U, U],
            "(sn:dn:2.4.6.8.10:=Barney Rubble)",
        ),
        ("(o:dn:=Ace Industry)", [F, F, T, F], "(o:dn:=Ace Industry)"),
        (
            "(:1.2.3:=Wilma Flintstone)",
            [U, U, U, U],
            "(:1.2.3:=Wilma Flintstone)",
        ),
        (
            "(:DN:2.4.6.8.10:=Dino)",
            [U, U, U, U],
            "(:dn:2.4.6.8.10:=Dino)",
        ),
        (
            r"(o=Parens R Us \28for all your parenthetical needs\29)",
            [F, F, T, F],
            r"(o=Parens R Us \28for all your parenthetical needs\29)",
        ),
        (r"(cn=*\2A*)", [F, F, F, T], r"(cn=*\2a*)"),
        (
            r"(filename=C:\5cMyFile)",
            [F, F, T, F],
            r"(filename=C:\5cMyFile)",
        ),
        (r"(sn=Lu\c4\8di\c4\87)", [F, F, T, F], "(sn=Lučić)"),
        (
            r"(1.3.6.1.4.1.1466.0=\04\02\48\69)",
            [F, F, T, F],
            r"(1.3.6.1.4.1.1466.0=\04\02Hi)",
        ),
    ];
    for (text, expect, canonical) in cases {
        let f = ldap::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(&f.to_string(), canonical, "{text}");
        assert_eq!(ldap::parse(&f.to_string()).unwrap(), f, "{text}");
        for (i, (entry, want)) in entries.iter().zip(expect).enumerate() {
            assert_eq!(f.evaluate(entry), *want, "{text} on entry {i}");
            assert_eq!(f.matches(entry), *want == T);
        }
    }
}

#[test]
fn rfc4515_example_asts() {
    let eq = |a: &str, v: &[u8]| LdapFilter::Equality {
        attr: a.into(),
        value: v.to_vec(),
    };
    assert_eq!(
        ldap::parse("(cn=Babs Jensen)").unwrap(),
        eq("cn", b"Babs Jensen")
    );
    assert_eq!(
        ldap::parse("(!(cn=Tim Howes))").unwrap(),
        LdapFilter::Not(Box::new(eq("cn", b"Tim Howes")))
    );
    assert_eq!(
        ldap::parse("(&(objectClass=Person)(|(sn=Jensen)(cn=Babs J*)))").unwrap(),
        LdapFilter::And(vec![
            eq("objectClass", b"Person"),
            LdapFilter::Or(vec![
                eq("sn", b"Jensen"),
                LdapFilter::Substrings {
                    attr: "cn".into(),
                    initial: Some(b"Babs J".to_vec()),
                    any: vec![],
                    final_: None
                }
            ])
        ])
    );
    assert_eq!(
        ldap::parse("(o=univ*of*mich*)").unwrap(),
        LdapFilter::Substrings {
            attr: "o".into(),
            initial: Some(b"univ".to_vec()),
            any: vec![b"of".to_vec(), b"mich".to_vec()],
            final_: None
        }
    );
    assert_eq!(ldap::parse("(seeAlso=)").unwrap(), eq("seeAlso", b""));
    assert_eq!(
        ldap::parse("(cn:caseExactMatch:=Fred Flintstone)").unwrap(),
        LdapFilter::Extensible {
            attr: Some("cn".into()),
            dn_attributes: false,
            rule: Some("caseExactMatch".into()),
            value: b"Fred Flintstone".to_vec()
        }
    );
    assert_eq!(
        ldap::parse("(cn:=Betty Rubble)").unwrap(),
        LdapFilter::Extensible {
            attr: Some("cn".into()),
            dn_attributes: false,
            rule: None,
            value: b"Betty Rubble".to_vec()
        }
    );
    assert_eq!(
        ldap::parse("(sn:dn:2.4.6.8.10:=Barney Rubble)").unwrap(),
        LdapFilter::Extensible {
            attr: Some("sn".into()),
            dn_attributes: true,
            rule: Some("2.4.6.8.10".into()),
            value: b"Barney Rubble".to_vec()
        }
    );
    assert_eq!(
        ldap::parse("(o:dn:=Ace Industry)").unwrap(),
        LdapFilter::Extensible {
            attr: Some("o".into()),
            dn_attributes: true,
            rule: None,
            value: b"Ace Industry".to_vec()
        }
    );
    assert_eq!(
        ldap::parse("(:1.2.3:=Wilma Flintstone)").unwrap(),
        LdapFilter::Extensible {
            attr: None,
            dn_attributes: false,
            rule: Some("1.2.3".into()),
            value: b"Wilma Flintstone".to_vec()
        }
    );
    assert_eq!(
        ldap::parse("(:DN:2.4.6.8.10:=Dino)").unwrap(),
        LdapFilter::Extensible {
            attr: None,
            dn_attributes: true,
            rule: Some("2.4.6.8.10".into()),
            value: b"Dino".to_vec()
        }
    );
    assert_eq!(
        ldap::parse(r"(o=Parens R Us \28for all your parenthetical needs\29)").unwrap(),
        eq("o", b"Parens R Us (for all your parenthetical needs)")
    );
    assert_eq!(
        ldap::parse(r"(cn=*\2A*)").unwrap(),
        LdapFilter::Substrings {
            attr: "cn".into(),
            initial: None,
            any: vec![b"*".to_vec()],
            final_: None
        }
    );
    assert_eq!(
        ldap::parse(r"(filename=C:\5cMyFile)").unwrap(),
        eq("filename", b"C:\\MyFile")
    );
    assert_eq!(
        ldap::parse(r"(sn=Lu\c4\8di\c4\87)").unwrap(),
        eq("sn", "Lučić".as_bytes())
    );
    assert_eq!(
        ldap::parse(r"(1.3.6.1.4.1.1466.0=\04\02\48\69)").unwrap(),
        eq("1.3.6.1.4.1.1466.0", &[0x04, 0x02, 0x48, 0x69])
    );
}

const IDAAS_GROUP: &str = "CN=IID_IDaaS user group,OU=IID_Groups,DC=example,DC=local";

fn graph() -> Graph {
    let mut g = Graph::default();
    let mut link = |child: &str, parent: &str| {
        g.0.entry(child.to_lowercase())
            .or_default()
            .push(parent.to_lowercase());
    };
    link(
        "CN=Sales,OU=Groups,DC=example,DC=local",
        "CN=Tokyo,OU=Groups,DC=example,DC=local",
    );
    link("CN=Tokyo,OU=Groups,DC=example,DC=local", IDAAS_GROUP);
    // A cycle must not hang the caller's traversal.
    link(IDAAS_GROUP, "CN=Sales,OU=Groups,DC=example,DC=local");
    g
}

#[test]
fn directory_sync_filters() {
    let g = graph();
    let nested = Entry::new(
        "CN=Taro,OU=Users,DC=example,DC=local",
        &[
            (
                "objectClass",
                &["top", "person", "organizationalPerson", "user"],
            ),
            ("cn", &["Taro"]),
            ("memberOf", &["CN=Sales,OU=Groups,DC=example,DC=local"]),
        ],
    )
    .in_graph(&g);
    let direct = Entry::new(
        "CN=Hanako,OU=Users,DC=example,DC=local",
        &[
            ("objectClass", &["user"]),
            ("cn", &["alice"]),
            ("memberOf", &[IDAAS_GROUP]),
        ],
    )
    .in_graph(&g);
    let outsider = Entry::new(
        "CN=Jiro,OU=Users,DC=example,DC=local",
        &[
            ("objectClass", &["user"]),
            ("memberOf", &["CN=Other,OU=Groups,DC=example,DC=local"]),
        ],
    )
    .in_graph(&g);

    let in_chain =
        ldap::parse(&format!("memberOf:1.2.840.113556.1.4.1941:={IDAAS_GROUP}")).unwrap();
    assert_eq!(
        in_chain,
        LdapFilter::Extensible {
            attr: Some("memberOf".into()),
            dn_attributes: false,
            rule: Some(ldap::MATCHING_RULE_IN_CHAIN.into()),
            value: IDAAS_GROUP.as_bytes().to_vec(),
        }
    );
    assert_eq!(
        in_chain.to_string(),
        format!("(memberOf:1.2.840.113556.1.4.1941:={IDAAS_GROUP})")
    );
    assert!(in_chain.matches(&nested));
    assert!(in_chain.matches(&direct));
    assert!(!in_chain.matches(&outsider));
    // The plain equality only sees direct membership.
    let direct_only = ldap::parse(&format!("(memberOf={})", IDAAS_GROUP.to_uppercase())).unwrap();
    assert!(!direct_only.matches(&nested));
    assert!(direct_only.matches(&direct));
    // In chain needs an attribute.
    assert_eq!(
        ldap::parse(&format!("(:1.2.840.113556.1.4.1941:={IDAAS_GROUP})"))
            .unwrap()
            .evaluate(&nested),
        Truth::Undefined
    );

    let no_cn = ldap::parse("!(cn=*)").unwrap();
    assert_eq!(
        no_cn,
        LdapFilter::Not(Box::new(LdapFilter::Present { attr: "cn".into() }))
    );
    assert!(!no_cn.matches(&nested));
    assert!(!no_cn.matches(&direct));
    assert!(no_cn.matches(&outsider));

    let users_a = ldap::parse("(&(objectClass=user)(cn=a*))").unwrap();
    assert!(!users_a.matches(&nested));
    assert!(users_a.matches(&direct));
    assert!(!users_a.matches(&outsider));
}

#[test]
fn bare_items_take_the_whole_string() {
    let cases: &[(&str, LdapFilter)] = &[
        (
            "cn=a",
            LdapFilter::Equality {
                attr: "cn".into(),
                value: b"a".to_vec(),
            },
        ),
        (
            "description=a=b, c = d",
            LdapFilter::Equality {
                attr: "description".into(),
                value: b"a=b, c = d".to_vec(),
            },
        ),
        ("  cn=*  ", LdapFilter::Present { attr: "cn".into() }),
        (
            "cn=a*b",
            LdapFilter::Substrings {
                attr: "cn".into(),
                initial: Some(b"a".to_vec()),
                any: vec![],
                final_: Some(b"b".to_vec()),
            },
        ),
        (
            "&(cn=a)(sn=b)",
            LdapFilter::And(vec![
                LdapFilter::Equality {
                    attr: "cn".into(),
                    value: b"a".to_vec(),
                },
                LdapFilter::Equality {
                    attr: "sn".into(),
                    value: b"b".to_vec(),
                },
            ]),
        ),
        (
            "|(cn=a)",
            LdapFilter::Or(vec![LdapFilter::Equality {
                attr: "cn".into(),
                value: b"a".to_vec(),
            }]),
        ),
        (
            "uSNChanged>=100",
            LdapFilter::GreaterOrEqual {
                attr: "uSNChanged".into(),
                value: b"100".to_vec(),
            },
        ),
        (
            ":dn:2.4.6.8.10:=Dino",
            LdapFilter::Extensible {
                attr: None,
                dn_attributes: true,
                rule: Some("2.4.6.8.10".into()),
                value: b"Dino".to_vec(),
            },
        ),
    ];
    for (text, want) in cases {
        let f = ldap::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(&f, want, "{text}");
        assert_eq!(ldap::parse(&f.to_string()).unwrap(), f);
    }
}

#[test]
fn user_account_control_bits() {
    let enabled = Entry::new("cn=e", &[("userAccountControl", &["512"])]);
    let disabled = Entry::new("cn=d", &[("userAccountControl", &["514"])]);
    let no_uac = Entry::new("cn=n", &[("cn", &["n"])]);
    let garbage = Entry::new("cn=g", &[("userAccountControl", &["lots"])]);
    let disabled_f = ldap::parse("(userAccountControl:1.2.840.113556.1.4.803:=2)").unwrap();
    assert!(!disabled_f.matches(&enabled));
    assert!(disabled_f.matches(&disabled));
    assert_eq!(disabled_f.evaluate(&no_uac), Truth::False);
    assert_eq!(disabled_f.evaluate(&garbage), Truth::Undefined);
    let enabled_f = ldap::parse("(!(userAccountControl:1.2.840.113556.1.4.803:=2))").unwrap();
    assert!(enabled_f.matches(&enabled));
    assert!(!enabled_f.matches(&disabled));
    assert!(!enabled_f.matches(&garbage), "!Undefined is Undefined");

    // 804: any bit in common. 514 = 0x202; 0x10 (LOCKOUT) | 0x2 (ACCOUNTDISABLE).
    let any = ldap::parse("(userAccountControl:1.2.840.113556.1.4.804:=18)").unwrap();
    assert!(any.matches(&disabled));
    assert!(!any.matches(&enabled));
    // 803 needs all bits.
    let all = ldap::parse("(userAccountControl:1.2.840.113556.1.4.803:=18)").unwrap();
    assert!(!all.matches(&disabled));
    // Unparsable assertion → Undefined.
    let bad = ldap::parse("(userAccountControl:1.2.840.113556.1.4.803:=two)").unwrap();
    assert_eq!(bad.evaluate(&disabled), Truth::Undefined);

    // groupType of a security group is printed as a negative i32.
    let sec = Entry::new("cn=g", &[("groupType", &["-2147483646"])]);
    let security = ldap::parse("(groupType:1.2.840.113556.1.4.803:=2147483648)").unwrap();
    assert!(security.matches(&sec));
    let global = ldap::parse("(groupType:1.2.840.113556.1.4.803:=2)").unwrap();
    assert!(global.matches(&sec));
    let negative_arg = ldap::parse("(groupType:1.2.840.113556.1.4.803:=-2147483648)").unwrap();
    assert!(negative_arg.matches(&sec));
}

#[test]
fn three_valued_logic() {
    let e = babs();
    let undef = "(x:1.2.3:=a)";
    let cases: &[(String, Truth)] = &[
        (undef.to_string(), U),
        (format!("(!{undef})"), U),
        (format!("(!(!{undef}))"), U),
        (format!("(|(cn=Babs Jensen){undef})"), T),
        (format!("(|(cn=nobody){undef})"), U),
        (format!("(&(cn=Babs Jensen){undef})"), U),
        (format!("(&(cn=nobody){undef})"), F),
        ("(&)".to_string(), T),
        ("(|)".to_string(), F),
        ("(!(&))".to_string(), F),
    ];
    for (text, want) in cases {
        let f = ldap::parse(text).unwrap();
        assert_eq!(f.evaluate(&e), *want, "{text}");
        assert_eq!(f.to_string(), *text);
    }
}

#[test]
fn matching_details() {
    let e = Entry::new(
        "CN=Smith\\, John,OU=Sales,DC=example,DC=local",
        &[
            ("objectClass", &["top", "person", "user"]),
            (
                "objectCategory",
                &["CN=Person,CN=Schema,CN=Configuration,DC=example,DC=local"],
            ),
            ("cn", &["Smith, John"]),
            ("displayName", &["John   SMITH"]),
            ("uSNChanged", &["1000"]),
            ("whenChanged", &["20240401090000.0Z"]),
            ("member", &["CN=a,DC=x", "CN=b,DC=x"]),
            ("mail", &["ÉCOLE@example.com"]),
        ],
    );
    let cases: &[(&str, bool)] = &[
        ("(OBJECTCLASS=USER)", true),
        ("(objectClass=group)", false),
        ("(objectCategory=person)", true),
        (
            "(objectCategory=CN=person,CN=Schema,CN=Configuration,DC=example,DC=local)",
            true,
        ),
        ("(objectCategory=computer)", false),
        (r"(cn=smith\2c john)", true),
        ("(displayName~=john smith)", true),
        ("(displayName=john smith)", false),
        ("(uSNChanged>=999)", true),
        ("(uSNChanged>=1001)", false),
        ("(uSNChanged<=1000)", true),
        ("(uSNChanged<=99)", false),
        ("(whenChanged>=20240101000000.0Z)", true),
        ("(whenChanged<=20240101000000.0Z)", false),
        ("(member=cn=B,dc=X)", true),
        ("(member;range=0-1499=*)", true),
        ("(member;range=0-*=cn=a,dc=x)", true),
        ("(mail=école@EXAMPLE.com)", true),
        ("(mail=*cole@*)", true),
        ("(mail=é*)", true),
        ("(cn:caseExactMatch:=smith, john)", false),
        ("(cn:2.5.13.5:=Smith, John)", true),
        ("(cn:caseIgnoreMatch:=SMITH, JOHN)", true),
        ("(uSNChanged:integerMatch:=01000)", true),
        ("(ou:dn:=sales)", true),
        ("(ou:=sales)", false),
        ("(cn:dn:=smith, john)", true),
        ("(:dn:caseIgnoreMatch:=example)", true),
        ("(cn=*)", true),
        ("(sn=*)", false),
        ("(cn=*)(sn=*)", false),
    ];
    for (text, want) in cases {
        match ldap::parse(text) {
            Ok(f) => assert_eq!(f.matches(&e), *want, "{text}"),
            Err(err) => assert!(!want, "{text}: {err}"),
        }
    }
    assert_eq!(
        ldap::parse(":dn:caseIgnoreMatch:=nowhere")
            .unwrap()
            .evaluate(&e),
        Truth::Undefined,
        "without an attribute only DN components can be checked"
    );
    let ranged = ldap::parse("(member;range=0-1499=*)").unwrap();
    assert_eq!(
        ranged,
        LdapFilter::Present {
            attr: "member;range=0-1499".into()
        }
    );
    assert_eq!(ranged.to_string(), "(member;range=0-1499=*)");
    assert_eq!(
        ldap::parse("(userCertificate;binary=*)").unwrap(),
        LdapFilter::Present {
            attr: "userCertificate;binary".into()
        }
    );
}

#[test]
fn range_option_ambiguity_is_escaped_when_printing() {
    let f = LdapFilter::Equality {
        attr: "cn;range".into(),
        value: b"0-5=x".to_vec(),
    };
    assert_eq!(f.to_string(), r"(cn;range=\30-5=x)");
    assert_eq!(ldap::parse(&f.to_string()).unwrap(), f);
    let f = LdapFilter::Substrings {
        attr: "cn;RANGE".into(),
        initial: Some(b"1-2=".to_vec()),
        any: vec![],
        final_: None,
    };
    assert_eq!(ldap::parse(&f.to_string()).unwrap(), f);
    // The parser itself prefers the AD reading.
    assert_eq!(
        ldap::parse("(cn;range=0-5=x)").unwrap(),
        LdapFilter::Equality {
            attr: "cn;range=0-5".into(),
            value: b"x".to_vec()
        }
    );
}

#[test]
fn whitespace_between_components_is_tolerated() {
    let f = ldap::parse(" (& (cn=a) (| (sn=b) (sn=c) ) (! (x=1) ) ) ").unwrap();
    assert_eq!(f.to_string(), "(&(cn=a)(|(sn=b)(sn=c))(!(x=1)))");
    // ...but inside values it is significant.
    assert_eq!(
        ldap::parse("(cn= a )").unwrap(),
        LdapFilter::Equality {
            attr: "cn".into(),
            value: b" a ".to_vec()
        }
    );
}

fn err(text: &str) -> ldap::LdapFilterError {
    match ldap::parse(text) {
        Ok(f) => panic!("{text:?} parsed as {f:?}"),
        Err(e) => e,
    }
}

#[test]
fn malformed_inputs_report_positions() {
    let cases: &[(&str, usize, &str)] = &[
        ("", 0, "empty filter"),
        ("   ", 0, "empty filter"),
        ("(cn=a", 5, "to close the \"(\" at position 0"),
        ("(&(cn=a)", 8, "to close the \"(\" at position 0"),
        ("cn=a)", 4, "unescaped \")\""),
        (r"(cn=a\zz)", 5, "invalid escape"),
        (r"(cn=a\2)", 5, "invalid escape"),
        (r"cn=a\", 4, "invalid escape"),
        ("(cn=a(b)", 5, "unescaped \"(\""),
        ("(cn>=a*)", 6, "unescaped \"*\""),
        ("(cn~=*)", 5, "unescaped \"*\""),
        ("(cn:=a*)", 6, "unescaped \"*\""),
        ("(=a)", 1, "expected an attribute description"),
        ("((cn=a))", 1, "expected an attribute description"),
        ("(cn)", 3, "expected a filter type"),
        ("(cn!=a)", 3, "expected a filter type"),
        ("(c n=a)", 2, "expected a filter type"),
        ("(cn=a))", 6, "unbalanced"),
        ("(cn=a)(sn=b)", 6, "unexpected text after the end"),
        ("(!cn=a)", 2, "expected \"(\" after \"!\""),
        ("(!(cn=a)(sn=b))", 8, "to close the \"(\" at position 0"),
        ("!", 1, "expected \"(\" after \"!\""),
        ("&(cn=a)x", 7, "expected \"(\" or end of filter"),
        ("(:=a)", 1, "needs a matching rule"),
        ("(:dn:=a)", 1, "needs a matching rule"),
        (
            "(cn:dn:1.2:x:=a)",
            11,
            "expected \":=\" after the matching rule",
        ),
        ("(cn:=a", 6, "expected \")\""),
        ("(cn:1.:=a)", 5, "expected \":\" or \":=\""),
        ("(cn;=a)", 4, "expected an attribute option"),
        ("(1.=a)", 2, "expected a filter type"),
        ("(cn=\0)", 4, "NUL"),
        ("(名前=a)", 1, "expected an attribute description"),
    ];
    for (text, pos, msg) in cases {
        let e = err(text);
        assert_eq!(e.position(), *pos, "{text:?}: {e}");
        assert!(e.to_string().contains(msg), "{text:?}: {e}");
    }
    assert_eq!(
        err("(cn=a").to_string(),
        "expected \")\" at position 5 to close the \"(\" at position 0, found end of input"
    );
    assert_eq!(
        err("cn=a)").to_string(),
        "unescaped \")\" in value (write it as \\29, or put the whole filter in parentheses) at position 4, found \")\""
    );
}

#[test]
fn nesting_is_capped() {
    let ok = format!("{}(a=b){}", "(!".repeat(255), ")".repeat(255));
    assert!(ldap::parse(&ok).is_ok());
    let too_deep = format!("{}(a=b){}", "(!".repeat(256), ")".repeat(256));
    let e = ldap::parse(&too_deep).unwrap_err();
    assert_eq!(e.position(), 512);
    assert!(e.to_string().contains("nested too deeply"));
    assert!(ldap::parse(&"(".repeat(100_000)).is_err());
    assert!(ldap::parse(&"(&".repeat(100_000)).is_err());
    assert!(ldap::parse(&format!("!{}", "(!".repeat(100_000))).is_err());
    // Wide is fine.
    let wide = format!("(|{})", "(cn=a)".repeat(100_000));
    let LdapFilter::Or(items) = ldap::parse(&wide).unwrap() else {
        panic!()
    };
    assert_eq!(items.len(), 100_000);
}

#[test]
fn escape_value_round_trips() {
    for value in [
        &b"plain"[..],
        b"*()\\\0",
        b"CN=x,OU=y",
        "日本語".as_bytes(),
        &[0xff, 0xfe, b'a', 0x80],
        b"",
        b"\x1b[31m",
    ] {
        let text = format!("(cn={})", escape_value(value));
        assert_eq!(
            ldap::parse(&text).unwrap(),
            LdapFilter::Equality {
                attr: "cn".into(),
                value: value.to_vec()
            },
            "{text}"
        );
    }
    assert_eq!(escape_value(b"a*b"), r"a\2ab");
    assert_eq!(escape_value(b"(x)"), r"\28x\29");
    assert_eq!(escape_value(b"\\"), r"\5c");
    assert_eq!(escape_value(b"\0"), r"\00");
}
