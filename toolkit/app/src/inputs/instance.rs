//! Which Directory Sync instance an AD snapshot belongs to, and the config of an instance
//! other than `--config`'s: the one recorded in its AD snapshot's manifest.

use crate::error::AppError;
use dirsnap_config::DsConfig;
use dirsnap_model::Manifest;
use std::path::Path;

/// The name of the instance an AD snapshot belongs to; `position` (0-based, among the AD
/// snapshots) names one that records neither an instance nor a domain.
pub(crate) fn instance_of(m: &Manifest, position: usize) -> String {
    m.source
        .instance
        .clone()
        .or_else(|| m.source.domain.clone())
        .unwrap_or_else(|| format!("ad-{}", position + 1))
}

/// The config recorded in the manifest of the AD snapshot at `path` (read with
/// `manifest.json#config` as its file name, so its errors say where it came from).
pub(crate) fn config_from_manifest(
    path: &Path,
    m: &Manifest,
    instance: &str,
) -> Result<DsConfig, AppError> {
    let Some(cfg) = &m.config else {
        return Err(AppError::NoRecordedConfig {
            path: path.to_path_buf(),
            instance: instance.to_string(),
        });
    };
    let text = serde_json::to_string(cfg).map_err(|source| AppError::RecordedConfig {
        path: path.join("manifest.json"),
        source,
    })?;
    Ok(dirsnap_config::parse_config(
        &path.join("manifest.json#config"),
        &text,
    )?)
}
