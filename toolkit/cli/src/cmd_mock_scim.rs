//! `dirsnap mock-scim`: an in-memory SCIM 2.0 server that behaves like IIJ ID (the library is
//! `dirsnap-mock-scim`; docs/mock-scim.md is the guide). Prints the SCIM base URL on stdout,
//! serves until SIGTERM or Ctrl-C, then writes `--dump-on-exit` if asked.

use crate::error::CliError;
use dirsnap_mock_scim::{ClockSpec, FaultSpec, MockConfig, MockServer, Profile, TokenSpec};
use std::io::Write as _;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Address to listen on (port 0 picks a free port; the URL is printed on stdout).
    #[arg(long, default_value = "127.0.0.1:8443")]
    pub listen: String,
    /// IID snapshot to seed the state from (its resources are served verbatim).
    #[arg(long, value_name = "SNAP")]
    pub seed: Option<PathBuf>,
    /// Accepted bearer token (repeatable): TOKEN, or TOKEN;scopes=escim_read_users,…;expires=RFC3339.
    /// Without any token every request is accepted. Prefer DIRSNAP_MOCK_TOKEN: command lines
    /// are visible to other users of the machine.
    #[arg(
        long,
        value_name = "SPEC",
        env = "DIRSNAP_MOCK_TOKEN",
        hide_env_values = true
    )]
    pub token: Vec<String>,
    /// Behaviour profile: iij (IIJ ID's rules, docs/mock-scim.md) or rfc (plain RFC 7644).
    #[arg(long, default_value = "iij")]
    pub profile: String,
    /// Directory Sync config.yml whose `dirsnap.profile` switches the profile's rules.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Switch one profile rule (repeatable, after --config), e.g. pending_deletion_listed=true.
    #[arg(long = "profile-set", value_name = "KEY=VALUE")]
    pub profile_set: Vec<String>,
    /// Fault injection (repeatable), e.g. 'seed=42,latency=5ms..20ms,429=10%:retry-after=1'.
    #[arg(long, value_name = "SPEC")]
    pub fault: Vec<String>,
    /// Write the state as an IID snapshot when the server stops (SIGTERM or Ctrl-C).
    #[arg(long, value_name = "SNAP")]
    pub dump_on_exit: Option<PathBuf>,
    /// Time for meta timestamps: logical (default; starts at the seed's taken_at), wall, or an
    /// RFC 3339 start instant for the logical clock.
    #[arg(long, default_value = "logical")]
    pub clock: String,
    /// Seed of the generated resource ids.
    #[arg(long, default_value_t = 0)]
    pub id_seed: u64,
    /// The base URL clients use, when not http://LISTEN/scim/v2/ (behind a proxy).
    #[arg(long, value_name = "URL")]
    pub public_url: Option<String>,
}

fn build_config(args: &Args) -> Result<MockConfig, CliError> {
    let mut profile = Profile::named(&args.profile)?;
    if let Some(path) = &args.config {
        let config = dirsnap_config::load_config(path)?;
        profile
            .apply(&config.dirsnap.profile)
            .map_err(|e| CliError::Input(format!("{}: dirsnap.profile: {e}", path.display())))?;
    }
    for assignment in &args.profile_set {
        profile.apply_assignment(assignment)?;
    }
    let tokens = args
        .token
        .iter()
        .map(|t| TokenSpec::parse(t))
        .collect::<Result<Vec<_>, _>>()?;
    let faults = FaultSpec::parse_all(&args.fault)?;
    let clock = ClockSpec::parse(&args.clock)?;
    if let Some(out) = &args.dump_on_exit {
        // Refuse now rather than after a long session whose state would then be lost.
        if out.exists() {
            return Err(CliError::Input(format!(
                "--dump-on-exit {}: it already exists; snapshots are never overwritten",
                out.display()
            )));
        }
        let parent = out
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(std::path::Path::new("."));
        if !parent.is_dir() {
            return Err(CliError::Input(format!(
                "--dump-on-exit {}: the directory {} does not exist",
                out.display(),
                parent.display()
            )));
        }
    }
    Ok(MockConfig {
        profile,
        tokens,
        faults,
        clock,
        id_seed: args.id_seed,
        seed_snapshot: args.seed.clone(),
        seed_extra: None,
        public_url: args.public_url.clone(),
    })
}

async fn wait_for_stop() -> Result<&'static str, CliError> {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .map_err(CliError::system("cannot watch SIGTERM"))?;
        tokio::select! {
            _ = term.recv() => Ok("SIGTERM"),
            r = tokio::signal::ctrl_c() => r.map(|_| "Ctrl-C")
                .map_err(CliError::system("cannot watch Ctrl-C")),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c()
            .await
            .map(|_| "Ctrl-C")
            .map_err(CliError::system("cannot watch Ctrl-C"))
    }
}

pub fn run(args: Args, quiet: bool) -> Result<(), CliError> {
    let config = build_config(&args)?;
    let open = config.tokens.is_empty();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(CliError::system("cannot start the runtime"))?;
    runtime.block_on(async move {
        let mut server = MockServer::start(config, &args.listen)
            .await
            ?;
        // The URL on stdout is the command's output (scripts read it with port 0).
        let mut stdout = std::io::stdout();
        let _ = writeln!(stdout, "{}", server.url());
        let _ = stdout.flush();
        if !quiet {
            let s = server.seeded();
            eprintln!(
                "mock SCIM server (profile {}) at {} — {} users ({} pending deletion), {} groups, {} memberships seeded{}; admin endpoints under {}_mock/; stop with Ctrl-C or SIGTERM",
                server.profile().name,
                server.url(),
                s.users,
                s.pending_deletion,
                s.groups,
                s.memberships,
                if open { "; no --token: every request is accepted" } else { "" },
                server.root_url(),
            );
        }
        let why = wait_for_stop().await?;
        // Requests in flight finish before the state is dumped.
        server.shutdown().await;
        let stats = server.stats();
        let dump = match &args.dump_on_exit {
            Some(out) => Some((out.clone(), server.dump_snapshot(out)?)),
            None => None,
        };
        if !quiet {
            eprintln!(
                "stopped ({why}) after {} requests ({} dropped, {} error answers, {} delayed, {} slowed by fault injection)",
                stats.requests,
                stats.faults_dropped,
                stats.faults_status,
                stats.faults_delayed,
                stats.faults_slow
            );
            if let Some((out, m)) = dump {
                eprintln!(
                    "dumped {} users, {} groups, {} memberships to {}",
                    m.counts.users,
                    m.counts.groups,
                    m.counts.memberships,
                    out.display()
                );
            }
        }
        Ok(())
    })
}
