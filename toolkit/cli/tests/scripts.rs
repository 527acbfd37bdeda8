#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The scripts under scripts/ build where cargo builds and run what they built: wherever
//! `CARGO_TARGET_DIR` (or a cargo config) sends the builds, never a hard-coded `target/`;
//! and they install Debian packages only through lib.sh, which waits for a running apt-get or
//! dpkg instead of failing.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// Every bash script of scripts/ (not the Python helpers), with its text.
fn scripts() -> Vec<(String, String)> {
    let mut out = Vec::new();
    let dirs = [root().join("scripts"), root().join("scripts/test.d")];
    for dir in dirs {
        for e in std::fs::read_dir(&dir).unwrap() {
            let path = e.unwrap().path();
            if !path.is_file() {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            let bash = text.starts_with("#!/usr/bin/env bash")
                || path.extension().is_some_and(|x| x == "sh");
            if bash {
                out.push((path.display().to_string(), text));
            }
        }
    }
    assert!(out.len() > 10, "found only {} scripts", out.len());
    out
}

#[test]
fn no_script_hard_codes_the_target_directory() {
    for (path, text) in scripts() {
        for (n, line) in text.lines().enumerate() {
            let code = line.split(" #").next().unwrap_or(line);
            if code.trim_start().starts_with('#') {
                continue;
            }
            for bad in [
                "/target/debug",
                "/target/release",
                "$ROOT/target\"",
                "$PWD/target\"",
            ] {
                assert!(
                    !code.contains(bad),
                    "{path}:{}: {line}\n(use $TARGET_DIR from lib.sh: CARGO_TARGET_DIR may send builds elsewhere)",
                    n + 1
                );
            }
        }
    }
}

#[test]
fn only_lib_sh_calls_apt_get() {
    for (path, text) in scripts() {
        if path.ends_with("lib.sh") {
            continue;
        }
        for (n, line) in text.lines().enumerate() {
            let code = line.trim_start();
            if code.starts_with('#') {
                continue;
            }
            assert!(
                !(code.contains("apt-get ") || code.contains("apt install")),
                "{path}:{}: {line}\n(use ensure_debian_packages: it waits for the dpkg lock)",
                n + 1
            );
        }
    }
}

/// `TARGET_DIR` as lib.sh computes it, from `cwd` with `CARGO_TARGET_DIR` set to `value`.
fn target_dir(cwd: &Path, value: &str) -> (String, String) {
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "source '{}/scripts/lib.sh'; cd /; printf '%s\\n%s\\n' \"$TARGET_DIR\" \"$CARGO_TARGET_DIR\"",
            root().display()
        ))
        .current_dir(cwd)
        .env("CARGO_TARGET_DIR", value)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines().map(str::to_string);
    (lines.next().unwrap(), lines.next().unwrap())
}

#[test]
fn lib_sh_finds_the_target_directory_cargo_uses() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path().canonicalize().unwrap();
    // Absolute: as given.
    let elsewhere = cwd.join("builds");
    let (dir, exported) = target_dir(&cwd, elsewhere.to_str().unwrap());
    assert_eq!(dir, elsewhere.display().to_string());
    assert_eq!(exported, dir);
    // Relative: to where the script was started (as cargo reads it), and exported absolute,
    // since the scripts change directory before building.
    let (dir, exported) = target_dir(&cwd, "rel/tgt");
    assert_eq!(dir, cwd.join("rel/tgt").display().to_string());
    assert_eq!(exported, dir);
}
