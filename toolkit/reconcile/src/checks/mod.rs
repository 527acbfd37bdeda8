//! Checks that add findings without planning actions: what differs between Directory Sync's
//! cache and the live tenant ([`normal_mode`]), objects whose DN changed ([`history`]) and
//! the access token's expiry ([`token`]).

pub(crate) mod history;
pub(crate) mod normal_mode;
pub(crate) mod token;
