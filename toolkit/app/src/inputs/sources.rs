//! The command line's front door: the snapshots and config `reconcile`, `audit` and
//! `simulate` name, read for the engine.

use super::instance::{config_from_manifest, instance_of};
use super::pending;
use super::snapshot::{self, Read};
use super::{AdRows, LoadedInputs, LoadedInstance};
use crate::error::AppError;
use crate::progress::{PhaseClock, Progress};
use chrono::{DateTime, Utc};
use dirsnap_config::DsConfig;
use dirsnap_model::{Manifest, SnapshotKind};
use dirsnap_plan::InputRef;
use dirsnap_plan::{InputDigest, Mode};
use dirsnap_snapshot::Snapshot;
use std::path::{Path, PathBuf};

/// The snapshots and config a plan is computed from.
#[derive(Debug, Clone)]
pub struct Sources {
    /// `--config`: the primary instance's config.yml.
    pub config: PathBuf,
    /// `--ad`: one AD snapshot per instance; instances other than `config`'s use the config
    /// recorded in their snapshot's manifest.
    pub ad: Vec<PathBuf>,
    /// `--iid`: the live tenant.
    pub iid: PathBuf,
    pub m365: Option<PathBuf>,
    /// The IIJ ID state the last sync left (Directory Sync's cache), for normal mode.
    pub previous_iid: Option<PathBuf>,
    /// AD snapshots taken at the last sync, at most one per instance.
    pub previous_ad: Vec<PathBuf>,
    /// `--history`: earlier IID snapshots (or folders of them): users they listed that the
    /// live listing lacks are presumed pending deletion (`previous_iid` counts too).
    pub history: Vec<PathBuf>,
    /// `--pending-list`: the console's pending-deletion list (docs/pending-deletion.md).
    pub pending_list: Option<PathBuf>,
    /// The instant the plan reasons at; default: when the newest AD snapshot was taken.
    pub as_of: Option<DateTime<Utc>>,
}

/// How the plan is computed from the sources.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Default: normal with a previous IIJ ID snapshot, recovery without.
    pub mode: Option<Mode>,
    /// secret.yml, for TOKEN_EXPIRING.
    pub secret: Option<PathBuf>,
    /// Threshold categories allowed to be exceeded (`all` allows each).
    pub allow_thresholds: Vec<String>,
}

/// An instance's config, its name and where the config came from.
struct InstanceConfig {
    config: DsConfig,
    name: String,
    source: String,
}

/// Reads everything `src` names, checked (kinds, instances, configs), with the digests and
/// references the plan records.
pub fn from_sources(
    src: &Sources,
    opts: &Options,
    progress: &dyn Progress,
) -> Result<LoadedInputs, AppError> {
    let config = dirsnap_config::load_config(&src.config)?;
    let mode = match (opts.mode, &src.previous_iid) {
        (None, Some(_)) | (Some(Mode::Normal), Some(_)) => Mode::Normal,
        (None, None) | (Some(Mode::Recovery), _) => Mode::Recovery,
        (Some(Mode::Normal), None) => return Err(AppError::NormalModeWithoutPreviousIid),
    };
    super::consistency::check(src)?;
    // Which AD snapshot is --config's instance, and what every snapshot needs decoded.
    let clock = PhaseClock::start();
    progress.step("reading AD snapshots");
    let mut opened: Vec<Snapshot> = Vec::new();
    for p in &src.ad {
        opened.push(snapshot::open(p, SnapshotKind::Ad, "--ad")?);
    }
    let primary = config
        .dirsnap
        .instance
        .as_ref()
        .and_then(|name| {
            opened
                .iter()
                .position(|s| s.manifest().source.instance.as_deref() == Some(name.as_str()))
        })
        .unwrap_or(0);
    let mut configs: Vec<InstanceConfig> = Vec::new();
    for (i, (p, s)) in src.ad.iter().zip(&opened).enumerate() {
        let m = s.manifest();
        configs.push(if i == primary {
            InstanceConfig {
                name: config
                    .dirsnap
                    .instance
                    .clone()
                    .unwrap_or_else(|| instance_of(m, i)),
                config: config.clone(),
                source: src.config.display().to_string(),
            }
        } else {
            let c = config_from_manifest(p, m, &instance_of(m, i))?;
            InstanceConfig {
                name: c
                    .dirsnap
                    .instance
                    .clone()
                    .unwrap_or_else(|| instance_of(m, i)),
                config: c,
                source: p.join("manifest.json").display().to_string(),
            }
        });
    }
    let mut need_iid_raw = false;
    let mut ads = Vec::new();
    for ((p, s), c) in src.ad.iter().zip(&opened).zip(&configs) {
        let (read, iid_raw) = snapshot::read_ad(p, s, &c.config)?;
        need_iid_raw |= iid_raw;
        ads.push(read);
    }
    drop(opened);
    let previous_ads = read_previous_ads(src, &configs, &ads)?;
    clock.log("read AD snapshots");
    progress.step("reading IIJ ID snapshots");
    let iid = snapshot::read_iid(
        &src.iid,
        &snapshot::open(&src.iid, SnapshotKind::Iid, "--iid")?,
        need_iid_raw,
    )?;
    let previous_iid = match &src.previous_iid {
        Some(p) => Some(snapshot::read_iid(
            p,
            &snapshot::open(p, SnapshotKind::Iid, "--previous-iid")?,
            need_iid_raw,
        )?),
        None => None,
    };
    if let Some(previous) = &previous_iid {
        super::consistency::same_tenant(previous, &iid, "--previous-iid")?;
    }
    let history = pending::history_snapshots(&src.history, iid.rows.taken_at)?;
    pending::check_history_order(&history, iid.rows.taken_at, &src.iid)?;
    let list = match &src.pending_list {
        Some(p) => {
            let (rows, digest) = pending::read_pending_list(p)?;
            Some((p.as_path(), rows, digest))
        }
        None => None,
    };
    let mut iid = iid;
    let history: Vec<(PathBuf, String)> = history
        .into_iter()
        .map(|p| (p, "--history".to_string()))
        .collect();
    let pending = pending::presume(
        &mut iid,
        previous_iid.as_ref(),
        &history,
        list,
        pending::listing_shows_pending(&config),
        need_iid_raw,
    )?;
    let m365 = match &src.m365 {
        Some(p) => Some(snapshot::read_m365(
            p,
            &snapshot::open(p, SnapshotKind::M365, "--m365")?,
        )?),
        None => None,
    };
    let token_expires_at = match &opts.secret {
        Some(path) => token_expiry(path)?,
        None => None,
    };
    progress.step_done();
    clock.log("read IIJ ID snapshots");

    let as_of = src
        .as_of
        .or_else(|| ads.iter().map(|a| a.rows.manifest.taken_at).max())
        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH);
    let instances: Vec<LoadedInstance> = ads
        .into_iter()
        .zip(previous_ads)
        .zip(configs)
        .map(|((ad, previous_ad), c)| LoadedInstance {
            name: c.name,
            config: c.config,
            config_source: c.source,
            ad,
            previous_ad,
        })
        .collect();
    let mut loaded = LoadedInputs {
        instances,
        iid,
        previous_iid,
        pending,
        m365,
        mode,
        as_of,
        token_expires_at,
        allow_thresholds: opts.allow_thresholds.clone(),
        input_digests: Vec::new(),
        refs: Vec::new(),
    };
    record_inputs(&mut loaded);
    Ok(loaded)
}

/// Puts each `--previous-ad` in the slot of the instance it belongs to (by instance name,
/// else by domain; a single one goes with a single `--ad`).
fn read_previous_ads(
    src: &Sources,
    configs: &[InstanceConfig],
    ads: &[Read<AdRows>],
) -> Result<Vec<Option<Read<AdRows>>>, AppError> {
    let mut slots: Vec<Option<Read<AdRows>>> = (0..ads.len()).map(|_| None).collect();
    for p in &src.previous_ad {
        let snap = snapshot::open(p, SnapshotKind::Ad, "--previous-ad")?;
        let m: &Manifest = snap.manifest();
        let name = instance_of(m, 0);
        let slot = if ads.len() == 1 && src.previous_ad.len() == 1 {
            Some(0)
        } else {
            configs.iter().position(|c| c.name == name).or_else(|| {
                ads.iter().position(|a| {
                    a.rows.manifest.source.domain.is_some()
                        && a.rows.manifest.source.domain == m.source.domain
                })
            })
        };
        let Some(slot) = slot else {
            return Err(AppError::PreviousAdUnmatched {
                path: p.clone(),
                instance: name,
            });
        };
        if slots[slot].is_some() {
            return Err(AppError::PreviousAdTwice {
                path: p.clone(),
                instance: name,
            });
        }
        slots[slot] = Some(snapshot::read_ad(p, &snap, &configs[slot].config)?.0);
    }
    Ok(slots)
}

/// When the IIJ ID access token in secret.yml (or the environment) expires, if it says.
fn token_expiry(path: &Path) -> Result<Option<DateTime<Utc>>, AppError> {
    let secrets = dirsnap_config::load_secrets(Some(path), &|k| std::env::var(k).ok())?;
    let Some((token, _)) = &secrets.iid_token else {
        return Err(AppError::SecretWithoutToken {
            path: path.to_path_buf(),
        });
    };
    let exp = dirsnap_reconcile::token::jwt_expiry(token.expose());
    if exp.is_none() {
        tracing::warn!(
            "the IIJ ID access token is not a JWT with an exp claim; its expiry cannot be checked"
        );
    }
    Ok(exp)
}

/// The digests the plan carries and the references its manifest records, in the plan's
/// order: each instance's AD (and previous AD), the tenant, the cache, the history snapshots,
/// the console's pending-deletion list, Microsoft 365, then each instance's config.
fn record_inputs(loaded: &mut LoadedInputs) {
    let mut digests = Vec::new();
    let mut refs = Vec::new();
    let mut record = |kind: &str, role: &str, instance: Option<&str>, read: &Path, digest: &str| {
        digests.push(InputDigest {
            role: role.into(),
            instance: instance.map(str::to_string),
            digest: digest.into(),
        });
        refs.push(InputRef {
            kind: kind.into(),
            role: role.into(),
            instance: instance.map(str::to_string),
            path: read.display().to_string(),
            digest: digest.into(),
        });
    };
    for i in &loaded.instances {
        record("ad", "ad", Some(&i.name), &i.ad.path, &i.ad.digest);
        if let Some(p) = &i.previous_ad {
            record("ad", "previous_ad", Some(&i.name), &p.path, &p.digest);
        }
    }
    record("iid", "iid", None, &loaded.iid.path, &loaded.iid.digest);
    if let Some(p) = &loaded.previous_iid {
        record("iid", "previous_iid", None, &p.path, &p.digest);
    }
    for h in &loaded.pending.history {
        record("iid", "history", None, &h.path, &h.digest);
    }
    if let Some(l) = &loaded.pending.list {
        record("pending_list", "pending_list", None, &l.path, &l.digest);
    }
    if let Some(m) = &loaded.m365 {
        record("m365", "m365", None, &m.path, &m.digest);
    }
    for i in &loaded.instances {
        refs.push(InputRef {
            kind: "config".into(),
            role: "config".into(),
            instance: Some(i.name.clone()),
            path: i.config.path.display().to_string(),
            digest: i.config.digest(),
        });
    }
    loaded.input_digests = digests;
    loaded.refs = refs;
}
