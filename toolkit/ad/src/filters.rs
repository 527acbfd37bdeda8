//! The LDAP filters sent to the server: Directory Sync's `ad.ldap.filter.user` / `.group`
//! (written with or without outer parentheses) AND-ed with the object class. Every filter is
//! built as a parsed [`LdapFilter`] and printed in canonical form, so any value in it is
//! escaped per RFC 4515 by construction.

use crate::error::AdError;
use dirsnap_config::{DsConfig, Located, ObjectClass};
use dirsnap_filter::ldap::{self, LdapFilter};

pub use dirsnap_config::{
    DEFAULT_GROUP_CLASS, DEFAULT_USER_CLASS, PROFILE_GROUP_CLASS, PROFILE_USER_CLASS,
};

/// Tombstones lose `objectCategory` and most other attributes, so they are selected by
/// `isDeleted` and `objectClass` alone, and the configured filters are not applied to them.
pub const DELETED_USERS: &str = "(&(isDeleted=TRUE)(objectClass=user)(!(objectClass=computer)))";
pub const DELETED_GROUPS: &str = "(&(isDeleted=TRUE)(objectClass=group))";

/// The filters of one export, in the canonical text sent to the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EffectiveFilters {
    pub user: String,
    pub group: String,
}

/// Combines the object-class filter with the configured one: `(&<class parts…><config>)`.
pub fn and_with_class(class: &LdapFilter, configured: Option<&LdapFilter>) -> LdapFilter {
    let Some(configured) = configured else {
        return class.clone();
    };
    let mut parts = match class {
        LdapFilter::And(items) => items.clone(),
        other => vec![other.clone()],
    };
    parts.push(configured.clone());
    LdapFilter::And(parts)
}

fn parse_located(
    cfg: &DsConfig,
    f: Option<&Located<String>>,
) -> Result<Option<LdapFilter>, AdError> {
    let Some(f) = f else { return Ok(None) };
    if f.value.trim().is_empty() {
        return Ok(None);
    }
    ldap::parse(&f.value)
        .map(Some)
        .map_err(|e| AdError::Config {
            file: format!("{}:{}:{}", cfg.path.display(), f.line, f.column),
            key: f.key.clone(),
            message: format!("not a valid LDAP filter: {e} (in {:?})", f.value),
        })
}

fn class_filter(cfg: &DsConfig, class: ObjectClass) -> Result<LdapFilter, AdError> {
    let key = match class {
        ObjectClass::User => PROFILE_USER_CLASS,
        ObjectClass::Group => PROFILE_GROUP_CLASS,
    };
    let bad = |message: String| AdError::Config {
        file: cfg.path.display().to_string(),
        key: format!("dirsnap.profile.{key}"),
        message,
    };
    let text = cfg.class_filter(class).map_err(bad)?;
    ldap::parse(&text).map_err(|e| bad(format!("not a valid LDAP filter: {e} (in {text:?})")))
}

/// The user and group filters for `cfg`.
pub fn effective(cfg: &DsConfig) -> Result<EffectiveFilters, AdError> {
    let user_class = class_filter(cfg, ObjectClass::User)?;
    let group_class = class_filter(cfg, ObjectClass::Group)?;
    let user = parse_located(cfg, cfg.ad.user_filter.as_ref())?;
    let group = parse_located(cfg, cfg.ad.group_filter.as_ref())?;
    Ok(EffectiveFilters {
        user: and_with_class(&user_class, user.as_ref()).to_string(),
        group: and_with_class(&group_class, group.as_ref()).to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn cfg(yaml: &str) -> DsConfig {
        dirsnap_config::parse_config(Path::new("config.yml"), yaml).unwrap()
    }

    #[test]
    fn bare_and_parenthesized_filters_give_the_same_query() {
        let a = effective(&cfg(
            "ad: { ldap: { filter: { user: 'cn=Babs Jensen, Jr.' } } }",
        ))
        .unwrap();
        let b = effective(&cfg(
            "ad: { ldap: { filter: { user: '(cn=Babs Jensen, Jr.)' } } }",
        ))
        .unwrap();
        assert_eq!(a, b);
        assert_eq!(
            a.user,
            "(&(objectCategory=person)(objectClass=user)(cn=Babs Jensen, Jr.))"
        );
        assert_eq!(a.group, "(objectClass=group)");
    }

    #[test]
    fn precautions_example_selects_no_group() {
        let f = effective(&cfg("ad: { ldap: { filter: { group: '!(cn=*)' } } }")).unwrap();
        assert_eq!(f.group, "(&(objectClass=group)(!(cn=*)))");
    }

    #[test]
    fn in_chain_filter_is_kept() {
        let f = effective(&cfg(
            "ad: { ldap: { filter: { user: 'memberOf:1.2.840.113556.1.4.1941:=CN=IID_IDaaS user group,OU=IID_Groups,DC=example,DC=local' } } }",
        ))
        .unwrap();
        assert_eq!(
            f.user,
            "(&(objectCategory=person)(objectClass=user)(memberOf:1.2.840.113556.1.4.1941:=CN=IID_IDaaS user group,OU=IID_Groups,DC=example,DC=local))"
        );
    }

    #[test]
    fn values_put_into_filters_are_escaped() {
        let class = ldap::parse(DEFAULT_USER_CLASS).unwrap();
        let mine = LdapFilter::Equality {
            attr: "cn".into(),
            value: br"R&D (Tokyo)*\".to_vec(),
        };
        assert_eq!(
            and_with_class(&class, Some(&mine)).to_string(),
            r"(&(objectCategory=person)(objectClass=user)(cn=R&D \28Tokyo\29\2a\5c))"
        );
    }

    #[test]
    fn profile_overrides_the_class_and_is_validated() {
        let f = effective(&cfg(
            "dirsnap: { profile: { ad_user_class_filter: 'objectClass=inetOrgPerson' } }",
        ))
        .unwrap();
        assert_eq!(f.user, "(objectClass=inetOrgPerson)");
        let e = effective(&cfg(
            "dirsnap: { profile: { ad_group_class_filter: '(cn=' } }",
        ))
        .unwrap_err();
        assert!(
            e.to_string()
                .contains("dirsnap.profile.ad_group_class_filter")
        );
        assert!(e.is_invalid_input());
    }
}
