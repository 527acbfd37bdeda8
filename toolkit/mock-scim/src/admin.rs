//! Admin endpoints under `/_mock` (not SCIM, not subject to faults): what an IIJ ID
//! administrator does in the console, and what a test harness needs.
//!
//! | endpoint | does |
//! |---|---|
//! | `GET /_mock/state` | every user (pending ones flagged) and group, as stored |
//! | `GET /_mock/stats` | request and fault counters |
//! | `POST /_mock/users/{id}/restore` | restores a pending-deletion user (the console's "restore") |
//! | `DELETE /_mock/users/{id}` | deletes a user for good (the console's "delete permanently") |
//! | `POST /_mock/dump` `{"out": "DIR"}` | writes the state as an IID snapshot at DIR |
//! | `POST /_mock/tokens` `{"token", "scopes"?, "expires"?}` | issues (or renews) a token |
//!
//! When the mock has tokens, these endpoints need one of them (any scope, even expired: the
//! administrator renewing a token must get in).

use crate::auth::{Scope, TokenSpec};
use crate::error::ScimError;
use crate::http::{Shared, error_response};
use crate::schema::Kind;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use serde_json::{Value, json};
use std::sync::Arc;

type AppState = Arc<Shared>;

pub fn routes(shared: AppState) -> Router<AppState> {
    Router::new()
        .route("/_mock/state", get(state))
        .route("/_mock/stats", get(stats))
        .route("/_mock/users/{id}/restore", post(restore))
        .route("/_mock/users/{id}", delete(purge))
        .route("/_mock/dump", post(dump))
        .route("/_mock/tokens", post(add_token))
        .route_layer(middleware::from_fn_with_state(shared, admin_auth))
}

async fn admin_auth(State(shared): State<AppState>, req: Request, next: Next) -> Response {
    let presented = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if !shared.auth.knows(presented) {
        return error_response(
            &ScimError::new(
                401,
                None,
                "the admin endpoints need one of the mock's tokens",
            )
            .with_header("www-authenticate", "Bearer error=\"invalid_token\""),
        );
    }
    next.run(req).await
}

fn json(status: StatusCode, v: Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        v.to_string(),
    )
        .into_response()
}

async fn state(State(shared): State<AppState>) -> Response {
    let store = shared.read();
    let users: Vec<Value> = store
        .users
        .iter()
        .map(|e| json!({"pending_deletion": e.pending_deletion, "resource": e.resource}))
        .collect();
    let groups: Vec<Value> = store.groups.iter().map(|e| e.resource).collect();
    json(StatusCode::OK, json!({"users": users, "groups": groups}))
}

async fn stats(State(shared): State<AppState>) -> Response {
    json(
        StatusCode::OK,
        serde_json::to_value(shared.stats.snapshot()).unwrap_or(Value::Null),
    )
}

async fn restore(State(shared): State<AppState>, Path(id): Path<String>) -> Response {
    let result = shared.write().restore(&id);
    match result {
        Ok(e) => json(StatusCode::OK, e.resource),
        Err(e) => error_response(&e),
    }
}

async fn purge(State(shared): State<AppState>, Path(id): Path<String>) -> Response {
    let removed = shared.write().purge(Kind::User, &id);
    if removed {
        StatusCode::NO_CONTENT.into_response()
    } else {
        error_response(&ScimError::not_found(format!("User {id} not found")))
    }
}

async fn dump(State(shared): State<AppState>, body: Bytes) -> Response {
    let out = serde_json::from_slice::<Value>(&body).ok().and_then(|v| {
        v.get("out")
            .and_then(Value::as_str)
            .map(std::path::PathBuf::from)
    });
    let Some(out) = out else {
        return error_response(&ScimError::invalid_value(
            "expected a JSON body {\"out\": \"DIR\"} naming the snapshot to write",
        ));
    };
    let worker = shared.clone();
    let result = tokio::task::spawn_blocking(move || crate::dump_shared(&worker, &out)).await;
    match result {
        Ok(Ok(manifest)) => json(
            StatusCode::OK,
            serde_json::to_value(manifest).unwrap_or(Value::Null),
        ),
        Ok(Err(e)) => error_response(&ScimError::new(
            if e.is_invalid_input() { 400 } else { 500 },
            None,
            e.to_string(),
        )),
        Err(e) => error_response(&ScimError::new(500, None, format!("dump failed: {e}"))),
    }
}

fn parse_token(body: &Bytes) -> Result<TokenSpec, String> {
    let v: Value = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    let token = v
        .get("token")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .ok_or("expected {\"token\": \"…\"}")?;
    let mut spec = TokenSpec::new(token);
    if let Some(scopes) = v.get("scopes").and_then(Value::as_array) {
        let parsed: Option<Vec<Scope>> = scopes
            .iter()
            .map(|s| s.as_str().and_then(Scope::parse))
            .collect();
        spec = spec.with_scopes(&parsed.ok_or("unknown scope in scopes")?);
    }
    if let Some(exp) = v.get("expires").and_then(Value::as_str) {
        let at = chrono::DateTime::parse_from_rfc3339(exp).map_err(|e| e.to_string())?;
        spec = spec.expiring_at(at.with_timezone(&chrono::Utc));
    }
    Ok(spec)
}

async fn add_token(State(shared): State<AppState>, body: Bytes) -> Response {
    match parse_token(&body) {
        Ok(spec) => {
            shared.auth.add(spec);
            StatusCode::NO_CONTENT.into_response()
        }
        Err(m) => error_response(&ScimError::invalid_value(m)),
    }
}
