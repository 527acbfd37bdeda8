//! `dirsnap export iid`: a complete snapshot of an IIJ ID tenant over SCIM.

use crate::error::CliError;
use crate::output::Phase;
use chrono::Utc;
use dirsnap_config::{DsConfig, load_config, load_secrets};
use dirsnap_model::scim_json::LinkingIdPath;
use dirsnap_model::{Filters, Source};
use dirsnap_scim::{
    ClientOptions, ExportOptions, ExportProgress, ScimClient, TokenCheck, check_token, export_iid,
};
use dirsnap_snapshot::{Iid, SnapshotMeta, SnapshotWriter};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Days before a token's `exp` from which every run warns.
const TOKEN_WARN_DAYS: i64 = 14;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Directory Sync config.yml.
    #[arg(long)]
    pub config: PathBuf,
    /// secret.yml with the IIJ ID access token (else DIRSNAP_IID_TOKEN).
    #[arg(long)]
    pub secret: Option<PathBuf>,
    /// Snapshot directory to create.
    #[arg(long)]
    pub out: PathBuf,
    /// SCIM endpoint (default: iid.scim.url, else https://scim.auth.iij.jp/scim/v2/).
    #[arg(long)]
    pub base_url: Option<String>,
    /// Rows asked per page (servers may return fewer).
    #[arg(long, default_value_t = 100)]
    pub page_size: usize,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    /// Extra PEM CA certificates to trust for the SCIM endpoint.
    #[arg(long)]
    pub ca_file: Option<PathBuf>,
    /// Seconds before one request times out.
    #[arg(long, default_value_t = 60)]
    pub timeout: u64,
    /// Print the result as JSON on stdout (docs/iid-export.md); the summary for people stays
    /// on stderr.
    #[arg(long)]
    pub json: bool,
}

struct Bars {
    users: Phase,
    groups: Phase,
    members: Phase,
}

impl ExportProgress for Bars {
    fn users(&self, done: u64, total: u64) {
        self.users.update(done, total);
    }
    fn groups(&self, done: u64, total: u64) {
        self.groups.update(done, total);
    }
    fn members(&self, done: u64, total: u64) {
        self.members.update(done, total);
    }
}

/// The options of `dirsnap.profile` that concern reading IIJ ID.
fn profile_options(config: &DsConfig) -> Result<(LinkingIdPath, bool), CliError> {
    let settings = config.profile_settings()?;
    let linking = settings
        .application_linking_id
        .as_deref()
        .map_or_else(LinkingIdPath::default, LinkingIdPath::parse);
    Ok((linking, settings.group_members_in_list.unwrap_or(false)))
}

pub fn run(args: Args, quiet: bool) -> Result<(), CliError> {
    let started = Instant::now();
    let taken_at = Utc::now();
    let config = load_config(&args.config)?;
    crate::output::check_out("--out", &args.out, "snapshots")?;
    let secrets = load_secrets(args.secret.as_deref(), &|k| std::env::var(k).ok())?;
    let Some((token, token_source)) = secrets.iid_token else {
        return Err(CliError::Input(
            "no IIJ ID access token: set DIRSNAP_IID_TOKEN or pass --secret secret.yml \
             (key iid.scim.access_token)"
                .into(),
        ));
    };
    match check_token(&token, taken_at, TOKEN_WARN_DAYS) {
        TokenCheck::Expired { expired } => {
            return Err(CliError::Input(format!(
                "the IIJ ID access token from {token_source} expired at {}: nothing was sent. \
                 Issue a new token in IIJ ID Console (My Menu → Access Token Management)",
                expired.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            )));
        }
        TokenCheck::ExpiresSoon { expires } => {
            eprintln!(
                "warning: the IIJ ID access token from {token_source} expires at {} (within {TOKEN_WARN_DAYS} days); \
                 Directory Sync stops working when it does",
                expires.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            );
        }
        TokenCheck::Valid { .. } | TokenCheck::Opaque => {}
    }
    let (linking_id, group_members_in_list) = profile_options(&config)?;
    let base_url = config.scim_url(args.base_url.as_deref());
    let mut options = ClientOptions::new(base_url.clone(), token);
    options.proxy = match (&config.iid.proxy.enabled, &config.iid.proxy.address) {
        (true, Some(address)) => Some(match config.iid.proxy.port {
            Some(port) => format!("http://{address}:{port}"),
            None => format!("http://{address}"),
        }),
        _ => None,
    };
    options.ca_file = args.ca_file.clone();
    options.timeout = Duration::from_secs(args.timeout.max(1));
    let client = ScimClient::new(options).map_err(CliError::ScimSetup)?;
    let export_options = ExportOptions {
        user_filter: config.iid.user_filter.as_ref().map(|f| f.value.clone()),
        group_filter: config.iid.group_filter.as_ref().map(|f| f.value.clone()),
        page_size: args.page_size.max(1),
        concurrency: args.concurrency.max(1),
        linking_id,
        group_members_in_list,
    };

    let bars = Bars {
        users: Phase::new(quiet, "users"),
        groups: Phase::new(quiet, "groups"),
        members: Phase::new(quiet, "group members"),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(CliError::system("cannot start the async runtime"))?;
    let result = runtime.block_on(export_iid(&client, &export_options, &bars));
    for b in [&bars.users, &bars.groups, &bars.members] {
        b.finish();
    }
    // Nothing has been written yet: a failed read leaves no snapshot.
    let data = result?;

    let host = client.base_url().host_str().map(str::to_string);
    let mut writer = SnapshotWriter::<Iid>::create(&args.out)?;
    writer.write_users(&data.users)?;
    writer.write_groups(&data.groups)?;
    writer.write_memberships(&data.memberships)?;
    let manifest = writer.commit(SnapshotMeta {
        source: Source {
            host,
            tenant_url: Some(client.base_url().to_string()),
            instance: config.dirsnap.instance.clone(),
            ..Source::default()
        },
        taken_at: Some(taken_at),
        config_digest: Some(config.digest()),
        filters: Filters {
            user: export_options.user_filter.clone(),
            group: export_options.group_filter.clone(),
        },
        config: Some(config.redacted_document()),
        notes: data.notes.clone(),
    })?;
    for note in &data.notes {
        eprintln!("note: {note}");
    }
    let elapsed = started.elapsed();
    if !quiet {
        eprintln!(
            "exported {} users, {} groups, {} memberships from {} in {:.1} s ({} requests) → {}",
            manifest.counts.users,
            manifest.counts.groups,
            manifest.counts.memberships,
            client.base_url(),
            elapsed.as_secs_f64(),
            data.requests,
            args.out.display()
        );
    }
    if args.json {
        // docs/iid-export.md documents every field.
        let mut obj = crate::output::snapshot_json(&args.out, &manifest, elapsed);
        obj.insert(
            "base_url".into(),
            serde_json::json!(client.base_url().as_str()),
        );
        obj.insert("requests".into(), serde_json::json!(data.requests));
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::Value::Object(obj))?
        );
    }
    Ok(())
}
