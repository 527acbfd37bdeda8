# Sourced by scripts/test: the plan and audit reports checked in headless Chromium
# (scripts/test-browser installs Chromium, a Japanese font and playwright-core, renders the
# demo's reports and fails when any check fails or cannot run). A check of its own rather
# than a service for cargo test, so it runs here once, before the Rust suites.
say "scripts/test-browser"
scripts/test-browser
