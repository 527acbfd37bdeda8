use crate::error::{ScimError, ScimErrorBody, scope_for};
use crate::retry::{GiveUp, RetryPolicy};
use crate::token::jwt_expiry;
use dirsnap_config::Secret;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use url::Url;

pub const SCIM_JSON: &str = "application/scim+json";

/// How to reach the SCIM endpoint.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Base URL, e.g. `https://scim.auth.iij.jp/scim/v2/` (a trailing `/` is added if missing).
    pub base_url: String,
    pub token: Secret,
    /// HTTP proxy URL (`http://host:port`), from `iid.scim.http.proxy`.
    pub proxy: Option<String>,
    /// Extra PEM CA certificates to trust (besides the platform's).
    pub ca_file: Option<PathBuf>,
    /// Per-request timeout.
    pub timeout: Duration,
    pub retry: RetryPolicy,
}

impl ClientOptions {
    pub fn new(base_url: impl Into<String>, token: Secret) -> Self {
        ClientOptions {
            base_url: base_url.into(),
            token,
            proxy: None,
            ca_file: None,
            timeout: Duration::from_secs(60),
            retry: RetryPolicy::default(),
        }
    }
}

/// A response that was not an error.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    /// The JSON body; `Null` when empty (204).
    pub body: Value,
    pub etag: Option<String>,
}

/// A SCIM client bound to one endpoint and token. Cheap to clone.
#[derive(Clone)]
pub struct ScimClient {
    http: reqwest::Client,
    base: Url,
    token: Secret,
    retry: RetryPolicy,
    /// The proxy's address (`host:port`), to name it when it cannot be reached.
    proxy: Option<String>,
}

impl std::fmt::Debug for ScimClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScimClient")
            .field("base", &self.base.as_str())
            .finish()
    }
}

fn transport_message(e: &reqwest::Error) -> String {
    // reqwest's Display includes the URL but never headers; the cause chain is where TLS and
    // connection errors say what went wrong.
    let mut msg = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        source = s.source();
    }
    msg
}

impl ScimClient {
    pub fn new(options: ClientOptions) -> Result<ScimClient, ScimError> {
        // One process-wide crypto provider: ring (aws-lc-rs must never be mixed in).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut base_text = options.base_url.trim().to_string();
        if !base_text.ends_with('/') {
            base_text.push('/');
        }
        let base = Url::parse(&base_text)
            .map_err(|e| ScimError::Setup(format!("base URL {base_text:?}: {e}")))?;
        if !matches!(base.scheme(), "https" | "http") {
            return Err(ScimError::Setup(format!(
                "base URL {base_text:?}: expected http:// or https://"
            )));
        }
        let mut builder = reqwest::Client::builder()
            .timeout(options.timeout)
            .connect_timeout(Duration::from_secs(15))
            .user_agent(concat!("dirsnap/", env!("CARGO_PKG_VERSION")))
            .pool_max_idle_per_host(32);
        match &options.proxy {
            Some(p) => {
                let proxy = reqwest::Proxy::all(p)
                    .map_err(|e| ScimError::Setup(format!("proxy {p:?}: {e}")))?;
                builder = builder.proxy(proxy);
            }
            None => builder = builder.no_proxy(),
        }
        if let Some(path) = &options.ca_file {
            let pem = std::fs::read(path)
                .map_err(|e| ScimError::Setup(format!("{}: {e}", path.display())))?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
                ScimError::Setup(format!("{}: not a PEM CA bundle: {e}", path.display()))
            })?;
            for c in certs {
                builder = builder.add_root_certificate(c);
            }
        }
        let http = builder
            .build()
            .map_err(|e| ScimError::Setup(transport_message(&e)))?;
        let proxy = options.proxy.as_deref().map(|p| {
            Url::parse(p)
                .ok()
                .and_then(|u| {
                    let host = u.host_str()?.to_string();
                    Some(match u.port_or_known_default() {
                        Some(port) => format!("{host}:{port}"),
                        None => host,
                    })
                })
                .unwrap_or_else(|| p.to_string())
        });
        Ok(ScimClient {
            http,
            base,
            token: options.token,
            retry: options.retry,
            proxy,
        })
    }

    pub fn base_url(&self) -> &Url {
        &self.base
    }

    /// Resolves a path relative to the base (`Users`, `Groups/{id}`, `Users?filter=…`).
    pub fn url(&self, path: &str) -> Result<Url, ScimError> {
        self.base
            .join(path.trim_start_matches('/'))
            .map_err(|e| ScimError::Setup(format!("path {path:?}: {e}")))
    }

    fn headers(&self, with_body: bool) -> Result<HeaderMap, ScimError> {
        let mut h = HeaderMap::new();
        let mut auth =
            HeaderValue::from_str(&format!("Bearer {}", self.token.expose())).map_err(|_| {
                ScimError::Setup(
                    "the access token contains characters not allowed in an HTTP header".into(),
                )
            })?;
        // Marked sensitive so no Debug output of the request can show it.
        auth.set_sensitive(true);
        h.insert(AUTHORIZATION, auth);
        h.insert(ACCEPT, HeaderValue::from_static(SCIM_JSON));
        if with_body {
            h.insert(CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON));
        }
        Ok(h)
    }

    /// Sends one request with retries. `url` must come from [`ScimClient::url`].
    /// POST is retried only when the server certainly did not act on it (429, 503, or a
    /// failed connection): a create whose response was lost is for the caller to look up.
    pub async fn send(
        &self,
        method: Method,
        url: Url,
        body: Option<&Value>,
    ) -> Result<Response, ScimError> {
        let idempotent = method != Method::POST;
        let started = Instant::now();
        let path = url
            .path()
            .strip_prefix(self.base.path())
            .unwrap_or(url.path())
            .to_string();
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let mut req = self
                .http
                .request(method.clone(), url.clone())
                .headers(self.headers(body.is_some())?);
            if let Some(b) = body {
                req = req.body(serde_json::to_vec(b).unwrap_or_default());
            }
            let (retry_after, last) = match req.send().await {
                Ok(resp) => {
                    let status = resp.status();
                    let retry_after = crate::retry::retry_after(resp.headers(), chrono::Utc::now());
                    let etag = resp
                        .headers()
                        .get(reqwest::header::ETAG)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_string);
                    let text = match resp.text().await {
                        Ok(t) => t,
                        Err(e) => {
                            let msg = transport_message(&e);
                            if !idempotent {
                                return Err(ScimError::Transport {
                                    method: method.to_string(),
                                    url: url.to_string(),
                                    message: msg,
                                });
                            }
                            self.backoff(&method, &url, attempt, started, None, msg)
                                .await?;
                            continue;
                        }
                    };
                    if status.is_success() {
                        let body = if text.trim().is_empty() {
                            Value::Null
                        } else {
                            serde_json::from_str(&text).map_err(|e| ScimError::InvalidResponse {
                                url: url.to_string(),
                                message: format!("body is not JSON: {e}"),
                            })?
                        };
                        return Ok(Response {
                            status: status.as_u16(),
                            body,
                            etag,
                        });
                    }
                    let parsed = ScimErrorBody::parse(&text).map(Box::new);
                    match status {
                        StatusCode::UNAUTHORIZED => {
                            return Err(ScimError::Unauthorized {
                                method: method.to_string(),
                                url: url.to_string(),
                                token_exp: jwt_expiry(&self.token),
                                body: parsed,
                            });
                        }
                        StatusCode::FORBIDDEN => {
                            return Err(ScimError::Forbidden {
                                method: method.to_string(),
                                url: url.to_string(),
                                scope: scope_for(&method, &path),
                                body: parsed,
                            });
                        }
                        s if self.retry.retries_status(s, idempotent) => {
                            (retry_after, format!("HTTP {}", s.as_u16()))
                        }
                        _ => {
                            return Err(ScimError::Status {
                                method: method.to_string(),
                                url: url.to_string(),
                                status: status.as_u16(),
                                body: parsed,
                                text: text.chars().take(500).collect(),
                            });
                        }
                    }
                }
                Err(e) => {
                    let msg = transport_message(&e);
                    if let Some(why) = crate::retry::unreachable(&e) {
                        return Err(ScimError::Unreachable {
                            method: method.to_string(),
                            url: url.to_string(),
                            message: why.explain(
                                &url,
                                "--base-url or iid.scim.url",
                                self.proxy.as_deref(),
                            ),
                        });
                    }
                    if !(idempotent || e.is_connect()) {
                        return Err(ScimError::Transport {
                            method: method.to_string(),
                            url: url.to_string(),
                            message: msg,
                        });
                    }
                    (None, msg)
                }
            };
            self.backoff(&method, &url, attempt, started, retry_after, last)
                .await?;
        }
    }

    /// Waits before the next attempt, or gives up when the attempts or the time budget are
    /// spent.
    async fn backoff(
        &self,
        method: &Method,
        url: &Url,
        attempt: u32,
        started: Instant,
        retry_after: Option<Duration>,
        last: String,
    ) -> Result<(), ScimError> {
        let delay = match self
            .retry
            .next_wait(attempt, started.elapsed(), retry_after)
        {
            Ok(delay) => delay,
            Err(give_up) => {
                // The error names the attempts; a long Retry-After or the budget it adds.
                let last = match give_up {
                    GiveUp::Attempts { .. } => last,
                    _ => format!("{last}; {give_up}"),
                };
                return Err(ScimError::RetriesExhausted {
                    method: method.to_string(),
                    url: url.to_string(),
                    attempts: attempt,
                    elapsed_secs: started.elapsed().as_secs_f64(),
                    last,
                });
            }
        };
        // Every retry is visible (stderr, also when piped): a run that waits must say why.
        tracing::warn!(
            "{}",
            crate::retry::retry_line(
                &format!("{method} {url}"),
                &last,
                delay,
                attempt + 1,
                self.retry.max_attempts
            )
        );
        tokio::time::sleep(delay).await;
        Ok(())
    }

    pub async fn get(&self, path: &str) -> Result<Response, ScimError> {
        self.send(Method::GET, self.url(path)?, None).await
    }
}
