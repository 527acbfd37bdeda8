//! The workflows below the command line: what `dirsnap reconcile`, `audit`, `simulate`,
//! `replay --verify` and `check` do, without clap, terminals or exit codes. The `dirsnap`
//! binary parses arguments, draws progress from [`Progress`], renders the results and maps
//! an [`AppError`] to an exit code; everything between is here, for it and for any other
//! front end.
//!
//! * [`inputs`]: the one input loader. Snapshots and config — named on the command line, or
//!   recorded in a plan directory — opened, kind-checked, digested and read the way the
//!   engine wants them, once; [`inputs::LoadedInputs::view`] lends them to the engine.
//! * [`reconcile`]: load, compute the plan, write the plan directory.
//! * [`audit`]: the recovery-mode and normal-mode plans, the audit and its report files.
//! * [`simulate`]: reconcile, replay onto an in-process mock IIJ ID, reconcile again.
//! * [`verify`]: after a replay, re-read what the plan touched and reconcile its own inputs
//!   again over it: what is still pending.
//! * [`check`]: the pre-flight probes of config, domain controllers and IIJ ID, as data.

pub mod audit;
pub mod check;
mod error;
pub mod inputs;
mod progress;
pub mod reconcile;
pub mod simulate;
pub mod verify;

pub use error::AppError;
pub use progress::Progress;

/// What a config.yml says that dirsnap does not reflect, one line each: the Directory Sync
/// settings it does not model and the keys it does not know (with the one they likely
/// misspell). The plan commands report them as CONFIG_NOT_MODELLED findings; the others print
/// these lines, so no command ignores them silently.
pub fn config_notices(config: &dirsnap_config::DsConfig) -> Vec<String> {
    let file = config.path.display();
    config
        .unmodelled_keys
        .iter()
        .map(|k| format!("{file}:{}: {}: {}", k.line, k.key, k.effect))
        .chain(
            config
                .unknown_keys
                .iter()
                .map(|k| format!("{file}:{}: {}: {}", k.line, k.key, k.effect())),
        )
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    #[test]
    fn config_notices_name_every_unreflected_key_with_its_line() {
        let config = dirsnap_config::parse_config(
            std::path::Path::new("config.yml"),
            "ad:\n  ldapp: {base_dn: 'DC=x'}\niid:\n  scim:\n    attribute:\n      user:\n        exclude: [ims]\nlog:\n  loglevel: info\n",
        )
        .unwrap();
        let notices = super::config_notices(&config);
        assert_eq!(notices.len(), 2, "{notices:?}");
        assert!(notices[0].starts_with("config.yml:7: iid.scim.attribute.user.exclude: "));
        assert!(notices[1].starts_with("config.yml:2: ad.ldapp: "));
        assert!(
            notices[1].contains("did you mean ad.ldap?"),
            "{}",
            notices[1]
        );
    }
}
