//! Findings (problems predicted before they happen) and the objects a plan leaves alone.

use crate::action::{Keys, Resource};
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Info,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How sure a finding is: `low` when it is inferred (e.g. Microsoft 365 state guessed from
/// IIJ ID history because no `--m365` snapshot was given).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    High,
    Low,
}

/// A problem predicted before it happens. `code` values are listed in docs/findings.md.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub code: String,
    pub severity: Severity,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// What it is about, for people (`user taro@example.co.jp`, `group 営業部`).
    pub subject: String,
    /// Stable keys of the subject (objectGUID, IIJ ID id…).
    #[serde(default, skip_serializing_if = "Keys::is_empty")]
    pub keys: Keys,
    pub message: String,
    pub remediation: String,
    pub confidence: Confidence,
    /// Seqs of the actions this finding is about.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<u32>,
    /// Set when a blocking finding was explicitly allowed (`--allow-threshold`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allowed: bool,
}

impl Finding {
    /// Whether this finding makes `dirsnap reconcile` exit 3.
    pub fn blocks(&self) -> bool {
        self.severity == Severity::Error && !self.allowed
    }
}

/// An object the plan deliberately leaves alone, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skipped {
    pub resource: Resource,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// The object's name for people.
    pub name: String,
    pub keys: Keys,
    pub reason: String,
}
