#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! docs/findings.md documents every finding code the engine can emit, and docs/plan-format.md
//! every op and rule.

use dirsnap_plan::{Op, codes::CATALOG};
use std::path::Path;

fn doc(name: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../docs")
            .join(name),
    )
    .unwrap()
}

#[test]
fn every_finding_code_has_a_section() {
    let text = doc("findings.md");
    for (code, severity, _) in CATALOG {
        let heading = format!("## {code} — {}", severity.as_str());
        assert!(
            text.lines().any(|l| l.starts_with(&heading)),
            "docs/findings.md has no section starting {heading:?}"
        );
    }
    // Every finding is built in src/findings.rs, one constructor per code (an unused
    // constructor fails the build as dead code).
    let constructors =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/findings.rs"))
            .unwrap();
    for (code, _, _) in CATALOG {
        let konst = format!("codes::{code}");
        assert!(
            constructors.contains(&konst),
            "{code} is in the catalog but never emitted"
        );
    }
}

#[test]
fn the_user_guide_says_what_to_do_for_every_finding() {
    let text = doc("guide.md");
    for (code, _, _) in CATALOG {
        assert!(
            text.lines()
                .any(|l| l.starts_with(&format!("| `{code}` |"))),
            "docs/guide.md's \"What to do when\" table has no row for {code}"
        );
    }
}

#[test]
fn every_op_and_rule_is_documented() {
    let text = doc("plan-format.md");
    for op in Op::ALL {
        assert!(
            text.contains(&format!("`{}`", op.as_str())),
            "{op} missing from plan-format.md"
        );
    }
    for rule in [
        "create.enabled",
        "create.disabled",
        "update",
        "adopt",
        "recreated.update_anchor",
        "disable",
        "enable",
        "deleted",
        "out_of_scope",
        "orphan",
        "recreated.old_object_deleted",
        "restore",
        "create",
        "rename",
        "members.add",
        "members.remove",
    ] {
        assert!(
            text.contains(&format!("`{rule}`")),
            "rule {rule} missing from plan-format.md"
        );
    }
}
