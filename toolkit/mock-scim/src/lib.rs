//! An in-memory SCIM 2.0 service provider (RFC 7643/7644) that behaves like IIJ ID, for
//! tests and for `dirsnap simulate`: deterministic (ids from a seed and a counter, a logical
//! clock), seedable from an IID snapshot and dumpable to one, with fault injection
//! reproducible from a seed. docs/mock-scim.md is the user guide.
//!
//! ```no_run
//! # async fn demo() -> Result<(), dirsnap_mock_scim::MockError> {
//! use dirsnap_mock_scim::{MockConfig, MockServer, TokenSpec};
//! let mut config = MockConfig::iij();
//! config.tokens.push(TokenSpec::new("T"));
//! let server = MockServer::start(config, "127.0.0.1:0").await?;
//! let base = server.url(); // http://127.0.0.1:PORT/scim/v2/
//! // … point a SCIM client at `base` with `Authorization: Bearer T` …
//! let rows = server.tables()?; // the state as IID snapshot rows
//! let mut server = server;
//! server.shutdown().await;
//! # let _ = rows; Ok(()) }
//! ```
//!
//! Modules: [`profile`] holds every IIJ rule (one place, switchable), [`fault`] the fault
//! grammar, [`store`] the tenant and its write rules, [`patch`] PATCH, [`schema`] the served
//! schemas, [`http`] the axum/hyper shell, [`admin`] the `/_mock` endpoints, [`snapshot`]
//! seed and dump.

pub mod admin;
pub mod auth;
pub mod clock;
pub mod collection;
pub mod error;
pub mod fault;
pub mod http;
pub mod patch;
pub mod profile;
pub mod rank;
pub mod render;
pub mod schema;
pub mod snapshot;
pub mod store;

pub use auth::{Scope, TokenSpec};
pub use clock::{Clock, ClockSpec, IdGen, LogicalClock, WallClock};
pub use error::{MockError, ScimError};
pub use fault::{FaultAction, FaultDecision, FaultScope, FaultSpec, SlowBody};
pub use http::StatsSnapshot;
pub use profile::{Profile, UserDelete};
pub use snapshot::{IidTables, SeedSummary};

use chrono::{DateTime, Utc};
use dirsnap_model::Manifest;
use http::Shared;
use serde_json::Value;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::sync::watch;

/// The path IIJ ID serves SCIM under (`https://scim.auth.iij.jp/scim/v2/`); the mock serves
/// it there and at `/`.
pub const BASE_PATH: &str = "/scim/v2";

/// How to run the mock.
#[derive(Debug, Clone)]
pub struct MockConfig {
    pub profile: Profile,
    /// Accepted bearer tokens; none means every request is accepted.
    pub tokens: Vec<TokenSpec>,
    pub faults: FaultSpec,
    pub clock: ClockSpec,
    /// Seed of the resource ids ([`IdGen`]).
    pub id_seed: u64,
    /// An IID snapshot to load at start.
    pub seed_snapshot: Option<PathBuf>,
    /// Rows loaded with the snapshot, as if it held them: users a SCIM export cannot show
    /// (pending deletion, hidden over SCIM: assumption MK2) and their memberships, which may
    /// name the snapshot's groups.
    pub seed_extra: Option<IidTables>,
    /// The URL clients use, when it differs from `http://ADDR/scim/v2/` (behind a proxy).
    pub public_url: Option<String>,
}

impl MockConfig {
    /// The IIJ profile, no tokens, no faults, logical clock, id seed 0.
    pub fn iij() -> MockConfig {
        MockConfig::with_profile(Profile::iij())
    }

    pub fn with_profile(profile: Profile) -> MockConfig {
        MockConfig {
            profile,
            tokens: Vec::new(),
            faults: FaultSpec::default(),
            clock: ClockSpec::default(),
            id_seed: 0,
            seed_snapshot: None,
            seed_extra: None,
            public_url: None,
        }
    }
}

/// A running mock. Dropping it stops the server (without waiting).
#[derive(Debug)]
pub struct MockServer {
    shared: Arc<Shared>,
    addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    task: Option<tokio::task::JoinHandle<()>>,
    /// Set when the server runs on its own runtime ([`MockServer::spawn`]).
    runtime: Option<tokio::runtime::Runtime>,
    seeded: SeedSummary,
}

impl MockServer {
    /// Starts the mock on the current tokio runtime, listening on `listen` (port 0 picks a
    /// free port; [`MockServer::url`] tells which).
    pub async fn start(config: MockConfig, listen: &str) -> Result<MockServer, MockError> {
        let bind_err = |source| MockError::Bind {
            addr: listen.to_owned(),
            source,
        };
        // Seed before binding: a bad snapshot must not leave a port half-open.
        let (store, seeded, seed_time) = initial_store(&config)?;
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(bind_err)?;
        let addr = listener.local_addr().map_err(bind_err)?;
        let shared = Arc::new(build_shared(&config, addr, store, seed_time));
        let app = http::app(shared.clone(), BASE_PATH);
        let (tx, rx) = watch::channel(false);
        let task = tokio::spawn(http::serve(listener, shared.clone(), app, rx));
        tracing::info!(url = %shared.base_url, profile = %shared.profile.name, "mock SCIM server listening");
        Ok(MockServer {
            shared,
            addr,
            shutdown: tx,
            task: Some(task),
            runtime: None,
            seeded,
        })
    }

    /// Starts the mock on a runtime of its own (two worker threads), for synchronous callers
    /// and tests. Do not call from inside an async context.
    pub fn spawn(config: MockConfig, listen: &str) -> Result<MockServer, MockError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("mock-scim")
            .enable_all()
            .build()
            .map_err(MockError::Runtime)?;
        let mut server = runtime.block_on(MockServer::start(config, listen))?;
        server.runtime = Some(runtime);
        Ok(server)
    }

    /// The SCIM base URL, ending in `/` (e.g. `http://127.0.0.1:40123/scim/v2/`).
    pub fn url(&self) -> &str {
        &self.shared.base_url
    }

    /// The URL of the server root (the admin endpoints live under `/_mock/`).
    pub fn root_url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn profile(&self) -> &Profile {
        &self.shared.profile
    }

    /// What the start-up seed loaded.
    pub fn seeded(&self) -> SeedSummary {
        self.seeded
    }

    /// Loads more rows (verbatim; ids, userNames and externalIds must not clash).
    pub fn seed_tables(&self, tables: &IidTables) -> Result<SeedSummary, MockError> {
        snapshot::load(&mut self.shared.write(), tables)
    }

    /// Loads an IID snapshot directory.
    pub fn seed_snapshot(&self, dir: &Path) -> Result<SeedSummary, MockError> {
        let (tables, _) = snapshot::read(dir)?;
        self.seed_tables(&tables)
    }

    /// Loads SCIM resources as they are (users: `(resource, pending_deletion)`).
    pub fn seed_resources(
        &self,
        users: Vec<(Value, bool)>,
        groups: Vec<Value>,
    ) -> Result<(), MockError> {
        let mut store = self.shared.write();
        for (u, pending) in users {
            store
                .seed(schema::Kind::User, u, pending)
                .map_err(MockError::SeedResource)?;
        }
        for g in groups {
            store
                .seed(schema::Kind::Group, g, false)
                .map_err(MockError::SeedResource)?;
        }
        Ok(())
    }

    /// Every user as stored, in creation order, with its pending-deletion flag.
    pub fn users(&self) -> Vec<(Value, bool)> {
        self.shared
            .read()
            .users
            .iter()
            .map(|e| (e.resource, e.pending_deletion))
            .collect()
    }

    /// Every group as stored, in creation order.
    pub fn groups(&self) -> Vec<Value> {
        self.shared
            .read()
            .groups
            .iter()
            .map(|e| e.resource)
            .collect()
    }

    /// Restores a pending-deletion user.
    pub fn restore_user(&self, id: &str) -> Result<(), ScimError> {
        self.shared.write().restore(id).map(|_| ())
    }

    /// Accepts another token from now on (or renews one).
    pub fn add_token(&self, token: TokenSpec) {
        self.shared.auth.add(token);
    }

    /// The state as IID snapshot rows.
    pub fn tables(&self) -> Result<IidTables, MockError> {
        snapshot::tables(&self.shared.read(), &self.shared.profile)
    }

    /// Writes the state as an IID snapshot at `dir` (which must not exist).
    pub fn dump_snapshot(&self, dir: &Path) -> Result<Manifest, MockError> {
        dump_shared(&self.shared, dir)
    }

    pub fn stats(&self) -> StatsSnapshot {
        self.shared.stats.snapshot()
    }

    /// The time on the mock's clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.shared.clock.now()
    }

    /// Stops accepting connections and waits (up to 5 s) for open requests. The state stays
    /// readable (and dumpable) afterwards.
    pub async fn shutdown(&mut self) {
        let _ = self.shutdown.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    /// [`MockServer::shutdown`] for a server made by [`MockServer::spawn`].
    pub fn stop(&mut self) {
        let _ = self.shutdown.send(true);
        if let (Some(task), Some(rt)) = (self.task.take(), self.runtime.as_ref()) {
            let _ = rt.block_on(task);
        }
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

pub(crate) fn dump_shared(shared: &Shared, dir: &Path) -> Result<Manifest, MockError> {
    snapshot::dump(
        &shared.read(),
        &shared.profile,
        dir,
        &shared.base_url,
        shared.clock.now(),
    )
}

type Initial = (store::Store, SeedSummary, Option<DateTime<Utc>>);

fn initial_store(config: &MockConfig) -> Result<Initial, MockError> {
    let mut store = store::Store::new(config.id_seed);
    let Some(dir) = &config.seed_snapshot else {
        return Ok((store, SeedSummary::default(), None));
    };
    let (seeded, manifest) = snapshot::seed_from_dir(&mut store, dir, config.seed_extra.as_ref())
        .map_err(|e| match e {
        MockError::SeedResource(message) => MockError::Seed {
            path: dir.clone(),
            message,
        },
        other => other,
    })?;
    Ok((store, seeded, Some(manifest.taken_at)))
}

fn build_shared(
    config: &MockConfig,
    addr: SocketAddr,
    store: store::Store,
    seed_time: Option<DateTime<Utc>>,
) -> Shared {
    let mut base_url = config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{addr}{BASE_PATH}/"));
    if !base_url.ends_with('/') {
        base_url.push('/');
    }
    let clock = config.clock.build(seed_time);
    let auth = auth::Auth::new(config.tokens.clone(), config.faults.token_expiry_after);
    Shared::new(
        store,
        config.profile.clone(),
        clock,
        base_url,
        auth,
        config.faults.clone(),
    )
}
