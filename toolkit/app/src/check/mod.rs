//! `check`: the pre-flight a careful admin runs before the first export or sync. Each check
//! is a [`Check`] (an id, a status, what was found, what to do about a failure), handed to an
//! [`Observer`] as soon as it is decided (probes take seconds; people watch them arrive) and
//! collected into a [`CheckReport`].
//!
//! What is probed: every address of `ad.ldap.server.addresses` on its own (TCP, TLS, bind,
//! base DN), how many objects the AD filters select; the IIJ ID endpoint directly or through
//! `iid.scim.http.proxy`, its TLS certificate, the access token (a `GET Users?count=1`), each
//! of the four scopes, the token's `exp`, and the SCIM filters on the server. Secrets are
//! never part of a check's text.
//!
//! A config.yml or secret.yml that cannot be used (YAML, a wrong type, an unparsable filter,
//! a required key missing, an unreadable CA file) marks the report
//! [`CheckReport::config_unusable`], and the checks that need the broken part are not run.

mod ad;
mod config;
mod iid;
mod token;

use dirsnap_config::{load_config, load_secrets};
use std::path::PathBuf;
use std::time::Duration;

/// What to check, and how.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    /// Directory Sync config.yml.
    pub config: PathBuf,
    /// secret.yml (else the environment).
    pub secret: Option<PathBuf>,
    /// The SCIM endpoint, instead of the config's (or IIJ ID's).
    pub base_url: Option<String>,
    /// CA certificates trusted for LDAPS / StartTLS besides the system store.
    pub ad_ca_file: Option<PathBuf>,
    /// CA certificates trusted for the SCIM endpoint besides the system store.
    pub iid_ca_file: Option<PathBuf>,
    /// How long to wait for each connection or request to IIJ ID.
    pub timeout: Duration,
    /// Warn when the access token expires within this many days.
    pub warn_days: i64,
    /// Probe the write scopes (a PATCH without operations on a nonexistent id).
    pub write_probe: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Pass,
    Warn,
    Fail,
    /// Not applicable, or not run because an earlier check failed.
    Skip,
}

impl Status {
    pub fn name(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Warn => "warn",
            Status::Fail => "fail",
            Status::Skip => "skip",
        }
    }
}

/// One check's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// Stable, for tools: `config`, `ad.server[0]`, `iid.scope.escim_read_users`, …
    pub id: String,
    pub status: Status,
    /// What was found; may span lines.
    pub text: String,
    /// What to do about it, for failures and warnings.
    pub fix: Option<String>,
}

/// Every check, in the order decided.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckReport {
    pub checks: Vec<Check>,
    /// config.yml or secret.yml cannot be used as they are.
    pub config_unusable: bool,
}

impl CheckReport {
    pub fn count(&self, s: Status) -> usize {
        self.checks.iter().filter(|c| c.status == s).count()
    }
}

/// Sees each section begin and each check as soon as it is decided.
pub trait Observer {
    fn section(&mut self, _title: &str) {}
    fn check(&mut self, _check: &Check) {}
}

impl Observer for () {}

/// Collects the checks and passes each to the observer.
struct Recorder<'o> {
    report: CheckReport,
    observer: &'o mut dyn Observer,
}

impl Recorder<'_> {
    fn section(&mut self, title: &str) {
        self.observer.section(title);
    }

    fn add(&mut self, id: impl Into<String>, status: Status, text: impl Into<String>) {
        self.push(id.into(), status, text.into(), None);
    }

    fn fail(&mut self, id: impl Into<String>, text: impl Into<String>, fix: impl Into<String>) {
        self.push(id.into(), Status::Fail, text.into(), Some(fix.into()));
    }

    fn warn(&mut self, id: impl Into<String>, text: impl Into<String>, fix: impl Into<String>) {
        self.push(id.into(), Status::Warn, text.into(), Some(fix.into()));
    }

    fn push(&mut self, id: String, status: Status, text: String, fix: Option<String>) {
        let check = Check {
            id,
            status,
            text,
            fix,
        };
        self.observer.check(&check);
        self.report.checks.push(check);
    }

    fn unusable(&mut self) {
        self.report.config_unusable = true;
    }
}

/// Runs every check; never fails (a failure is a check's status).
pub async fn run(options: &CheckOptions, observer: &mut dyn Observer) -> CheckReport {
    dirsnap_ad::install_ring_provider();
    let mut report = Recorder {
        report: CheckReport::default(),
        observer,
    };
    check_all(options, &mut report).await;
    report.report
}

async fn check_all(options: &CheckOptions, report: &mut Recorder<'_>) {
    report.section("Configuration");
    let config = match load_config(&options.config) {
        Ok(c) => c,
        Err(e) => {
            report.fail(
                "config",
                format!("config.yml: {e}"),
                "correct the value at the file:line:column shown (Directory Sync reads the same \
                 file, so it would stop there too); the other checks need a usable config",
            );
            report.unusable();
            return;
        }
    };
    let mut text = format!("config.yml parses: {}", config.path.display());
    if let Some(i) = &config.dirsnap.instance {
        text.push_str(&format!(" (instance {i})"));
    }
    let notices = crate::config_notices(&config);
    report.add("config", Status::Pass, text);
    for notice in notices {
        report.warn(
            "config.not_modelled",
            notice,
            "read plans knowing the agent also applies that setting; correct the key if it is a typo (Directory Sync reads the same file)",
        );
    }
    config::check_filters(&config, report);

    let secrets = match load_secrets(options.secret.as_deref(), &|k| std::env::var(k).ok()) {
        Ok(s) => s,
        Err(e) => {
            report.fail(
                "secret",
                format!("secret.yml: {e}"),
                "correct secret.yml at the position shown (its content is never printed)",
            );
            report.unusable();
            return;
        }
    };

    report.section("Active Directory");
    let password = config::secret_line(
        report,
        "ad.password",
        "AD bind password",
        secrets.ad_password.as_ref(),
        &format!(
            "put it in secret.yml under ad.ldap.server.password (pass --secret), or set {}",
            dirsnap_config::ENV_AD_PASSWORD
        ),
    );
    ad::check_ad(options, &config, password, report).await;

    report.section("IIJ ID");
    let token = config::secret_line(
        report,
        "iid.token",
        "IIJ ID access token",
        secrets.iid_token.as_ref(),
        "put it in secret.yml under iid.scim.access_token (pass --secret), or set DIRSNAP_IID_TOKEN",
    );
    if let Some(t) = token {
        token::check_expiry(options, t, report);
    }
    iid::check_iid(options, &config, token, report).await;
}

/// `n noun`, the noun in the plural unless `n` is 1 (every noun counted here takes an -s).
pub fn plural(n: impl std::fmt::Display, noun: &str) -> String {
    let n = n.to_string();
    if n == "1" {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

#[cfg(test)]
mod tests {
    use super::plural;

    #[test]
    fn counts_agree_with_their_noun() {
        assert_eq!(plural(0usize, "group"), "0 groups");
        assert_eq!(plural(1u64, "group"), "1 group");
        assert_eq!(plural(2i64, "day"), "2 days");
        assert_eq!(plural(11u32, "user"), "11 users");
    }
}
