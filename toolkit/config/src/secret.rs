//! Secrets: the IIJ ID access token and the AD bind password. They are held in a type that
//! has no `Display` and whose `Debug` prints a mask, so a stray `{:?}` cannot leak them.

use crate::error::ConfigError;
use crate::node::{self};
use std::fmt;
use std::path::Path;

/// A secret string. Read it with [`Secret::expose`] at the one place it is sent.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Where a secret came from, for messages (never the value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    File(String),
    Env(&'static str),
}

impl fmt::Display for SecretSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretSource::File(key) => write!(f, "secret file key {key}"),
            SecretSource::Env(var) => write!(f, "environment variable {var}"),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Secrets {
    pub iid_token: Option<(Secret, SecretSource)>,
    pub ad_password: Option<(Secret, SecretSource)>,
}

pub const ENV_IID_TOKEN: &str = "DIRSNAP_IID_TOKEN";
pub const ENV_AD_PASSWORD: &str = "DIRSNAP_AD_PASSWORD";

/// Keys accepted in secret.yml, most specific first. Directory Sync's own secret.yml layout
/// is not public (docs/iij-assumptions.md), so the config.yml nesting and flat names are both
/// accepted.
const TOKEN_KEYS: &[&[&str]] = &[
    &["iid", "scim", "access_token"],
    &["iid", "scim", "token"],
    &["access_token"],
    &["token"],
];
const PASSWORD_KEYS: &[&[&str]] = &[
    &["ad", "ldap", "server", "password"],
    &["ad", "ldap", "password"],
    &["password"],
];

/// Loads secrets from `secret.yml` (when given) and the environment. A value in the file
/// wins over the environment, since the file was named explicitly on the command line.
pub fn load_secrets(
    file: Option<&Path>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Secrets, ConfigError> {
    let mut secrets = Secrets::default();
    if let Some(path) = file {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let root = node::parse(&text).map_err(|e| crate::yaml_error(path, &e, false))?;
        let find = |candidates: &[&[&str]]| -> Result<Option<(Secret, SecretSource)>, ConfigError> {
            for keys in candidates {
                let Some(node) = lookup(&root, keys) else {
                    continue;
                };
                let key = keys.join(".");
                let value = match &node.value {
                    node::Value::Str(s) => s.clone(),
                    node::Value::Int(i) => i.to_string(),
                    node::Value::Null => continue,
                    // Never echo the value: describe only what was expected.
                    _ => {
                        return Err(ConfigError::BadValue {
                            path: path.to_path_buf(),
                            line: node.pos.line,
                            column: node.pos.column,
                            key,
                            message: "expected a string".into(),
                        });
                    }
                };
                if !value.is_empty() {
                    return Ok(Some((Secret::new(value), SecretSource::File(key))));
                }
            }
            Ok(None)
        };
        secrets.iid_token = find(TOKEN_KEYS)?;
        secrets.ad_password = find(PASSWORD_KEYS)?;
    }
    if secrets.iid_token.is_none() {
        secrets.iid_token = env(ENV_IID_TOKEN)
            .filter(|v| !v.is_empty())
            .map(|v| (Secret::new(v), SecretSource::Env(ENV_IID_TOKEN)));
    }
    if secrets.ad_password.is_none() {
        secrets.ad_password = env(ENV_AD_PASSWORD)
            .filter(|v| !v.is_empty())
            .map(|v| (Secret::new(v), SecretSource::Env(ENV_AD_PASSWORD)));
    }
    Ok(secrets)
}

fn lookup<'a>(root: &'a node::Node, keys: &[&str]) -> Option<&'a node::Node> {
    let mut cur = root;
    for k in keys {
        let node::Value::Map(entries) = &cur.value else {
            return None;
        };
        cur = entries
            .iter()
            .find(|(name, _, _)| name == k)
            .map(|(_, _, n)| n)?;
    }
    Some(cur)
}
