//! IIJ Directory Sync's own `config.yml` (read unchanged, so a plan reflects the agent's real
//! configuration), its `secret.yml`, and the toolkit-only `dirsnap:` section.
//!
//! Errors name the file, line, column and dotted key. Keys outside `dirsnap:` this crate does
//! not know are kept in [`DsConfig::document`] and listed in [`DsConfig::unknown_keys`] (with
//! the key they most likely misspell), Directory Sync settings dirsnap does not model in
//! [`DsConfig::unmodelled_keys`]: both are reported, never fatal. An unknown key under
//! `dirsnap:` — dirsnap's own section — is an error naming the nearest valid key.

mod classes;
mod cursor;
mod error;
mod model;
mod node;
pub mod profile;
mod secret;

pub use classes::{
    DEFAULT_GROUP_CLASS, DEFAULT_USER_CLASS, ObjectClass, PROFILE_GROUP_CLASS, PROFILE_USER_CLASS,
};
pub use error::ConfigError;
pub use model::{
    AdBind, AdConfig, AdServer, ConvertRule, DirsnapSection, DsConfig, Encryption, IidConfig,
    Located, Proxy, Threshold, Thresholds, UnknownKey, UnmodelledKey,
};
pub use secret::{ENV_AD_PASSWORD, ENV_IID_TOKEN, Secret, SecretSource, Secrets, load_secrets};

use std::path::Path;

/// The IIJ ID SCIM endpoint used when neither `--base-url` nor `iid.scim.url` is given.
pub const DEFAULT_SCIM_URL: &str = "https://scim.auth.iij.jp/scim/v2/";

/// Reads and validates a Directory Sync config.yml.
pub fn load_config(path: &Path) -> Result<DsConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse_config(path, &text)
}

/// Parses config.yml text; `path` is only used in messages.
pub fn parse_config(path: &Path, text: &str) -> Result<DsConfig, ConfigError> {
    let root = node::parse(text).map_err(|e| yaml_error(path, &e, true))?;
    model::extract(path, &root)
}

/// Turns a YAML syntax error into a positioned [`ConfigError`]. For files that hold secrets
/// the parser's message is dropped: it may quote the offending line.
pub(crate) fn yaml_error(path: &Path, e: &serde_saphyr::Error, quote: bool) -> ConfigError {
    let (line, column) = e.location().map_or((0, 0), |l| (l.line(), l.column()));
    let message = if quote {
        let text = e.to_string();
        // The first line is the message; the rest is a source excerpt we show as is.
        let first = text.lines().next().unwrap_or_default();
        let first = first
            .trim_start_matches("error: ")
            .split_once(": ")
            .map_or(first, |(_, rest)| rest);
        let excerpt: Vec<&str> = text.lines().skip(1).collect();
        if excerpt.is_empty() {
            first.to_string()
        } else {
            format!("{first}\n{}", excerpt.join("\n"))
        }
    } else {
        "the file is not valid YAML (content not shown: it holds secrets)".to_string()
    };
    ConfigError::Yaml {
        path: path.to_path_buf(),
        line,
        column,
        message,
    }
}
