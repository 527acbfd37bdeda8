#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! docs/snapshot-format.md documents exactly the columns the code writes.

use std::process::Command;

#[test]
fn snapshot_format_doc_lists_every_column_of_the_code() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let doc = std::fs::read_to_string(root.join("docs/snapshot-format.md")).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_dirsnap-harness"))
        .arg("doc-columns")
        .output()
        .unwrap();
    assert!(out.status.success());
    let generated = String::from_utf8(out.stdout).unwrap();
    assert!(
        doc.contains(generated.trim()),
        "docs/snapshot-format.md is out of date: paste the output of `dirsnap-harness doc-columns` into its Tables section"
    );
}
