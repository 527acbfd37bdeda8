//! A loopback Microsoft Graph and identity-platform token endpoint for tests (feature
//! `fixture-server`). It serves a tenant's users and deleted users the way Graph does:
//! `$select` trims properties (without it, Graph's default set, which lacks `accountEnabled`
//! and `onPremisesImmutableId`), `$top` caps at 999, pages are chained with an absolute
//! `@odata.nextLink` carrying an opaque `$skiptoken`, deleted users carry `@odata.type`.
//! Faults (429/503 with `Retry-After`) and token expiry are injected per page, and every
//! request is recorded so tests can check what the client sent.
//!
//! It runs on its own thread and runtime, so blocking tests (assert_cmd) and async tests can
//! both use it; dropping the [`GraphFixture`] stops it.

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

/// Graph's default properties for a user when no `$select` is given (v1.0).
const DEFAULT_PROPERTIES: &[&str] = &[
    "businessPhones",
    "displayName",
    "givenName",
    "id",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
];

/// The directory the fixture serves: Graph user objects as JSON.
#[derive(Debug, Clone, Default)]
pub struct FixtureTenant {
    pub users: Vec<Value>,
    /// Soft-deleted users, as `/directory/deletedItems/microsoft.graph.user` lists them
    /// (renamed `{objectId without hyphens}{upn}`, with `deletedDateTime`).
    pub deleted_users: Vec<Value>,
}

impl FixtureTenant {
    /// `{"users": [...], "deletedUsers": [...]}`.
    pub fn from_json(v: &Value) -> Result<FixtureTenant, String> {
        let list = |key: &str| -> Result<Vec<Value>, String> {
            match v.get(key) {
                None | Some(Value::Null) => Ok(Vec::new()),
                Some(Value::Array(a)) if a.iter().all(Value::is_object) => Ok(a.clone()),
                Some(_) => Err(format!("{key}: expected an array of Graph user objects")),
            }
        };
        Ok(FixtureTenant {
            users: list("users")?,
            deleted_users: list("deletedUsers")?,
        })
    }

    pub fn load(path: &Path) -> Result<FixtureTenant, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let v: Value =
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        FixtureTenant::from_json(&v).map_err(|e| format!("{}: {e}", path.display()))
    }
}

/// Which endpoint a fault applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Users,
    DeletedUsers,
    Token,
}

/// Answer `status` (with `Retry-After` when given) the first `times` times page `page`
/// (0-based; ignored for the token endpoint) is requested.
#[derive(Debug, Clone)]
pub struct Fault {
    pub endpoint: Endpoint,
    pub page: usize,
    pub status: u16,
    pub retry_after: Option<String>,
    pub times: usize,
}

/// The one app registration the token endpoint accepts.
#[derive(Debug, Clone)]
pub struct FixtureClient {
    pub tenant_id: String,
    pub client_id: String,
    pub client_secret: String,
}

#[derive(Debug, Clone)]
pub struct FixtureConfig {
    /// The server's own page size cap (Graph pages at most 999, 100 by default).
    pub page_size: usize,
    /// A token accepted as is (the `--token-env` flow).
    pub bearer_token: Option<String>,
    /// Client credentials the token endpoint accepts.
    pub client: Option<FixtureClient>,
    pub faults: Vec<Fault>,
    /// After this many Graph requests with one issued token, that token is refused as
    /// expired (401) until a new one is issued.
    pub expire_issued_token_after: Option<usize>,
    /// Write `@odata.nextLink` with this origin instead of the fixture's own, to test that a
    /// client does not follow a link to another host with its token.
    pub next_link_origin: Option<String>,
}

impl Default for FixtureConfig {
    fn default() -> Self {
        FixtureConfig {
            page_size: 100,
            bearer_token: None,
            client: None,
            faults: Vec::new(),
            expire_issued_token_after: None,
            next_link_origin: None,
        }
    }
}

/// One request as the fixture saw it.
#[derive(Debug, Clone)]
pub struct RequestRecord {
    pub method: String,
    pub path: String,
    /// The raw query string.
    pub query: String,
    /// The query, decoded.
    pub params: Vec<(String, String)>,
    /// The request carried a token the fixture accepted.
    pub authorized: bool,
    pub status: u16,
    pub at: Instant,
}

impl RequestRecord {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

struct Inner {
    tenant: FixtureTenant,
    config: FixtureConfig,
    base: String,
    log: Vec<RequestRecord>,
    fault_hits: Vec<usize>,
    issued: Option<String>,
    all_issued: Vec<String>,
    issued_uses: usize,
    generation: usize,
}

type Shared = Arc<Mutex<Inner>>;

fn lock(s: &Shared) -> MutexGuard<'_, Inner> {
    s.lock().unwrap_or_else(|e| e.into_inner())
}

/// A running fixture; stops when dropped.
pub struct GraphFixture {
    origin: String,
    graph_url: String,
    state: Shared,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl std::fmt::Debug for GraphFixture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GraphFixture")
            .field("graph_url", &self.graph_url)
            .finish()
    }
}

impl GraphFixture {
    /// Starts the fixture on 127.0.0.1 with a free port.
    pub fn start(tenant: FixtureTenant, config: FixtureConfig) -> std::io::Result<GraphFixture> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let origin = format!("http://{}", listener.local_addr()?);
        let graph_url = format!("{origin}/v1.0");
        let fault_hits = vec![0; config.faults.len()];
        let state: Shared = Arc::new(Mutex::new(Inner {
            tenant,
            config,
            base: graph_url.clone(),
            log: Vec::new(),
            fault_hits,
            issued: None,
            all_issued: Vec::new(),
            issued_uses: 0,
            generation: 0,
        }));
        let app = Router::new().fallback(handle).with_state(state.clone());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let thread = std::thread::Builder::new()
            .name("graph-fixture".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                        return;
                    };
                    let _ = axum::serve(listener, app)
                        .with_graceful_shutdown(async move {
                            let _ = rx.await;
                        })
                        .await;
                });
            })?;
        Ok(GraphFixture {
            origin,
            graph_url,
            state,
            shutdown: Some(tx),
            thread: Some(thread),
        })
    }

    /// Pass as `--graph-url`.
    pub fn graph_url(&self) -> &str {
        &self.graph_url
    }

    /// Pass as `--authority-url` / `DIRSNAP_M365_AUTHORITY`.
    pub fn authority_url(&self) -> &str {
        &self.origin
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<RequestRecord> {
        lock(&self.state).log.clone()
    }

    /// Every access token the token endpoint issued (tests scan output for them).
    pub fn issued_tokens(&self) -> Vec<String> {
        lock(&self.state).all_issued.clone()
    }
}

impl Drop for GraphFixture {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn graph_error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = json!({"error": {"code": code, "message": message,
        "innerError": {"date": "2026-11-27T01:00:00", "request-id": "00000000-0000-0000-0000-000000000000"}}});
    (status, axum::Json(body)).into_response()
}

fn aad_error(status: StatusCode, code: &str, description: &str) -> Response {
    let body = json!({"error": code, "error_description": description, "error_codes": [0]});
    (status, axum::Json(body)).into_response()
}

async fn handle(State(state): State<Shared>, req: Request) -> Response {
    let method = req.method().as_str().to_string();
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or("").to_string();
    let params: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let auth = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = axum::body::to_bytes(req.into_body(), 1 << 20)
        .await
        .unwrap_or_default();

    let mut st = lock(&state);
    let (authorized, resp) = route(&mut st, &method, &path, &params, auth.as_deref(), &body);
    st.log.push(RequestRecord {
        method,
        path,
        query,
        params,
        authorized,
        status: resp.status().as_u16(),
        at: Instant::now(),
    });
    resp
}

fn route(
    st: &mut Inner,
    method: &str,
    path: &str,
    params: &[(String, String)],
    auth: Option<&str>,
    body: &[u8],
) -> (bool, Response) {
    if method == "POST" && path.ends_with("/oauth2/v2.0/token") {
        let tenant = path
            .trim_start_matches('/')
            .split('/')
            .next()
            .unwrap_or("")
            .to_string();
        return (false, token(st, &tenant, body));
    }
    let endpoint = match (method, path) {
        ("GET", "/v1.0/users") => Endpoint::Users,
        ("GET", "/v1.0/directory/deletedItems/microsoft.graph.user") => Endpoint::DeletedUsers,
        _ => {
            return (
                false,
                graph_error(
                    StatusCode::NOT_FOUND,
                    "BadRequest",
                    &format!("Resource not found for the segment '{path}'."),
                ),
            );
        }
    };
    if let Some(refused) = refuse_auth(st, auth) {
        return (false, refused);
    }
    (true, list(st, endpoint, params))
}

/// The 401 Graph answers for a missing, unknown or expired token; `None` when accepted.
fn refuse_auth(st: &mut Inner, auth: Option<&str>) -> Option<Response> {
    let Some(token) = auth.and_then(|a| a.strip_prefix("Bearer ")) else {
        return Some(graph_error(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            "Access token is empty.",
        ));
    };
    if st.config.bearer_token.as_deref() == Some(token) {
        return None;
    }
    if st.issued.as_deref() == Some(token) {
        st.issued_uses += 1;
        if let Some(limit) = st.config.expire_issued_token_after
            && st.issued_uses > limit
        {
            return Some(graph_error(
                StatusCode::UNAUTHORIZED,
                "InvalidAuthenticationToken",
                "Lifetime validation failed, the token is expired.",
            ));
        }
        return None;
    }
    Some(graph_error(
        StatusCode::UNAUTHORIZED,
        "InvalidAuthenticationToken",
        "IDX14100: JWT is not well formed.",
    ))
}

fn fault(st: &mut Inner, endpoint: Endpoint, page: usize) -> Option<Response> {
    let i = st.config.faults.iter().enumerate().position(|(i, f)| {
        f.endpoint == endpoint
            && (endpoint == Endpoint::Token || f.page == page)
            && st.fault_hits.get(i).copied().unwrap_or(0) < f.times
    })?;
    if let Some(hits) = st.fault_hits.get_mut(i) {
        *hits += 1;
    }
    let f = st.config.faults.get(i)?.clone();
    let status = StatusCode::from_u16(f.status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
    let (code, message) = match status.as_u16() {
        429 => (
            "TooManyRequests",
            "Too many requests. Please try again later.",
        ),
        401 => (
            "InvalidAuthenticationToken",
            "Access token validation failure.",
        ),
        403 => (
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation.",
        ),
        500..=599 => ("ServiceNotAvailable", "Service unavailable."),
        _ => ("BadRequest", "Bad request."),
    };
    let mut resp = graph_error(status, code, message);
    if let Some(ra) = f.retry_after.and_then(|r| HeaderValue::from_str(&r).ok()) {
        resp.headers_mut().insert(header::RETRY_AFTER, ra);
    }
    Some(resp)
}

fn token(st: &mut Inner, tenant: &str, body: &[u8]) -> Response {
    if let Some(resp) = fault(st, Endpoint::Token, 0) {
        return resp;
    }
    let form: Vec<(String, String)> = url::form_urlencoded::parse(body).into_owned().collect();
    let get = |k: &str| {
        form.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    };
    let Some(client) = st.config.client.clone() else {
        return aad_error(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            "AADSTS700016: no application is registered in this fixture.",
        );
    };
    if get("grant_type") != "client_credentials" {
        return aad_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "AADSTS70003: The app requested an unsupported grant type.",
        );
    }
    if tenant != client.tenant_id {
        return aad_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            &format!("AADSTS90002: Tenant '{tenant}' not found."),
        );
    }
    if get("client_id") != client.client_id {
        return aad_error(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            &format!(
                "AADSTS700016: Application with identifier '{}' was not found in the directory.",
                get("client_id")
            ),
        );
    }
    if get("client_secret") != client.client_secret {
        return aad_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.",
        );
    }
    if !get("scope").ends_with("/.default") {
        return aad_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            "AADSTS1002012: The provided value for scope is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier.",
        );
    }
    st.generation += 1;
    let token = format!(
        "eyJ0eXAiOiJKV1QifQ.fixture-{}-{}.sig",
        st.generation,
        std::process::id()
    );
    st.issued = Some(token.clone());
    st.all_issued.push(token.clone());
    st.issued_uses = 0;
    (
        StatusCode::OK,
        axum::Json(json!({
            "token_type": "Bearer",
            "expires_in": 3599,
            "ext_expires_in": 3599,
            "access_token": token,
        })),
    )
        .into_response()
}

fn skiptoken(page: usize) -> String {
    format!("RFNwdAIAAQAAA{page:08x}")
}

fn page_of(token: &str) -> Option<usize> {
    let hex = token.strip_prefix("RFNwdAIAAQAAA")?;
    usize::from_str_radix(hex, 16).ok()
}

fn list(st: &mut Inner, endpoint: Endpoint, params: &[(String, String)]) -> Response {
    let param = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let top = match param("$top").map(str::parse::<usize>) {
        None => 100,
        Some(Ok(n)) if (1..=999).contains(&n) => n,
        Some(_) => {
            return graph_error(
                StatusCode::BAD_REQUEST,
                "Request_UnsupportedQuery",
                &format!(
                    "Invalid page size specified: '{}'. Must be between 1 and 999 inclusive.",
                    param("$top").unwrap_or("")
                ),
            );
        }
    };
    let page = match param("$skiptoken").map(page_of) {
        None => 0,
        Some(Some(p)) => p,
        Some(None) => {
            return graph_error(
                StatusCode::BAD_REQUEST,
                "Directory_ExpiredPageToken",
                "The specified page token value has expired and can no longer be included in your request.",
            );
        }
    };
    if let Some(resp) = fault(st, endpoint, page) {
        return resp;
    }
    let size = top.min(st.config.page_size.max(1));
    let (items, path, context) = match endpoint {
        Endpoint::DeletedUsers => (
            &st.tenant.deleted_users,
            "directory/deletedItems/microsoft.graph.user",
            "$metadata#directory/deletedItems/microsoft.graph.user",
        ),
        _ => (&st.tenant.users, "users", "$metadata#users"),
    };
    let select: Option<Vec<&str>> = param("$select").map(|s| s.split(',').map(str::trim).collect());
    let chunk: Vec<Value> = items
        .iter()
        .skip(page * size)
        .take(size)
        .map(|u| project(u, select.as_deref(), endpoint == Endpoint::DeletedUsers))
        .collect();
    let mut out = Map::new();
    out.insert(
        "@odata.context".into(),
        Value::String(format!("{}/{context}", st.base)),
    );
    if (page + 1) * size < items.len() {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in params.iter().filter(|(k, _)| k != "$skiptoken") {
            q.append_pair(k, v);
        }
        q.append_pair("$skiptoken", &skiptoken(page + 1));
        let base = match &st.config.next_link_origin {
            Some(origin) => format!("{}/v1.0", origin.trim_end_matches('/')),
            None => st.base.clone(),
        };
        out.insert(
            "@odata.nextLink".into(),
            Value::String(format!("{base}/{path}?{}", q.finish())),
        );
    }
    out.insert("value".into(), Value::Array(chunk));
    (StatusCode::OK, axum::Json(Value::Object(out))).into_response()
}

fn project(user: &Value, select: Option<&[&str]>, deleted: bool) -> Value {
    let Value::Object(m) = user else {
        return user.clone();
    };
    let keep = |k: &str| -> bool {
        k == "id"
            || (deleted && k == "@odata.type")
            || match select {
                Some(s) => s.contains(&k),
                None => DEFAULT_PROPERTIES.contains(&k),
            }
    };
    let mut out = Map::new();
    for (k, v) in m {
        if keep(k) {
            out.insert(k.clone(), v.clone());
        }
    }
    // Graph returns selected properties that the object lacks as null.
    if let Some(s) = select {
        for k in s {
            if !k.is_empty() && !out.contains_key(*k) {
                out.insert((*k).to_string(), Value::Null);
            }
        }
    }
    Value::Object(out)
}
