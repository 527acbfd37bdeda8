//! The IIJ ID checks: the endpoint reached directly or through `iid.scim.http.proxy`, its TLS
//! certificate, the access token and its four scopes, and the SCIM filters on the
//! server. The write scopes are probed with a PATCH without operations on the nil UUID,
//! which no resource has: nothing can change.

use super::config::at;
use super::{CheckOptions, Recorder, Status, plural};
use dirsnap_config::{DsConfig, Secret};
use dirsnap_scim::{ClientOptions, RetryPolicy, ScimClient, ScimError};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// The one domain Directory Sync needs through a firewall or proxy (usage precautions).
const IIJ_DOMAIN_RULE: &str = "auth.iij.jp on 443/TCP";
/// A resource id no IIJ ID resource has: the write-scope probes target it.
const NIL_ID: &str = "00000000-0000-0000-0000-000000000000";
pub(super) const TOKEN_CONSOLE: &str = "IIJ ID Console → My Menu → Access Token Management";

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

/// Whether `host` is IIJ ID's own (under auth.iij.jp), the only destination Directory Sync
/// needs through a firewall or proxy.
fn is_iij_host(host: &str) -> bool {
    let h = host.trim_end_matches('.').to_ascii_lowercase();
    h == "auth.iij.jp" || h.ends_with(".auth.iij.jp")
}

/// What to do when the SCIM endpoint cannot be reached. The firewall advice (allow
/// auth.iij.jp) is only for IIJ ID's own endpoint: for a custom URL — a mock, a test tenant,
/// a relay — the URL itself and the server behind it are what to check.
/// `from_flag`: the URL came from --base-url rather than iid.scim.url.
fn reach_fix(host: &str, port: u16, proxy: Option<(&str, u16)>, from_flag: bool) -> String {
    let setting = if from_flag {
        "--base-url"
    } else {
        "iid.scim.url"
    };
    match (proxy, is_iij_host(host)) {
        (Some((address, pport)), true) => format!(
            "check iid.scim.http.proxy (address {address}, port {pport}); the proxy must allow \
             {IIJ_DOMAIN_RULE} (scim.auth.iij.jp is under it), the only destination Directory \
             Sync needs"
        ),
        (Some((address, pport)), false) => format!(
            "check iid.scim.http.proxy (address {address}, port {pport}), and that the proxy \
             allows {host}:{port} (the endpoint {setting} names)"
        ),
        (None, true) => format!(
            "allow outbound {IIJ_DOMAIN_RULE} in the firewall (scim.auth.iij.jp is under it; it \
             is the only destination Directory Sync needs), or set iid.scim.http.proxy if \
             traffic must go through a proxy"
        ),
        (None, false) => format!(
            "{host}:{port} is the endpoint {setting} names, not IIJ ID's: check that URL (host, \
             port, path) and that the server there is running and reachable from this machine"
        ),
    }
}

/// A transport error that is about the certificate rather than the connection.
fn is_tls_error(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("certificate") || m.contains("handshake") || m.contains("tls")
}

pub(super) async fn check_iid(
    options: &CheckOptions,
    config: &DsConfig,
    token: Option<&Secret>,
    report: &mut Recorder<'_>,
) {
    let base = config.scim_url(options.base_url.as_deref());
    let timeout = options.timeout;
    let proxy = proxy_url(config);
    // Without a token the TLS check still runs; the placeholder is no credential.
    let mut client_options = ClientOptions::new(
        base.clone(),
        token.cloned().unwrap_or_else(|| Secret::new("none")),
    );
    client_options.proxy = proxy.as_ref().map(|p| p.0.clone());
    client_options.ca_file = options.iid_ca_file.clone();
    client_options.timeout = timeout;
    client_options.retry = RetryPolicy::none();
    let client = match ScimClient::new(client_options) {
        Ok(c) => c,
        Err(e) => {
            report.fail(
                "iid.endpoint",
                e.to_string(),
                "correct iid.scim.url / --base-url or --iid-ca-file",
            );
            report.unusable();
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
    let reach_fix = reach_fix(
        &host,
        port,
        proxy.as_ref().map(|(_, a, p)| (a.as_str(), *p)),
        options.base_url.is_some(),
    );
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
        ScimError::Transport { message, .. }
        | ScimError::Unreachable { message, .. }
        | ScimError::RetriesExhausted { last: message, .. },
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
                options
                    .iid_ca_file
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
                    .map(|n| format!("; the tenant holds {}", plural(n, "user")))
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
                    .map(|n| format!("; the tenant holds {}", plural(n, "group")))
                    .unwrap_or_default()
            )
        }),
    ));
    // Assumption A11 (docs/iij-assumptions.md), switchable per run or in config.yml.
    let probe_off = !options.write_probe
        || config
            .profile_settings()
            .is_ok_and(|s| s.check_write_scopes == Some(false));
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
                        .map(|n| format!(": it selects {}", plural(n, key)))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reach_fix_sends_people_to_auth_iij_jp_only_for_iij_id() {
        let iij = reach_fix("scim.auth.iij.jp", 443, None, false);
        assert!(iij.contains("auth.iij.jp on 443/TCP"), "{iij}");
        // A custom endpoint (a mock, a relay): check that URL, not IIJ ID's firewall rule.
        let custom = reach_fix("127.0.0.1", 18443, None, true);
        assert!(!custom.contains("auth.iij.jp"), "{custom}");
        assert!(
            custom.contains("127.0.0.1:18443") && custom.contains("--base-url"),
            "{custom}"
        );
        let configured = reach_fix("scim.test.example", 443, None, false);
        assert!(configured.contains("iid.scim.url"), "{configured}");
        assert!(!configured.contains("auth.iij.jp"), "{configured}");
        let proxied = reach_fix("scim.test.example", 443, Some(("proxy.lan", 3128)), false);
        assert!(
            proxied.contains("proxy.lan") && proxied.contains("scim.test.example:443"),
            "{proxied}"
        );
        assert!(!proxied.contains("auth.iij.jp"), "{proxied}");
        let proxied_iij = reach_fix("scim.auth.iij.jp", 443, Some(("proxy.lan", 3128)), false);
        assert!(
            proxied_iij.contains("auth.iij.jp on 443/TCP"),
            "{proxied_iij}"
        );
        assert!(!is_iij_host("auth.iij.jp.evil.example"));
        assert!(is_iij_host("SCIM.AUTH.IIJ.JP."));
    }
}
