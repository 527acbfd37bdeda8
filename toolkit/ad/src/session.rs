//! One LDAP session with a domain controller: failover over the configured addresses, simple
//! bind, paged subtree searches and base searches (for ranged retrieval), on ldap3's async API.

use crate::entry::{RawEntry, decode_entry, decode_paged_cookie};
use crate::error::{AdError, Attempt};
use crate::range::RangeSource;
use crate::settings::{ConnectionPlan, Endpoint, Transport};
use crate::tls::{TrustSources, describe_tls_error};
use dirsnap_config::Secret;
use ldap3::controls::{PagedResults, RawControl};
use ldap3::{Ldap, LdapConnAsync, LdapConnSettings, LdapError, Scope, StdStream};
use rustls::ClientConfig;
use std::sync::Arc;
use std::time::Duration;

/// OID of the paged results control (RFC 2696; AD caps pages at MaxPageSize, 1000).
pub const PAGED_RESULTS_OID: &str = "1.2.840.113556.1.4.319";
/// OID of AD's show-deleted control: tombstones are returned too.
pub const SHOW_DELETED_OID: &str = "1.2.840.113556.1.4.417";

/// Result codes after which trying another DC of the same domain cannot help: the same
/// credentials or policy apply there, and retrying a wrong password risks a lockout.
pub(crate) const FINAL_BIND_CODES: &[u32] = &[7, 8, 13, 48, 49, 50, 53];

/// Counters of what went over the wire, for the summary and the manifest notes.
#[derive(Debug, Clone, Default)]
pub struct WireStats {
    pub searches: u64,
    pub pages: u64,
    pub referrals_skipped: u64,
    /// Searches whose answer carried no paged-results control (server ignored paging).
    pub unpaged_answers: u64,
    pub range_requests: u64,
}

pub struct Session {
    ldap: Ldap,
    pub endpoint: Endpoint,
    op_timeout: Duration,
    pub stats: WireStats,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("endpoint", &self.endpoint.display())
            .finish()
    }
}

/// The words for the code AD puts after `data` in a failed bind's message.
fn ad_bind_subcode(text: &str) -> Option<&'static str> {
    let code = text.split("data ").nth(1)?.get(..3)?;
    Some(match code {
        "525" => "no such user",
        "52e" => "wrong password or unknown user",
        "530" => "logon not permitted at this time",
        "531" => "logon not permitted from this workstation",
        "532" => "password expired",
        "533" => "account disabled",
        "701" => "account expired",
        "773" => "the user must change the password first",
        "775" => "account locked out",
        _ => return None,
    })
}

pub(crate) fn describe_result(rc: u32, text: &str) -> String {
    let name = match rc {
        1 => "operationsError",
        2 => "protocolError",
        3 => "timeLimitExceeded",
        4 => "sizeLimitExceeded",
        8 => "strongerAuthRequired",
        10 => "referral",
        11 => "adminLimitExceeded",
        12 => "unavailableCriticalExtension",
        13 => "confidentialityRequired",
        32 => "noSuchObject",
        34 => "invalidDNSyntax",
        48 => "inappropriateAuthentication",
        49 => "invalidCredentials",
        50 => "insufficientAccessRights",
        51 => "busy",
        52 => "unavailable",
        53 => "unwillingToPerform",
        80 => "other",
        _ => "error",
    };
    let mut s = format!("{name} ({rc})");
    let text = text.trim_end_matches('\0').trim();
    if !text.is_empty() {
        s.push_str(": ");
        s.push_str(text);
    }
    if let Some(words) = ad_bind_subcode(text) {
        s.push_str(&format!(" [{words}]"));
    }
    if rc == 8 || rc == 13 {
        s.push_str(
            "; the server refuses simple binds without TLS: set ad.ldap.server.encryption to \
             start_tls or use ldaps://",
        );
    }
    s
}

pub(crate) fn describe_ldap_error(
    e: &LdapError,
    ep: &Endpoint,
    trust: Option<&TrustSources>,
    t: Duration,
) -> String {
    let empty = TrustSources {
        system_roots: 0,
        ca_file: None,
    };
    let trust = trust.unwrap_or(&empty);
    match e {
        LdapError::Io { source } => {
            if let Some(tls) = source
                .get_ref()
                .and_then(|inner| inner.downcast_ref::<rustls::Error>())
            {
                return describe_tls_error(tls, &ep.host, trust);
            }
            match source.kind() {
                std::io::ErrorKind::ConnectionRefused => {
                    "connection refused (nothing listens on that address and port)".into()
                }
                std::io::ErrorKind::TimedOut => format!("no answer within {} s", t.as_secs()),
                std::io::ErrorKind::UnexpectedEof if ep.transport != Transport::Plain => {
                    "the server closed the connection during the TLS handshake (is TLS enabled \
                     on that port?)"
                        .into()
                }
                _ => source.to_string(),
            }
        }
        LdapError::Rustls { source } => describe_tls_error(source, &ep.host, trust),
        LdapError::Timeout { .. } => format!("no answer within {} s", t.as_secs()),
        LdapError::LdapResult { result } if ep.transport == Transport::StartTls => {
            format!(
                "StartTLS refused: {}",
                describe_result(result.rc, &result.text)
            )
        }
        LdapError::DNSName { source } => format!("not a valid TLS server name: {source}"),
        other => other.to_string(),
    }
}

/// Opens the TCP connection to `ep` with TCP_NODELAY, as a std socket for ldap3.
pub(crate) async fn tcp_connect(
    ep: &Endpoint,
    timeout: Duration,
) -> Result<std::net::TcpStream, String> {
    let connect = tokio::net::TcpStream::connect((ep.host.as_str(), ep.port));
    let stream = match tokio::time::timeout(timeout, connect).await {
        Err(_) => return Err(format!("no answer within {} s", timeout.as_secs())),
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
            return Err("connection refused (nothing listens on that address and port)".into());
        }
        Ok(Err(e)) => return Err(e.to_string()),
        Ok(Ok(s)) => s,
    };
    let _ = stream.set_nodelay(true);
    stream.into_std().map_err(|e| e.to_string())
}

impl Session {
    /// Connects to the first address that answers and binds there. A refused bind is final
    /// (no other DC is tried); a connection or TLS failure moves on to the next address.
    pub async fn open(
        plan: &ConnectionPlan,
        password: &Secret,
        tls: Option<&(Arc<ClientConfig>, TrustSources)>,
    ) -> Result<Session, AdError> {
        let mut attempts = Vec::new();
        for ep in &plan.endpoints {
            let url = ep.url();
            let mut settings = LdapConnSettings::new().set_conn_timeout(plan.connect_timeout);
            if ep.transport != Transport::Plain {
                let Some((config, _)) = tls else {
                    attempts.push(Attempt {
                        url: ep.display(),
                        reason: "TLS is not configured".into(),
                    });
                    continue;
                };
                settings = settings
                    .set_config(config.clone())
                    .set_starttls(ep.transport == Transport::StartTls);
            }
            tracing::debug!(url = %ep.display(), "connecting");
            // Our own socket, to switch Nagle's algorithm off: each page request is one small
            // write that should leave at once (ldap3 leaves the default on).
            let tcp = match tcp_connect(ep, plan.connect_timeout).await {
                Ok(tcp) => tcp,
                Err(reason) => {
                    tracing::warn!(url = %ep.display(), %reason, "domain controller not usable, trying the next");
                    attempts.push(Attempt {
                        url: ep.display(),
                        reason,
                    });
                    continue;
                }
            };
            settings = settings.set_std_stream(StdStream::Tcp(tcp));
            let (conn, mut ldap) = match LdapConnAsync::with_settings(settings, &url).await {
                Ok(pair) => pair,
                Err(e) => {
                    let reason =
                        describe_ldap_error(&e, ep, tls.map(|t| &t.1), plan.connect_timeout);
                    tracing::warn!(url = %ep.display(), %reason, "domain controller not usable, trying the next");
                    attempts.push(Attempt {
                        url: ep.display(),
                        reason,
                    });
                    continue;
                }
            };
            ldap3::drive!(conn);
            let bind = ldap
                .with_timeout(plan.connect_timeout.max(Duration::from_secs(30)))
                .simple_bind(&plan.bind_dn, password.expose())
                .await;
            match bind {
                Ok(res) if res.rc == 0 => {
                    tracing::info!(url = %ep.display(), bind_dn = %plan.bind_dn, "bound");
                    return Ok(Session {
                        ldap,
                        endpoint: ep.clone(),
                        op_timeout: plan.op_timeout,
                        stats: WireStats::default(),
                    });
                }
                Ok(res) if FINAL_BIND_CODES.contains(&res.rc) => {
                    return Err(AdError::Bind {
                        url: ep.display(),
                        bind_dn: plan.bind_dn.clone(),
                        detail: describe_result(res.rc, &res.text),
                    });
                }
                Ok(res) => attempts.push(Attempt {
                    url: ep.display(),
                    reason: format!("bind failed: {}", describe_result(res.rc, &res.text)),
                }),
                Err(e) => attempts.push(Attempt {
                    url: ep.display(),
                    reason: format!(
                        "bind failed: {}",
                        describe_ldap_error(&e, ep, tls.map(|t| &t.1), plan.connect_timeout)
                    ),
                }),
            }
        }
        Err(AdError::Unreachable(attempts))
    }

    fn search_error(&self, what: &str, base: &str, detail: String) -> AdError {
        AdError::Search {
            url: self.endpoint.display(),
            what: what.to_string(),
            base: base.to_string(),
            detail,
        }
    }

    /// Reads the rootDSE.
    pub async fn root_dse(&mut self) -> Result<RawEntry, AdError> {
        let attrs = [
            "defaultNamingContext",
            "dnsHostName",
            "supportedControl",
            "highestCommittedUSN",
        ];
        let res = self
            .ldap
            .with_timeout(self.op_timeout)
            .search("", Scope::Base, "(objectClass=*)", attrs)
            .await
            .map_err(|e| self.search_error("the rootDSE", "", e.to_string()))?;
        self.stats.searches += 1;
        let (entries, _) = res
            .success()
            .map_err(|e| self.search_error("the rootDSE", "", e.to_string()))?;
        entries
            .into_iter()
            .find(|e| !e.is_ref())
            .map(|e| decode_entry(e.0))
            .transpose()
            .map_err(|detail| AdError::Protocol {
                url: self.endpoint.display(),
                detail,
            })
            .map(Option::unwrap_or_default)
    }

    /// A subtree search paged with the paged-results control (`page_size` entries per page,
    /// following the server's cookie until it is empty). Continuation references are counted
    /// and skipped, never chased. Every entry is handed to `on_entry` as it arrives.
    #[allow(clippy::too_many_arguments)]
    pub async fn paged_search(
        &mut self,
        what: &str,
        base: &str,
        filter: &str,
        attrs: &[String],
        page_size: u32,
        extra_controls: &[RawControl],
        mut on_entry: impl FnMut(RawEntry) -> Result<(), AdError>,
    ) -> Result<u64, AdError> {
        let mut cookie: Vec<u8> = Vec::new();
        let mut count = 0u64;
        self.stats.searches += 1;
        loop {
            let page_started = std::time::Instant::now();
            let mut controls = extra_controls.to_vec();
            controls.push(
                PagedResults {
                    size: i32::try_from(page_size).unwrap_or(1000),
                    cookie: std::mem::take(&mut cookie),
                }
                .into(),
            );
            let started = self
                .ldap
                .with_controls(controls)
                .with_timeout(self.op_timeout)
                .streaming_search(base, Scope::Subtree, filter, attrs)
                .await;
            let mut stream = match started {
                Ok(s) => s,
                Err(LdapError::FilterParsing) => {
                    return Err(self.search_error(
                        what,
                        base,
                        format!("filter {filter:?} was refused by the LDAP encoder"),
                    ));
                }
                Err(e) => return Err(self.search_error(what, base, e.to_string())),
            };
            loop {
                let item = match stream.next().await {
                    Ok(Some(item)) => item,
                    Ok(None) => break,
                    Err(e) => {
                        let _ = stream.finish().await;
                        return Err(self.search_error(what, base, e.to_string()));
                    }
                };
                if item.is_ref() {
                    self.stats.referrals_skipped += 1;
                    continue;
                }
                if item.is_intermediate() {
                    continue;
                }
                let entry = decode_entry(item.0).map_err(|detail| AdError::Protocol {
                    url: self.endpoint.display(),
                    detail,
                })?;
                count += 1;
                on_entry(entry)?;
            }
            let res = stream.finish().await;
            self.stats.pages += 1;
            tracing::debug!(
                what,
                page = self.stats.pages,
                entries = count,
                elapsed_ms = page_started.elapsed().as_millis() as u64,
                "page done"
            );
            if res.rc != 0 {
                let mut detail = describe_result(res.rc, &res.text);
                if res.rc == 32 {
                    detail.push_str(&format!(
                        "; {base:?} does not exist on this server (check ad.ldap.base_dn)"
                    ));
                }
                return Err(self.search_error(what, base, detail));
            }
            let paged = res
                .ctrls
                .iter()
                .find(|c| c.1.ctype == PAGED_RESULTS_OID)
                .map(|c| c.1.val.as_deref().unwrap_or_default());
            match paged {
                None => {
                    // The server ignored paging and sent everything in one answer.
                    self.stats.unpaged_answers += 1;
                    return Ok(count);
                }
                Some(value) => {
                    cookie = decode_paged_cookie(value).map_err(|detail| AdError::Protocol {
                        url: self.endpoint.display(),
                        detail,
                    })?;
                    if cookie.is_empty() {
                        return Ok(count);
                    }
                }
            }
        }
    }

    pub async fn close(mut self) {
        let _ = self.ldap.unbind().await;
    }
}

/// The show-deleted control.
pub fn show_deleted() -> RawControl {
    RawControl {
        ctype: SHOW_DELETED_OID.into(),
        crit: true,
        val: None,
    }
}

impl RangeSource for Session {
    async fn fetch(&mut self, base: &str, attribute: &str) -> Result<Option<RawEntry>, AdError> {
        self.stats.range_requests += 1;
        let res = self
            .ldap
            .with_timeout(self.op_timeout)
            .search(base, Scope::Base, "(objectClass=*)", [attribute])
            .await
            .map_err(|e| self.search_error("group members", base, e.to_string()))?;
        if res.1.rc == 32 {
            return Ok(None);
        }
        let (entries, _) = res
            .success()
            .map_err(|e| self.search_error("group members", base, e.to_string()))?;
        entries
            .into_iter()
            .find(|e| !e.is_ref())
            .map(|e| decode_entry(e.0))
            .transpose()
            .map_err(|detail| AdError::Protocol {
                url: self.endpoint.display(),
                detail,
            })
    }

    fn url(&self) -> String {
        self.endpoint.display()
    }
}
