//! Filter languages that dirsnap needs to reproduce what IIJ ID Directory Sync does.
//!
//! * [`scim`]: SCIM 2.0 filters (RFC 7644 §3.4.2.2) and PATCH paths (RFC 7644 §3.5.2),
//!   evaluated against SCIM resources given as [`serde_json::Value`]. Used to select
//!   IIJ ID Service users and groups the way the tenant's SCIM endpoint would.
//! * [`ldap`]: LDAP search filters (RFC 4515), evaluated with RFC 4511 three-valued
//!   logic against entries of an Active Directory snapshot. Used to reproduce Directory
//!   Sync's AD-side selection (`memberOf:1.2.840.113556.1.4.1941:=...`, `!(cn=*)`, ...).
//!
//! Both parsers are total: hostile input yields an error with a byte position, never a
//! panic, and nesting is capped at [`MAX_DEPTH`] levels so recursion stays bounded.
//!
//! ```
//! use dirsnap_filter::{ldap, scim};
//!
//! let f = scim::parse(r#"userName eq "bjensen" and not (title pr)"#).unwrap();
//! let user = serde_json::json!({"userName": "BJensen"});
//! assert!(f.matches(&user, &scim::DefaultSchema));
//!
//! let l = ldap::parse("(&(objectClass=user)(cn=a*))").unwrap();
//! assert_eq!(l.to_string(), "(&(objectClass=user)(cn=a*))");
//! ```

pub mod ldap;
pub mod scim;

/// Maximum nesting depth (parentheses, `not`, `!`, `[...]`) accepted by both parsers.
///
/// Deeper input is rejected with an error rather than risking stack exhaustion in the
/// recursive parser, printer and evaluator.
pub const MAX_DEPTH: usize = 256;

pub use ldap::{LdapEntry, LdapFilter, LdapFilterError};
pub use scim::{
    AttrPath, AttributeSchema, DefaultSchema, Filter as ScimFilter, PatchPath, ScimFilterError,
};
