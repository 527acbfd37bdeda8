//! The access token's expiry, from its JWT `exp` claim: Directory Sync stops syncing when it
//! passes, so it is worth a warning well before.

use super::iid::TOKEN_CONSOLE;
use super::{CheckOptions, Recorder, Status, plural};
use chrono::{DateTime, Utc};
use dirsnap_config::Secret;
use dirsnap_scim::{TokenCheck, check_token};

pub(super) fn check_expiry(options: &CheckOptions, token: &Secret, report: &mut Recorder<'_>) {
    let now = Utc::now();
    let when = |t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    match check_token(token, now, options.warn_days) {
        TokenCheck::Valid { expires } => report.add(
            "iid.token.expiry",
            Status::Pass,
            format!(
                "access token expires {} (in {})",
                when(expires),
                plural((expires - now).num_days(), "day")
            ),
        ),
        TokenCheck::ExpiresSoon { expires } => report.warn(
            "iid.token.expiry",
            format!(
                "access token expires {} (in {} h, within {})",
                when(expires),
                (expires - now).num_hours(),
                plural(options.warn_days, "day")
            ),
            format!(
                "issue a new token in {TOKEN_CONSOLE} before then, with the four scopes, and \
                 update secret.yml; Directory Sync stops syncing when it expires"
            ),
        ),
        TokenCheck::Expired { expired } => report.fail(
            "iid.token.expiry",
            format!("access token expired {} (its exp claim)", when(expired)),
            format!(
                "issue a new token in {TOKEN_CONSOLE} with escim_read_users, escim_write_users, \
                 escim_read_groups, escim_write_groups and update secret.yml"
            ),
        ),
        TokenCheck::Opaque => report.warn(
            "iid.token.expiry",
            "access token expiry unknown: the token is not a JWT, so it carries no exp claim",
            format!("look up its expiration date in {TOKEN_CONSOLE}"),
        ),
    }
}
