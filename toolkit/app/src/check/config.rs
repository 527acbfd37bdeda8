//! The configuration checks: config.yml and secret.yml load, and what each filter selects.

use super::{Recorder, Status};
use dirsnap_config::{DsConfig, Located, Secret, SecretSource};

pub(super) fn secret_line<'a>(
    report: &mut Recorder<'_>,
    id: &str,
    what: &str,
    secret: Option<&'a (Secret, SecretSource)>,
    fix: &str,
) -> Option<&'a Secret> {
    match secret {
        Some((s, source)) => {
            report.add(id, Status::Pass, format!("{what} found ({source})"));
            Some(s)
        }
        None => {
            report.fail(id, format!("no {what}"), fix);
            None
        }
    }
}

pub(super) fn at(f: &Located<String>) -> String {
    format!("{} (line {}, column {})", f.key, f.line, f.column)
}

/// The four filters parsed when the config loaded (an unparsable one stops there with its
/// position); this shows what each selects, as sent.
pub(super) fn check_filters(config: &DsConfig, report: &mut Recorder<'_>) {
    match dirsnap_ad::effective_filters(config) {
        Ok(eff) => {
            for (key, located, sent, what) in [
                ("user", &config.ad.user_filter, &eff.user, "users"),
                ("group", &config.ad.group_filter, &eff.group, "groups"),
            ] {
                let id = format!("ad.ldap.filter.{key}");
                let text = match located {
                    Some(f) if !f.value.trim().is_empty() => {
                        format!("LDAP filter {} parses; sent as {sent}", at(f))
                    }
                    _ => format!(
                        "LDAP filter ad.ldap.filter.{key} not set: every object of the {what} \
                         class under the base DN is selected ({sent})"
                    ),
                };
                report.add(id, Status::Pass, text);
            }
        }
        Err(e) => {
            report.fail(
                "ad.ldap.filter",
                format!("{e}"),
                "correct the filter at the position shown (RFC 4515 syntax; outer parentheses \
                 are optional)",
            );
            report.unusable();
        }
    }
    for (key, located, what) in [
        ("user", &config.iid.user_filter, "user"),
        ("group", &config.iid.group_filter, "group"),
    ] {
        let id = format!("iid.scim.filter.{key}");
        let text = match located {
            Some(f) => format!("SCIM filter {} parses: {}", at(f), f.value),
            None => format!(
                "SCIM filter iid.scim.filter.{key} not set: every IIJ ID {what} is this \
                 instance's to manage (with several instances, each needs one)"
            ),
        };
        report.add(id, Status::Pass, text);
    }
}
