//! Column pruning for the snapshot reader: which `raw` JSON columns and which typed AD columns
//! the engine will read for a config and an AD snapshot, so callers skip decoding the rest
//! (`raw` is most of a snapshot's bytes). Not a Directory Sync rule: it only has to agree
//! with what the rules read (the mapping's bindings, filters evaluated on rows).

use crate::error::ReconcileError;
use crate::mapping::Mapper;
use dirsnap_config::DsConfig;
use dirsnap_model::Filters;

/// Typed columns of an IIJ ID snapshot (users and groups) no rule reads: `email` repeats the
/// primary of `emails`, and neither the creation time nor the ETag goes into a comparison or
/// a state digest (`dirsnap_plan::digest`). Callers skip them unless they read `raw`, whose
/// readers (filters, unmapped attributes) may look at anything.
pub const IID_COLUMNS_NEVER_READ: &[&str] = &["email", "meta_created", "meta_version"];

/// Which `raw` columns the engine needs for this config and AD snapshot, so callers read
/// with `ReadOptions { skip_raw }` whenever they can (raw is most of a snapshot's bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawNeeds {
    pub ad: bool,
    pub iid: bool,
    /// AD user columns the engine will not read (empty when `ad`: filters or raw-bound
    /// attributes may read any column).
    pub ad_unused: Vec<&'static str>,
}

/// The [`RawNeeds`] of an instance with `config` whose AD snapshot was exported with
/// `export`.
pub fn raw_needs(config: &DsConfig, export: &Filters) -> Result<RawNeeds, ReconcileError> {
    let mapper = Mapper::new(config)?;
    // Whether the config's filter is not the one the snapshot was exported with, so it is
    // evaluated on the rows (and may read any attribute).
    let differs =
        |configured: &Option<dirsnap_config::Located<String>>, exported: &Option<String>| -> bool {
            match (configured, exported) {
                (None, _) => false,
                (Some(configured), Some(exported)) => match (
                    dirsnap_filter::ldap::parse(&configured.value),
                    dirsnap_filter::ldap::parse(exported),
                ) {
                    (Ok(configured), Ok(exported)) => configured != exported,
                    _ => true,
                },
                (Some(_), None) => true,
            }
        };
    let typed_group_name = ["cn", "displayname", "samaccountname", "mail"].contains(
        &mapper
            .profile
            .group_name_attribute
            .to_ascii_lowercase()
            .as_str(),
    );
    let group_attributes = crate::groups::attributes::GroupAttributes::of(config);
    let ad = mapper.needs_ad_raw
        || group_attributes.needs_ad_raw()
        || differs(&config.ad.user_filter, &export.user)
        || differs(&config.ad.group_filter, &export.group)
        || !typed_group_name;
    Ok(RawNeeds {
        ad,
        ad_unused: if ad {
            Vec::new()
        } else {
            mapper.unused_ad_columns()
        },
        iid: mapper.needs_iid_raw
            || group_attributes.needs_iid_raw()
            || config.iid.user_filter.is_some()
            || config.iid.group_filter.is_some(),
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn raw_needs_lists_the_ad_columns_nothing_reads() {
        let config = |bind: &str| {
            let yaml = format!(
                "ad:\n  ldap:\n    filter:\n      user: '(objectClass=user)'\n      group: '(objectClass=group)'\niid:\n  scim:\n    attribute:\n      user:\n        ad_bind:\n          userName: userPrincipalName\n{bind}"
            );
            dirsnap_config::parse_config(std::path::Path::new("t.yml"), &yaml).unwrap()
        };
        let exported = dirsnap_model::Filters {
            user: Some("(objectClass=user)".into()),
            group: Some("(objectClass=group)".into()),
        };
        let plain = super::raw_needs(&config(""), &exported).unwrap();
        assert!(!plain.ad);
        for col in [
            "when_created",
            "when_changed",
            "usn_changed",
            "expired",
            "object_sid",
        ] {
            assert!(
                plain.ad_unused.contains(&col),
                "{col}: {:?}",
                plain.ad_unused
            );
        }
        assert!(plain.ad_unused.contains(&"telephone_number"));
        // A bound attribute is read, so its column is decoded.
        let bound = super::raw_needs(
            &config(
                "          externalId: objectSid\n          phoneNumbers.value: telephoneNumber\n",
            ),
            &exported,
        )
        .unwrap();
        assert!(
            !bound.ad_unused.contains(&"object_sid"),
            "{:?}",
            bound.ad_unused
        );
        assert!(
            !bound.ad_unused.contains(&"telephone_number"),
            "{:?}",
            bound.ad_unused
        );
        assert!(bound.ad_unused.contains(&"mobile"));
        // A filter evaluated on the rows may read any attribute: nothing is skipped.
        let narrower = dirsnap_model::Filters {
            user: Some("(objectClass=person)".into()),
            ..exported
        };
        let evaluated = super::raw_needs(&config(""), &narrower).unwrap();
        assert!(evaluated.ad);
        assert!(evaluated.ad_unused.is_empty(), "{:?}", evaluated.ad_unused);
    }
}
