//! `dirsnap reconcile`: read the snapshots, compute the plan (dirsnap-reconcile, pure), write
//! the plan directory atomically (dirsnap-report), print a summary. Exit 3 when the plan has
//! error findings or a threshold blocks it.

use crate::error::CliError;
use crate::output::spinner;
use chrono::{DateTime, Utc};
use dirsnap_config::DsConfig;
use dirsnap_model::{M365User, Manifest, SnapshotKind};
use dirsnap_reconcile::{InputDigest, Inputs, Instance, Mode, Plan, THRESHOLD_CATEGORIES};
use dirsnap_report::InputRef;
use dirsnap_report::inputs::{AdRows, IidRows};
use dirsnap_snapshot::{ReadOptions, Snapshot, Table};
use std::path::{Path, PathBuf};

/// The snapshots and config a plan is computed from (reconcile, simulate and audit take them
/// alike).
#[derive(clap::Args, Debug, Clone)]
pub struct Sources {
    /// Directory Sync config.yml.
    #[arg(long)]
    pub config: PathBuf,
    /// AD snapshot (repeat for several Directory Sync instances / domains; instances other
    /// than --config's use the config recorded in their snapshot's manifest).
    #[arg(long = "ad", required = true)]
    pub ad: Vec<PathBuf>,
    /// IIJ ID snapshot (the live tenant).
    #[arg(long)]
    pub iid: PathBuf,
    /// Microsoft 365 snapshot, for the recreated-account checks.
    #[arg(long)]
    pub m365: Option<PathBuf>,
    /// The IIJ ID state the last sync left (Directory Sync's cache), for normal mode.
    #[arg(long)]
    pub previous_iid: Option<PathBuf>,
    /// AD snapshot taken at the last sync (repeatable, one per instance): DN changes,
    /// recreated accounts, deletions, the "source shrank" threshold.
    #[arg(long = "previous-ad")]
    pub previous_ad: Vec<PathBuf>,
    /// The instant the plan reasons at (account and token expiry), RFC 3339. Default: when
    /// the newest AD snapshot was taken.
    #[arg(long)]
    pub as_of: Option<String>,
}

/// How the plan is computed from the sources.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `normal` or `recovery`; default: normal with --previous-iid, recovery without.
    pub mode: Option<String>,
    /// secret.yml, for TOKEN_EXPIRING.
    pub secret: Option<PathBuf>,
    pub allow_threshold: Vec<String>,
}

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub sources: Sources,
    /// normal (diff against --previous-iid) or recovery (diff against the live tenant).
    /// Default: normal with --previous-iid, recovery without.
    #[arg(long)]
    pub mode: Option<String>,
    /// Plan directory to create (must not exist).
    #[arg(long)]
    pub out: PathBuf,
    /// secret.yml, to check when the IIJ ID access token expires (TOKEN_EXPIRING).
    #[arg(long)]
    pub secret: Option<PathBuf>,
    /// Accept an exceeded threshold: pending_deletions, disables, group_deletes,
    /// member_removals_per_group, source_shrink, or all. Repeatable.
    #[arg(long = "allow-threshold")]
    pub allow_threshold: Vec<String>,
    /// Print the summary as JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// A snapshot read for the engine, with where it came from and its digest for the manifest.
struct Read<T> {
    path: PathBuf,
    digest: String,
    rows: T,
}

type AdData = Read<AdRows>;
type IidData = Read<IidRows>;

/// Resident memory in MiB (Linux), for the timing lines at info level.
fn rss_mib() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4096 / (1 << 20))
}

fn phase(name: &str, started: std::time::Instant) {
    tracing::info!(
        "{name}: {:.2} s, RSS {} MiB",
        started.elapsed().as_secs_f64(),
        rss_mib()
    );
}

fn input(msg: impl Into<String>) -> CliError {
    CliError::Input(msg.into())
}

fn manifest_digest(dir: &Path) -> Result<String, CliError> {
    dirsnap_report::manifest_digest(dir).map_err(|e| CliError::Runtime(e.to_string()))
}

fn open(path: &Path, kind: SnapshotKind, flag: &str) -> Result<Snapshot, CliError> {
    let snap = Snapshot::open(path)?;
    if snap.kind() != kind {
        return Err(input(format!(
            "{}: {flag} expects a {kind} snapshot, but this is a {} snapshot",
            path.display(),
            snap.kind()
        )));
    }
    Ok(snap)
}

fn read_ad(path: &Path, flag: &str, options: ReadOptions) -> Result<AdData, CliError> {
    let snap = open(path, SnapshotKind::Ad, flag)?;
    Ok(Read {
        rows: AdRows::read(&snap, &options)?,
        path: path.to_path_buf(),
        digest: manifest_digest(path)?,
    })
}

fn read_iid(path: &Path, flag: &str, skip_raw: bool) -> Result<IidData, CliError> {
    let snap = open(path, SnapshotKind::Iid, flag)?;
    let options = ReadOptions {
        skip_raw,
        ..ReadOptions::default()
    };
    Ok(Read {
        rows: IidRows::read(&snap, &options)?,
        path: path.to_path_buf(),
        digest: manifest_digest(path)?,
    })
}

/// How to read an AD snapshot for the engine: without `raw` and the columns the mapping
/// never reads, unless filters are evaluated on the rows.
fn ad_options(needs: dirsnap_reconcile::RawNeeds) -> ReadOptions {
    ReadOptions {
        skip_raw: !needs.ad,
        skip_columns: needs.ad_unused,
    }
}

/// The name of the instance an AD snapshot belongs to.
fn instance_of(m: &Manifest, fallback: usize) -> String {
    m.source
        .instance
        .clone()
        .or_else(|| m.source.domain.clone())
        .unwrap_or_else(|| format!("ad-{}", fallback + 1))
}

/// The config of a non-primary instance: the one recorded in its AD snapshot's manifest.
fn config_from_manifest(path: &Path, m: &Manifest, i: usize) -> Result<DsConfig, CliError> {
    let Some(cfg) = &m.config else {
        return Err(input(format!(
            "{}: this AD snapshot belongs to instance {} but its manifest.json records no config, so that instance's mapping and ownership filters are unknown; export it with `dirsnap export ad --config <its config.yml>`, or reconcile it on its own with --config",
            path.display(),
            instance_of(m, i)
        )));
    };
    let text = serde_json::to_string(cfg).map_err(|e| CliError::Runtime(e.to_string()))?;
    let label = path.join("manifest.json#config");
    Ok(dirsnap_config::parse_config(&label, &text)?)
}

/// The plan and the input references for its manifest, computed from the snapshots `src`
/// names (everything `reconcile` does except writing the plan).
pub struct Computed {
    pub plan: Plan,
    pub refs: Vec<InputRef>,
    /// The snapshots' rows the plan was computed from (the plan owns its data; these are
    /// only kept so `reconcile` can leave freeing them to the process exit).
    pub inputs: Box<dyn std::any::Any>,
}

pub fn run(args: Args, quiet: bool) -> Result<(), CliError> {
    if args.out.exists() {
        return Err(input(format!(
            "{}: already exists; plans are immutable, so choose a new --out directory",
            args.out.display()
        )));
    }
    let started = std::time::Instant::now();
    let options = Options {
        mode: args.mode.clone(),
        secret: args.secret.clone(),
        allow_threshold: args.allow_threshold.clone(),
    };
    let Computed { plan, refs, inputs } = compute(&args.sources, &options, quiet)?;
    write_plan(&args.out, &plan, &refs, quiet)?;
    phase("wrote the plan", started);
    print_summary(&args, &plan)?;
    // Tens of millions of rows and strings: freeing them one by one takes longer than the
    // operating system's reclaiming them all when the process exits a moment later.
    std::mem::forget(inputs);
    let blocked = plan.findings.iter().filter(|f| f.blocks()).count();
    let is_blocked = plan.summary.blocked;
    std::mem::forget(plan);
    if is_blocked {
        return Err(CliError::Blocked(format!(
            "the plan has {blocked} blocking finding(s) (errors or exceeded thresholds); it was written to {} for review. Resolve them, or accept a threshold with --allow-threshold",
            args.out.display()
        )));
    }
    Ok(())
}

/// Writes the plan directory atomically (it must not exist).
pub fn write_plan(out: &Path, plan: &Plan, refs: &[InputRef], quiet: bool) -> Result<(), CliError> {
    let pb = spinner(quiet, "writing the plan");
    dirsnap_report::write_plan_dir(out, plan, refs, Utc::now()).map_err(|e| {
        if e.is_invalid_input() {
            input(e.to_string())
        } else {
            CliError::Runtime(e.to_string())
        }
    })?;
    pb.finish_and_clear();
    Ok(())
}

pub fn compute(src: &Sources, opts: &Options, quiet: bool) -> Result<Computed, CliError> {
    let config = dirsnap_config::load_config(&src.config)?;
    let mode = match (opts.mode.as_deref(), &src.previous_iid) {
        (None, Some(_)) | (Some("normal"), Some(_)) => Mode::Normal,
        (None, None) | (Some("recovery"), _) => Mode::Recovery,
        (Some("normal"), None) => {
            return Err(input(
                "--mode normal needs --previous-iid SNAP: the IIJ ID state the last sync left (Directory Sync's cache)",
            ));
        }
        (Some(other), _) => {
            return Err(input(format!(
                "--mode {other:?}: expected normal or recovery"
            )));
        }
    };
    for a in &opts.allow_threshold {
        if a != "all" && !THRESHOLD_CATEGORIES.contains(&a.as_str()) {
            return Err(input(format!(
                "--allow-threshold {a:?}: expected one of {}, all",
                THRESHOLD_CATEGORIES.join(", ")
            )));
        }
    }
    let as_of_arg = match &src.as_of {
        Some(t) => Some(
            DateTime::parse_from_rfc3339(t)
                .map_err(|e| {
                    input(format!(
                        "--as-of {t:?}: expected an RFC 3339 time such as 2026-11-27T09:00:00+09:00 ({e})"
                    ))
                })?
                .with_timezone(&Utc),
        ),
        None => None,
    };
    // Which AD snapshot is --config's instance, and what every snapshot needs decoded.
    let started = std::time::Instant::now();
    let pb = spinner(quiet, "reading AD snapshots");
    let mut manifests = Vec::new();
    for p in &src.ad {
        manifests.push(open(p, SnapshotKind::Ad, "--ad")?.manifest().clone());
    }
    let primary = config
        .dirsnap
        .instance
        .as_ref()
        .and_then(|name| {
            manifests
                .iter()
                .position(|m| m.source.instance.as_deref() == Some(name.as_str()))
        })
        .unwrap_or(0);
    let mut configs: Vec<(DsConfig, String, String)> = Vec::new();
    for (i, (p, m)) in src.ad.iter().zip(&manifests).enumerate() {
        if i == primary {
            let name = config
                .dirsnap
                .instance
                .clone()
                .unwrap_or_else(|| instance_of(m, i));
            configs.push((config.clone(), name, src.config.display().to_string()));
        } else {
            let c = config_from_manifest(p, m, i)?;
            let name = c
                .dirsnap
                .instance
                .clone()
                .unwrap_or_else(|| instance_of(m, i));
            configs.push((c, name, p.join("manifest.json").display().to_string()));
        }
    }
    let mut need_iid_raw = false;
    let mut ads = Vec::new();
    for ((p, m), (c, _, _)) in src.ad.iter().zip(&manifests).zip(&configs) {
        let needs =
            dirsnap_reconcile::raw_needs(c, &m.filters).map_err(|e| input(e.to_string()))?;
        need_iid_raw |= needs.iid;
        ads.push(read_ad(p, "--ad", ad_options(needs))?);
    }
    let mut prev_ads: Vec<Option<AdData>> = (0..ads.len()).map(|_| None).collect();
    for p in &src.previous_ad {
        let m = open(p, SnapshotKind::Ad, "--previous-ad")?
            .manifest()
            .clone();
        let name = instance_of(&m, 0);
        let slot = if ads.len() == 1 && src.previous_ad.len() == 1 {
            Some(0)
        } else {
            configs.iter().position(|(_, n, _)| *n == name).or_else(|| {
                ads.iter().position(|a| {
                    a.rows.manifest.source.domain.is_some()
                        && a.rows.manifest.source.domain == m.source.domain
                })
            })
        };
        let Some(slot) = slot else {
            return Err(input(format!(
                "{}: --previous-ad belongs to instance {name}, which no --ad snapshot has",
                p.display()
            )));
        };
        if prev_ads[slot].is_some() {
            return Err(input(format!(
                "{}: a second --previous-ad for instance {name}",
                p.display()
            )));
        }
        let needs = dirsnap_reconcile::raw_needs(&configs[slot].0, &m.filters)
            .map_err(|e| input(e.to_string()))?;
        prev_ads[slot] = Some(read_ad(p, "--previous-ad", ad_options(needs))?);
    }
    phase("read AD snapshots", started);
    pb.set_message("reading IIJ ID snapshots");
    let iid = read_iid(&src.iid, "--iid", !need_iid_raw)?;
    let prev_iid = match &src.previous_iid {
        Some(p) => Some(read_iid(p, "--previous-iid", !need_iid_raw)?),
        None => None,
    };
    let m365: Option<(PathBuf, String, Vec<M365User>)> = match &src.m365 {
        Some(p) => {
            let snap = open(p, SnapshotKind::M365, "--m365")?;
            let users = snap.read_table::<M365User>(Table::Users, &ReadOptions::without_raw())?;
            Some((p.clone(), manifest_digest(p)?, users))
        }
        None => None,
    };
    let token_expires_at = match &opts.secret {
        Some(path) => {
            let secrets = dirsnap_config::load_secrets(Some(path), &|k| std::env::var(k).ok())?;
            match &secrets.iid_token {
                Some((token, _)) => {
                    let exp = dirsnap_reconcile::token::jwt_expiry(token.expose());
                    if exp.is_none() {
                        tracing::warn!(
                            "the IIJ ID access token is not a JWT with an exp claim; its expiry cannot be checked"
                        );
                    }
                    exp
                }
                None => {
                    return Err(input(format!(
                        "{}: --secret given but it holds no IIJ ID access token (nor is {} set)",
                        path.display(),
                        dirsnap_config::ENV_IID_TOKEN
                    )));
                }
            }
        }
        None => None,
    };
    pb.finish_and_clear();
    phase("read IIJ ID snapshots", started);

    let as_of = as_of_arg
        .or_else(|| ads.iter().map(|a| a.rows.manifest.taken_at).max())
        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH);
    let mut digests = Vec::new();
    let mut refs = Vec::new();
    let mut record = |kind: &str, role: &str, instance: Option<&str>, path: &Path, digest: &str| {
        digests.push(InputDigest {
            role: role.into(),
            instance: instance.map(str::to_string),
            digest: digest.into(),
        });
        refs.push(InputRef {
            kind: kind.into(),
            role: role.into(),
            instance: instance.map(str::to_string),
            path: path.display().to_string(),
            digest: digest.into(),
        });
    };
    for (i, a) in ads.iter().enumerate() {
        record("ad", "ad", Some(&configs[i].1), &a.path, &a.digest);
        if let Some(p) = &prev_ads[i] {
            record("ad", "previous_ad", Some(&configs[i].1), &p.path, &p.digest);
        }
    }
    record("iid", "iid", None, &iid.path, &iid.digest);
    if let Some(p) = &prev_iid {
        record("iid", "previous_iid", None, &p.path, &p.digest);
    }
    if let Some((p, d, _)) = &m365 {
        record("m365", "m365", None, p, d);
    }
    for (c, name, _) in &configs {
        refs.push(InputRef {
            kind: "config".into(),
            role: "config".into(),
            instance: Some(name.clone()),
            path: c.path.display().to_string(),
            digest: c.digest(),
        });
    }

    let instances: Vec<Instance<'_>> = ads
        .iter()
        .enumerate()
        .map(|(i, a)| Instance {
            name: configs[i].1.clone(),
            config: &configs[i].0,
            config_source: configs[i].2.clone(),
            ad: a.rows.view(),
            previous_ad: prev_ads[i].as_ref().map(|p| p.rows.view()),
        })
        .collect();
    let inputs = Inputs {
        instances,
        iid: iid.rows.view(),
        previous_iid: prev_iid.as_ref().map(|p| p.rows.view()),
        m365: m365.as_ref().map(|(_, _, u)| u.as_slice()),
        mode,
        as_of,
        token_expires_at,
        allow_thresholds: opts.allow_threshold.clone(),
        input_digests: digests,
    };
    let pb = spinner(quiet, "reconciling");
    let plan = dirsnap_reconcile::reconcile(&inputs).map_err(|e| input(e.to_string()))?;
    pb.finish_and_clear();
    phase("reconciled", started);
    drop(inputs);
    Ok(Computed {
        plan,
        refs,
        inputs: Box::new((ads, prev_ads, iid, prev_iid, m365)),
    })
}

fn print_summary(args: &Args, plan: &Plan) -> Result<(), CliError> {
    if args.json {
        let v = serde_json::json!({
            "plan": args.out.display().to_string(),
            "mode": plan.mode,
            "summary": plan.summary,
            "findings": plan.findings.iter().map(|f| serde_json::json!({
                "code": f.code,
                "severity": f.severity,
                "subject": f.subject,
                "instance": f.instance,
            })).collect::<Vec<_>>(),
        });
        println!(
            "{}",
            serde_json::to_string_pretty(&v).map_err(|e| CliError::Runtime(e.to_string()))?
        );
        return Ok(());
    }
    let s = &plan.summary;
    println!(
        "plan written to {} ({} mode)",
        args.out.display(),
        plan.mode
    );
    let (ops, sev) = (
        dirsnap_report::render::op_counts(s),
        dirsnap_report::render::severity_counts(s),
    );
    let tail = |t: String| if t.is_empty() { t } else { format!(": {t}") };
    println!("actions   {}{}", s.actions, tail(ops));
    println!("findings  {}{}", s.findings, tail(sev));
    let shown: Vec<_> = plan
        .findings
        .iter()
        .filter(|f| f.severity != dirsnap_reconcile::Severity::Info)
        .collect();
    for f in shown.iter().take(20) {
        println!("  {:<7} {:<28} {}", f.severity.as_str(), f.code, f.subject);
    }
    if shown.len() > 20 {
        println!("  … and {} more", shown.len() - 20);
    }
    if s.skipped > 0 {
        println!("skipped   {}", s.skipped);
    }
    println!(
        "review    dirsnap plan show {}   (or open {})",
        args.out.display(),
        args.out.join("report.html").display()
    );
    Ok(())
}
