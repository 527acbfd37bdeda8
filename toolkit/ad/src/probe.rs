//! Pre-flight probes for `dirsnap check`: every domain controller in
//! `ad.ldap.server.addresses` on its own (an export stops at the first that answers, so a dead
//! second DC goes unnoticed until the first one fails), stage by stage — TCP, TLS, bind,
//! base DN — and how many objects the configured filters select.

use crate::error::AdError;
use crate::export::{ExportOptions, MAX_PAGE_SIZE, searches};
use crate::range::RangeSource as _;
use crate::session::{
    FINAL_BIND_CODES, Session, describe_ldap_error, describe_result, tcp_connect,
};
use crate::settings::{ConnectionPlan, Endpoint, Transport};
use crate::tls::{self, TrustSources};
use dirsnap_config::{DsConfig, Secret};
use ldap3::{Ldap, LdapConnAsync, LdapConnSettings, Scope, StdStream};
use rustls::ClientConfig;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The step at which a domain controller failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProbeStage {
    /// No TCP connection (refused, timed out, name not resolved).
    Connect,
    /// The TLS handshake or StartTLS failed (certificate not trusted, wrong name, no TLS).
    Tls,
    /// The simple bind was refused.
    Bind,
    /// Bound, but `ad.ldap.base_dn` is not on this server.
    BaseDn,
}

/// Why one domain controller is not usable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeFailure {
    pub stage: ProbeStage,
    pub detail: String,
}

/// What worked on one domain controller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointOk {
    /// How the certificate was checked; `None` for plain LDAP.
    pub tls: Option<String>,
    /// Whether a bind was made (no password given, or skipped to avoid a lockout).
    pub bound: bool,
    /// Why the bind was not tried, when it was not.
    pub bind_skipped: Option<String>,
    /// `dnsHostName` of the rootDSE, when readable.
    pub server: Option<String>,
    /// `defaultNamingContext` of the rootDSE, when readable.
    pub naming_context: Option<String>,
    pub elapsed: Duration,
}

/// The verdict on one address of `ad.ldap.server.addresses`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointProbe {
    /// The address as written in config.yml.
    pub address: String,
    /// The URL connected to, e.g. `ldaps://127.0.0.1:636`.
    pub url: String,
    pub transport: Transport,
    pub result: Result<EndpointOk, ProbeFailure>,
}

/// How many objects the configured filters select, read from the first usable DC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selected {
    pub url: String,
    pub base_dn: String,
    pub user_filter: String,
    pub group_filter: String,
    pub users: u64,
    pub groups: u64,
}

fn tls_for(
    plan: &ConnectionPlan,
    ca_file: Option<&Path>,
) -> Result<Option<(Arc<ClientConfig>, TrustSources)>, AdError> {
    let uses_tls = plan
        .endpoints
        .iter()
        .any(|e| e.transport != Transport::Plain);
    if uses_tls {
        Ok(Some(tls::client_config(ca_file, plan.verify_name)?))
    } else {
        Ok(None)
    }
}

/// Probes every configured domain controller in turn. With a password, each one is bound to
/// and asked for the base DN; once a DC refuses the credentials as such (e.g. wrong password),
/// the others are only connected to: repeating a wrong password would count towards the
/// account's lockout. `Err` only for a configuration that names nothing to probe or a CA file
/// that cannot be read.
pub async fn probe_endpoints(
    cfg: &DsConfig,
    password: Option<&Secret>,
    ca_file: Option<&Path>,
) -> Result<Vec<EndpointProbe>, AdError> {
    let plan = ConnectionPlan::from_config(cfg)?;
    let tls = tls_for(&plan, ca_file)?;
    let mut out = Vec::with_capacity(plan.endpoints.len());
    let mut refused_at: Option<String> = None;
    for ep in &plan.endpoints {
        let bind = match (&refused_at, password) {
            (Some(url), Some(_)) => Bind::Skip(format!(
                "not tried: {url} refused these credentials, and another attempt would count \
                 towards the account's lockout"
            )),
            (None, Some(p)) => Bind::With(p),
            (_, None) => Bind::Skip("not tried: no password".into()),
        };
        let (result, final_refusal) = probe_one(&plan, ep, bind, tls.as_ref()).await;
        if final_refusal && refused_at.is_none() {
            refused_at = Some(ep.display());
        }
        out.push(EndpointProbe {
            address: ep.address.clone(),
            url: ep.display(),
            transport: ep.transport,
            result,
        });
    }
    Ok(out)
}

enum Bind<'a> {
    With(&'a Secret),
    Skip(String),
}

fn fail(stage: ProbeStage, detail: impl Into<String>) -> Result<EndpointOk, ProbeFailure> {
    Err(ProbeFailure {
        stage,
        detail: detail.into(),
    })
}

/// One endpoint; the flag says whether the bind was refused in a way another DC would repeat.
async fn probe_one(
    plan: &ConnectionPlan,
    ep: &Endpoint,
    bind: Bind<'_>,
    tls: Option<&(Arc<ClientConfig>, TrustSources)>,
) -> (Result<EndpointOk, ProbeFailure>, bool) {
    let started = Instant::now();
    let tcp = match tcp_connect(ep, plan.connect_timeout).await {
        Ok(tcp) => tcp,
        Err(reason) => return (fail(ProbeStage::Connect, reason), false),
    };
    let mut settings = LdapConnSettings::new()
        .set_conn_timeout(plan.connect_timeout)
        .set_std_stream(StdStream::Tcp(tcp));
    let tls_text = match (ep.transport, tls) {
        (Transport::Plain, _) => None,
        (_, None) => return (fail(ProbeStage::Tls, "TLS is not configured"), false),
        (_, Some((config, trust))) => {
            settings = settings
                .set_config(config.clone())
                .set_starttls(ep.transport == Transport::StartTls);
            Some(format!(
                "certificate chain verified against {}; {}",
                trust.describe(),
                if plan.verify_name {
                    format!("the certificate names {:?} (verify_mode: true)", ep.host)
                } else {
                    "the name in it is not checked (verify_mode: false)".to_string()
                }
            ))
        }
    };
    let (conn, mut ldap) = match LdapConnAsync::with_settings(settings, &ep.url()).await {
        Ok(pair) => pair,
        Err(e) => {
            let detail = describe_ldap_error(&e, ep, tls.map(|t| &t.1), plan.connect_timeout);
            let stage = if ep.transport == Transport::Plain {
                ProbeStage::Connect
            } else {
                ProbeStage::Tls
            };
            return (fail(stage, detail), false);
        }
    };
    ldap3::drive!(conn);
    let op = plan.connect_timeout.max(Duration::from_secs(30));
    let (bound, bind_skipped) = match bind {
        Bind::Skip(why) => (false, Some(why)),
        Bind::With(password) => {
            match ldap
                .with_timeout(op)
                .simple_bind(&plan.bind_dn, password.expose())
                .await
            {
                Ok(res) if res.rc == 0 => (true, None),
                Ok(res) => {
                    let _ = ldap.unbind().await;
                    return (
                        fail(
                            ProbeStage::Bind,
                            format!(
                                "bind as {:?} refused: {}",
                                plan.bind_dn,
                                describe_result(res.rc, &res.text)
                            ),
                        ),
                        FINAL_BIND_CODES.contains(&res.rc),
                    );
                }
                Err(e) => {
                    let detail =
                        describe_ldap_error(&e, ep, tls.map(|t| &t.1), plan.connect_timeout);
                    return (
                        fail(ProbeStage::Bind, format!("bind failed: {detail}")),
                        false,
                    );
                }
            }
        }
    };
    let (server, naming_context) = root_dse(&mut ldap, op).await;
    if bound {
        let res = ldap
            .with_timeout(op)
            .search(&plan.base_dn, Scope::Base, "(objectClass=*)", ["1.1"])
            .await;
        let problem = match res {
            Ok(r) if r.1.rc == 0 => None,
            Ok(r) if r.1.rc == 32 => Some(format!(
                "the base DN {:?} does not exist on this server{}",
                plan.base_dn,
                naming_context
                    .as_deref()
                    .map(|nc| format!(" (it serves {nc})"))
                    .unwrap_or_default()
            )),
            Ok(r) if r.1.rc == 10 => Some(format!(
                "the base DN {:?} is not in this server's domain (referral{}); list domain \
                 controllers of that domain, or fix ad.ldap.base_dn",
                plan.base_dn,
                r.1.refs
                    .first()
                    .map(|u| format!(" to {u}"))
                    .unwrap_or_default()
            )),
            Ok(r) => Some(format!(
                "reading the base DN {:?} failed: {}",
                plan.base_dn,
                describe_result(r.1.rc, &r.1.text)
            )),
            Err(e) => Some(format!(
                "reading the base DN {:?} failed: {e}",
                plan.base_dn
            )),
        };
        if let Some(detail) = problem {
            let _ = ldap.unbind().await;
            return (fail(ProbeStage::BaseDn, detail), false);
        }
    }
    let _ = ldap.unbind().await;
    (
        Ok(EndpointOk {
            tls: tls_text,
            bound,
            bind_skipped,
            server,
            naming_context,
            elapsed: started.elapsed(),
        }),
        false,
    )
}

/// `dnsHostName` and `defaultNamingContext`; AD lets anyone read the rootDSE, so this works
/// unbound too. Failures only leave the fields empty.
async fn root_dse(ldap: &mut Ldap, timeout: Duration) -> (Option<String>, Option<String>) {
    let Ok(res) = ldap
        .with_timeout(timeout)
        .search(
            "",
            Scope::Base,
            "(objectClass=*)",
            ["dnsHostName", "defaultNamingContext"],
        )
        .await
    else {
        return (None, None);
    };
    let Ok((entries, _)) = res.success() else {
        return (None, None);
    };
    let Some(entry) = entries.into_iter().find(|e| !e.is_ref()) else {
        return (None, None);
    };
    let entry = ldap3::SearchEntry::construct(entry);
    let first = |k: &str| entry.attrs.get(k).and_then(|v| v.first()).cloned();
    (first("dnsHostName"), first("defaultNamingContext"))
}

/// Counts the users and groups the configured filters select, on the first domain controller
/// that accepts the bind (no attributes are read, so this is cheap even for large domains).
pub async fn count_selected(
    cfg: &DsConfig,
    password: &Secret,
    ca_file: Option<&Path>,
) -> Result<Selected, AdError> {
    let options = ExportOptions {
        ca_file: ca_file.map(Path::to_path_buf),
        ..ExportOptions::default()
    };
    let specs = searches(cfg, &options)?;
    let plan = ConnectionPlan::from_config(cfg)?;
    let tls = tls_for(&plan, ca_file)?;
    let mut session = Session::open(&plan, password, tls.as_ref()).await?;
    let none = vec!["1.1".to_string()];
    let users = session
        .paged_search(
            "users",
            &specs.users.base,
            &specs.users.filter,
            &none,
            MAX_PAGE_SIZE,
            &[],
            |_| Ok(()),
        )
        .await?;
    let groups = session
        .paged_search(
            "groups",
            &specs.groups.base,
            &specs.groups.filter,
            &none,
            MAX_PAGE_SIZE,
            &[],
            |_| Ok(()),
        )
        .await?;
    let url = session.url();
    session.close().await;
    Ok(Selected {
        url,
        base_dn: specs.users.base,
        user_filter: specs.users.filter,
        group_filter: specs.groups.filter,
        users,
        groups,
    })
}
