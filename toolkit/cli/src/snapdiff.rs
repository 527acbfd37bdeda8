//! `dirsnap diff SNAP_A SNAP_B`.

use crate::error::CliError;
use crate::output::spinner;
use dirsnap_diff::{SnapshotDiff, TableDiff, diff_snapshot};
use dirsnap_snapshot::{AnySnapshot, ReadOptions, Snapshot};
use serde_json::{Value, json};
use std::path::Path;

pub fn run(
    before: &Path,
    after: &Path,
    as_json: bool,
    limit: usize,
    quiet: bool,
) -> Result<(), CliError> {
    let a = Snapshot::open(before)?;
    let b = Snapshot::open(after)?;
    if a.kind() != b.kind() {
        return Err(CliError::Input(format!(
            "cannot diff snapshots of different kinds: {} is {} snapshot, {} is {} snapshot",
            before.display(),
            a.kind().with_article(),
            after.display(),
            b.kind().with_article()
        )));
    }
    let pb = spinner(quiet, "reading snapshots");
    let options = ReadOptions::default();
    let (da, db) = (a.read_any(&options)?, b.read_any(&options)?);
    pb.set_message("comparing");
    let diff = match (&da, &db) {
        (AnySnapshot::Ad(x), AnySnapshot::Ad(y)) => diff_snapshot(
            (&x.users, &x.groups, &x.memberships),
            (&y.users, &y.groups, &y.memberships),
        ),
        (AnySnapshot::Iid(x), AnySnapshot::Iid(y)) => diff_snapshot(
            (&x.users, &x.groups, &x.memberships),
            (&y.users, &y.groups, &y.memberships),
        ),
        (AnySnapshot::M365(x), AnySnapshot::M365(y)) => diff_snapshot(
            (&x.users, &x.groups, &x.memberships),
            (&y.users, &y.groups, &y.memberships),
        ),
        _ => return Err(CliError::Input("snapshot kinds differ".into())),
    };
    pb.finish_and_clear();
    if as_json {
        println!(
            "{}",
            serde_json::to_string_pretty(&to_json(&a, &b, &diff)).unwrap_or_default()
        );
    } else {
        print_text(&a, &b, &diff, limit);
    }
    Ok(())
}

fn table_json(t: &TableDiff) -> Value {
    json!({
        "added": t.added.len(),
        "removed": t.removed.len(),
        "changed": t.changed.len(),
        "details": t,
    })
}

fn to_json(a: &Snapshot, b: &Snapshot, d: &SnapshotDiff) -> Value {
    json!({
        "kind": a.kind(),
        "before": {"path": a.dir().display().to_string(), "taken_at": a.manifest().taken_at},
        "after": {"path": b.dir().display().to_string(), "taken_at": b.manifest().taken_at},
        "key": a.kind().key_name(),
        "users": table_json(&d.users),
        "groups": table_json(&d.groups),
        "memberships": {
            "added": d.memberships.added.len(),
            "removed": d.memberships.removed.len(),
            "details": d.memberships,
        },
    })
}

fn shown<T>(items: &[T], limit: usize) -> &[T] {
    if limit == 0 {
        items
    } else {
        &items[..items.len().min(limit)]
    }
}

fn more(total: usize, limit: usize) {
    if limit != 0 && total > limit {
        println!("    … and {} more (use --limit 0 or --json)", total - limit);
    }
}

fn print_table(name: &str, t: &TableDiff, limit: usize) {
    println!(
        "{name}: {} added, {} removed, {} changed",
        t.added.len(),
        t.removed.len(),
        t.changed.len()
    );
    for o in shown(&t.added, limit) {
        // Same name, new key: the object was deleted and created again (a new objectGUID
        // breaks every link keyed on it, so say so).
        match t.removed.iter().find(|r| r.label == o.label) {
            Some(old) => println!(
                "  + {}  [{}]  recreated: replaces [{}]",
                o.label, o.key, old.key
            ),
            None => println!("  + {}  [{}]", o.label, o.key),
        }
    }
    more(t.added.len(), limit);
    for o in shown(&t.removed, limit) {
        println!("  - {}  [{}]", o.label, o.key);
    }
    more(t.removed.len(), limit);
    for c in shown(&t.changed, limit) {
        println!("  ~ {}  [{}]", c.label, c.key);
        for ch in &c.changes {
            println!(
                "      {}: {} → {}",
                ch.attribute,
                ch.old
                    .as_deref()
                    .map_or("(absent)".to_string(), |v| format!("{v:?}")),
                ch.new
                    .as_deref()
                    .map_or("(absent)".to_string(), |v| format!("{v:?}"))
            );
        }
    }
    more(t.changed.len(), limit);
}

fn print_text(a: &Snapshot, b: &Snapshot, d: &SnapshotDiff, limit: usize) {
    let when = |s: &Snapshot| {
        s.manifest()
            .taken_at
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    };
    println!(
        "{} snapshots, matched by {}: {} ({}) → {} ({})",
        a.kind(),
        a.kind().key_name(),
        a.dir().display(),
        when(a),
        b.dir().display(),
        when(b)
    );
    print_table("users", &d.users, limit);
    print_table("groups", &d.groups, limit);
    println!(
        "memberships: {} added, {} removed",
        d.memberships.added.len(),
        d.memberships.removed.len()
    );
    for m in shown(&d.memberships.added, limit) {
        println!("  + {} ∋ {}", m.group, m.member);
    }
    more(d.memberships.added.len(), limit);
    for m in shown(&d.memberships.removed, limit) {
        println!("  - {} ∋ {}", m.group, m.member);
    }
    more(d.memberships.removed.len(), limit);
    if d.is_empty() {
        println!("no differences");
    }
}
