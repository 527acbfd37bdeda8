//! TOKEN_EXPIRING (precautions, "Expiration date of an access token"): Directory Sync and
//! replay fail once the IIJ ID access token has expired. An error when its JWT `exp` is at
//! or before the plan's `as_of`, a warning within `dirsnap.profile.token_warning_days`
//! (default 14) after it.

use crate::findings;
use crate::inputs::Inputs;
use crate::plan_builder::PlanBuilder;
use crate::profile::Profile;
use chrono::{DateTime, Utc};

pub(crate) fn check(plan: &mut PlanBuilder, inputs: &Inputs<'_>, expires: DateTime<Utc>) {
    let warning_days = inputs
        .instances
        .first()
        .and_then(|i| Profile::from_config("", &i.config.dirsnap.profile).ok())
        .map_or(14, |(profile, _)| profile.token_warning_days);
    let left = expires - inputs.as_of;
    let finding = if left <= chrono::Duration::zero() {
        findings::token_expired(expires, inputs.as_of)
    } else if left <= chrono::Duration::days(warning_days) {
        findings::token_expiring(expires, left.num_days(), inputs.as_of)
    } else {
        return;
    };
    plan.add_finding(finding, Vec::new());
}
