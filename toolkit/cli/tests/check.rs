//! `dirsnap check` against the real Samba AD DC (scripts/ad-server; scripts/test starts it)
//! and the mock IIJ ID (in process): every check passes on a good setup, and each broken part
//! gives its own ✗ line, its fix and the documented exit code (0 all pass, 1 a check failed,
//! 2 the configuration is unusable). Secrets never appear in the output.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../ad/tests/support/dc.rs"]
mod dc;

use base64::Engine as _;
use dc::{Dc, ldif_group, ldif_ou, ldif_user};
use dirsnap_mock_scim::{ClockSpec, MockConfig, MockServer, TokenSpec};
use serde_json::Value;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

const ALL_SCOPES: &str = "escim_read_users,escim_write_users,escim_read_groups,escim_write_groups";

/// A JWT-shaped token whose `exp` is `days` from now (negative: in the past).
fn jwt(days: i64, tag: &str) -> String {
    let exp = chrono::Utc::now().timestamp() + days * 86_400;
    let enc = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    format!(
        "{}.{}.c2lnLXt7",
        enc(r#"{"alg":"RS256","typ":"JWT"}"#),
        enc(&format!(r#"{{"exp":{exp},"sub":"{tag}"}}"#))
    )
}

/// The mock IIJ ID on the wall clock, accepting the given token specs.
fn mock(tokens: &[String]) -> MockServer {
    let mut config = MockConfig::iij();
    config.clock = ClockSpec::parse("wall").unwrap();
    for t in tokens {
        config.tokens.push(TokenSpec::parse(t).unwrap());
    }
    MockServer::spawn(config, "127.0.0.1:0").unwrap()
}

struct Setup {
    dir: tempfile::TempDir,
    base_dn: String,
    users: usize,
}

/// An OU with two users and a group, so the filter counts have something to count.
fn seeded(dc: &Dc, tag: &str) -> Setup {
    let ou = dc.unique_ou(tag);
    let mut ldif = ldif_ou(&ou.dn);
    ldif.push_str(&ldif_user(
        &ou.dn,
        "ann",
        &format!("{}ann", ou.token),
        512,
        &[],
    ));
    ldif.push_str(&ldif_user(
        &ou.dn,
        "bob",
        &format!("{}bob", ou.token),
        512,
        &[],
    ));
    ldif.push_str(&ldif_group(&ou.dn, "staff", &[format!("CN=ann,{}", ou.dn)]));
    dc.seed(&ldif);
    Setup {
        dir: tempfile::tempdir().unwrap(),
        base_dn: ou.dn,
        users: 2,
    }
}

/// Settings of the config.yml under test.
struct Cfg {
    addresses: Vec<String>,
    encryption: &'static str,
    verify_mode: bool,
    base_dn: String,
    bind_dn: String,
    ad_user_filter: String,
    scim_url: String,
    scim_group_filter: String,
    proxy: Option<u16>,
}

impl Cfg {
    fn new(dc: &Dc, base_dn: &str, scim_url: &str) -> Cfg {
        Cfg {
            addresses: vec![dc.ip.clone(), format!("ldaps://{}:636", dc.ip)],
            encryption: "ldaps",
            verify_mode: true,
            base_dn: base_dn.to_string(),
            bind_dn: dc.bind_dn.clone(),
            ad_user_filter: "userPrincipalName=*".into(),
            scim_url: scim_url.to_string(),
            scim_group_filter: "displayName eq \"staff\"".into(),
            proxy: None,
        }
    }

    /// The YAML, in Directory Sync's layout.
    fn yaml(&self) -> String {
        let q = |s: &str| format!("'{}'", s.replace('\'', "''"));
        let addresses: Vec<String> = self.addresses.iter().map(|a| q(a)).collect();
        let proxy = match self.proxy {
            Some(port) => format!("use: true, address: 127.0.0.1, port: {port}"),
            None => "use: false".into(),
        };
        format!(
            "ad:\n  ldap:\n    server:\n      addresses: [{}]\n      user: {}\n      \
             encryption: {}\n      verify_mode: {}\n      timeout: 30\n    base_dn: {}\n    \
             filter:\n      user: {}\n      group: 'cn=*'\niid:\n  scim:\n    url: {}\n    \
             http:\n      proxy: {{{proxy}}}\n    filter:\n      user: 'userName pr'\n      \
             group: {}\ndirsnap:\n  instance: check-test\n",
            addresses.join(", "),
            q(&self.bind_dn),
            self.encryption,
            self.verify_mode,
            q(&self.base_dn),
            q(&self.ad_user_filter),
            q(&self.scim_url),
            q(&self.scim_group_filter),
        )
    }

    fn write(&self, dir: &Path) -> PathBuf {
        let path = dir.join("config.yml");
        std::fs::write(&path, self.yaml()).unwrap();
        path
    }
}

fn check(config: &Path, password: &str, token: &str, extra: &[&str]) -> Output {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_dirsnap"));
    cmd.arg("check")
        .arg("--config")
        .arg(config)
        .args(extra)
        .env_remove("DIRSNAP_AD_CA_FILE")
        .env("DIRSNAP_AD_PASSWORD", password)
        .env("DIRSNAP_IID_TOKEN", token)
        .env("RUST_LOG", "trace");
    cmd.output().unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The checks of a `--json` run, by id.
fn checks(out: &Output) -> Vec<(String, String, String, Option<String>)> {
    let doc: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", text(out)));
    doc["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap().to_string(),
                c["status"].as_str().unwrap().to_string(),
                c["text"].as_str().unwrap().to_string(),
                c["fix"].as_str().map(str::to_string),
            )
        })
        .collect()
}

fn find<'a>(
    list: &'a [(String, String, String, Option<String>)],
    id: &str,
) -> &'a (String, String, String, Option<String>) {
    list.iter()
        .find(|c| c.0 == id)
        .unwrap_or_else(|| panic!("no check {id} in {list:#?}"))
}

fn assert_no_secrets(out: &Output, secrets: &[&str]) {
    let all = text(out);
    for s in secrets {
        assert!(!all.contains(s), "a secret leaked into the output:\n{all}");
    }
}

#[test]
fn a_good_setup_passes_every_check_and_exits_0() {
    let lease = dc::lease();
    let dc = &*lease;
    let s = seeded(dc, "chk-ok");
    let token = jwt(90, "ok");
    let server = mock(&[format!("{token};scopes={ALL_SCOPES}")]);
    let cfg = Cfg::new(dc, &s.base_dn, server.url()).write(s.dir.path());
    let ca = dc.ca.to_str().unwrap();

    let out = check(&cfg, &dc.password, &token, &["--ad-ca-file", ca]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert!(!all.contains('✗') && all.contains('✓'), "{all}");
    assert!(
        all.contains(&format!("select {} users and 1 group under", s.users)),
        "{all}"
    );
    assert!(all.contains("0 failed"), "{all}");
    assert_no_secrets(&out, &[&dc.password, &token]);

    let out = check(&cfg, &dc.password, &token, &["--ad-ca-file", ca, "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let list = checks(&out);
    for id in [
        "config",
        "ad.ldap.filter.user",
        "ad.ldap.filter.group",
        "iid.scim.filter.user",
        "iid.scim.filter.group",
        "ad.password",
        "ad.server[0]",
        "ad.server[1]",
        "ad.selected",
        "iid.token",
        "iid.token.expiry",
        "iid.reach",
        "iid.auth",
        "iid.scope.escim_read_users",
        "iid.scope.escim_write_users",
        "iid.scope.escim_read_groups",
        "iid.scope.escim_write_groups",
        "iid.scim.filter.user.server",
        "iid.scim.filter.group.server",
    ] {
        assert_eq!(find(&list, id).1, "pass", "{id}: {list:#?}");
    }
    // Both addresses were bound to on their own, over verified LDAPS.
    for id in ["ad.server[0]", "ad.server[1]"] {
        let t = &find(&list, id).2;
        assert!(t.contains("ldaps://") && t.contains("verified"), "{t}");
        assert!(t.contains("bound as") && t.contains("base DN found"), "{t}");
    }
    // The mock is plain HTTP: TLS does not apply there.
    assert_eq!(find(&list, "iid.tls").1, "skip");
    assert!(find(&list, "iid.token.expiry").2.contains("in 89 days"));
    // The server-side filter checks counted what the filters select.
    assert!(
        find(&list, "iid.scim.filter.group.server")
            .2
            .contains("selects 0 groups")
    );
    assert_no_secrets(&out, &[&dc.password, &token]);
}

#[test]
fn wrong_password_fails_the_bind_and_spares_the_other_address_a_lockout_attempt() {
    let lease = dc::lease();
    let dc = &*lease;
    let s = seeded(dc, "chk-pw");
    let token = jwt(90, "pw");
    let server = mock(std::slice::from_ref(&token));
    let cfg = Cfg::new(dc, &s.base_dn, server.url()).write(s.dir.path());
    let wrong = "Wrong-Password-4417";
    let out = check(
        &cfg,
        wrong,
        &token,
        &["--ad-ca-file", dc.ca.to_str().unwrap(), "--json"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let list = checks(&out);
    let first = find(&list, "ad.server[0]");
    assert_eq!(first.1, "fail");
    assert!(
        first.2.contains("invalidCredentials") && first.2.contains(&dc.bind_dn),
        "{first:?}"
    );
    assert!(first.3.as_deref().unwrap().contains("52e wrong password"));
    let second = find(&list, "ad.server[1]");
    assert_eq!(second.1, "warn", "{second:?}");
    assert!(second.2.contains("lockout"), "{second:?}");
    assert_eq!(find(&list, "ad.selected").1, "skip");
    // The IIJ ID side is unaffected.
    assert_eq!(find(&list, "iid.auth").1, "pass");
    assert_no_secrets(&out, &[wrong, &token]);
}

#[test]
fn an_unreachable_second_address_is_its_own_failure() {
    let lease = dc::lease();
    let dc = &*lease;
    let s = seeded(dc, "chk-dead");
    let token = jwt(90, "dead");
    let server = mock(std::slice::from_ref(&token));
    let mut cfg = Cfg::new(dc, &s.base_dn, server.url());
    // Nothing listens on this loopback address: refused at once.
    cfg.addresses = vec![dc.ip.clone(), "127.0.0.254".into()];
    let cfg = cfg.write(s.dir.path());
    let out = check(
        &cfg,
        &dc.password,
        &token,
        &["--ad-ca-file", dc.ca.to_str().unwrap()],
    );
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    let line = |needle: &str| {
        all.lines()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no line with {needle:?}:\n{all}"))
            .to_string()
    };
    assert!(
        line(&format!("domain controller {} ", dc.ip)).contains('✓'),
        "{all}"
    );
    let dead = line("domain controller 127.0.0.254");
    assert!(
        dead.contains('✗') && dead.contains("ldaps://127.0.0.254:636") && dead.contains("refused"),
        "{dead}"
    );
    assert!(
        all.contains("remove it from ad.ldap.server.addresses"),
        "{all}"
    );
    assert!(all.contains("1 failed"), "{all}");
}

#[test]
fn a_ca_that_did_not_issue_the_dc_certificate_fails_tls() {
    let lease = dc::lease();
    let dc = &*lease;
    let s = seeded(dc, "chk-ca");
    let token = jwt(90, "ca");
    let server = mock(std::slice::from_ref(&token));
    let cfg = Cfg::new(dc, &s.base_dn, server.url()).write(s.dir.path());
    let other = s.dir.path().join("other-ca.pem");
    let st = std::process::Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .args(["-subj", "/CN=not the DC's CA", "-keyout"])
        .arg(s.dir.path().join("other-ca.key"))
        .arg("-out")
        .arg(&other)
        .output()
        .unwrap();
    assert!(st.status.success());
    let out = check(
        &cfg,
        &dc.password,
        &token,
        &["--ad-ca-file", other.to_str().unwrap(), "--json"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let list = checks(&out);
    for id in ["ad.server[0]", "ad.server[1]"] {
        let c = find(&list, id);
        assert_eq!(c.1, "fail", "{c:?}");
        assert!(
            c.2.contains("not issued by a trusted CA") && c.2.contains("other-ca.pem"),
            "{c:?}"
        );
        assert!(c.3.as_deref().unwrap().contains("--ad-ca-file"), "{c:?}");
    }
}

/// 1-based line and column of the value after `key: ` in the line holding `needle`.
fn position(yaml: &str, needle: &str) -> (usize, usize) {
    let (i, l) = yaml
        .lines()
        .enumerate()
        .find(|(_, l)| l.contains(needle))
        .unwrap();
    (
        i + 1,
        l.find(needle).unwrap() + needle.find(' ').unwrap() + 2,
    )
}

#[test]
fn bad_filters_are_shown_with_their_position_and_exit_2() {
    let lease = dc::lease();
    let dc = &*lease;
    let dir = tempfile::tempdir().unwrap();
    let token = jwt(90, "filter");
    let server = mock(std::slice::from_ref(&token));

    let mut cfg = Cfg::new(dc, &dc.base_dn, server.url());
    cfg.ad_user_filter = "(cn=".into();
    let path = cfg.write(dir.path());
    let out = check(&path, &dc.password, &token, &[]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(2), "{all}");
    let bad = all.lines().find(|l| l.contains('✗')).unwrap();
    let (line, column) = position(&cfg.yaml(), "user: '(cn=");
    assert!(
        bad.contains(&format!("{}:{line}:{column}", path.display()))
            && bad.contains("ad.ldap.filter.user"),
        "{all}"
    );
    // Nothing was contacted with a config that cannot be used.
    assert!(!all.contains("domain controller"), "{all}");

    let mut cfg = Cfg::new(dc, &dc.base_dn, server.url());
    cfg.scim_group_filter = "displayName eq".into();
    let path = cfg.write(dir.path());
    let out = check(&path, &dc.password, &token, &["--json"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let c = find(&checks(&out), "config").clone();
    assert_eq!(c.1, "fail");
    let (line, column) = position(&cfg.yaml(), "group: 'displayName eq'");
    assert!(
        c.2.contains(&format!("{}:{line}:{column}", path.display()))
            && c.2.contains("iid.scim.filter.group"),
        "{c:?}"
    );
}

#[test]
fn an_expired_token_is_reported_by_its_exp_and_by_the_server() {
    let lease = dc::lease();
    let dc = &*lease;
    let s = seeded(dc, "chk-exp");
    let token = jwt(-2, "expired");
    let expired_at = (chrono::Utc::now() - chrono::Duration::days(2)).to_rfc3339();
    let server = mock(&[format!("{token};expires={expired_at}")]);
    let cfg = Cfg::new(dc, &s.base_dn, server.url()).write(s.dir.path());
    let out = check(
        &cfg,
        &dc.password,
        &token,
        &["--ad-ca-file", dc.ca.to_str().unwrap(), "--json"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let list = checks(&out);
    let exp = find(&list, "iid.token.expiry");
    assert_eq!(exp.1, "fail");
    assert!(exp.2.contains("expired"), "{exp:?}");
    assert!(
        exp.3
            .as_deref()
            .unwrap()
            .contains("Access Token Management"),
        "{exp:?}"
    );
    let auth = find(&list, "iid.auth");
    assert_eq!(auth.1, "fail");
    assert!(auth.2.contains("401"), "{auth:?}");
    assert_eq!(find(&list, "iid.scope.escim_write_groups").1, "skip");
    // The AD side still passes.
    assert_eq!(find(&list, "ad.server[0]").1, "pass");
    assert_no_secrets(&out, &[&token, &dc.password]);

    // Soon to expire: a warning, exit 0.
    let soon = jwt(3, "soon");
    server.add_token(TokenSpec::parse(&soon).unwrap());
    let out = check(
        &cfg,
        &dc.password,
        &soon,
        &["--ad-ca-file", dc.ca.to_str().unwrap(), "--json"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(find(&checks(&out), "iid.token.expiry").1, "warn");
}

#[test]
fn a_token_without_a_write_scope_names_the_missing_scope() {
    let lease = dc::lease();
    let dc = &*lease;
    let s = seeded(dc, "chk-scope");
    let token = jwt(90, "scope");
    let server = mock(&[format!(
        "{token};scopes=escim_read_users,escim_write_users,escim_read_groups"
    )]);
    let cfg = Cfg::new(dc, &s.base_dn, server.url()).write(s.dir.path());
    let out = check(
        &cfg,
        &dc.password,
        &token,
        &["--ad-ca-file", dc.ca.to_str().unwrap()],
    );
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    let failed: Vec<&str> = all.lines().filter(|l| l.starts_with("  ✗")).collect();
    assert_eq!(failed.len(), 1, "{all}");
    assert!(
        failed[0].contains("scope escim_write_groups missing") && failed[0].contains("403"),
        "{all}"
    );
    for ok in ["escim_read_users", "escim_write_users", "escim_read_groups"] {
        let l = all
            .lines()
            .find(|l| l.contains(&format!("scope {ok}:")))
            .unwrap();
        assert!(l.contains('✓'), "{l}");
    }
    assert!(all.contains("all four scopes"), "{all}");
    // The probe changed nothing: the mock holds no users or groups.
    assert!(server.users().is_empty() && server.groups().is_empty());
}

/// A minimal forwarding HTTP proxy (absolute-form requests, as clients send for http://
/// targets), counting what it forwarded.
fn start_proxy() -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let seen = seen.clone();
            std::thread::spawn(move || {
                let _ = forward(client, &seen);
            });
        }
    });
    (port, count)
}

fn forward(mut client: TcpStream, seen: &AtomicUsize) -> std::io::Result<()> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if client.read(&mut byte)? == 0 {
            return Ok(());
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).to_string();
    let mut lines = head.split("\r\n");
    let first = lines.next().unwrap_or_default();
    let mut parts = first.split(' ');
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let rest = target.strip_prefix("http://").unwrap_or(target);
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let mut upstream = TcpStream::connect(authority)?;
    let mut length = 0usize;
    let mut out = format!("{method} {path} HTTP/1.1\r\n");
    for l in lines.filter(|l| !l.is_empty()) {
        let lower = l.to_ascii_lowercase();
        if lower.starts_with("proxy-") || lower.starts_with("connection:") {
            continue;
        }
        if let Some(v) = lower.strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
        out.push_str(l);
        out.push_str("\r\n");
    }
    out.push_str("Connection: close\r\n\r\n");
    let mut body = vec![0u8; length];
    client.read_exact(&mut body)?;
    upstream.write_all(out.as_bytes())?;
    upstream.write_all(&body)?;
    seen.fetch_add(1, Ordering::SeqCst);
    std::io::copy(&mut upstream, &mut client)?;
    Ok(())
}

#[test]
fn the_endpoint_is_reached_through_the_configured_proxy() {
    let lease = dc::lease();
    let dc = &*lease;
    let s = seeded(dc, "chk-proxy");
    let token = jwt(90, "proxy");
    let server = mock(std::slice::from_ref(&token));
    let (port, forwarded) = start_proxy();
    let mut cfg = Cfg::new(dc, &s.base_dn, server.url());
    cfg.proxy = Some(port);
    let path = cfg.write(s.dir.path());
    let ca = dc.ca.to_str().unwrap().to_string();
    let out = check(
        &path,
        &dc.password,
        &token,
        &["--ad-ca-file", &ca, "--json"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let reach = find(&checks(&out), "iid.reach").clone();
    assert!(
        reach.2.contains(&format!("proxy 127.0.0.1:{port}")),
        "{reach:?}"
    );
    // Every request went through it: two reads (the first is the token check), two write
    // probes, two server-side filter checks.
    assert_eq!(forwarded.load(Ordering::SeqCst), 6);

    // A proxy that is down: the fix names the proxy setting.
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_port = closed.local_addr().unwrap().port();
    drop(closed);
    cfg.proxy = Some(dead_port);
    let path = cfg.write(s.dir.path());
    let out = check(&path, &dc.password, &token, &["--ad-ca-file", &ca]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    let bad = all.lines().position(|l| l.contains('✗')).unwrap();
    let lines: Vec<&str> = all.lines().collect();
    assert!(
        lines[bad].contains(&format!("proxy 127.0.0.1:{dead_port}")),
        "{all}"
    );
    // The endpoint is the mock, not IIJ ID: the fix is the proxy and what it must let
    // through, not IIJ ID's firewall rule.
    assert!(
        lines[bad + 1].contains("fix:") && lines[bad + 1].contains("iid.scim.http.proxy"),
        "{all}"
    );
    assert!(!lines[bad + 1].contains("auth.iij.jp"), "{all}");
}
