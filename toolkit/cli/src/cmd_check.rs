//! `dirsnap check`: the pre-flight a careful admin runs before the first export or sync. One
//! line per check, ✓ / ✗ (and ! for a warning, - for not applicable), each failure with what
//! to do about it; then a summary.
//!
//! Exit codes: 0 when no check failed (warnings allowed); 1 when a check failed (a server,
//! the network, a credential, a scope); 2 when config.yml or secret.yml cannot be used (YAML,
//! a wrong type, an unparsable filter, a required key missing, an unreadable CA file) — the
//! configuration problem is shown with its file:line:col and the checks that need the broken
//! part are not run.
//!
//! What is probed: every address of `ad.ldap.server.addresses` on its own (TCP, TLS, bind,
//! base DN), how many objects the AD filters select; the IIJ ID endpoint directly or through
//! `iid.scim.http.proxy`, its TLS certificate, the access token (a `GET Users?count=1`), each
//! of the four scopes, the token's `exp`, and the SCIM filters on the server. The write scopes
//! are probed with a PATCH without operations on the nil UUID, which no resource has: nothing
//! can change (`--no-write-probe` skips it). Secrets are never printed.

use crate::error::CliError;
use chrono::{DateTime, Utc};
use dirsnap_ad::{EndpointProbe, ProbeStage, Transport};
use dirsnap_config::{DsConfig, Located, Secret, SecretSource, load_config, load_secrets};
use dirsnap_scim::{ClientOptions, RetryPolicy, ScimClient, ScimError, TokenCheck, check_token};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The one domain Directory Sync needs through a firewall or proxy (usage precautions).
const IIJ_DOMAIN_RULE: &str = "auth.iij.jp on 443/TCP";
/// A resource id no IIJ ID resource has: the write-scope probes target it.
const NIL_ID: &str = "00000000-0000-0000-0000-000000000000";
const TOKEN_CONSOLE: &str = "IIJ ID Console → My Menu → Access Token Management";

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Directory Sync config.yml.
    #[arg(long)]
    pub config: PathBuf,
    /// secret.yml with the AD bind password and the IIJ ID access token (else
    /// DIRSNAP_AD_PASSWORD and DIRSNAP_IID_TOKEN).
    #[arg(long)]
    pub secret: Option<PathBuf>,
    /// SCIM endpoint (default: iid.scim.url, else https://scim.auth.iij.jp/scim/v2/).
    #[arg(long)]
    pub base_url: Option<String>,
    /// PEM file of CA certificates trusted for LDAPS / StartTLS, besides the system store.
    #[arg(long, env = "DIRSNAP_AD_CA_FILE", value_name = "PEM")]
    pub ad_ca_file: Option<PathBuf>,
    /// PEM file of CA certificates trusted for the SCIM endpoint, besides the system store.
    #[arg(long, value_name = "PEM")]
    pub iid_ca_file: Option<PathBuf>,
    /// Seconds to wait for each connection or request.
    #[arg(long, default_value_t = 10)]
    pub timeout: u64,
    /// Warn when the access token expires within this many days.
    #[arg(long, default_value_t = 14)]
    pub warn_days: i64,
    /// Do not probe the write scopes (a PATCH without operations on a nonexistent id); they
    /// are then reported as not verified.
    #[arg(long)]
    pub no_write_probe: bool,
    /// Print the checks as JSON on stdout instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Pass,
    Warn,
    Fail,
    /// Not applicable, or not run because an earlier check failed.
    Skip,
}

impl Status {
    fn mark(self) -> &'static str {
        match self {
            Status::Pass => "✓",
            Status::Warn => "!",
            Status::Fail => "✗",
            Status::Skip => "-",
        }
    }
    fn name(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Warn => "warn",
            Status::Fail => "fail",
            Status::Skip => "skip",
        }
    }
}

#[derive(Debug, Clone)]
struct Check {
    id: String,
    status: Status,
    text: String,
    fix: Option<String>,
}

/// Collects the checks and prints each as it is decided (text mode).
struct Report {
    checks: Vec<Check>,
    json: bool,
    /// A configuration problem: exit 2 whatever else happened.
    config_unusable: bool,
}

impl Report {
    fn section(&self, title: &str) {
        if !self.json {
            println!("\n{title}");
        }
    }

    fn add(&mut self, id: impl Into<String>, status: Status, text: impl Into<String>) {
        self.push(id.into(), status, text.into(), None);
    }

    fn fail(&mut self, id: impl Into<String>, text: impl Into<String>, fix: impl Into<String>) {
        self.push(id.into(), Status::Fail, text.into(), Some(fix.into()));
    }

    fn warn(&mut self, id: impl Into<String>, text: impl Into<String>, fix: impl Into<String>) {
        self.push(id.into(), Status::Warn, text.into(), Some(fix.into()));
    }

    fn push(&mut self, id: String, status: Status, text: String, fix: Option<String>) {
        if !self.json {
            let mut lines = text.lines();
            println!("  {} {}", status.mark(), lines.next().unwrap_or_default());
            for more in lines {
                println!("      {more}");
            }
            if let Some(f) = &fix {
                println!("      fix: {f}");
            }
        }
        self.checks.push(Check {
            id,
            status,
            text,
            fix,
        });
    }

    fn count(&self, s: Status) -> usize {
        self.checks.iter().filter(|c| c.status == s).count()
    }
}

pub fn run(args: Args, _quiet: bool) -> Result<(), CliError> {
    dirsnap_ad::install_ring_provider();
    let mut report = Report {
        checks: Vec::new(),
        json: args.json,
        config_unusable: false,
    };
    if !args.json {
        println!("dirsnap check {}", args.config.display());
    }
    let outcome = check_all(&args, &mut report);
    finish(&args, &report)?;
    outcome
}

fn check_all(args: &Args, report: &mut Report) -> Result<(), CliError> {
    report.section("Configuration");
    let config = match load_config(&args.config) {
        Ok(c) => c,
        Err(e) => {
            report.fail(
                "config",
                format!("config.yml: {e}"),
                "correct the value at the file:line:column shown (Directory Sync reads the same \
                 file, so it would stop there too); the other checks need a usable config",
            );
            report.config_unusable = true;
            return Ok(());
        }
    };
    let mut text = format!("config.yml parses: {}", config.path.display());
    if let Some(i) = &config.dirsnap.instance {
        text.push_str(&format!(" (instance {i})"));
    }
    if !config.unknown_keys.is_empty() {
        let keys: Vec<String> = config
            .unknown_keys
            .iter()
            .take(5)
            .map(|k| format!("{} (line {})", k.key, k.line))
            .collect();
        text.push_str(&format!(
            "\n{} kept but not interpreted by dirsnap: {}{}",
            count(config.unknown_keys.len(), "key"),
            keys.join(", "),
            if config.unknown_keys.len() > 5 {
                ", …"
            } else {
                ""
            }
        ));
    }
    report.add("config", Status::Pass, text);
    check_filters(&config, report);

    let secrets = match load_secrets(args.secret.as_deref(), &|k| std::env::var(k).ok()) {
        Ok(s) => s,
        Err(e) => {
            report.fail(
                "secret",
                format!("secret.yml: {e}"),
                "correct secret.yml at the position shown (its content is never printed)",
            );
            report.config_unusable = true;
            return Ok(());
        }
    };

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Runtime(format!("cannot start the async runtime: {e}")))?;

    report.section("Active Directory");
    let password = secret_line(
        report,
        "ad.password",
        "AD bind password",
        secrets.ad_password.as_ref(),
        &format!(
            "put it in secret.yml under ad.ldap.server.password (pass --secret), or set {}",
            dirsnap_config::ENV_AD_PASSWORD
        ),
    );
    runtime.block_on(check_ad(args, &config, password, report));

    report.section("IIJ ID");
    let token = secret_line(
        report,
        "iid.token",
        "IIJ ID access token",
        secrets.iid_token.as_ref(),
        "put it in secret.yml under iid.scim.access_token (pass --secret), or set DIRSNAP_IID_TOKEN",
    );
    if let Some(t) = token {
        check_expiry(args, t, report);
    }
    runtime.block_on(check_iid(args, &config, token, report));
    Ok(())
}

fn secret_line<'a>(
    report: &mut Report,
    id: &str,
    what: &str,
    secret: Option<&'a (Secret, SecretSource)>,
    fix: &str,
) -> Option<&'a Secret> {
    match secret {
        Some((s, source)) => {
            report.add(id, Status::Pass, format!("{what} found ({source})"));
            Some(s)
        }
        None => {
            report.fail(id, format!("no {what}"), fix);
            None
        }
    }
}

fn at(f: &Located<String>) -> String {
    format!("{} (line {}, column {})", f.key, f.line, f.column)
}

/// The four filters parsed when the config loaded (an unparsable one stops there with its
/// position); this shows what each selects, as sent.
fn check_filters(config: &DsConfig, report: &mut Report) {
    match dirsnap_ad::effective_filters(config) {
        Ok(eff) => {
            for (key, located, sent, what) in [
                ("user", &config.ad.user_filter, &eff.user, "users"),
                ("group", &config.ad.group_filter, &eff.group, "groups"),
            ] {
                let id = format!("ad.ldap.filter.{key}");
                let text = match located {
                    Some(f) if !f.value.trim().is_empty() => {
                        format!("LDAP filter {} parses; sent as {sent}", at(f))
                    }
                    _ => format!(
                        "LDAP filter ad.ldap.filter.{key} not set: every object of the {what} \
                         class under the base DN is selected ({sent})"
                    ),
                };
                report.add(id, Status::Pass, text);
            }
        }
        Err(e) => {
            report.fail(
                "ad.ldap.filter",
                format!("{e}"),
                "correct the filter at the position shown (RFC 4515 syntax; outer parentheses \
                 are optional)",
            );
            report.config_unusable = true;
        }
    }
    for (key, located, what) in [
        ("user", &config.iid.user_filter, "user"),
        ("group", &config.iid.group_filter, "group"),
    ] {
        let id = format!("iid.scim.filter.{key}");
        let text = match located {
            Some(f) => format!("SCIM filter {} parses: {}", at(f), f.value),
            None => format!(
                "SCIM filter iid.scim.filter.{key} not set: every IIJ ID {what} is this \
                 instance's to manage (with several instances, each needs one)"
            ),
        };
        report.add(id, Status::Pass, text);
    }
}

async fn check_ad(args: &Args, config: &DsConfig, password: Option<&Secret>, report: &mut Report) {
    let ca = args.ad_ca_file.as_deref();
    let probes = match dirsnap_ad::probe_endpoints(config, password, ca).await {
        Ok(p) => p,
        Err(e) => {
            let input = e.is_invalid_input();
            report.fail(
                "ad.server",
                e.to_string(),
                if input {
                    "correct the setting shown; no domain controller was contacted"
                } else {
                    "see the message"
                },
            );
            report.config_unusable |= input;
            return;
        }
    };
    let port_of = |p: &EndpointProbe| {
        p.url
            .rsplit(':')
            .next()
            .map(|s| s.trim_end_matches(" (StartTLS)").to_string())
            .unwrap_or_default()
    };
    let mut bound_somewhere = false;
    for (i, p) in probes.iter().enumerate() {
        let id = format!("ad.server[{i}]");
        let head = format!("domain controller {} [{}]", p.address, p.url);
        match &p.result {
            Ok(ok) => {
                let mut parts = vec![match &ok.tls {
                    Some(t) => format!("TLS: {t}"),
                    None if p.transport == Transport::Plain => {
                        "plain LDAP (no TLS: encryption none)".to_string()
                    }
                    None => String::new(),
                }];
                if ok.bound {
                    bound_somewhere = true;
                    parts.push(format!(
                        "bound as {}; base DN found",
                        config.ad.server.user.as_deref().unwrap_or("?")
                    ));
                }
                if let Some(h) = &ok.server {
                    parts.push(format!("server {h}"));
                }
                parts.push(format!("{} ms", ok.elapsed.as_millis()));
                let text = format!("{head}: {}", parts.join("; "));
                match &ok.bind_skipped {
                    None => report.add(id, Status::Pass, text),
                    Some(why) if password.is_none() => {
                        report.add(id, Status::Skip, format!("{text}\nbind {why}"))
                    }
                    Some(why) => report.warn(
                        id,
                        format!("{text}\nbind {why}"),
                        "fix the credentials (see the failed bind above), then run check again",
                    ),
                }
            }
            Err(f) => {
                let fix = match f.stage {
                    ProbeStage::Connect => format!(
                        "make {} reachable from this host on port {}/TCP (DNS, firewall), or \
                         remove it from ad.ldap.server.addresses: Directory Sync uses the first \
                         address that connects, so a dead entry stays hidden until the others fail",
                        p.address,
                        port_of(p)
                    ),
                    ProbeStage::Tls => "give the CA that issued the domain controller's \
                         certificate with --ad-ca-file (or DIRSNAP_AD_CA_FILE) or install it in \
                         the system trust store; with verify_mode: true the address must be a \
                         name or IP the certificate lists"
                        .to_string(),
                    ProbeStage::Bind => format!(
                        "check ad.ldap.server.user and the password (secret.yml \
                         ad.ldap.server.password or {}); AD's data code tells which: 52e wrong \
                         password, 533 disabled, 532 password expired, 775 locked out",
                        dirsnap_config::ENV_AD_PASSWORD
                    ),
                    ProbeStage::BaseDn => "set ad.ldap.base_dn to a DN of this domain; with \
                         several domains, each instance's config lists only its own domain's \
                         controllers"
                        .to_string(),
                };
                report.fail(id, format!("{head}: {}", f.detail), fix);
            }
        }
    }
    let Some(password) = password.filter(|_| bound_somewhere) else {
        report.add(
            "ad.selected",
            Status::Skip,
            "objects selected by the filters: not counted (no domain controller accepted a bind)",
        );
        return;
    };
    match dirsnap_ad::count_selected(config, password, ca).await {
        Ok(s) if s.users == 0 => report.warn(
            "ad.selected",
            format!(
                "the filters select no users under {} (and {}), on {}",
                s.base_dn,
                count(s.groups, "group"),
                s.url
            ),
            "check ad.ldap.base_dn and ad.ldap.filter.user: a sync would treat every IIJ ID \
             user this instance owns as deleted from AD",
        ),
        Ok(s) => report.add(
            "ad.selected",
            Status::Pass,
            format!(
                "the filters select {} and {} under {} (on {})",
                count(s.users, "user"),
                count(s.groups, "group"),
                s.base_dn,
                s.url
            ),
        ),
        Err(e) => report.fail(
            "ad.selected",
            format!("counting the selected objects failed: {e}"),
            "the search Directory Sync makes fails the same way; see the message",
        ),
    }
}

fn check_expiry(args: &Args, token: &Secret, report: &mut Report) {
    let now = Utc::now();
    let when = |t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    match check_token(token, now, args.warn_days) {
        TokenCheck::Valid { expires } => report.add(
            "iid.token.expiry",
            Status::Pass,
            format!(
                "access token expires {} (in {})",
                when(expires),
                count((expires - now).num_days(), "day")
            ),
        ),
        TokenCheck::ExpiresSoon { expires } => report.warn(
            "iid.token.expiry",
            format!(
                "access token expires {} (in {} h, within {})",
                when(expires),
                (expires - now).num_hours(),
                count(args.warn_days, "day")
            ),
            format!(
                "issue a new token in {TOKEN_CONSOLE} before then, with the four scopes, and \
                 update secret.yml; Directory Sync stops syncing when it expires"
            ),
        ),
        TokenCheck::Expired { expired } => report.fail(
            "iid.token.expiry",
            format!("access token expired {} (its exp claim)", when(expired)),
            format!(
                "issue a new token in {TOKEN_CONSOLE} with escim_read_users, escim_write_users, \
                 escim_read_groups, escim_write_groups and update secret.yml"
            ),
        ),
        TokenCheck::Opaque => report.warn(
            "iid.token.expiry",
            "access token expiry unknown: the token is not a JWT, so it carries no exp claim",
            format!("look up its expiration date in {TOKEN_CONSOLE}"),
        ),
    }
}

fn proxy_url(config: &DsConfig) -> Option<(String, String, u16)> {
    let p = &config.iid.proxy;
    match (p.enabled, &p.address) {
        (true, Some(address)) => {
            let port = p.port.unwrap_or(8080);
            Some((format!("http://{address}:{port}"), address.clone(), port))
        }
        _ => None,
    }
}

async fn tcp_probe(host: &str, port: u16, timeout: Duration) -> Result<Duration, String> {
    let started = Instant::now();
    let addrs = match tokio::time::timeout(timeout, tokio::net::lookup_host((host, port))).await {
        Err(_) => return Err(format!("resolving {host} took more than {timeout:?}")),
        Ok(Err(e)) => return Err(format!("cannot resolve {host}: {e}")),
        Ok(Ok(a)) => a.collect::<Vec<_>>(),
    };
    let mut last = format!("{host} resolved to no address");
    for addr in addrs {
        match tokio::time::timeout(timeout, tokio::net::TcpStream::connect(addr)).await {
            Ok(Ok(_)) => return Ok(started.elapsed()),
            Ok(Err(e)) => last = format!("{addr}: {e}"),
            Err(_) => last = format!("{addr}: no answer within {} s", timeout.as_secs()),
        }
    }
    Err(last)
}

/// A transport error that is about the certificate rather than the connection.
fn is_tls_error(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("certificate") || m.contains("handshake") || m.contains("tls")
}

async fn check_iid(args: &Args, config: &DsConfig, token: Option<&Secret>, report: &mut Report) {
    let base = config.scim_url(args.base_url.as_deref());
    let timeout = Duration::from_secs(args.timeout.max(1));
    let proxy = proxy_url(config);
    // Without a token the TLS check still runs; the placeholder is no credential.
    let mut options = ClientOptions::new(
        base.clone(),
        token.cloned().unwrap_or_else(|| Secret::new("none")),
    );
    options.proxy = proxy.as_ref().map(|p| p.0.clone());
    options.ca_file = args.iid_ca_file.clone();
    options.timeout = timeout;
    options.retry = RetryPolicy::none();
    let client = match ScimClient::new(options) {
        Ok(c) => c,
        Err(e) => {
            report.fail(
                "iid.endpoint",
                e.to_string(),
                "correct iid.scim.url / --base-url or --iid-ca-file",
            );
            report.config_unusable = true;
            return;
        }
    };
    let url = client.base_url().clone();
    let https = url.scheme() == "https";
    let host = url.host_str().unwrap_or_default().to_string();
    let port = url.port_or_known_default().unwrap_or(443);

    // Reachability: the TCP connection the agent would open (to the proxy when one is set).
    let (target, reach) = match &proxy {
        Some((_, address, pport)) => (
            format!("proxy {address}:{pport} (iid.scim.http.proxy)"),
            tcp_probe(address, *pport, timeout).await,
        ),
        None => (
            format!("{host}:{port}"),
            tcp_probe(&host, port, timeout).await,
        ),
    };
    let reach_fix = match &proxy {
        Some((_, address, pport)) => format!(
            "check iid.scim.http.proxy (address {address}, port {pport}); the proxy must allow \
             {IIJ_DOMAIN_RULE} (scim.auth.iij.jp is under it), the only destination Directory \
             Sync needs"
        ),
        None => format!(
            "allow outbound {IIJ_DOMAIN_RULE} in the firewall (scim.auth.iij.jp is under it; it \
             is the only destination Directory Sync needs), or set iid.scim.http.proxy if \
             traffic must go through a proxy"
        ),
    };
    let elapsed = match reach {
        Ok(d) => d,
        Err(e) => {
            report.fail(
                "iid.reach",
                format!("IIJ ID endpoint {url}: cannot connect to {target}: {e}"),
                reach_fix,
            );
            report.add("iid.tls", Status::Skip, "TLS: not checked (no connection)");
            report.add(
                "iid.auth",
                Status::Skip,
                "access token: not checked (no connection)",
            );
            return;
        }
    };

    // The first request proves TLS (and the proxy tunnel); with a token it is the token check.
    let first = if token.is_some() {
        client.get("Users?startIndex=1&count=1").await
    } else {
        // Without a token only TLS can be checked; an unauthenticated request for the
        // discovery document carries no credential.
        client.get("ServiceProviderConfig").await
    };
    if let Err(
        ScimError::Transport { message, .. } | ScimError::RetriesExhausted { last: message, .. },
    ) = &first
    {
        if https && is_tls_error(message) {
            report.add(
                "iid.reach",
                Status::Pass,
                format!(
                    "IIJ ID endpoint {url}: TCP connection to {target} ({} ms)",
                    elapsed.as_millis()
                ),
            );
            report.fail(
                "iid.tls",
                format!("TLS with {host}: {message}"),
                "the certificate must chain to a trusted CA: a TLS-inspecting proxy needs its CA \
                 given with --iid-ca-file (and installed where Directory Sync runs); check the \
                 system clock",
            );
        } else {
            report.fail(
                "iid.reach",
                format!("IIJ ID endpoint {url}: request through {target} failed: {message}"),
                reach_fix,
            );
            report.add("iid.tls", Status::Skip, "TLS: not checked");
        }
        report.add("iid.auth", Status::Skip, "access token: not checked");
        return;
    }
    report.add(
        "iid.reach",
        Status::Pass,
        format!(
            "IIJ ID endpoint {url} reachable through {target} ({} ms to connect)",
            elapsed.as_millis()
        ),
    );
    if https {
        report.add(
            "iid.tls",
            Status::Pass,
            format!(
                "TLS: the certificate of {host} is valid and trusted{}",
                args.iid_ca_file
                    .as_ref()
                    .map(|p| format!(" (system store and {})", p.display()))
                    .unwrap_or_default()
            ),
        );
    } else {
        report.add(
            "iid.tls",
            Status::Skip,
            format!("TLS: not used ({url} is http://; IIJ ID itself is https only)"),
        );
    }
    if token.is_none() {
        report.add(
            "iid.auth",
            Status::Skip,
            "access token: not checked (no token)",
        );
        return;
    }

    // The token.
    let total = |r: &dirsnap_scim::Response| r.body.get("totalResults").and_then(Value::as_u64);
    match &first {
        Ok(r) => report.add(
            "iid.auth",
            Status::Pass,
            format!(
                "access token accepted (GET Users?count=1 → {}{})",
                r.status,
                total(r)
                    .map(|n| format!("; the tenant holds {}", count(n, "user")))
                    .unwrap_or_default()
            ),
        ),
        Err(ScimError::Forbidden { .. }) => report.add(
            "iid.auth",
            Status::Pass,
            "access token accepted (authenticated; see the scopes)",
        ),
        Err(e @ ScimError::Unauthorized { .. }) => {
            report.fail(
                "iid.auth",
                format!("access token refused: {e}"),
                format!(
                    "the token has expired or was revoked (also when the administrator who \
                     issued it was deleted or disabled): issue a new one in {TOKEN_CONSOLE} and \
                     update secret.yml"
                ),
            );
            for scope in dirsnap_scim::WRITE_SCOPES {
                report.add(
                    format!("iid.scope.{scope}"),
                    Status::Skip,
                    format!("scope {scope}: not checked (token refused)"),
                );
            }
            return;
        }
        Err(e) => {
            report.fail(
                "iid.auth",
                format!("GET Users?count=1 failed: {e}"),
                "is iid.scim.url (or --base-url) the SCIM base URL, e.g. \
                 https://scim.auth.iij.jp/scim/v2/?",
            );
            return;
        }
    }

    // The four scopes, each with the cheapest request that needs it.
    let scope_fix = format!(
        "issue a token with all four scopes (escim_read_users, escim_write_users, \
         escim_read_groups, escim_write_groups) in {TOKEN_CONSOLE}; Directory Sync needs all four"
    );
    let mut results: Vec<(&str, String, Result<String, ScimError>)> = Vec::new();
    results.push((
        "escim_read_users",
        "GET Users?count=1".into(),
        first.map(|r| format!("{}", r.status)),
    ));
    let groups = client.get("Groups?startIndex=1&count=1").await;
    let group_total = groups.as_ref().ok().and_then(total);
    results.push((
        "escim_read_groups",
        "GET Groups?count=1".into(),
        groups.map(|r| {
            format!(
                "{}{}",
                r.status,
                group_total
                    .map(|n| format!("; the tenant holds {}", count(n, "group")))
                    .unwrap_or_default()
            )
        }),
    ));
    // Assumption A11 (docs/iij-assumptions.md), switchable per run or in config.yml.
    let probe_off = args.no_write_probe
        || config.dirsnap.profile.get("check_write_scopes")
            == Some(&serde_json::Value::Bool(false));
    for (scope, kind) in [
        ("escim_write_users", "Users"),
        ("escim_write_groups", "Groups"),
    ] {
        if probe_off {
            report.warn(
                format!("iid.scope.{scope}"),
                format!(
                    "scope {scope}: not verified (--no-write-probe or dirsnap.profile.check_write_scopes: false)"
                ),
                "confirm the scopes in the console, or let check probe them",
            );
            continue;
        }
        let body = json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": []
        });
        let probe = match client.url(&format!("{kind}/{NIL_ID}")) {
            Ok(u) => client.send(reqwest::Method::PATCH, u, Some(&body)).await,
            Err(e) => Err(e),
        };
        // Past authorisation any answer will do: no resource has the nil id, so nothing
        // changed. That IIJ ID checks the scope before the resource is assumption A11
        // (docs/iij-assumptions.md).
        let verdict = match probe {
            Ok(r) => Ok(format!("{}", r.status)),
            Err(ScimError::Status { status, .. }) => Ok(format!("{status}, as expected")),
            Err(e) => Err(e),
        };
        results.push((
            scope,
            format!("PATCH {kind}/{NIL_ID} without operations"),
            verdict,
        ));
    }
    for (scope, request, verdict) in results {
        let id = format!("iid.scope.{scope}");
        match verdict {
            Ok(answer) => report.add(
                id,
                Status::Pass,
                format!("scope {scope}: {request} → {answer}"),
            ),
            Err(ScimError::Forbidden { .. }) => report.fail(
                id,
                format!("scope {scope} missing: {request} → 403 Forbidden"),
                scope_fix.clone(),
            ),
            Err(e) => report.fail(
                id,
                format!("scope {scope}: {request} failed: {e}"),
                "see the message",
            ),
        }
    }

    // The SCIM filters, on the server: IIJ documents no filter grammar, so its answer decides.
    for (key, located, kind) in [
        ("user", &config.iid.user_filter, "Users"),
        ("group", &config.iid.group_filter, "Groups"),
    ] {
        let Some(f) = located else { continue };
        let id = format!("iid.scim.filter.{key}.server");
        let path = format!(
            "{kind}?filter={}&startIndex=1&count=1",
            encode_query(&f.value)
        );
        match client.get(&path).await {
            Ok(r) => report.add(
                id,
                Status::Pass,
                format!(
                    "iid.scim.filter.{key} accepted by the server{}",
                    total(&r)
                        .map(|n| format!(": it selects {}", count(n, key)))
                        .unwrap_or_default()
                ),
            ),
            Err(e) => report.fail(
                id,
                format!(
                    "iid.scim.filter.{key} ({}) refused by the server: {e}",
                    at(f)
                ),
                "IIJ ID's filter support is not documented: use the simplest form that selects \
                 this instance's objects (eq on userName, externalId or displayName)",
            ),
        }
    }
}

/// Percent-encodes a query value (RFC 3986 unreserved characters pass).
fn encode_query(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn finish(args: &Args, report: &Report) -> Result<(), CliError> {
    let (pass, warn, fail, skip) = (
        report.count(Status::Pass),
        report.count(Status::Warn),
        report.count(Status::Fail),
        report.count(Status::Skip),
    );
    let code = if report.config_unusable {
        2
    } else if fail > 0 {
        1
    } else {
        0
    };
    if args.json {
        let checks: Vec<Value> = report
            .checks
            .iter()
            .map(|c| {
                json!({
                    "id": c.id,
                    "status": c.status.name(),
                    "text": c.text,
                    "fix": c.fix,
                })
            })
            .collect();
        let doc = json!({
            "config": args.config.display().to_string(),
            "checks": checks,
            "summary": {"passed": pass, "warnings": warn, "failed": fail, "skipped": skip},
            "exit_code": code,
        });
        println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
    } else {
        println!(
            "\n{pass} passed, {}, {fail} failed, {skip} not run",
            count(warn, "warning")
        );
    }
    match code {
        0 => Ok(()),
        2 => Err(CliError::Input(
            "the configuration cannot be used; fix the ✗ line(s) under Configuration (or the \
             setting named) first"
                .into(),
        )),
        _ => Err(CliError::Runtime(format!(
            "{} failed; each ✗ line says what to do",
            count(fail, "check")
        ))),
    }
}

/// `n noun`, the noun in the plural unless `n` is 1 (every noun counted here takes an -s).
fn count(n: impl std::fmt::Display, noun: &str) -> String {
    let n = n.to_string();
    if n == "1" {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

#[cfg(test)]
mod tests {
    use super::count;

    #[test]
    fn counts_agree_with_their_noun() {
        assert_eq!(count(0usize, "group"), "0 groups");
        assert_eq!(count(1u64, "group"), "1 group");
        assert_eq!(count(2i64, "day"), "2 days");
        assert_eq!(count(11u32, "user"), "11 users");
    }
}
