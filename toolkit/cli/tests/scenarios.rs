#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Every scenario in fixtures/scenarios/ end to end through the real binary: the harness
//! builds its snapshots, `dirsnap simulate` reconciles, replays the plan onto the in-process
//! mock IIJ ID, dumps it and reconciles again; the first plan must be what the scenario
//! expects (written by hand from the documented behaviour) and the second must be empty
//! unless the scenario says why not. docs/scenarios.md maps them to the precautions.

use dirsnap_harness::scenario;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn every_scenario_converges_as_documented() {
    let files = scenario::files(&[root().join("fixtures/scenarios")]).unwrap();
    assert!(files.len() >= 38, "{} scenario files", files.len());
    let dirsnap = PathBuf::from(env!("CARGO_BIN_EXE_dirsnap"));
    let work = tempfile::tempdir().unwrap();
    // Two at a time: each scenario is a few short processes.
    let results: Vec<(PathBuf, Result<scenario::RunOutcome, String>)> = std::thread::scope(|s| {
        let chunks: Vec<&[PathBuf]> = files.chunks(files.len().div_ceil(2)).collect();
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|chunk| {
                let (dirsnap, work) = (&dirsnap, work.path());
                s.spawn(move || {
                    chunk
                        .iter()
                        .map(|f| {
                            let stem = f.file_stem().unwrap().to_string_lossy().into_owned();
                            (f.clone(), scenario::run(f, dirsnap, &work.join(stem)))
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    let failures: Vec<String> = results
        .iter()
        .filter_map(|(f, r)| r.as_ref().err().map(|e| format!("{}:\n{e}", f.display())))
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} scenarios failed:\n\n{}",
        failures.len(),
        results.len(),
        failures.join("\n\n")
    );
    // The one documented non-convergence stays the exception, not the rule.
    let diverging = results
        .iter()
        .filter(|(_, r)| r.as_ref().is_ok_and(|o| !o.converged))
        .count();
    assert!(diverging <= 2, "{diverging} scenarios do not converge");
}

/// A scenario whose expectation is wrong fails with the difference, not silently.
#[test]
fn a_wrong_expectation_fails_with_the_difference() {
    let dir = tempfile::tempdir().unwrap();
    let text =
        std::fs::read_to_string(root().join("fixtures/scenarios/user-create-enabled.yml")).unwrap();
    let wrong = dir.path().join("wrong.yml");
    std::fs::write(&wrong, text.replace("create_user", "disable_user")).unwrap();
    let err = scenario::run(
        &wrong,
        Path::new(env!("CARGO_BIN_EXE_dirsnap")),
        &dir.path().join("work"),
    )
    .unwrap_err();
    assert!(err.contains("expected actions not in the plan"), "{err}");
    assert!(err.contains("create_user"), "{err}");
}

/// docs/scenarios.md names every scenario file, and every name it gives exists.
#[test]
fn docs_map_every_scenario() {
    let doc = std::fs::read_to_string(root().join("docs/scenarios.md")).unwrap();
    let files = scenario::files(&[root().join("fixtures/scenarios")]).unwrap();
    let stems: Vec<String> = files
        .iter()
        .map(|f| f.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    for s in &stems {
        assert!(
            doc.contains(&format!("`{s}`")),
            "docs/scenarios.md does not mention {s}"
        );
    }
    for part in doc.split('`').skip(1).step_by(2) {
        let looks_like_scenario = part.contains('-')
            && part
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !part.starts_with('-');
        if looks_like_scenario {
            assert!(
                stems.iter().any(|s| s == part),
                "docs/scenarios.md names `{part}`, which is no scenario file"
            );
        }
    }
}

/// A scenario that claims not to converge must really not: a converging plan marked
/// `converges: false` fails (otherwise the law could not fail for it).
#[test]
fn a_false_claim_of_non_convergence_fails() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(root().join("fixtures/scenarios/user-update.yml")).unwrap();
    let claim = dir.path().join("claims-divergence.yml");
    std::fs::write(
        &claim,
        text.replace("  findings: []", "  findings: []\n  converges: false"),
    )
    .unwrap();
    let err = scenario::run(
        &claim,
        Path::new(env!("CARGO_BIN_EXE_dirsnap")),
        &dir.path().join("work"),
    )
    .unwrap_err();
    assert!(err.contains("expected not to converge"), "{err}");
}
