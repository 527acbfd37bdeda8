#![allow(dead_code)]
//! Helpers shared by the HTTP tests: a started mock and a small SCIM client over reqwest.

use dirsnap_mock_scim::{MockConfig, MockServer, TokenSpec};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

pub const TOKEN: &str = "test-token";

pub fn install_crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

pub async fn start(mut config: MockConfig) -> MockServer {
    install_crypto();
    if config.tokens.is_empty() {
        config.tokens.push(TokenSpec::new(TOKEN));
    }
    MockServer::start(config, "127.0.0.1:0").await.unwrap()
}

/// One response: status, headers we look at, body as JSON (Null when empty).
#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub content_type: Option<String>,
    pub etag: Option<String>,
    pub www_authenticate: Option<String>,
    pub retry_after: Option<String>,
    pub location: Option<String>,
    pub body: Value,
}

pub struct Client {
    pub base: String,
    pub token: Option<String>,
    http: reqwest::Client,
}

impl Client {
    pub fn new(server: &MockServer) -> Client {
        install_crypto();
        Client {
            base: server.url().to_owned(),
            token: Some(TOKEN.to_owned()),
            http: reqwest::Client::builder()
                .pool_max_idle_per_host(0)
                .build()
                .unwrap(),
        }
    }

    pub fn with_token(mut self, token: Option<&str>) -> Client {
        self.token = token.map(str::to_owned);
        self
    }

    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Result<Resp, reqwest::Error> {
        let url = if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("{}{}", self.base, path.trim_start_matches('/'))
        };
        let mut req = self.http.request(method, url);
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(b) = body {
            req = req
                .header("content-type", "application/scim+json")
                .body(b.to_string());
        }
        let resp = req.send().await?;
        let h = |name: &str| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let status = resp.status();
        let content_type = h("content-type");
        let etag = h("etag");
        let www_authenticate = h("www-authenticate");
        let retry_after = h("retry-after");
        let location = h("location");
        let text = resp.text().await?;
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Ok(Resp {
            status,
            content_type,
            etag,
            www_authenticate,
            retry_after,
            location,
            body,
        })
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.send(Method::GET, path, None, &[]).await.unwrap()
    }
    pub async fn post(&self, path: &str, body: Value) -> Resp {
        self.send(Method::POST, path, Some(body), &[])
            .await
            .unwrap()
    }
    pub async fn put(&self, path: &str, body: Value) -> Resp {
        self.send(Method::PUT, path, Some(body), &[]).await.unwrap()
    }
    pub async fn patch(&self, path: &str, ops: Value) -> Resp {
        let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops});
        self.send(Method::PATCH, path, Some(body), &[])
            .await
            .unwrap()
    }
    pub async fn delete(&self, path: &str) -> Resp {
        self.send(Method::DELETE, path, None, &[]).await.unwrap()
    }
}

pub fn user(user_name: &str, external_id: Option<&str>) -> Value {
    let mut u = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": user_name,
        "name": {"familyName": "Yamada", "givenName": "Taro"},
        "displayName": format!("Yamada {user_name}"),
        "emails": [{"value": user_name, "primary": true}],
    });
    if let Some(e) = external_id {
        u["externalId"] = json!(e);
    }
    u
}

pub fn group(name: &str, members: &[&str]) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": name,
        "members": members.iter().map(|m| json!({"value": m})).collect::<Vec<_>>(),
    })
}

/// The `id` of a created resource, asserting the create succeeded.
pub fn created_id(r: &Resp) -> String {
    assert_eq!(r.status, StatusCode::CREATED, "create failed: {:?}", r.body);
    r.body["id"].as_str().unwrap().to_owned()
}
