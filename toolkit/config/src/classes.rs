//! Which AD objects are users and groups at all: the object-class filter `export ad` ANDs
//! with `ad.ldap.filter.user` / `.group` (docs/iij-assumptions.md, AD rows). One place, so the
//! exporter and the engine (which compares a config's filters with a snapshot's) agree.

use crate::DsConfig;

/// People with the `user` class (computer accounts are `user` too, but not `person`;
/// contacts are `person` but not `user`).
pub const DEFAULT_USER_CLASS: &str = "(&(objectCategory=person)(objectClass=user))";
/// Which objects are groups.
pub const DEFAULT_GROUP_CLASS: &str = "(objectClass=group)";
/// Profile keys (`dirsnap.profile.*`) that override the class filters.
pub const PROFILE_USER_CLASS: &str = "ad_user_class_filter";
pub const PROFILE_GROUP_CLASS: &str = "ad_group_class_filter";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectClass {
    User,
    Group,
}

impl DsConfig {
    /// The class filter text for users or groups: the profile's override, else the default.
    /// `Err` names what the profile key holds instead of a string.
    pub fn class_filter(&self, class: ObjectClass) -> Result<String, String> {
        let (key, default) = match class {
            ObjectClass::User => (PROFILE_USER_CLASS, DEFAULT_USER_CLASS),
            ObjectClass::Group => (PROFILE_GROUP_CLASS, DEFAULT_GROUP_CLASS),
        };
        let mut setting = crate::profile::ProfileSettings::default();
        if let Some(value) = self.dirsnap.profile.get(key) {
            setting
                .set(key, value)
                .map_err(|e| format!("expected {}, found {}", e.expected, e.found))?;
        }
        let text = match class {
            ObjectClass::User => setting.ad_user_class_filter,
            ObjectClass::Group => setting.ad_group_class_filter,
        };
        Ok(text.unwrap_or_else(|| default.to_string()))
    }
}
