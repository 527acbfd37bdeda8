//! Checks that add findings without planning actions: what differs between Directory Sync's
//! cache and the live tenant ([`normal_mode`]), objects whose DN changed ([`history`]), the
//! access token's expiry ([`token`]), the config.yml settings dirsnap does not model
//! ([`config`]), what the inputs say about the run ([`inputs`]) and the users pending
//! deletion the live listing cannot show ([`pending`]).

pub(crate) mod config;
pub(crate) mod history;
pub(crate) mod inputs;
pub(crate) mod normal_mode;
pub(crate) mod pending;
pub(crate) mod token;
