use dirsnap_snapshot::SnapshotError;
use std::fmt;

/// One domain controller that could not be used, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// The address as connected to, e.g. `ldaps://dc1.example.co.jp:636`.
    pub url: String,
    pub reason: String,
}

impl fmt::Display for Attempt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.url, self.reason)
    }
}

/// Why an AD export failed. Messages name the setting, server, bind DN or object concerned;
/// they never contain the bind password.
#[derive(Debug, thiserror::Error)]
pub enum AdError {
    /// The configuration cannot work (exit 2): a required key is missing or a value is unusable.
    #[error("{file}: {key}: {message}")]
    Config {
        file: String,
        key: String,
        message: String,
    },
    /// A file given on the command line (CA bundle) cannot be used (exit 2).
    #[error("{path}: {message}")]
    InputFile { path: String, message: String },
    /// No domain controller could be reached (exit 1).
    #[error("{}", describe_attempts(.0))]
    Unreachable(Vec<Attempt>),
    /// The bind was refused (exit 1).
    #[error(
        "LDAP bind as {bind_dn:?} to {url} was refused: {detail}. Check ad.ldap.server.user and \
         the password in the secret file or {env}",
        env = dirsnap_config::ENV_AD_PASSWORD
    )]
    Bind {
        url: String,
        bind_dn: String,
        detail: String,
    },
    /// A search failed (exit 1).
    #[error("LDAP search for {what} under {base:?} failed on {url}: {detail}")]
    Search {
        url: String,
        what: String,
        base: String,
        detail: String,
    },
    /// The server sent something this exporter cannot interpret (exit 1).
    #[error("unexpected answer from {url}: {detail}")]
    Protocol { url: String, detail: String },
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
}

fn describe_attempts(attempts: &[Attempt]) -> String {
    match attempts {
        [] => "no domain controller to connect to (ad.ldap.server.addresses is empty)".into(),
        [one] => format!("could not connect to the domain controller {one}"),
        many => {
            let mut s = format!(
                "could not connect to any of the {} domain controllers in ad.ldap.server.addresses:",
                many.len()
            );
            for a in many {
                s.push_str("\n  - ");
                s.push_str(&a.to_string());
            }
            s
        }
    }
}

impl AdError {
    /// True when the user's input is at fault (exit 2) rather than the server or the network.
    pub fn is_invalid_input(&self) -> bool {
        match self {
            AdError::Config { .. } | AdError::InputFile { .. } => true,
            AdError::Snapshot(e) => e.is_invalid_input(),
            _ => false,
        }
    }
}
