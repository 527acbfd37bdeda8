#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use dirsnap_config::{
    ConfigError, Encryption, Secret, Threshold, load_config, load_secrets, parse_config,
};
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/config")
        .join(name)
}

#[test]
fn iij_sample_config_parses() {
    let c = load_config(&fixture("iij-sample.yml")).unwrap();
    assert_eq!(
        c.ad.server.addresses,
        vec!["ad1.example.co.jp", "ad2.example.co.jp"]
    );
    assert_eq!(c.ad.server.port, 389);
    assert_eq!(c.ad.server.timeout_secs, 3600);
    assert_eq!(c.ad.server.encryption, Encryption::None);
    assert!(!c.ad.server.verify_mode);
    assert_eq!(
        c.ad.server.user.as_deref(),
        Some("CN=IIJ Taro,CN=Users,DC=example,DC=co,DC=jp")
    );
    assert_eq!(
        c.ad.base_dn.as_ref().unwrap().value,
        "DC=example,DC=co,DC=jp"
    );
    let uf = c.ad.user_filter.as_ref().unwrap();
    assert!(uf.value.starts_with("memberOf:1.2.840.113556.1.4.1941:="));
    assert_eq!((uf.key.as_str(), uf.line), ("ad.ldap.filter.user", 20));
    assert!(!c.iid.proxy.enabled);
    assert_eq!(c.iid.proxy.address.as_deref(), Some("192.168.0.10"));
    assert_eq!(c.iid.proxy.port, Some(8080));
    let binds: Vec<(&str, Vec<&str>)> = c
        .iid
        .ad_bind
        .iter()
        .map(|b| {
            (
                b.target.as_str(),
                b.sources.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    assert_eq!(
        binds,
        vec![
            ("externalId", vec!["userPrincipalName"]),
            ("downstreamId", vec!["mS-DS-ConsistencyGuid", "objectGUID"]),
            ("userName", vec!["sAMAccountName"]),
            ("name.familyName", vec!["sn"]),
            ("name.givenName", vec!["givenName"]),
        ]
    );
    assert_eq!(c.iid.convert.len(), 1);
    assert_eq!(c.iid.convert[0].target, "externalUserName");
    assert_eq!(c.iid.convert[0].pattern, "\\z");
    assert_eq!(c.iid.convert[0].replacement, "@example.jp");
    assert_eq!(c.iid.user_defaults["preferredLanguage"], "ja-JP");
    assert_eq!(c.iid.user_defaults["emails"][0]["primary"], true);
    // Documented keys dirsnap does not interpret are not "unknown".
    assert!(c.unknown_keys.is_empty(), "{:?}", c.unknown_keys);
    assert_eq!(
        c.dirsnap.thresholds.pending_deletions,
        Threshold::Count(500)
    );
    assert_eq!(c.scim_url(None), "https://scim.auth.iij.jp/scim/v2/");
}

#[test]
fn precautions_examples_parse_in_both_styles() {
    for name in ["precautions-no-groups.yml", "precautions-flow.yml"] {
        let c = load_config(&fixture(name)).unwrap();
        assert_eq!(
            c.ad.group_filter.as_ref().unwrap().value,
            "!(cn=*)",
            "{name}"
        );
        assert_eq!(
            c.iid.group_filter.as_ref().unwrap().value,
            "displayName eq \"\"",
            "{name}"
        );
        assert!(c.ad.user_filter.is_none());
    }
}

fn err(text: &str) -> ConfigError {
    parse_config(Path::new("config.yml"), text).unwrap_err()
}

#[test]
fn malformed_yaml_names_file_line_and_column() {
    let e = err("ad:\n  ldap: [\n");
    let msg = e.to_string();
    assert!(msg.starts_with("config.yml:2:9: malformed YAML"), "{msg}");

    let e = err("ad:\n ldap:\n   x: 1\n  y: 2\n");
    assert!(
        e.to_string().starts_with("config.yml:4:3: malformed YAML"),
        "{e}"
    );
}

#[test]
fn wrong_types_name_the_key_and_what_was_expected() {
    let cases: &[(&str, &str)] = &[
        (
            "ad:\n  ldap:\n    server:\n      port: abc\n",
            "config.yml:4:13: ad.ldap.server.port: expected an integer from 1 to 65535, found string \"abc\"",
        ),
        (
            "ad:\n  ldap:\n    server:\n      port: 70000\n",
            "config.yml:4:13: ad.ldap.server.port: expected an integer from 1 to 65535, found integer 70000",
        ),
        (
            "ad:\n  ldap:\n    server:\n      addresses: 5\n",
            "config.yml:4:18: ad.ldap.server.addresses: expected a string or a list of strings, found integer 5",
        ),
        (
            "ad:\n  ldap:\n    filter:\n      user: [a]\n",
            "config.yml:4:13: ad.ldap.filter.user: expected a string, found a list",
        ),
        (
            "ad:\n  ldap:\n    server:\n      encryption: tls\n",
            "config.yml:4:19: ad.ldap.server.encryption: expected one of none, start_tls, ldaps, found string \"tls\"",
        ),
        (
            "ad:\n  ldap: 3\n",
            "config.yml:2:9: ad.ldap: expected a mapping of keys, found integer 3",
        ),
        (
            "dirsnap:\n  thresholds:\n    disables: ten\n",
            "config.yml:3:15: dirsnap.thresholds.disables: expected a count (e.g. 500) or a percentage (e.g. \"10%\"), found string \"ten\"",
        ),
        (
            "iid:\n  scim:\n    attribute:\n      user:\n        ad_bind:\n          userName: 7\n",
            "config.yml:6:21: iid.scim.attribute.user.ad_bind.userName: expected an AD attribute name, a list of them, or a mapping, found integer 7",
        ),
        (
            "- a\n- b\n",
            "config.yml:1:1: (document): expected a mapping of keys, found a list",
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(err(text).to_string(), *expected, "for {text:?}");
    }
}

#[test]
fn bad_regex_and_missing_proxy_address() {
    let e = err(
        "iid:\n  scim:\n    attribute:\n      user:\n        convert:\n          userName:\n            - pattern: '(unclosed'\n              replacement: x\n",
    );
    let msg = e.to_string();
    assert!(
        msg.starts_with("config.yml:7:24: iid.scim.attribute.user.convert.userName[0].pattern: invalid regular expression"),
        "{msg}"
    );
    let e = err("iid:\n  scim:\n    http:\n      proxy:\n        use: true\n");
    assert_eq!(
        e.to_string(),
        "config.yml: iid.scim.http.proxy.address is required: proxy use is true"
    );
}

#[test]
fn duplicate_keys_are_an_error() {
    let e = err("ad:\n  ldap: {}\nad:\n  ldap: {}\n");
    assert!(
        e.to_string()
            .starts_with("config.yml:3:1: malformed YAML: duplicate mapping key: ad"),
        "{e}"
    );
}

#[test]
fn unknown_keys_are_kept_not_fatal() {
    let c = parse_config(
        Path::new("config.yml"),
        "ad:\n  ldap:\n    base_dn: DC=x\n    future_option: 1\nfuture_top: {a: 1}\n",
    )
    .unwrap();
    let keys: Vec<(&str, u64)> = c
        .unknown_keys
        .iter()
        .map(|k| (k.key.as_str(), k.line))
        .collect();
    assert_eq!(keys, vec![("ad.ldap.future_option", 4), ("future_top", 5)]);
    assert_eq!(c.document["future_top"]["a"], 1);
}

#[test]
fn dirsnap_section_thresholds_and_instance() {
    let c = parse_config(
        Path::new("config.yml"),
        "dirsnap:\n  instance: tokyo\n  thresholds:\n    pending_deletions: 20\n    source_shrink: '10%'\n  profile:\n    pending_deletion_listed: false\n",
    )
    .unwrap();
    assert_eq!(c.dirsnap.instance.as_deref(), Some("tokyo"));
    assert_eq!(c.dirsnap.thresholds.pending_deletions, Threshold::Count(20));
    assert_eq!(
        c.dirsnap.thresholds.source_shrink,
        Some(Threshold::Percent(10.0))
    );
    assert_eq!(c.dirsnap.profile["pending_deletion_listed"], false);
    assert!(c.unknown_keys.is_empty(), "{:?}", c.unknown_keys);
}

#[test]
fn digest_ignores_comments_but_not_values() {
    let a = parse_config(Path::new("a"), "ad: {ldap: {base_dn: 'DC=x'}}\n").unwrap();
    let b = parse_config(
        Path::new("b"),
        "# comment\nad:\n  ldap:\n    base_dn: DC=x\n",
    )
    .unwrap();
    let c = parse_config(Path::new("c"), "ad: {ldap: {base_dn: 'DC=y'}}\n").unwrap();
    assert_eq!(a.digest(), b.digest());
    assert_ne!(a.digest(), c.digest());
    assert!(a.digest().starts_with("sha256:"));
}

#[test]
fn secrets_come_from_file_then_environment_and_never_print() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("secret.yml");
    std::fs::write(
        &file,
        "iid:\n  scim:\n    access_token: eyJhbGciOi.secret-token\n",
    )
    .unwrap();
    let env = |k: &str| match k {
        "DIRSNAP_IID_TOKEN" => Some("env-token".to_string()),
        "DIRSNAP_AD_PASSWORD" => Some("env-password".to_string()),
        _ => None,
    };
    let s = load_secrets(Some(&file), &env).unwrap();
    let (token, source) = s.iid_token.clone().unwrap();
    assert_eq!(token.expose(), "eyJhbGciOi.secret-token");
    assert_eq!(source.to_string(), "secret file key iid.scim.access_token");
    let (password, source) = s.ad_password.clone().unwrap();
    assert_eq!(password.expose(), "env-password");
    assert_eq!(
        source.to_string(),
        "environment variable DIRSNAP_AD_PASSWORD"
    );

    let debug = format!("{s:?}");
    assert!(
        !debug.contains("secret-token") && !debug.contains("env-password"),
        "{debug}"
    );
    assert_eq!(format!("{:?}", Secret::new("x")), "Secret(***)");
}

#[test]
fn malformed_secret_file_does_not_quote_its_content() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("secret.yml");
    std::fs::write(&file, "access_token: [hunter2-very-secret\n").unwrap();
    let e = load_secrets(Some(&file), &|_| None).unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("secret.yml:1:"), "{msg}");
    assert!(!msg.contains("hunter2"), "secret leaked: {msg}");

    std::fs::write(&file, "password:\n  nested: hunter2\n").unwrap();
    let e = load_secrets(Some(&file), &|_| None).unwrap_err();
    assert!(!e.to_string().contains("hunter2"), "secret leaked: {e}");
}

#[test]
fn missing_file_names_it() {
    let e = load_config(Path::new("/nonexistent/config.yml")).unwrap_err();
    assert!(e.to_string().starts_with("/nonexistent/config.yml:"), "{e}");
}

#[test]
fn unparsable_filters_are_errors_with_key_and_position() {
    let e = err("ad:\n  ldap:\n    filter:\n      user: '(&(cn=a)'\n");
    let msg = e.to_string();
    assert!(
        msg.starts_with(
            "config.yml:4:13: ad.ldap.filter.user: not a valid LDAP (RFC 4515) filter:"
        ),
        "{msg}"
    );
    assert!(msg.contains("position"), "{msg}");
    let e = err("iid:\n  scim:\n    filter:\n      group: 'displayName equals \"x\"'\n");
    let msg = e.to_string();
    assert!(
        msg.starts_with("config.yml:4:14: iid.scim.filter.group: not a valid SCIM (RFC 7644) filter: expected an operator"),
        "{msg}"
    );
}

/// config.yml as Windows editors write it (Notepad: UTF-8 with a byte-order mark, CRLF line
/// ends) reads exactly as the Unix file does, positions included.
#[test]
fn a_windows_edited_config_reads_like_the_unix_one() {
    let unix = std::fs::read_to_string(fixture("iij-sample.yml")).unwrap();
    let windows = format!("\u{feff}{}", unix.replace('\n', "\r\n"));
    let a = parse_config(Path::new("config.yml"), &unix).unwrap();
    let b = parse_config(Path::new("config.yml"), &windows).unwrap();
    assert_eq!(a.ad.user_filter, b.ad.user_filter);
    assert_eq!(a.ad.base_dn, b.ad.base_dn);
    assert_eq!(a.ad.server.addresses, b.ad.server.addresses);
    assert_eq!(a.iid.user_filter, b.iid.user_filter);
    assert_eq!(a.unknown_keys, b.unknown_keys);
    // The digest is of what Directory Sync reads, so it is the same for both spellings too.
    assert_eq!(a.digest(), b.digest());
    // An error in a CRLF file names the same line and column.
    let bad = |text: &str| {
        parse_config(Path::new("config.yml"), text)
            .unwrap_err()
            .to_string()
    };
    let broken = "ad:\n  ldap:\n    filter:\n      user: '(cn=x'\n";
    assert_eq!(
        bad(broken),
        bad(&format!("\u{feff}{}", broken.replace('\n', "\r\n")))
    );
}

/// Paths in Windows form are kept as written (the Windows build opens them; the Linux build
/// only carries them), including UNC paths and spaces.
#[test]
fn windows_paths_are_carried_as_written() {
    for path in [
        r"C:\Program Files\IIJ\Directory Sync\config\config.yml",
        r"\\fileserver\share\dirsync\config.yml",
    ] {
        let c = parse_config(Path::new(path), "ad:\n  ldap:\n    base_dn: 'DC=x'\n").unwrap();
        assert_eq!(c.path, PathBuf::from(path));
        let e = parse_config(Path::new(path), "ad: [").unwrap_err();
        assert!(e.to_string().starts_with(path), "{e}");
    }
}

/// A `dirsnap.profile` setting of the wrong shape stops every command that reads the config,
/// at its line, whichever part of dirsnap reads it (the engine, the mock, export, check).
#[test]
fn a_wrong_profile_setting_is_refused_at_its_line() {
    for (yaml, key, line) in [
        (
            "dirsnap:\n  profile:\n    anchor_encoding: rot13\n",
            "dirsnap.profile.anchor_encoding",
            3,
        ),
        (
            "dirsnap:\n  profile:\n    m365_linkage: true\n    page_size_cap: 0\n",
            "dirsnap.profile.page_size_cap",
            4,
        ),
        (
            "dirsnap:\n  profile:\n    check_write_scopes: 'no'\n",
            "dirsnap.profile.check_write_scopes",
            3,
        ),
    ] {
        let e = parse_config(Path::new("c.yml"), yaml).unwrap_err();
        assert_eq!(e.key(), Some(key), "{e}");
        assert!(e.to_string().starts_with(&format!("c.yml:{line}:")), "{e}");
    }
    // A key no part of dirsnap reads is refused like any typo under `dirsnap:`.
    let e = parse_config(Path::new("c.yml"), "dirsnap:\n  profile:\n    colour: 1\n").unwrap_err();
    assert_eq!(e.key(), Some("dirsnap.profile.colour"), "{e}");
}

/// A typo under `dirsnap:` would silently switch a safety threshold off: it is refused with
/// its line and the key it most likely means. Elsewhere unknown keys are kept (a newer agent
/// may know them) with the nearest known key, and the Directory Sync settings dirsnap does
/// not model are listed with what that means for the plan.
#[test]
fn unknown_dirsnap_keys_are_refused_with_the_nearest_valid_one() {
    for (yaml, key, line, hint) in [
        (
            "dirsnap:\n  thresholds:\n    pending_deletion: 0\n",
            "dirsnap.thresholds.pending_deletion",
            3,
            "did you mean dirsnap.thresholds.pending_deletions?",
        ),
        (
            "dirsnap:\n  instanse: tokyo\n",
            "dirsnap.instanse",
            2,
            "did you mean dirsnap.instance?",
        ),
        (
            "dirsnap:\n  profile:\n    recreated_live_users: update\n",
            "dirsnap.profile.recreated_live_users",
            3,
            "did you mean dirsnap.profile.recreated_live_user?",
        ),
        (
            "dirsnap:\n  zzz: 1\n",
            "dirsnap.zzz",
            2,
            "valid here: instance, thresholds, profile",
        ),
    ] {
        let e = parse_config(Path::new("c.yml"), yaml).unwrap_err();
        assert_eq!(e.key(), Some(key), "{e}");
        let text = e.to_string();
        assert!(text.starts_with(&format!("c.yml:{line}:")), "{text}");
        assert!(text.contains(hint), "{text}");
    }
    // Below a profile key are values, not settings.
    parse_config(
        Path::new("c.yml"),
        "dirsnap:\n  profile:\n    default_ad_bind:\n      anything: mail\n",
    )
    .unwrap();

    let c = parse_config(
        Path::new("c.yml"),
        "ad:\n  ldapp:\n    base_dn: DC=x\n  ldap:\n    cache_disabled: true\n    search:\n      user:\n        object_class: person\niid:\n  scim:\n    attribute:\n      user:\n        exclude: [ims]\n      group:\n        ad_bind: {description: description, groupType: groupType}\nlog:\n  loglevel: debug\n",
    )
    .unwrap();
    let unknown: Vec<(&str, u64, Option<&str>)> = c
        .unknown_keys
        .iter()
        .map(|k| (k.key.as_str(), k.line, k.did_you_mean.as_deref()))
        .collect();
    assert_eq!(unknown, vec![("ad.ldapp", 2, Some("ad.ldap"))]);
    assert!(c.unknown_keys[0].effect().contains("did you mean ad.ldap?"));
    let unmodelled: Vec<(&str, u64)> = c
        .unmodelled_keys
        .iter()
        .map(|k| (k.key.as_str(), k.line))
        .collect();
    // `log` has no bearing on what the agent sends: not listed.
    assert_eq!(
        unmodelled,
        vec![
            ("ad.ldap.cache_disabled", 5),
            ("ad.ldap.search", 6),
            ("iid.scim.attribute.user.exclude", 13),
            // The group mapping dirsnap models (description) is read; the rest is reported.
            ("iid.scim.attribute.group.ad_bind.groupType", 15),
        ]
    );
    assert!(c.unmodelled_keys.iter().all(|k| !k.effect.is_empty()));
    let targets: Vec<(&str, &[String])> = c
        .iid
        .group_ad_bind
        .iter()
        .map(|b| (b.target.as_str(), b.sources.as_slice()))
        .collect();
    assert_eq!(
        targets,
        vec![("description", &["description".to_string()][..])]
    );
}
