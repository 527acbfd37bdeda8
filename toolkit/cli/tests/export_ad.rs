//! `dirsnap export ad` end to end against the Samba AD DC (scripts/ad-server; scripts/test
//! starts it): exit codes, messages, secrets, and `dirsnap diff` over two real exports.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../ad/tests/support/dc.rs"]
mod dc;

use assert_cmd::Command;
use dc::{ConfigSpec, ldif_group, ldif_ou, ldif_user};
use serde_json::Value;
use std::path::Path;

fn dirsnap() -> Command {
    let mut c = Command::cargo_bin("dirsnap").unwrap();
    c.env_remove("DIRSNAP_AD_PASSWORD")
        .env_remove("DIRSNAP_AD_CA_FILE")
        .env_remove("RUST_LOG");
    c
}

fn export(config: &Path, out: &Path, password: &str) -> std::process::Output {
    dirsnap()
        .args(["export", "ad", "--config"])
        .arg(config)
        .arg("--out")
        .arg(out)
        .env("DIRSNAP_AD_PASSWORD", password)
        .output()
        .unwrap()
}

fn json(out: &std::process::Output) -> Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn wrong_password_exits_1_naming_the_bind_dn_never_the_password() {
    let lease = dc::lease();
    let dc = &*lease;
    let ou = dc.unique_ou("cli-badpw");
    dc.seed(&ldif_ou(&ou.dn));
    let dir = tempfile::tempdir().unwrap();
    let config = ConfigSpec::new(dc, &ou.dn).write(dir.path());
    let out = dir.path().join("snap");
    let wrong = "Not-The-Password-731";
    let res = dirsnap()
        .args(["export", "ad", "--config"])
        .arg(&config)
        .arg("--out")
        .arg(&out)
        .env("DIRSNAP_AD_PASSWORD", wrong)
        .env("RUST_LOG", "trace")
        .output()
        .unwrap();
    assert_eq!(res.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&res.stderr);
    let stdout = String::from_utf8_lossy(&res.stdout);
    assert!(stderr.contains(&dc.bind_dn), "{stderr}");
    assert!(stderr.contains("invalidCredentials"), "{stderr}");
    assert!(!stderr.contains(wrong) && !stdout.contains(wrong));
    assert!(!out.exists());
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name())
        .filter(|n| n != "config.yml")
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn usage_and_config_problems_exit_2() {
    let lease = dc::lease();
    let dc = &*lease;
    let dir = tempfile::tempdir().unwrap();
    let mut spec = ConfigSpec::new(dc, &dc.base_dn);
    let config = spec.write(dir.path());

    // No password anywhere.
    let res = dirsnap()
        .args(["export", "ad", "--config"])
        .arg(&config)
        .arg("--out")
        .arg(dir.path().join("a"))
        .output()
        .unwrap();
    assert_eq!(res.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&res.stderr).contains("DIRSNAP_AD_PASSWORD"));

    // An unparsable filter: file, line and key.
    spec.user_filter = Some("(cn=".into());
    let config = spec.write(dir.path());
    let res = export(&config, &dir.path().join("b"), &dc.password);
    assert_eq!(res.status.code(), Some(2));
    let err = String::from_utf8_lossy(&res.stderr);
    assert!(
        err.contains("ad.ldap.filter.user") && err.contains("config.yml:"),
        "{err}"
    );

    // No base DN.
    let yaml = format!(
        "ad:\n  ldap:\n    server:\n      addresses: ['{}']\n      user: '{}'\n",
        dc.ip, dc.bind_dn
    );
    std::fs::write(&config, yaml).unwrap();
    let res = export(&config, &dir.path().join("c"), &dc.password);
    assert_eq!(res.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&res.stderr).contains("ad.ldap.base_dn"));

    // The target exists: snapshots are immutable.
    let config = ConfigSpec::new(dc, &dc.base_dn).write(dir.path());
    std::fs::create_dir(dir.path().join("exists")).unwrap();
    let res = export(&config, &dir.path().join("exists"), &dc.password);
    assert_eq!(res.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&res.stderr).contains("already exists"));
}

#[test]
fn rename_and_move_show_as_a_change_in_dirsnap_diff() {
    let lease = dc::lease();
    let dc = &*lease;
    let ou = dc.unique_ou("cli-move");
    let (a, b) = (format!("OU=a,{}", ou.dn), format!("OU=b,{}", ou.dn));
    let kim = format!("CN=kim,{a}");
    let mut ldif = ldif_ou(&ou.dn);
    ldif.push_str(&ldif_ou(&a));
    ldif.push_str(&ldif_ou(&b));
    ldif.push_str(&ldif_user(&a, "kim", &format!("{}kim", ou.token), 512, &[]));
    ldif.push_str(&ldif_user(&a, "lee", &format!("{}lee", ou.token), 512, &[]));
    ldif.push_str(&ldif_group(
        &ou.dn,
        "staff",
        &[kim.clone(), format!("CN=lee,{a}")],
    ));
    dc.seed(&ldif);

    let dir = tempfile::tempdir().unwrap();
    let config = ConfigSpec::new(dc, &ou.dn).write(dir.path());
    // The password from secret.yml this time.
    let secret = dir.path().join("secret.yml");
    std::fs::write(
        &secret,
        format!(
            "ad:\n  ldap:\n    server:\n      password: '{}'\n",
            dc.password
        ),
    )
    .unwrap();
    let run = |name: &str| {
        let out = dir.path().join(name);
        let res = dirsnap()
            .args(["export", "ad", "--config"])
            .arg(&config)
            .arg("--secret")
            .arg(&secret)
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&res.stdout);
        assert!(
            res.status.success(),
            "{}",
            String::from_utf8_lossy(&res.stderr)
        );
        assert!(stdout.contains("users:       2"), "{stdout}");
        assert!(!stdout.contains(&dc.password));
        out
    };
    let before = run("before");
    // --json: one document on stdout, the summary for people on stderr.
    let res = dirsnap()
        .args(["export", "ad", "--json", "--config"])
        .arg(&config)
        .arg("--secret")
        .arg(&secret)
        .arg("--out")
        .arg(dir.path().join("as-json"))
        .output()
        .unwrap();
    assert!(
        res.status.success(),
        "{}",
        String::from_utf8_lossy(&res.stderr)
    );
    assert!(String::from_utf8_lossy(&res.stderr).contains("users:       2"));
    let v = json(&res);
    assert_eq!(v["kind"], "ad");
    assert_eq!(v["counts"]["users"], 2);
    assert!(v["files"]["users.parquet"]["sha256"].is_string(), "{v}");
    assert!(v["duration_seconds"].as_f64().unwrap() >= 0.0);
    dc.ldap_tool("ldapmodrdn", &["-r", "-s", &b, &kim, "CN=kim moved"], None);
    let after = run("after");

    let inspect = json(
        &dirsnap()
            .args(["inspect", "--json"])
            .arg(&after)
            .output()
            .unwrap(),
    );
    assert_eq!(inspect["kind"], "ad");
    assert_eq!(inspect["counts"]["users"], 2);
    assert_eq!(inspect["counts"]["groups"], 1);
    assert_eq!(inspect["counts"]["memberships"], 2);

    let diff = json(
        &dirsnap()
            .args(["diff", "--json"])
            .arg(&before)
            .arg(&after)
            .output()
            .unwrap(),
    );
    assert_eq!(diff["users"]["added"], 0);
    assert_eq!(diff["users"]["removed"], 0);
    assert_eq!(diff["users"]["changed"], 1);
    assert_eq!(diff["memberships"]["added"], 0);
    assert_eq!(diff["memberships"]["removed"], 0);
    let text = dirsnap()
        .arg("diff")
        .arg(&before)
        .arg(&after)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("CN=kim moved"), "{text}");
}
