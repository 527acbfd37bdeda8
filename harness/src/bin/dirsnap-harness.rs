//! `dirsnap-harness`: regenerates fixtures and benchmark data. Not part of the product.

use chrono::{TimeZone, Utc};
use clap::{Parser, Subcommand};
use dirsnap_harness::{bench, demo, scenario};
use dirsnap_snapshot::{Ad, SnapshotMeta, SnapshotWriter};
use std::path::PathBuf;
use std::process::ExitCode;

// The same allocator as the `dirsnap` binary, so `bench-snapshot` times the snapshot code as
// dirsnap runs it (reading a million users is tens of millions of small strings).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "dirsnap-harness",
    about = "dirsnap fixture and benchmark data generator"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Generate the demo snapshots from a readable source description.
    Demo {
        #[arg(long)]
        source: PathBuf,
        /// The demo config.yml whose digest and content are recorded in the manifests.
        #[arg(long)]
        config: Option<PathBuf>,
        #[arg(long)]
        out: PathBuf,
    },
    /// Benchmark: build N users in memory, then time writing them as a snapshot and reading
    /// the snapshot back (checksums included). Prints one JSON line.
    BenchSnapshot {
        #[arg(long)]
        users: u64,
        #[arg(long)]
        out: PathBuf,
    },
    /// Write an IID snapshot of N synthetic users and G groups (benchmarks of export iid).
    GenIid {
        #[arg(long)]
        users: u64,
        #[arg(long)]
        groups: u64,
        /// Members per group.
        #[arg(long, default_value_t = 10)]
        members: u64,
        #[arg(long)]
        out: PathBuf,
    },
    /// Write the reconcile benchmark's inputs (AD + IIJ ID snapshots with ~2% changes of
    /// every kind, and config.yml) under OUT; prints the built-in changes as JSON.
    GenReconcile {
        #[arg(long)]
        users: u64,
        #[arg(long)]
        groups: u64,
        #[arg(long, default_value_t = 52)]
        members_per_group: u64,
        #[arg(long)]
        out: PathBuf,
    },
    /// Print the Markdown column tables of docs/snapshot-format.md from the code.
    DocColumns,
    /// Run scenario files end to end: build their snapshots, `dirsnap simulate` them
    /// (reconcile → replay onto the mock → reconcile again), check the expected plan and
    /// convergence. Exit 1 when any scenario fails.
    Scenarios {
        /// Scenario files or directories of them (default fixtures/scenarios).
        paths: Vec<PathBuf>,
        /// The dirsnap binary to drive.
        #[arg(long, default_value = "target/debug/dirsnap")]
        dirsnap: PathBuf,
        /// Keep each scenario's inputs and simulation under this directory.
        #[arg(long)]
        keep: Option<PathBuf>,
    },
    /// Write an AD snapshot of N synthetic users (benchmarks, interruption tests).
    GenUsers {
        #[arg(long)]
        users: u64,
        #[arg(long)]
        out: PathBuf,
        /// Rows per write call (an exporter's page).
        #[arg(long, default_value_t = 10_000)]
        chunk: u64,
    },
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    match Cli::parse().command {
        Cmd::Scenarios {
            paths,
            dirsnap,
            keep,
        } => {
            let paths = if paths.is_empty() {
                vec![PathBuf::from("fixtures/scenarios")]
            } else {
                paths
            };
            let files = scenario::files(&paths)?;
            let tmp = tempfile::tempdir()?;
            let base = keep.unwrap_or_else(|| tmp.path().to_path_buf());
            let mut failed = 0;
            for f in &files {
                let stem = f
                    .file_stem()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned();
                match scenario::run(f, &dirsnap, &base.join(&stem)) {
                    Ok(o) => println!(
                        "ok    {:<48} {} action(s), {} finding(s){}",
                        o.name,
                        o.actions,
                        o.findings,
                        if o.converged {
                            ", converges"
                        } else {
                            ", does not converge (as expected)"
                        }
                    ),
                    Err(e) => {
                        failed += 1;
                        println!("FAIL  {stem}\n{e}");
                    }
                }
            }
            println!("{} scenario(s), {failed} failed", files.len());
            if failed > 0 {
                return Err(format!("{failed} scenario(s) failed").into());
            }
        }
        Cmd::Demo {
            source,
            config,
            out,
        } => {
            let src = demo::load_source(&source)?;
            let cfg = match config {
                Some(path) => {
                    let c = dirsnap_config::load_config(&path)?;
                    Some((c.redacted_document(), c.digest()))
                }
                None => None,
            };
            demo::generate(&src, &out, cfg.as_ref().map(|(v, d)| (v, d.as_str())))?;
            println!(
                "wrote ad-previous, ad, iid-previous, iid under {}",
                out.display()
            );
        }
        Cmd::BenchSnapshot { users, out } => {
            use dirsnap_snapshot::{ReadOptions, Snapshot};
            use std::time::Instant;
            let base = Utc
                .with_ymd_and_hms(2026, 11, 27, 0, 0, 0)
                .single()
                .ok_or("bad base time")?;
            let t0 = Instant::now();
            let rows: Vec<_> = (0..users).map(|n| bench::ad_user(n, base)).collect();
            let generate_s = t0.elapsed().as_secs_f64();
            let cpu = || bench::process_cpu_seconds().unwrap_or(f64::NAN);
            let (t1, cpu1) = (Instant::now(), cpu());
            let mut w = SnapshotWriter::<Ad>::create(&out)?;
            for chunk in rows.chunks(65_536) {
                w.write_users(chunk)?;
            }
            let m = w.commit(SnapshotMeta {
                taken_at: Some(base),
                ..SnapshotMeta::default()
            })?;
            let (write_s, write_cpu_s) = (t1.elapsed().as_secs_f64(), cpu() - cpu1);
            drop(rows);
            let (t2, cpu2) = (Instant::now(), cpu());
            let snap = Snapshot::open(&out)?;
            let read = snap.read_table::<dirsnap_model::AdUser>(
                dirsnap_snapshot::Table::Users,
                &ReadOptions::default(),
            )?;
            let (read_s, read_cpu_s) = (t2.elapsed().as_secs_f64(), cpu() - cpu2);
            let bytes = m.files.get("users.parquet").map(|f| f.bytes).unwrap_or(0);
            println!(
                "{{\"rows\": {}, \"generate_s\": {generate_s:.3}, \"write_s\": {write_s:.3}, \"read_s\": {read_s:.3}, \"write_cpu_s\": {write_cpu_s:.2}, \"read_cpu_s\": {read_cpu_s:.2}, \"bytes\": {bytes}}}",
                read.len()
            );
        }
        Cmd::GenIid {
            users,
            groups,
            members,
            out,
        } => {
            use dirsnap_snapshot::Iid;
            let mut w = SnapshotWriter::<Iid>::create(&out)?;
            let rows: Vec<_> = (0..users).map(bench::iid_user).collect();
            w.write_users(&rows)?;
            let mut group_rows = Vec::new();
            let mut memberships = Vec::new();
            for g in 0..groups {
                let (group, ms) = bench::iid_group(g, users, members);
                group_rows.push(group);
                memberships.extend(ms);
            }
            w.write_groups(&group_rows)?;
            w.write_memberships(&memberships)?;
            let m = w.commit(SnapshotMeta::default())?;
            println!(
                "wrote {} users, {} groups, {} memberships to {}",
                m.counts.users,
                m.counts.groups,
                m.counts.memberships,
                out.display()
            );
        }
        Cmd::GenReconcile {
            users,
            groups,
            members_per_group,
            out,
        } => {
            let base = Utc
                .with_ymd_and_hms(2026, 11, 27, 0, 0, 0)
                .single()
                .ok_or("bad base time")?;
            let e = dirsnap_harness::bench_reconcile::generate(
                &out,
                users,
                groups,
                members_per_group,
                base,
            )?;
            println!("{}", serde_json::to_string(&e)?);
        }
        Cmd::DocColumns => {
            use dirsnap_model::SnapshotKind;
            use dirsnap_snapshot::{Table, columns_of};
            for kind in SnapshotKind::ALL {
                for table in [Table::Users, Table::Groups] {
                    println!("### {kind} `{}`\n", table.file_name());
                    print_columns(columns_of(kind, table));
                }
            }
            println!("### every kind: `memberships.parquet`\n");
            print_columns(columns_of(SnapshotKind::Ad, Table::Memberships));
        }
        Cmd::GenUsers { users, out, chunk } => {
            let base = Utc
                .with_ymd_and_hms(2026, 11, 27, 0, 0, 0)
                .single()
                .ok_or("bad base time")?;
            let mut w = SnapshotWriter::<Ad>::create(&out)?;
            let mut i = 0;
            let chunk = chunk.max(1);
            while i < users {
                let end = (i + chunk).min(users);
                let rows: Vec<_> = (i..end).map(|n| bench::ad_user(n, base)).collect();
                w.write_users(&rows)?;
                i = end;
            }
            let m = w.commit(SnapshotMeta {
                taken_at: Some(base),
                ..SnapshotMeta::default()
            })?;
            println!("wrote {} users to {}", m.counts.users, out.display());
        }
    }
    Ok(())
}

fn print_columns(cols: &[dirsnap_snapshot::ColumnDoc]) {
    println!("| column | type | meaning |");
    println!("|---|---|---|");
    for c in cols {
        println!("| `{}` | `{}` | {} |", c.name, c.doc_type, c.doc);
    }
    println!();
}
