//! Credentials for Microsoft Graph: a bearer token handed to us in an environment variable, or
//! the OAuth 2.0 client-credentials grant against the Microsoft identity platform. Secrets stay
//! in [`Secret`] (masked `Debug`, no `Display`) and are exposed only where a request is built.

use crate::error::M365Error;
use dirsnap_config::Secret;
use url::Url;

pub const ENV_TENANT_ID: &str = "DIRSNAP_M365_TENANT_ID";
pub const ENV_CLIENT_ID: &str = "DIRSNAP_M365_CLIENT_ID";
pub const ENV_CLIENT_SECRET: &str = "DIRSNAP_M365_CLIENT_SECRET";
pub const ENV_AUTHORITY: &str = "DIRSNAP_M365_AUTHORITY";
pub const ENV_SCOPE: &str = "DIRSNAP_M365_SCOPE";
pub const DEFAULT_AUTHORITY: &str = "https://login.microsoftonline.com";
pub const DEFAULT_SCOPE: &str = "https://graph.microsoft.com/.default";

/// How we authenticate to Graph.
#[derive(Debug, Clone)]
pub enum Credentials {
    /// A ready access token; `env_var` is where it came from, for messages.
    Bearer { token: Secret, env_var: String },
    /// The client-credentials grant (an app registration with application permissions).
    ClientCredentials(ClientCredentials),
}

#[derive(Debug, Clone)]
pub struct ClientCredentials {
    /// e.g. `https://login.microsoftonline.com`; the token endpoint is
    /// `{authority}/{tenant_id}/oauth2/v2.0/token`.
    pub authority: Url,
    pub tenant_id: String,
    pub client_id: String,
    pub client_secret: Secret,
    /// e.g. `https://graph.microsoft.com/.default`.
    pub scope: String,
}

impl ClientCredentials {
    pub fn token_url(&self) -> Result<Url, M365Error> {
        let base = self.authority.as_str().trim_end_matches('/');
        Url::parse(&format!("{base}/{}/oauth2/v2.0/token", self.tenant_id)).map_err(|e| {
            M365Error::Usage(format!(
                "authority URL {} with tenant {} does not make a token URL: {e}",
                self.authority, self.tenant_id
            ))
        })
    }
}

/// What the command line gathered; [`resolve_credentials`] decides which flow applies.
#[derive(Debug, Clone, Default)]
pub struct CredentialInputs {
    /// `--token-env VAR`.
    pub token_env: Option<String>,
    pub tenant_id: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<Secret>,
    pub authority: Option<String>,
    pub scope: Option<String>,
}

/// `--token-env` wins; otherwise the client-credentials variables must all be set. `lookup`
/// reads an environment variable (injected so tests need not touch the process environment).
pub fn resolve_credentials(
    inputs: CredentialInputs,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<Credentials, M365Error> {
    if let Some(var) = inputs.token_env {
        let token = lookup(&var)
            .map(|t| t.trim().to_string())
            .unwrap_or_default();
        if token.is_empty() {
            return Err(M365Error::Usage(format!(
                "--token-env {var}: the environment variable {var} is not set or empty; \
                 put a Microsoft Graph access token in it"
            )));
        }
        let token = token
            .strip_prefix("Bearer ")
            .map(str::to_string)
            .unwrap_or(token);
        return Ok(Credentials::Bearer {
            token: Secret::new(token),
            env_var: var,
        });
    }
    let nonempty = |v: Option<String>| v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    let tenant_id = nonempty(inputs.tenant_id);
    let client_id = nonempty(inputs.client_id);
    let client_secret = inputs.client_secret.filter(|s| !s.is_empty());
    if tenant_id.is_none() && client_id.is_none() && client_secret.is_none() {
        return Err(M365Error::Usage(format!(
            "no Microsoft Graph credentials: pass --token-env VAR (an environment variable holding \
             an access token), or set {ENV_TENANT_ID}, {ENV_CLIENT_ID} and {ENV_CLIENT_SECRET} for \
             the client-credentials flow, or import the admin center's CSV with --from-csv FILE"
        )));
    }
    let mut missing = Vec::new();
    if tenant_id.is_none() {
        missing.push(ENV_TENANT_ID);
    }
    if client_id.is_none() {
        missing.push(ENV_CLIENT_ID);
    }
    if client_secret.is_none() {
        missing.push(ENV_CLIENT_SECRET);
    }
    let (Some(tenant_id), Some(client_id), Some(client_secret)) =
        (tenant_id, client_id, client_secret)
    else {
        return Err(M365Error::Usage(format!(
            "client-credentials flow: {} not set (all of {ENV_TENANT_ID}, {ENV_CLIENT_ID} and \
             {ENV_CLIENT_SECRET} are needed)",
            missing.join(", ")
        )));
    };
    // The tenant goes into the token URL's path: only a GUID or a domain name is valid.
    if !tenant_id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
    {
        return Err(M365Error::Usage(format!(
            "{ENV_TENANT_ID}: expected a tenant id (GUID) or a domain such as contoso.onmicrosoft.com, \
             found {tenant_id:?}"
        )));
    }
    let authority_text = inputs
        .authority
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_AUTHORITY.to_string());
    let authority = Url::parse(authority_text.trim()).map_err(|e| {
        M365Error::Usage(format!(
            "authority URL {authority_text:?} (--authority-url / {ENV_AUTHORITY}): {e}"
        ))
    })?;
    if !matches!(authority.scheme(), "https" | "http") {
        return Err(M365Error::Usage(format!(
            "authority URL {authority}: expected an https:// URL"
        )));
    }
    Ok(Credentials::ClientCredentials(ClientCredentials {
        authority,
        tenant_id,
        client_id,
        client_secret,
        scope: inputs
            .scope
            .filter(|s| !s.trim().is_empty())
            .unwrap_or_else(|| DEFAULT_SCOPE.to_string()),
    }))
}

/// Replaces every known secret in text that came from a server or a library before it is
/// logged or put in an error: a misbehaving server that echoes the token must not make us
/// print it.
#[derive(Clone, Default)]
pub struct Redactor {
    secrets: Vec<Secret>,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Redactor({} secrets)", self.secrets.len())
    }
}

impl Redactor {
    pub fn add(&mut self, secret: &Secret) {
        // Very short values would mask ordinary words; real tokens and secrets are long.
        if secret.expose().len() >= 6 && !self.secrets.contains(secret) {
            self.secrets.push(secret.clone());
        }
    }

    pub fn clean(&self, text: &str) -> String {
        let mut out = text.to_string();
        for s in &self.secrets {
            if out.contains(s.expose()) {
                out = out.replace(s.expose(), "***");
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn token_env_wins_and_unset_variable_is_named() {
        let c = resolve_credentials(
            CredentialInputs {
                token_env: Some("GRAPH_TOKEN".into()),
                tenant_id: Some("t".into()),
                ..Default::default()
            },
            env(&[("GRAPH_TOKEN", "Bearer eyJabc")]),
        )
        .unwrap();
        match c {
            Credentials::Bearer { token, env_var } => {
                assert_eq!(token.expose(), "eyJabc");
                assert_eq!(env_var, "GRAPH_TOKEN");
            }
            other => panic!("{other:?}"),
        }
        let e = resolve_credentials(
            CredentialInputs {
                token_env: Some("NOPE".into()),
                ..Default::default()
            },
            env(&[]),
        )
        .unwrap_err();
        assert!(e.is_invalid_input());
        assert!(e.to_string().contains("NOPE"));
    }

    #[test]
    fn client_credentials_need_all_three() {
        let e = resolve_credentials(
            CredentialInputs {
                tenant_id: Some("contoso.onmicrosoft.com".into()),
                client_secret: Some(Secret::new("s3cr3t-value")),
                ..Default::default()
            },
            env(&[]),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains(ENV_CLIENT_ID) && !e.contains("s3cr3t"), "{e}");
    }

    #[test]
    fn token_url_uses_authority_and_tenant() {
        let c = resolve_credentials(
            CredentialInputs {
                tenant_id: Some("contoso.onmicrosoft.com".into()),
                client_id: Some("app".into()),
                client_secret: Some(Secret::new("s3cr3t-value")),
                authority: Some("http://127.0.0.1:9/".into()),
                ..Default::default()
            },
            env(&[]),
        )
        .unwrap();
        let Credentials::ClientCredentials(cc) = c else {
            panic!("expected client credentials")
        };
        assert_eq!(
            cc.token_url().unwrap().as_str(),
            "http://127.0.0.1:9/contoso.onmicrosoft.com/oauth2/v2.0/token"
        );
        assert_eq!(cc.scope, DEFAULT_SCOPE);
    }

    #[test]
    fn tenant_with_path_characters_is_refused() {
        let e = resolve_credentials(
            CredentialInputs {
                tenant_id: Some("../evil".into()),
                client_id: Some("app".into()),
                client_secret: Some(Secret::new("s3cr3t-value")),
                ..Default::default()
            },
            env(&[]),
        )
        .unwrap_err();
        assert!(e.to_string().contains(ENV_TENANT_ID));
    }

    #[test]
    fn redactor_masks_secrets() {
        let mut r = Redactor::default();
        r.add(&Secret::new("abcdef123"));
        assert_eq!(r.clean("bad token abcdef123 here"), "bad token *** here");
    }
}
