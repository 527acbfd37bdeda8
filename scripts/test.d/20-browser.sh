# Sourced by scripts/test: the plan and audit reports checked in headless Chromium
# (scripts/test-browser installs Chromium, a Japanese font and playwright-core, renders the
# demo's reports and fails when any check fails or cannot run). A check of its own rather
# than a service for cargo test, so it runs here once, before the Rust suites. Its
# screenshots go to a scratch directory: docs/img is refreshed by running the script by hand.
say "scripts/test-browser"
browser_shots="$(mktemp -d)"
on_exit "rm -rf '$browser_shots'"
scripts/test-browser --screenshots "$browser_shots"
