//! What every `--help` ends with: two or three examples and the exit codes of that command
//! (SPEC §2's codes, said for what the command does).

pub const DIRSNAP: &str = "\
Examples:
  dirsnap export ad --config config.yml --out snaps/ad-1127
  dirsnap reconcile --config config.yml --ad snaps/ad-1127 --iid snaps/iid-1127 --out plans/1127
  dirsnap replay plans/1127 --config config.yml --secret secret.yml

Exit codes:
  0  done
  1  runtime error (network, I/O, server)
  2  usage or invalid config/input (the message names the file, key and what was expected)
  3  error findings or a safety threshold block the plan (reconcile, simulate, audit, replay)
  4  replay stopped early and can be resumed (the message says why and with which command)

docs/guide.md walks through the three jobs: a migration, an audit before recovery mode, a
simulation of a new config.yml.";

pub const INSPECT: &str = "\
Examples:
  dirsnap inspect snaps/ad-1127
  dirsnap inspect plans/1127          # its verdict; every file checked
  dirsnap inspect snaps/iid-1127 --json

Exit codes:
  0  shown; every checksum verified
  1  a file cannot be read (I/O)
  2  not a snapshot or plan, an unsupported schema version, or a file differs from the
     sha256 its manifest records (the file is named)";

pub const DIFF: &str = "\
Examples:
  dirsnap diff snaps/ad-1120 snaps/ad-1127
  dirsnap diff snaps/iid-cache snaps/iid-live --limit 0
  dirsnap diff snaps/ad-1120 snaps/ad-1127 --json

Exit codes:
  0  compared (differences or not)
  1  a file cannot be read (I/O)
  2  not snapshots, of different kinds, or a file differs from its manifest";

pub const EXPORT: &str = "\
Examples:
  dirsnap export ad  --config config.yml --secret secret.yml --out snaps/ad-1127
  dirsnap export iid --config config.yml --secret secret.yml --out snaps/iid-1127
  dirsnap export m365 --from-csv users.csv --out snaps/m365-1127

Exit codes:
  0  the snapshot was written
  1  network, TLS, server or I/O failure (no snapshot is left)
  2  invalid config, secret, credentials or input file, or an --out that exists or cannot
     be created";

pub const EXPORT_AD: &str = "\
Examples:
  dirsnap export ad --config config.yml --secret secret.yml --out snaps/ad-1127
  DIRSNAP_AD_PASSWORD=… dirsnap export ad --config config.yml --out snaps/ad-1127 --json
  dirsnap export ad --config config.yml --explain     # the LDAP searches, without connecting

Exit codes:
  0  the snapshot was written
  1  network, TLS, bind or server failure (no snapshot is left)
  2  invalid config, secret or CA file, no password, or an --out that exists or cannot be
     created";

pub const EXPORT_IID: &str = "\
Examples:
  dirsnap export iid --config config.yml --secret secret.yml --out snaps/iid-1127
  DIRSNAP_IID_TOKEN=… dirsnap export iid --config config.yml --out snaps/iid-1127 --json
  dirsnap export iid --config config.yml --base-url http://127.0.0.1:8443/scim/v2/ --out snaps/mock

Exit codes:
  0  the snapshot was written
  1  network or server failure after the retries, or the token was refused midway (no
     snapshot is left)
  2  invalid config or secret, no token, an expired token (nothing is sent), or an --out
     that exists or cannot be created";

/// `export m365`'s examples and exit codes, shown by `-h` and at the end of `--help`.
macro_rules! export_m365_examples {
    () => {
        "\
Examples:
  dirsnap export m365 --token-env GRAPH_TOKEN --out snaps/m365-1127
  dirsnap export m365 --from-csv users.csv --out snaps/m365-1127
  dirsnap export m365 --out snaps/m365-1127 --json    # client credentials from DIRSNAP_M365_*

Exit codes:
  0  the snapshot was written
  1  network or Graph failure after the retries (no snapshot is left)
  2  missing or refused credentials, a CSV that cannot be used, or an --out that exists or
     cannot be created"
    };
}

pub const EXPORT_M365: &str = export_m365_examples!();

/// `export m365 --help`: its credentials and CSV notes, then the examples and exit codes.
pub const EXPORT_M365_LONG: &str = concat!(
    "\
Credentials (Graph):
  --token-env VAR       an access token in the environment variable VAR, or
  client credentials    DIRSNAP_M365_TENANT_ID, DIRSNAP_M365_CLIENT_ID, DIRSNAP_M365_CLIENT_SECRET
                        (the app needs the application permission User.Read.All)
  The secret is read from the environment only, never from a flag.

CSV: Microsoft 365 admin center → Users → Active users → Export users. The CSV cannot tell
the immutableId, so the snapshot marks it unknown (immutable_id_known = false).

See docs/m365-export.md.

",
    export_m365_examples!()
);

pub const RECONCILE: &str = "\
Examples:
  dirsnap reconcile --config config.yml --ad snaps/ad-1127 --iid snaps/iid-1127 --out plans/1127
  dirsnap reconcile --config config.yml --ad snaps/ad-1127 --iid snaps/iid-1127 \\
      --previous-iid snaps/iid-cache --m365 snaps/m365-1127 --out plans/1127-normal
  dirsnap reconcile … --out plans/1127-b --allow-threshold pending_deletions --json

Exit codes:
  0  the plan was written and nothing blocks it
  1  I/O failure (no plan is left)
  2  invalid config or snapshots, or an --out that exists or cannot be created
  3  the plan was written, but error findings or an exceeded threshold block it (the
     message says which, and what lifts each)";

pub const PLAN: &str = "\
Examples:
  dirsnap plan show plans/1127
  dirsnap plan show plans/1127 --format html > review.html

Exit codes:
  0  shown
  1  a file cannot be read (I/O)
  2  not a plan, or a file differs from the sha256 its manifest records (the file is named)";

pub const PLAN_SHOW: &str = PLAN;

pub const REPLAY: &str = "\
Examples:
  dirsnap replay plans/1127 --config config.yml --secret secret.yml --dry-run
  dirsnap replay plans/1127 --config config.yml --secret secret.yml --verify
  dirsnap replay plans/1127 --config config.yml --allow-deletes 12 --json

Exit codes:
  0  every action applied (and, with --verify, nothing left pending)
  1  actions failed or were skipped (run the same command to retry only those), --verify
     found actions still pending, or a network/server error
  2  the plan is invalid, modified since it was written (the file is named) or stale, or
     the config is invalid
  3  the plan has blocking error findings (--allow-blocked, having read them)
  4  stopped early and resumable: token expired or lacking a scope, deletions beyond the
     limit, Ctrl-C (the message gives the command that resumes)";

pub const MOCK_SCIM: &str = "\
Examples:
  DIRSNAP_MOCK_TOKEN=t dirsnap mock-scim --listen 127.0.0.1:0 --seed snaps/iid-1127
  dirsnap mock-scim --seed snaps/iid-1127 --dump-on-exit snaps/iid-after --fault 'seed=1,429=10%'
  DIRSNAP_MOCK_TOKEN=t dirsnap mock-scim --listen 0.0.0.0:8443   # other machines need a token

Exit codes:
  0  stopped (SIGTERM or Ctrl-C), and dumped if asked
  1  the dump failed
  2  bad flags, token, fault spec or seed snapshot; a --listen that is not an address, cannot
     be listened on, or is a network address without a token (--insecure-open to allow);
     a --dump-on-exit that exists or cannot be created";

pub const AUDIT: &str = "\
Examples:
  dirsnap audit --config config.yml --ad snaps/ad-1127 --iid snaps/iid-1127 \\
      --previous-iid snaps/iid-cache --out audits/1127
  dirsnap audit … --out audits/1127-b --allow-deletes 3 --accept-console-edits --json

Exit codes:
  0  safe to run recovery mode
  1  I/O failure (no report is left)
  2  invalid config or snapshots, or an --out that exists or cannot be created
  3  not safe yet: the report (audit.html) says why";

pub const SIMULATE: &str = "\
Examples:
  dirsnap simulate --config config-new.yml --ad snaps/ad-1127 --iid snaps/iid-1127 --out sims/1127
  dirsnap simulate --config config-new.yml --ad snaps/ad-1127 --ad snaps/ad2-1127 \\
      --iid snaps/iid-1127 --out sims/1127-two-forests --json

Two verdicts: converged (the second plan has no action) and ready (no blocking finding in
the plan or after the replay); simulation.json holds both.

Exit codes:
  0  converged and ready
  1  a runtime error (I/O, the in-process mock)
  2  invalid config or snapshots, or an --out that exists or cannot be created
  3  not converged, or not ready (the message says which and where to read why)";

pub const CHECK: &str = "\
Examples:
  dirsnap check --config config.yml --secret secret.yml
  dirsnap check --config config.yml --no-write-probe --json

Exit codes:
  0  no check failed (warnings allowed)
  1  a check failed: a server, the network, a credential, a scope (each ✗ line says what
     to do)
  2  config.yml or secret.yml cannot be used (the checks that need it are not run)";
