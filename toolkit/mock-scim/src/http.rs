//! The HTTP shell: axum routes for SCIM and the admin endpoints, bearer-token checks, and a
//! hyper accept loop that can inject faults below HTTP (dropped connections).

use crate::auth::{Auth, Scope};
use crate::clock::Clock;
use crate::error::ScimError;
use crate::fault::{FaultAction, FaultSpec, SlowBody};
use crate::profile::Profile;
use crate::render::{Projection, list_response};
use crate::schema::{Kind, Registry, URN_LIST, URN_SPC};
use crate::store::{Entry, Env, ListQuery, Store};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use dirsnap_filter::scim::AttrPath;
use serde_json::{Value, json};
use std::borrow::Cow;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::ServiceExt as _;

pub const SCIM_CONTENT_TYPE: &str = "application/scim+json";

/// Counters of what the server did, for tests and `/_mock/stats`.
#[derive(Debug, Default)]
pub struct Stats {
    pub requests: AtomicU64,
    pub faults_dropped: AtomicU64,
    pub faults_status: AtomicU64,
    pub faults_slow: AtomicU64,
    pub faults_delayed: AtomicU64,
}

/// A copy of [`Stats`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct StatsSnapshot {
    pub requests: u64,
    pub faults_dropped: u64,
    pub faults_status: u64,
    pub faults_slow: u64,
    pub faults_delayed: u64,
}

impl Stats {
    pub fn snapshot(&self) -> StatsSnapshot {
        StatsSnapshot {
            requests: self.requests.load(Ordering::Relaxed),
            faults_dropped: self.faults_dropped.load(Ordering::Relaxed),
            faults_status: self.faults_status.load(Ordering::Relaxed),
            faults_slow: self.faults_slow.load(Ordering::Relaxed),
            faults_delayed: self.faults_delayed.load(Ordering::Relaxed),
        }
    }
}

/// Everything the handlers share.
#[derive(Debug)]
pub struct Shared {
    pub store: RwLock<Store>,
    pub registry: Registry,
    pub profile: Profile,
    pub clock: Arc<dyn Clock>,
    /// Ends in `/`, e.g. `http://127.0.0.1:8443/scim/v2/`.
    pub base_url: String,
    pub auth: Auth,
    pub faults: FaultSpec,
    fault_counter: AtomicU64,
    pub stats: Stats,
}

impl Shared {
    pub fn new(
        store: Store,
        profile: Profile,
        clock: Arc<dyn Clock>,
        base_url: String,
        auth: Auth,
        faults: FaultSpec,
    ) -> Shared {
        Shared {
            store: RwLock::new(store),
            registry: Registry::builtin(),
            profile,
            clock,
            base_url,
            auth,
            faults,
            fault_counter: AtomicU64::new(0),
            stats: Stats::default(),
        }
    }

    pub fn env(&self) -> Env<'_> {
        Env {
            registry: &self.registry,
            profile: &self.profile,
            clock: self.clock.as_ref(),
            base_url: &self.base_url,
        }
    }

    pub fn read(&self) -> std::sync::RwLockReadGuard<'_, Store> {
        self.store.read().unwrap_or_else(|e| e.into_inner())
    }

    pub fn write(&self) -> std::sync::RwLockWriteGuard<'_, Store> {
        self.store.write().unwrap_or_else(|e| e.into_inner())
    }
}

type AppState = Arc<Shared>;
type Params = Query<Vec<(String, String)>>;

fn kind_routes(kind: Kind) -> Router<AppState> {
    let collection = format!("/{}", kind.endpoint());
    let search_path = format!("/{}/.search", kind.endpoint());
    let item = format!("/{}/{{id}}", kind.endpoint());
    Router::new()
        .route(
            &collection,
            get(move |s: State<AppState>, q: Params| list_get(s, kind, q))
                .post(move |s: State<AppState>, q: Params, b: Bytes| create(s, kind, q, b)),
        )
        .route(
            &search_path,
            post(move |s: State<AppState>, b: Bytes| search(s, Some(kind), b)),
        )
        .route(
            &item,
            get(
                move |s: State<AppState>, p: Path<String>, q: Params, h: HeaderMap| {
                    get_one(s, kind, p, q, h)
                },
            )
            .put(
                move |s: State<AppState>, p: Path<String>, q: Params, h: HeaderMap, b: Bytes| {
                    write_one(s, kind, WriteOp::Replace, p, q, h, b)
                },
            )
            .patch(
                move |s: State<AppState>, p: Path<String>, q: Params, h: HeaderMap, b: Bytes| {
                    write_one(s, kind, WriteOp::Patch, p, q, h, b)
                },
            )
            .delete(move |s: State<AppState>, p: Path<String>, h: HeaderMap| delete(s, kind, p, h)),
        )
}

/// The SCIM routes, relative to the base path.
fn scim_routes(shared: AppState) -> Router<AppState> {
    Router::new()
        .route("/ServiceProviderConfig", get(service_provider_config))
        .route("/Schemas", get(schemas))
        .route("/Schemas/{id}", get(schema_one))
        .route("/ResourceTypes", get(resource_types))
        .route("/ResourceTypes/{id}", get(resource_type_one))
        .route(
            "/.search",
            post(|s: State<AppState>, b: Bytes| search(s, None, b)),
        )
        .merge(kind_routes(Kind::User))
        .merge(kind_routes(Kind::Group))
        .route_layer(middleware::from_fn_with_state(shared, authorize))
        .method_not_allowed_fallback(|| async {
            error_response(&ScimError::new(
                405,
                None,
                "method not allowed on this endpoint",
            ))
        })
}

/// The whole application: SCIM at `/` and at `base_path` (e.g. `/scim/v2`, IIJ ID's path),
/// and the admin endpoints under `/_mock`.
pub fn app(shared: AppState, base_path: &str) -> Router {
    let scim = scim_routes(shared.clone());
    let mut router = Router::new().merge(scim.clone());
    if !base_path.is_empty() && base_path != "/" {
        router = router.nest(base_path, scim);
    }
    router
        .merge(crate::admin::routes(shared.clone()))
        .fallback(|| async { error_response(&ScimError::not_found("no such endpoint")) })
        .with_state(shared)
}

/// Checks the bearer token and the scope the endpoint needs.
async fn authorize(State(shared): State<AppState>, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    let users = path.split('/').any(|s| s == "Users");
    let groups = path.split('/').any(|s| s == "Groups");
    let search = path.ends_with("/.search");
    let read = req.method() == Method::GET || req.method() == Method::HEAD || search;
    let needed: Vec<Scope> = match (users, groups, read) {
        (true, _, true) => vec![Scope::ReadUsers],
        (true, _, false) => vec![Scope::WriteUsers],
        (false, true, true) => vec![Scope::ReadGroups],
        (false, true, false) => vec![Scope::WriteGroups],
        (false, false, _) if search => vec![Scope::ReadUsers, Scope::ReadGroups],
        (false, false, _) => Vec::new(),
    };
    let authz = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if let Err(e) = shared.auth.check(authz, &needed, shared.clock.now()) {
        return error_response(&e);
    }
    next.run(req).await
}

fn scim_body(status: StatusCode, body: Vec<u8>) -> Response {
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(SCIM_CONTENT_TYPE),
    );
    resp
}

fn json_response(status: StatusCode, value: &Value) -> Response {
    match serde_json::to_vec(value) {
        Ok(bytes) => scim_body(status, bytes),
        Err(e) => error_response(&ScimError::new(500, None, format!("cannot encode: {e}"))),
    }
}

/// A SCIM error response, headers included.
pub fn error_response(e: &ScimError) -> Response {
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = serde_json::to_vec(&e.body()).unwrap_or_default();
    let mut resp = scim_body(status, body);
    for (name, value) in &e.headers {
        if let Ok(v) = HeaderValue::from_str(value) {
            resp.headers_mut().insert(*name, v);
        }
    }
    resp
}

fn resource_response(
    shared: &Shared,
    status: StatusCode,
    kind: Kind,
    entry: &Entry,
    projection: &Projection,
) -> Response {
    let shown = projection.apply(&shared.registry, kind, &entry.resource);
    let mut resp = json_response(status, &shown);
    if let Ok(v) = HeaderValue::from_str(&entry.version) {
        resp.headers_mut().insert(header::ETAG, v);
    }
    if status == StatusCode::CREATED
        && let Some(loc) = entry
            .resource
            .pointer("/meta/location")
            .and_then(Value::as_str)
        && let Ok(v) = HeaderValue::from_str(loc)
    {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    resp
}

fn param<'q>(q: &'q [(String, String)], name: &str) -> Option<&'q str> {
    q.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn parse_int(q: &[(String, String)], name: &str) -> Result<Option<i64>, ScimError> {
    param(q, name)
        .map(|v| {
            v.trim().parse::<i64>().map_err(|_| {
                ScimError::invalid_value(format!("{name} must be an integer, found {v:?}"))
            })
        })
        .transpose()
}

fn parse_filter(text: Option<&str>) -> Result<Option<dirsnap_filter::scim::Filter>, ScimError> {
    text.filter(|t| !t.trim().is_empty())
        .map(|t| {
            dirsnap_filter::scim::parse(t)
                .map_err(|e| ScimError::new(400, Some("invalidFilter"), e.to_string()))
        })
        .transpose()
}

fn parse_sort(
    by: Option<&str>,
    order: Option<&str>,
) -> Result<(Option<AttrPath>, bool), ScimError> {
    let sort_by = by
        .filter(|s| !s.trim().is_empty())
        .map(|s| {
            s.trim().parse::<AttrPath>().map_err(|e| {
                ScimError::invalid_value(format!("sortBy {s:?} is not an attribute path: {e}"))
            })
        })
        .transpose()?;
    let descending = match order.map(str::trim) {
        None | Some("") => false,
        Some(o) if o.eq_ignore_ascii_case("ascending") => false,
        Some(o) if o.eq_ignore_ascii_case("descending") => true,
        Some(o) => {
            return Err(ScimError::invalid_value(format!(
                "sortOrder must be \"ascending\" or \"descending\", found {o:?}"
            )));
        }
    };
    Ok((sort_by, descending))
}

fn parse_body(body: &Bytes) -> Result<Value, ScimError> {
    serde_json::from_slice(body)
        .map_err(|e| ScimError::invalid_syntax(format!("the request body is not valid JSON: {e}")))
}

fn header_str(h: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

async fn service_provider_config(State(shared): State<AppState>) -> Response {
    let cap = shared.profile.page_size_cap;
    let schemes = if shared.auth.is_open() {
        json!([])
    } else {
        json!([{
            "type": "oauthbearertoken",
            "name": "OAuth Bearer Token",
            "description": "IIJ ID access token (Authorization: Bearer …) with the escim_* scopes",
            "specUri": "https://www.rfc-editor.org/info/rfc6750",
            "primary": true
        }])
    };
    json_response(
        StatusCode::OK,
        &json!({
            "schemas": [URN_SPC],
            "documentationUri": "https://manual.iij.jp/iid/iidapi/",
            "patch": {"supported": true},
            "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
            "filter": {"supported": true, "maxResults": cap},
            "changePassword": {"supported": true},
            "sort": {"supported": true},
            "etag": {"supported": true},
            "authenticationSchemes": schemes,
            "meta": {"resourceType": "ServiceProviderConfig",
                     "location": format!("{}ServiceProviderConfig", shared.base_url)},
        }),
    )
}

fn discovery_list(items: Vec<Value>) -> Response {
    let n = items.len();
    json_response(
        StatusCode::OK,
        &json!({
            "schemas": [URN_LIST],
            "totalResults": n,
            "itemsPerPage": n,
            "startIndex": 1,
            "Resources": items,
        }),
    )
}

async fn schemas(State(shared): State<AppState>) -> Response {
    discovery_list(shared.registry.schemas_json(&shared.base_url))
}

async fn schema_one(State(shared): State<AppState>, Path(id): Path<String>) -> Response {
    match shared.registry.schema_json(&shared.base_url, &id) {
        Some(s) => json_response(StatusCode::OK, &s),
        None => error_response(&ScimError::not_found(format!("no schema {id}"))),
    }
}

async fn resource_types(State(shared): State<AppState>) -> Response {
    discovery_list(shared.registry.resource_types_json(&shared.base_url))
}

async fn resource_type_one(State(shared): State<AppState>, Path(id): Path<String>) -> Response {
    shared
        .registry
        .resource_types_json(&shared.base_url)
        .into_iter()
        .find(|rt| {
            rt["id"]
                .as_str()
                .is_some_and(|i| i.eq_ignore_ascii_case(&id))
        })
        .map(|rt| json_response(StatusCode::OK, &rt))
        .unwrap_or_else(|| error_response(&ScimError::not_found(format!("no resource type {id}"))))
}

/// What a list or search asks for.
struct Search {
    query: ListQuery,
    projection: Projection,
}

fn run_search(shared: &Shared, kinds: &[Kind], s: &Search) -> Response {
    let env = shared.env();
    let store = shared.read();
    let (start, count) = s.query.window(shared.profile.page_size_cap);
    let mut total = 0;
    let mut shown: Vec<Cow<'_, Value>> = Vec::with_capacity(count.min(1024));
    // Pages run over the concatenation of the kinds' results (users, then groups).
    let mut skip = start - 1;
    let listed = shared.profile.pending_deletion_listed;
    for kind in kinds {
        if s.query.sort_by.is_none() && s.query.filter.is_none() {
            // The plain paged list: a slice of the creation order, nothing else touched.
            let coll = store.collection(*kind);
            let order = coll.ordered(listed);
            let len = order.len();
            total += len;
            let from = skip.min(len);
            skip -= from;
            if shown.len() >= count {
                continue;
            }
            // The page's first entry is found by rank, then only the page is rendered.
            for seq in order.iter_from(from) {
                if shown.len() >= count {
                    break;
                }
                if let Some(e) = coll.by_seq(seq) {
                    shown.push(Cow::Owned(s.projection.apply_owned(
                        &shared.registry,
                        *kind,
                        e.resource,
                    )));
                }
            }
            continue;
        }
        // Without sortBy, stream in creation order: only the page is materialised.
        let matched: Box<dyn Iterator<Item = Entry>> = if s.query.sort_by.is_some() {
            Box::new(store.select(&env, *kind, &s.query).into_iter())
        } else {
            store.matching(&env, *kind, s.query.filter.as_ref())
        };
        for e in matched {
            total += 1;
            if skip > 0 {
                skip -= 1;
                continue;
            }
            if shown.len() < count {
                shown.push(Cow::Owned(s.projection.apply_owned(
                    &shared.registry,
                    *kind,
                    e.resource,
                )));
            }
        }
    }
    match list_response(total, start, &shown) {
        Ok(bytes) => scim_body(StatusCode::OK, bytes),
        Err(e) => error_response(&ScimError::new(500, None, format!("cannot encode: {e}"))),
    }
}

async fn list_get(State(shared): State<AppState>, kind: Kind, Query(q): Params) -> Response {
    let parsed = (|| -> Result<Search, ScimError> {
        let (sort_by, descending) = parse_sort(param(&q, "sortBy"), param(&q, "sortOrder"))?;
        Ok(Search {
            query: ListQuery {
                filter: parse_filter(param(&q, "filter"))?,
                start_index: parse_int(&q, "startIndex")?.unwrap_or(1),
                count: parse_int(&q, "count")?,
                sort_by,
                descending,
            },
            projection: Projection::parse(
                &shared.registry,
                &[kind],
                param(&q, "attributes"),
                param(&q, "excludedAttributes"),
            )?,
        })
    })();
    match parsed {
        Ok(s) => run_search(&shared, &[kind], &s),
        Err(e) => error_response(&e),
    }
}

fn parse_search_body(shared: &Shared, kinds: &[Kind], body: &Bytes) -> Result<Search, ScimError> {
    let v = parse_body(body)?;
    let obj = v
        .as_object()
        .ok_or_else(|| ScimError::invalid_syntax("a search request must be a JSON object"))?;
    let get = |k: &str| crate::store::get_ci(obj, k);
    let text = |k: &str| -> Result<Option<&str>, ScimError> {
        match get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(_) => Err(ScimError::invalid_value(format!("{k} must be a string"))),
        }
    };
    let int = |k: &str| -> Result<Option<i64>, ScimError> {
        match get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => n
                .as_i64()
                .map(Some)
                .ok_or_else(|| ScimError::invalid_value(format!("{k} must be an integer"))),
            Some(_) => Err(ScimError::invalid_value(format!("{k} must be an integer"))),
        }
    };
    let list = |k: &str| -> Result<Vec<String>, ScimError> {
        match get(k) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|i| {
                    i.as_str().map(String::from).ok_or_else(|| {
                        ScimError::invalid_value(format!("{k} must be a list of strings"))
                    })
                })
                .collect(),
            Some(Value::String(s)) => Ok(s.split(',').map(|x| x.trim().to_owned()).collect()),
            Some(_) => Err(ScimError::invalid_value(format!(
                "{k} must be a list of strings"
            ))),
        }
    };
    let (sort_by, descending) = parse_sort(text("sortBy")?, text("sortOrder")?)?;
    Ok(Search {
        query: ListQuery {
            filter: parse_filter(text("filter")?)?,
            start_index: int("startIndex")?.unwrap_or(1),
            count: int("count")?,
            sort_by,
            descending,
        },
        projection: Projection::from_lists(
            &shared.registry,
            kinds,
            &list("attributes")?,
            &list("excludedAttributes")?,
        )?,
    })
}

async fn search(State(shared): State<AppState>, kind: Option<Kind>, body: Bytes) -> Response {
    let kinds: Vec<Kind> = match kind {
        Some(k) => vec![k],
        None => vec![Kind::User, Kind::Group],
    };
    match parse_search_body(&shared, &kinds, &body) {
        Ok(s) => run_search(&shared, &kinds, &s),
        Err(e) => error_response(&e),
    }
}

async fn get_one(
    State(shared): State<AppState>,
    kind: Kind,
    Path(id): Path<String>,
    Query(q): Params,
    headers: HeaderMap,
) -> Response {
    let projection = match Projection::parse(
        &shared.registry,
        &[kind],
        param(&q, "attributes"),
        param(&q, "excludedAttributes"),
    ) {
        Ok(p) => p,
        Err(e) => return error_response(&e),
    };
    let env = shared.env();
    let store = shared.read();
    match store.get(&env, kind, &id) {
        Ok(entry) => {
            if let Some(inm) = header_str(&headers, header::IF_NONE_MATCH)
                && inm
                    .split(',')
                    .any(|t| t.trim() == entry.version || t.trim() == "*")
            {
                let mut resp = StatusCode::NOT_MODIFIED.into_response();
                if let Ok(v) = HeaderValue::from_str(&entry.version) {
                    resp.headers_mut().insert(header::ETAG, v);
                }
                return resp;
            }
            resource_response(&shared, StatusCode::OK, kind, &entry, &projection)
        }
        Err(e) => error_response(&e),
    }
}

/// Writes honour attributes/excludedAttributes too (RFC 7644 §3.9); a bad list there does
/// not fail a write that already happened, the full resource is returned instead.
fn write_projection(shared: &Shared, kind: Kind, q: &[(String, String)]) -> Projection {
    Projection::parse(
        &shared.registry,
        &[kind],
        param(q, "attributes"),
        param(q, "excludedAttributes"),
    )
    .unwrap_or_default()
}

async fn create(
    State(shared): State<AppState>,
    kind: Kind,
    Query(q): Params,
    body: Bytes,
) -> Response {
    let value = match parse_body(&body) {
        Ok(v) => v,
        Err(e) => return error_response(&e),
    };
    let env = shared.env();
    let result = shared.write().create(&env, kind, &value);
    match result {
        Ok(created) => {
            tracing::debug!(kind = kind.name(), id = %created.entry.id, restored = created.restored, "created");
            let p = write_projection(&shared, kind, &q);
            resource_response(&shared, StatusCode::CREATED, kind, &created.entry, &p)
        }
        Err(e) => error_response(&e),
    }
}

#[derive(Debug, Clone, Copy)]
enum WriteOp {
    Replace,
    Patch,
}

async fn write_one(
    State(shared): State<AppState>,
    kind: Kind,
    op: WriteOp,
    Path(id): Path<String>,
    Query(q): Params,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let value = match parse_body(&body) {
        Ok(v) => v,
        Err(e) => return error_response(&e),
    };
    let env = shared.env();
    let if_match = header_str(&headers, header::IF_MATCH);
    let result = {
        let mut store = shared.write();
        match op {
            WriteOp::Replace => store.replace(&env, kind, &id, &value, if_match),
            WriteOp::Patch => store.patch(&env, kind, &id, &value, if_match),
        }
    };
    match result {
        Ok(entry) => {
            let p = write_projection(&shared, kind, &q);
            resource_response(&shared, StatusCode::OK, kind, &entry, &p)
        }
        Err(e) => error_response(&e),
    }
}

async fn delete(
    State(shared): State<AppState>,
    kind: Kind,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let env = shared.env();
    let if_match = header_str(&headers, header::IF_MATCH);
    let result = shared.write().delete(&env, kind, &id, if_match);
    match result {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => error_response(&e),
    }
}

/// The error a connection-dropping fault makes the connection fail with.
#[derive(Debug)]
struct DroppedByFault;

impl std::fmt::Display for DroppedByFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by fault injection")
    }
}

impl std::error::Error for DroppedByFault {}

async fn handle(
    shared: AppState,
    app: Router,
    req: hyper::Request<hyper::body::Incoming>,
) -> Result<Response, DroppedByFault> {
    shared.stats.requests.fetch_add(1, Ordering::Relaxed);
    let path = req.uri().path();
    let admin = path.starts_with("/_mock/") || path == "/_mock";
    let decision = if !admin
        && !shared.faults.is_empty()
        && shared.faults.applies_to(req.method().as_str(), path)
    {
        let n = shared.fault_counter.fetch_add(1, Ordering::Relaxed);
        Some(shared.faults.decide(n))
    } else {
        None
    };
    let method = req.method().clone();
    let uri_path = path.to_owned();
    if let Some(d) = &decision {
        if let Some(l) = d.latency {
            shared.stats.faults_delayed.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(l).await;
        }
        match d.action {
            FaultAction::Pass => {}
            FaultAction::Drop => {
                shared.stats.faults_dropped.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(%method, path = %uri_path, "fault: dropping the connection");
                return Err(DroppedByFault);
            }
            FaultAction::Status {
                status,
                retry_after,
            } => {
                shared.stats.faults_status.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(%method, path = %uri_path, status, "fault: answering an error");
                let detail = if status == 429 {
                    "too many requests (fault injection)"
                } else {
                    "temporary server error (fault injection)"
                };
                let mut e = ScimError::new(status, None, detail);
                if let Some(s) = retry_after {
                    e = e.with_header("retry-after", s.to_string());
                }
                return Ok(error_response(&e));
            }
        }
    }
    let resp = match app.oneshot(req.map(Body::new)).await {
        Ok(r) => r,
        Err(never) => match never {},
    };
    tracing::debug!(%method, path = %uri_path, status = resp.status().as_u16(), "request");
    match decision.and_then(|d| d.slow_body) {
        Some(slow) => {
            shared.stats.faults_slow.fetch_add(1, Ordering::Relaxed);
            Ok(slow_down(resp, slow).await)
        }
        None => Ok(resp),
    }
}

/// Re-sends a response's body in chunks with a pause before each.
async fn slow_down(resp: Response, slow: SlowBody) -> Response {
    let (parts, body) = resp.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return Response::from_parts(parts, Body::empty());
    };
    let chunk = slow.chunk_bytes.max(1);
    let stream = futures::stream::unfold(0usize, move |offset| {
        let bytes = bytes.clone();
        async move {
            if offset >= bytes.len() {
                return None;
            }
            tokio::time::sleep(slow.pause).await;
            let end = (offset + chunk).min(bytes.len());
            Some((Ok::<Bytes, std::io::Error>(bytes.slice(offset..end)), end))
        }
    });
    Response::from_parts(parts, Body::from_stream(stream))
}

/// Accepts connections until `shutdown` turns true, then lets open requests finish (up to 5
/// seconds).
pub async fn serve(
    listener: TcpListener,
    shared: AppState,
    app: Router,
    mut shutdown: watch::Receiver<bool>,
) {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((stream, _)) => stream,
                    Err(e) => {
                        tracing::warn!("accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let shared = shared.clone();
                let app = app.clone();
                let service = hyper::service::service_fn(move |req| {
                    handle(shared.clone(), app.clone(), req)
                });
                let conn = hyper::server::conn::http1::Builder::new()
                    .keep_alive(true)
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service);
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    if let Err(e) = conn.await {
                        tracing::trace!("connection ended: {e}");
                    }
                });
            }
            changed = shutdown.changed() => {
                if changed.is_err() || *shutdown.borrow() {
                    break;
                }
            }
        }
    }
    drop(listener);
    let _ = tokio::time::timeout(Duration::from_secs(5), graceful.shutdown()).await;
}
