//! `dirsnap mock-scim`: an in-memory SCIM 2.0 server that behaves like IIJ ID (the library is
//! `dirsnap-mock-scim`; docs/mock-scim.md is the guide). Prints the SCIM base URL on stdout,
//! serves until SIGTERM or Ctrl-C, then writes `--dump-on-exit` if asked.

use crate::error::CliError;
use dirsnap_mock_scim::{
    ClockSpec, FaultSpec, MockConfig, MockError, MockServer, Profile, TokenSpec,
};
use std::io::Write as _;
use std::net::{SocketAddr, ToSocketAddrs};
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
    /// Listen on a non-loopback address without any token: anyone who can reach it may read
    /// and change the mock's state and make it write snapshots (POST /_mock/dump).
    #[arg(long)]
    pub insecure_open: bool,
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
        crate::output::check_out("--dump-on-exit", out, "snapshots")?;
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

/// The addresses `--listen` names (a host name may give several), or why it names none.
fn listen_addrs(listen: &str) -> Result<Vec<SocketAddr>, CliError> {
    let bad = |why: String| {
        CliError::Input(format!(
            "--listen {listen:?}: {why}; expected ADDRESS:PORT such as 127.0.0.1:8443 (port 0 picks a free one)"
        ))
    };
    let addrs: Vec<SocketAddr> = listen
        .to_socket_addrs()
        .map_err(|e| bad(e.to_string()))?
        .collect();
    if addrs.is_empty() {
        return Err(bad("it resolves to no address".into()));
    }
    Ok(addrs)
}

/// A mock without tokens accepts every request, the admin endpoints included (POST
/// /_mock/dump writes directories on this machine): on a loopback address that reaches only
/// this machine; anywhere else it must be asked for explicitly.
fn refuse_open_to_the_network(
    args: &Args,
    addrs: &[SocketAddr],
    open: bool,
) -> Result<(), CliError> {
    let Some(exposed) = addrs.iter().find(|a| !a.ip().is_loopback()) else {
        return Ok(());
    };
    if !open || args.insecure_open {
        return Ok(());
    }
    Err(CliError::Input(format!(
        "--listen {}: {} is reachable from other machines, and without --token the mock accepts every request from anyone, including POST /_mock/dump, which writes directories on this machine. Give a token (--token or DIRSNAP_MOCK_TOKEN), listen on 127.0.0.1, or pass --insecure-open to accept that",
        args.listen,
        exposed.ip()
    )))
}

pub fn run(args: Args, quiet: bool) -> Result<(), CliError> {
    let addrs = listen_addrs(&args.listen)?;
    let config = build_config(&args)?;
    let open = config.tokens.is_empty();
    refuse_open_to_the_network(&args, &addrs, open)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(CliError::system("cannot start the runtime"))?;
    runtime.block_on(async move {
        let mut server = match MockServer::start(config, &args.listen).await {
            Ok(s) => s,
            // Taken, not allowed or not this machine's: a different --listen is the fix.
            Err(MockError::Bind { source, .. }) => {
                return Err(CliError::Input(format!(
                    "--listen {}: cannot listen there: {source}; choose another address or port",
                    args.listen
                )));
            }
            Err(e) => return Err(e.into()),
        };
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
                if open { "; no --token: every request is accepted, from anyone who can reach it" } else { "" },
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
