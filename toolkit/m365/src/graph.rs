//! Microsoft Graph client for the two user collections dirsnap needs: `/users` and the
//! recycle bin `/directory/deletedItems/microsoft.graph.user`, paged with `@odata.nextLink`,
//! throttling honoured, the token refreshed once if Graph rejects it mid-export.

use crate::auth::{ClientCredentials, Credentials, Redactor};
use crate::error::M365Error;
use crate::retry::{GiveUp, RetryPolicy, graph_default, retry_after};
use chrono::{DateTime, Utc};
use dirsnap_config::Secret;
use dirsnap_model::M365User;
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use serde_json::Value;
use serde_json::value::RawValue;
use std::time::{Duration, Instant};
use url::Url;

pub const DEFAULT_GRAPH_URL: &str = "https://graph.microsoft.com/v1.0";
/// Properties requested for every user. `displayName` is not needed by the engine but fills
/// the column people read.
pub const USER_SELECT: &str = "id,userPrincipalName,displayName,accountEnabled,onPremisesImmutableId,mail,assignedLicenses,createdDateTime";
/// Graph's largest page for users.
pub const MAX_PAGE_SIZE: u32 = 999;
/// Tokens are renewed this long before they expire, so a page request never races expiry.
const TOKEN_MARGIN: Duration = Duration::from_secs(120);

/// A Graph user collection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Collection {
    /// `/users`: every account, enabled or blocked.
    Users,
    /// `/directory/deletedItems/microsoft.graph.user`: soft-deleted users (recycle bin).
    DeletedUsers,
}

impl Collection {
    pub fn path(self) -> &'static str {
        match self {
            Collection::Users => "users",
            Collection::DeletedUsers => "directory/deletedItems/microsoft.graph.user",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Collection::Users => "users",
            Collection::DeletedUsers => "deleted users",
        }
    }

    fn select(self) -> String {
        match self {
            Collection::Users => USER_SELECT.to_string(),
            Collection::DeletedUsers => format!("{USER_SELECT},deletedDateTime"),
        }
    }
}

/// Everything [`GraphClient`] needs.
#[derive(Debug, Clone)]
pub struct GraphOptions {
    /// Graph base URL, e.g. `https://graph.microsoft.com/v1.0`.
    pub graph_url: Url,
    pub credentials: Credentials,
    pub retry: RetryPolicy,
    /// `$top`, 1..=999.
    pub page_size: u32,
    /// Also list soft-deleted users.
    pub include_deleted: bool,
    /// Per-request timeout.
    pub timeout: Duration,
}

impl GraphOptions {
    pub fn new(graph_url: &str, credentials: Credentials) -> Result<GraphOptions, M365Error> {
        Ok(GraphOptions {
            graph_url: parse_graph_url(graph_url)?,
            credentials,
            retry: graph_default(),
            page_size: MAX_PAGE_SIZE,
            include_deleted: true,
            timeout: Duration::from_secs(120),
        })
    }
}

/// Checks a `--graph-url`: absolute http(s), no query, no credentials in it.
pub fn parse_graph_url(text: &str) -> Result<Url, M365Error> {
    let url = Url::parse(text.trim()).map_err(|e| {
        M365Error::Usage(format!(
            "--graph-url {text:?}: {e}; expected e.g. {DEFAULT_GRAPH_URL}"
        ))
    })?;
    if !matches!(url.scheme(), "https" | "http") || url.host().is_none() {
        return Err(M365Error::Usage(format!(
            "--graph-url {text}: expected an https:// URL such as {DEFAULT_GRAPH_URL}"
        )));
    }
    if url.query().is_some() || !url.username().is_empty() || url.password().is_some() {
        return Err(M365Error::Usage(format!(
            "--graph-url {}: expected a base URL without query or user info, such as {DEFAULT_GRAPH_URL}",
            url.origin().ascii_serialization()
        )));
    }
    Ok(url)
}

/// What the client reports while it works; the command line turns it into a progress line.
#[derive(Debug)]
pub enum Progress<'a> {
    /// Asking the identity platform for a token.
    Token { url: &'a str },
    /// One page received and handed on.
    Page {
        collection: Collection,
        page: u64,
        rows: usize,
        total: u64,
    },
    /// A request failed transiently and will be retried after `wait`.
    Retry {
        url: &'a str,
        reason: &'a str,
        wait: Duration,
        attempt: u32,
        max_attempts: u32,
    },
}

/// Request counters, for the summary and the manifest notes.
#[derive(Debug, Clone, Default)]
pub struct GraphStats {
    pub requests: u64,
    pub pages: u64,
    pub retries: u64,
    pub throttled: u64,
    pub waited: Duration,
    pub token_requests: u64,
}

struct Transport {
    http: reqwest::Client,
    retry: RetryPolicy,
    redactor: Redactor,
    stats: GraphStats,
}

impl Transport {
    /// Sends the request `build` makes until it gets a non-retryable answer or the retry
    /// budget is spent. Returns the response whatever its status; the caller interprets it.
    async fn send(
        &mut self,
        method: &str,
        url: &str,
        build: &dyn Fn() -> reqwest::RequestBuilder,
        progress: &mut dyn FnMut(Progress<'_>),
    ) -> Result<reqwest::Response, M365Error> {
        let max = self.retry.max_attempts.max(1);
        let started = Instant::now();
        let mut attempt = 0;
        loop {
            attempt += 1;
            self.stats.requests += 1;
            tracing::debug!(method, url, attempt, "request");
            // Every request here (GETs, the client-credentials token POST) is safe to repeat.
            let (reason, asked) = match build().send().await {
                Ok(resp) if self.retry.retries_status(resp.status(), true) => {
                    let status = resp.status();
                    let asked = retry_after(resp.headers(), Utc::now());
                    let body = resp.text().await.unwrap_or_default();
                    if status == StatusCode::TOO_MANY_REQUESTS {
                        self.stats.throttled += 1;
                    }
                    let reason = self
                        .redactor
                        .clean(&format!("HTTP {status}{}", error_suffix(&body)));
                    (reason, asked)
                }
                Ok(resp) => return Ok(resp),
                Err(e) if e.is_builder() => {
                    return Err(M365Error::Usage(
                        self.redactor.clean(&format!("{url}: {}", error_chain(&e))),
                    ));
                }
                Err(e) => {
                    if let Some(why) = dirsnap_scim::unreachable(&e)
                        && let Ok(parsed) = Url::parse(url)
                    {
                        return Err(M365Error::Http {
                            url: url.to_string(),
                            message: why.explain(&parsed, "--graph-url or --authority-url", None),
                        });
                    }
                    (self.redactor.clean(&error_chain(&e)), None)
                }
            };
            let wait = match self.retry.next_wait(attempt, started.elapsed(), asked) {
                Ok(wait) => wait,
                Err(give_up) => {
                    let message = match give_up {
                        GiveUp::Attempts { .. } => format!("{give_up}; last: {reason}"),
                        GiveUp::RetryAfter { .. } => format!("{reason}: {give_up}"),
                        GiveUp::Budget { .. } => {
                            format!("gave up after {attempt} attempts ({give_up}); last: {reason}")
                        }
                    };
                    return Err(M365Error::Http {
                        url: url.to_string(),
                        message,
                    });
                }
            };
            tracing::info!(
                url,
                reason = %reason,
                wait_ms = wait.as_millis() as u64,
                attempt,
                "retrying"
            );
            progress(Progress::Retry {
                url,
                reason: &reason,
                wait,
                attempt,
                max_attempts: max,
            });
            self.stats.retries += 1;
            self.stats.waited += wait;
            tokio::time::sleep(wait).await;
        }
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

/// ` (code: message)` from a Graph error body, or from an identity-platform error body.
fn error_suffix(body: &str) -> String {
    let Ok(v) = serde_json::from_str::<Value>(body) else {
        let t = body.trim();
        return if t.is_empty() || t.len() > 300 {
            String::new()
        } else {
            format!(" ({t})")
        };
    };
    if let Some(err) = v.get("error").filter(|e| e.is_object()) {
        let code = err.get("code").and_then(Value::as_str).unwrap_or("");
        let msg = err.get("message").and_then(Value::as_str).unwrap_or("");
        return format!(" ({code}: {msg})");
    }
    if let Some(code) = v.get("error").and_then(Value::as_str) {
        let desc = v
            .get("error_description")
            .and_then(Value::as_str)
            .and_then(|d| d.lines().next())
            .unwrap_or("");
        return format!(" ({code}: {desc})");
    }
    String::new()
}

struct CachedToken {
    token: Secret,
    renew_at: Instant,
}

/// A Graph session: one HTTP client, one token, counters.
pub struct GraphClient {
    transport: Transport,
    base: Url,
    credentials: Credentials,
    page_size: u32,
    include_deleted: bool,
    token: Option<CachedToken>,
}

impl std::fmt::Debug for GraphClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GraphClient")
            .field("base", &self.base.as_str())
            .finish_non_exhaustive()
    }
}

impl GraphClient {
    pub fn new(options: GraphOptions) -> Result<GraphClient, M365Error> {
        // reqwest is built without a default crypto provider; ring is the project's one.
        let _ = rustls::crypto::ring::default_provider().install_default();
        if !(1..=MAX_PAGE_SIZE).contains(&options.page_size) {
            return Err(M365Error::Usage(format!(
                "page size {}: Graph accepts 1 to {MAX_PAGE_SIZE}",
                options.page_size
            )));
        }
        let http = reqwest::Client::builder()
            .user_agent(concat!("dirsnap/", env!("CARGO_PKG_VERSION")))
            .timeout(options.timeout)
            .connect_timeout(Duration::from_secs(30))
            // A redirect could carry the Authorization header to another host; Graph list
            // calls never redirect, so none is followed.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| M365Error::Usage(format!("cannot set up HTTPS: {}", error_chain(&e))))?;
        let mut redactor = Redactor::default();
        match &options.credentials {
            Credentials::Bearer { token, .. } => redactor.add(token),
            Credentials::ClientCredentials(cc) => redactor.add(&cc.client_secret),
        }
        Ok(GraphClient {
            transport: Transport {
                http,
                retry: options.retry,
                redactor,
                stats: GraphStats::default(),
            },
            base: options.graph_url,
            credentials: options.credentials,
            page_size: options.page_size,
            include_deleted: options.include_deleted,
            token: None,
        })
    }

    pub fn stats(&self) -> &GraphStats {
        &self.transport.stats
    }

    pub fn base_url(&self) -> &Url {
        &self.base
    }

    pub fn include_deleted(&self) -> bool {
        self.include_deleted
    }

    /// The first page's URL of `collection`.
    pub fn first_url(&self, collection: Collection) -> Result<Url, M365Error> {
        let base = self.base.as_str().trim_end_matches('/');
        let mut url = Url::parse(&format!("{base}/{}", collection.path()))
            .map_err(|e| M365Error::Usage(format!("--graph-url {base}: {e}")))?;
        // `$` and `,` are legal in a query; writing it by hand keeps them unescaped as in
        // Graph's documentation.
        url.set_query(Some(&format!(
            "$select={}&$top={}",
            collection.select(),
            self.page_size
        )));
        Ok(url)
    }

    /// Lists every user of `collection`, page by page, handing each page to `on_page`.
    /// Returns the number of users listed.
    pub async fn list(
        &mut self,
        collection: Collection,
        progress: &mut dyn FnMut(Progress<'_>),
        on_page: &mut dyn FnMut(Vec<M365User>) -> Result<(), M365Error>,
    ) -> Result<u64, M365Error> {
        let mut url = self.first_url(collection)?;
        let mut page = 0u64;
        let mut total = 0u64;
        loop {
            let body = self.get_text(&url, progress).await?;
            page += 1;
            self.transport.stats.pages += 1;
            let parsed: Page<'_> = serde_json::from_str(&body)
                .map_err(|e| protocol(&url, &format!("not a Graph collection page: {e}")))?;
            let Some(items) = parsed.value else {
                return Err(protocol(&url, "no \"value\" array"));
            };
            let next = parsed.next_link;
            let deleted = collection == Collection::DeletedUsers;
            let mut users = Vec::with_capacity(items.len());
            for (i, item) in items.into_iter().enumerate() {
                users.push(
                    user_from_graph(item.get(), deleted)
                        .map_err(|e| protocol(&url, &format!("value[{i}]: {e}")))?,
                );
            }
            total += users.len() as u64;
            progress(Progress::Page {
                collection,
                page,
                rows: users.len(),
                total,
            });
            tracing::info!(
                collection = collection.label(),
                page,
                rows = users.len(),
                total,
                "page"
            );
            on_page(users)?;
            match next {
                None => return Ok(total),
                Some(n) => {
                    let next_url = self.checked_next(&url, &n)?;
                    if next_url == url {
                        return Err(protocol(&url, "@odata.nextLink points to the same page"));
                    }
                    url = next_url;
                }
            }
        }
    }

    /// `@odata.nextLink` must stay on the Graph host we were given: the bearer token goes
    /// with it.
    fn checked_next(&self, current: &Url, next: &str) -> Result<Url, M365Error> {
        let url = self
            .base
            .join(next)
            .map_err(|e| protocol(current, &format!("@odata.nextLink {next:?}: {e}")))?;
        if url.origin() != self.base.origin() {
            return Err(protocol(
                current,
                &format!(
                    "@odata.nextLink leads to {}, not to {}; refusing to send the access token there",
                    url.origin().ascii_serialization(),
                    self.base.origin().ascii_serialization()
                ),
            ));
        }
        Ok(url)
    }

    async fn bearer(
        &mut self,
        progress: &mut dyn FnMut(Progress<'_>),
    ) -> Result<Secret, M365Error> {
        let cc = match &self.credentials {
            Credentials::Bearer { token, .. } => return Ok(token.clone()),
            Credentials::ClientCredentials(cc) => cc.clone(),
        };
        if let Some(t) = &self.token
            && Instant::now() < t.renew_at
        {
            return Ok(t.token.clone());
        }
        let fresh = self.fetch_token(&cc, progress).await?;
        let token = fresh.token.clone();
        self.token = Some(fresh);
        Ok(token)
    }

    async fn fetch_token(
        &mut self,
        cc: &ClientCredentials,
        progress: &mut dyn FnMut(Progress<'_>),
    ) -> Result<CachedToken, M365Error> {
        let url = cc.token_url()?;
        progress(Progress::Token { url: url.as_str() });
        tracing::info!(url = url.as_str(), client_id = %cc.client_id, "requesting an access token (client credentials)");
        let body = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("client_id", &cc.client_id)
            .append_pair("client_secret", cc.client_secret.expose())
            .append_pair("scope", &cc.scope)
            .append_pair("grant_type", "client_credentials")
            .finish();
        self.transport.stats.token_requests += 1;
        let http = self.transport.http.clone();
        let target = url.clone();
        let build = move || {
            http.post(target.clone())
                .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header(ACCEPT, "application/json")
                .body(body.clone())
        };
        let resp = self
            .transport
            .send("POST", url.as_str(), &build, progress)
            .await?;
        let status = resp.status();
        let text = resp.text().await.map_err(|e| M365Error::Http {
            url: url.to_string(),
            message: self.transport.redactor.clean(&error_chain(&e)),
        })?;
        if !status.is_success() {
            let detail = self.transport.redactor.clean(&error_suffix(&text));
            let message = format!("HTTP {status}{detail}");
            return Err(if status.is_client_error() {
                M365Error::Auth {
                    url: url.to_string(),
                    message: format!(
                        "the identity platform refused the client credentials: {message}. Check \
                         DIRSNAP_M365_TENANT_ID, DIRSNAP_M365_CLIENT_ID and DIRSNAP_M365_CLIENT_SECRET \
                         (client secrets expire)"
                    ),
                }
            } else {
                M365Error::Http {
                    url: url.to_string(),
                    message,
                }
            });
        }
        let v: Value = serde_json::from_str(&text)
            .map_err(|e| protocol(&url, &format!("token response is not JSON: {e}")))?;
        let Some(token) = v.get("access_token").and_then(Value::as_str) else {
            return Err(protocol(&url, "token response has no access_token"));
        };
        let expires_in = match v.get("expires_in") {
            Some(Value::Number(n)) => n.as_u64(),
            Some(Value::String(s)) => s.parse::<u64>().ok(),
            _ => None,
        }
        .unwrap_or(3600);
        let token = Secret::new(token);
        self.transport.redactor.add(&token);
        let life = Duration::from_secs(expires_in);
        Ok(CachedToken {
            token,
            renew_at: Instant::now() + life.saturating_sub(TOKEN_MARGIN).max(life / 2),
        })
    }

    /// GETs `url` with the token and returns the body of a successful answer.
    async fn get_text(
        &mut self,
        url: &Url,
        progress: &mut dyn FnMut(Progress<'_>),
    ) -> Result<String, M365Error> {
        let mut renewed = false;
        loop {
            let token = self.bearer(progress).await?;
            let http = self.transport.http.clone();
            let target = url.clone();
            let build = move || {
                http.get(target.clone())
                    .bearer_auth(token.expose())
                    .header(ACCEPT, "application/json")
            };
            let resp = self
                .transport
                .send("GET", url.as_str(), &build, progress)
                .await?;
            let status = resp.status();
            let text = resp.text().await.map_err(|e| M365Error::Http {
                url: url.to_string(),
                message: self.transport.redactor.clean(&error_chain(&e)),
            })?;
            if status.is_success() {
                return Ok(text);
            }
            let detail = self.transport.redactor.clean(&error_suffix(&text));
            let message = format!("HTTP {status}{detail}");
            let client_credentials = matches!(self.credentials, Credentials::ClientCredentials(_));
            return Err(match status.as_u16() {
                401 if client_credentials && !renewed => {
                    // The token may have been revoked or expired early: one fresh token.
                    tracing::info!(
                        url = url.as_str(),
                        "Graph rejected the token; requesting a new one"
                    );
                    self.token = None;
                    renewed = true;
                    continue;
                }
                401 => M365Error::Auth {
                    url: url.to_string(),
                    message: match &self.credentials {
                        Credentials::Bearer { env_var, .. } => format!(
                            "Microsoft Graph rejected the access token in {env_var}: {message}. It \
                             has expired or is not a Microsoft Graph token; get a new one"
                        ),
                        Credentials::ClientCredentials(cc) => format!(
                            "Microsoft Graph rejected the token issued to client {}: {message}",
                            cc.client_id
                        ),
                    },
                },
                403 => M365Error::Auth {
                    url: url.to_string(),
                    message: format!(
                        "Microsoft Graph refused the request: {message}. Reading users needs the \
                         application permission User.Read.All (with admin consent), or a delegated \
                         token of a user with a directory reader role"
                    ),
                },
                400 | 404 | 405 => M365Error::Request {
                    url: url.to_string(),
                    message: format!(
                        "{message}; check --graph-url (expected the Graph base such as {DEFAULT_GRAPH_URL})"
                    ),
                },
                _ => M365Error::Http {
                    url: url.to_string(),
                    message,
                },
            });
        }
    }
}

fn protocol(url: &Url, message: &str) -> M365Error {
    M365Error::Protocol {
        url: url.to_string(),
        message: message.to_string(),
    }
}

/// Entra renames a soft-deleted user to its object id (without hyphens) followed by the
/// original userPrincipalName, freeing the name for a new account. This returns the original.
pub fn strip_deleted_prefix<'a>(id: &str, upn: &'a str) -> &'a str {
    let hex: String = id.chars().filter(|c| *c != '-').collect();
    if hex.len() == 32
        && upn.len() > 32
        && upn.get(..32).is_some_and(|p| p.eq_ignore_ascii_case(&hex))
    {
        upn.get(32..).unwrap_or(upn)
    } else {
        upn
    }
}

/// One page of a Graph collection. Items stay raw text: each is kept verbatim in `raw` and
/// only the fields dirsnap reads are decoded (building a JSON tree per user was the export's
/// main cost).
#[derive(serde::Deserialize)]
struct Page<'a> {
    #[serde(borrow)]
    value: Option<Vec<&'a RawValue>>,
    #[serde(rename = "@odata.nextLink")]
    next_link: Option<String>,
}

/// The properties read from a user object; anything else stays only in `raw`.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Fields {
    #[serde(default)]
    id: Value,
    #[serde(default)]
    user_principal_name: Value,
    #[serde(default)]
    display_name: Value,
    #[serde(default)]
    mail: Value,
    #[serde(default)]
    account_enabled: Value,
    #[serde(default)]
    on_premises_immutable_id: Value,
    #[serde(default)]
    assigned_licenses: Value,
    #[serde(default)]
    created_date_time: Value,
    #[serde(default)]
    deleted_date_time: Value,
}

/// Maps one Graph user object (its JSON text) onto a snapshot row; `raw` is that text as
/// received.
pub fn user_from_graph(raw: &str, deleted: bool) -> Result<M365User, String> {
    let f: Fields = serde_json::from_str(raw).map_err(|e| format!("not a user object: {e}"))?;
    let text = |key: &str, v: Value| -> Result<Option<String>, String> {
        match v {
            Value::Null => Ok(None),
            Value::String(s) => Ok(Some(s)),
            other => Err(format!("{key} is not a string: {other}")),
        }
    };
    let time = |key: &str, v: Value| -> Result<Option<DateTime<Utc>>, String> {
        match text(key, v)? {
            None => Ok(None),
            Some(s) => DateTime::parse_from_rfc3339(&s)
                .map(|t| Some(t.with_timezone(&Utc)))
                .map_err(|e| format!("{key} {s:?} is not an ISO 8601 time: {e}")),
        }
    };
    let id = text("id", f.id)?
        .filter(|s| !s.is_empty())
        .ok_or("user without id")?;
    let received_upn = text("userPrincipalName", f.user_principal_name)?
        .filter(|s| !s.is_empty())
        .ok_or_else(|| format!("user {id} has no userPrincipalName"))?;
    let user_principal_name = if deleted {
        strip_deleted_prefix(&id, &received_upn).to_string()
    } else {
        received_upn
    };
    let account_enabled = match f.account_enabled {
        Value::Null => None,
        Value::Bool(b) => Some(b),
        other => return Err(format!("accountEnabled of {id} is not a boolean: {other}")),
    };
    let licenses = match f.assigned_licenses {
        Value::Null => Vec::new(),
        Value::Array(items) => items
            .iter()
            .filter_map(|l| l.get("skuId").and_then(Value::as_str))
            .map(str::to_string)
            .collect(),
        other => return Err(format!("assignedLicenses of {id} is not an array: {other}")),
    };
    Ok(M365User {
        user_principal_name,
        display_name: text("displayName", f.display_name)?,
        mail: text("mail", f.mail)?,
        account_enabled,
        immutable_id: text("onPremisesImmutableId", f.on_premises_immutable_id)?,
        immutable_id_known: true,
        licenses,
        created: time("createdDateTime", f.created_date_time)?,
        deleted,
        deleted_at: time("deletedDateTime", f.deleted_date_time)?,
        raw: raw.to_string(),
        id,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> String {
        v.to_string()
    }

    #[test]
    fn graph_user_maps_every_column() {
        let u = user_from_graph(
            &obj(json!({
                "id": "0b7c5e2a-0000-4000-8000-000000000001",
                "userPrincipalName": "sota.kimura@example.co.jp",
                "displayName": "木村 蒼太",
                "accountEnabled": false,
                "onPremisesImmutableId": "gzcEr9Nnz02wHhaiSCR5ng==",
                "mail": null,
                "assignedLicenses": [{"disabledPlans": [], "skuId": "05e9a617-0261-4cee-bb44-138d3ef5d965"}],
                "createdDateTime": "2025-04-01T00:00:00Z"
            })),
            false,
        )
        .unwrap();
        assert_eq!(u.account_enabled, Some(false));
        assert_eq!(u.immutable_id.as_deref(), Some("gzcEr9Nnz02wHhaiSCR5ng=="));
        assert!(u.immutable_id_known);
        assert_eq!(u.licenses, vec!["05e9a617-0261-4cee-bb44-138d3ef5d965"]);
        assert_eq!(u.mail, None);
        assert!(!u.deleted);
        assert!(u.raw.contains("\"disabledPlans\":[]"));
        assert!(
            u.raw.starts_with("{\"id\":"),
            "raw keeps Graph's key order: {}",
            u.raw
        );
    }

    #[test]
    fn deleted_user_gets_its_original_upn_back() {
        let u = user_from_graph(
            &obj(json!({
                "@odata.type": "#microsoft.graph.user",
                "id": "0b7c5e2a-0000-4000-8000-000000000001",
                "userPrincipalName": "0b7c5e2a000040008000000000000001sota.kimura@example.co.jp",
                "deletedDateTime": "2026-11-01T09:00:00Z"
            })),
            true,
        )
        .unwrap();
        assert_eq!(u.user_principal_name, "sota.kimura@example.co.jp");
        assert!(u.deleted);
        assert!(u.deleted_at.is_some());
        assert!(
            u.raw
                .contains("0b7c5e2a000040008000000000000001sota.kimura")
        );
        // Without the prefix the name is left alone.
        assert_eq!(
            strip_deleted_prefix("0b7c5e2a-0000-4000-8000-000000000001", "a@b.jp"),
            "a@b.jp"
        );
    }

    #[test]
    fn wrong_types_are_reported() {
        let e = user_from_graph(
            &obj(json!({"id": "x", "userPrincipalName": "a@b", "accountEnabled": "no"})),
            false,
        )
        .unwrap_err();
        assert!(e.contains("accountEnabled"), "{e}");
        let e = user_from_graph(&obj(json!({"userPrincipalName": "a@b"})), false).unwrap_err();
        assert!(e.contains("id"), "{e}");
    }

    #[test]
    fn graph_url_is_checked() {
        assert!(parse_graph_url("https://graph.microsoft.com/v1.0").is_ok());
        assert!(parse_graph_url("graph.microsoft.com").is_err());
        assert!(parse_graph_url("https://graph.microsoft.com/v1.0?x=1").is_err());
        assert!(parse_graph_url("ftp://graph.microsoft.com/").is_err());
    }

    #[test]
    fn error_bodies_are_summarised() {
        assert_eq!(
            error_suffix(
                r#"{"error":{"code":"Authorization_RequestDenied","message":"Insufficient privileges"}}"#
            ),
            " (Authorization_RequestDenied: Insufficient privileges)"
        );
        assert_eq!(
            error_suffix(
                r#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret.\r\nTrace ID: x"}"#
            ),
            " (invalid_client: AADSTS7000215: Invalid client secret.)"
        );
    }
}
