//! Desired state: what Directory Sync would write to IIJ ID for an AD object, from
//! `iid.scim.attribute.user.{default, ad_bind, convert}` and the profile.

use crate::error::ReconcileError;
use crate::profile::{ActiveRule, ConvertReplace, Profile, is_anchor_attribute};
use chrono::{DateTime, Utc};
use dirsnap_config::DsConfig;
use dirsnap_model::{AdGroup, AdUserView, IidUserView};
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::cell::OnceCell;

/// An IIJ ID user attribute the engine manages. The typed ones are compared with the IID
/// snapshot's typed columns; `Extra` ones with the verbatim JSON (`raw`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attr {
    UserName,
    ExternalId,
    DownstreamId,
    DisplayName,
    FamilyName,
    GivenName,
    Emails,
    Title,
    Department,
    PreferredLanguage,
    Timezone,
    /// Any other attribute: its SCIM path, and for a multi-valued complex attribute the
    /// sub-attribute the bound value goes to.
    Extra {
        path: String,
        sub: Option<String>,
    },
}

/// Multi-valued complex attributes of the SCIM core User (RFC 7643 §4.1.2).
const MULTI_VALUED: &[&str] = &[
    "emails",
    "phoneNumbers",
    "ims",
    "photos",
    "addresses",
    "entitlements",
    "roles",
    "x509Certificates",
];

impl Attr {
    fn from_target(target: &str, profile: &Profile) -> Attr {
        match target {
            "userName" => Attr::UserName,
            "externalId" => Attr::ExternalId,
            "downstreamId" => Attr::DownstreamId,
            "displayName" => Attr::DisplayName,
            "name.familyName" => Attr::FamilyName,
            "name.givenName" => Attr::GivenName,
            "emails" | "emails.value" => Attr::Emails,
            "title" => Attr::Title,
            "department" => Attr::Department,
            "preferredLanguage" => Attr::PreferredLanguage,
            "timezone" => Attr::Timezone,
            other => {
                if let Some((top, sub)) = other.split_once('.')
                    && MULTI_VALUED.contains(&top)
                {
                    return Attr::Extra {
                        path: top.to_string(),
                        sub: Some(sub.to_string()),
                    };
                }
                Attr::Extra {
                    path: profile.scim_path(other),
                    sub: None,
                }
            }
        }
    }

    /// The SCIM PATCH path of this attribute.
    pub fn scim_path(&self, profile: &Profile) -> String {
        match self {
            Attr::UserName => "userName".into(),
            Attr::ExternalId => "externalId".into(),
            Attr::DownstreamId => profile.application_linking_id.clone(),
            Attr::DisplayName => "displayName".into(),
            Attr::FamilyName => "name.familyName".into(),
            Attr::GivenName => "name.givenName".into(),
            Attr::Emails => "emails".into(),
            Attr::Title => "title".into(),
            Attr::Department => profile.scim_path("department"),
            Attr::PreferredLanguage => "preferredLanguage".into(),
            Attr::Timezone => "timezone".into(),
            Attr::Extra { path, .. } => path.clone(),
        }
    }

    /// The name people and config.yml use.
    pub fn label(&self) -> String {
        match self {
            Attr::UserName => "userName".into(),
            Attr::ExternalId => "externalId".into(),
            Attr::DownstreamId => "downstreamId".into(),
            Attr::DisplayName => "displayName".into(),
            Attr::FamilyName => "name.familyName".into(),
            Attr::GivenName => "name.givenName".into(),
            Attr::Emails => "emails".into(),
            Attr::Title => "title".into(),
            Attr::Department => "department".into(),
            Attr::PreferredLanguage => "preferredLanguage".into(),
            Attr::Timezone => "timezone".into(),
            Attr::Extra { path, sub } => match sub {
                Some(s) => format!("{path}.{s}"),
                None => path.clone(),
            },
        }
    }
}

/// Where a bound value is read from on an AD user.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Source {
    ObjectGuid,
    ConsistencyGuid,
    ObjectSid,
    Dn,
    Sam,
    Upn,
    Mail,
    GivenName,
    Sn,
    DisplayName,
    Department,
    Title,
    Telephone,
    Mobile,
    Raw(String),
}

impl Source {
    fn parse(name: &str) -> Source {
        let n = name.to_ascii_lowercase();
        match n.as_str() {
            "objectguid" => Source::ObjectGuid,
            "ms-ds-consistencyguid" => Source::ConsistencyGuid,
            "objectsid" => Source::ObjectSid,
            "distinguishedname" | "dn" => Source::Dn,
            "samaccountname" => Source::Sam,
            "userprincipalname" => Source::Upn,
            "mail" => Source::Mail,
            "givenname" => Source::GivenName,
            "sn" => Source::Sn,
            "displayname" => Source::DisplayName,
            "department" => Source::Department,
            "title" => Source::Title,
            "telephonenumber" => Source::Telephone,
            "mobile" => Source::Mobile,
            _ => Source::Raw(name.to_string()),
        }
    }
}

#[derive(Debug, Clone)]
struct Bind {
    attr: Attr,
    target: String,
    sources: Vec<(String, Source)>,
}

#[derive(Debug, Clone)]
struct Convert {
    regex: regex::Regex,
    replacement: String,
}

/// The compiled mapping of one instance.
#[derive(Debug, Clone)]
pub struct Mapper {
    pub profile: Profile,
    binds: Vec<Bind>,
    /// Constant values from `default`, per attribute (emails: a template merged into each
    /// bound address).
    defaults: Vec<(Attr, Value)>,
    converts: Vec<(String, Convert)>,
    /// Managed attributes in a fixed order: the ones compared and written.
    pub managed: Vec<Attr>,
    /// Whether any managed attribute needs the IID snapshot's `raw` JSON.
    pub needs_iid_raw: bool,
    /// Whether any bound AD attribute needs the AD snapshot's `raw` JSON.
    pub needs_ad_raw: bool,
    pub notes: Vec<String>,
}

/// An AD user's values as Directory Sync would send them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Desired {
    pub user_name: Option<String>,
    pub external_id: Option<String>,
    pub linking_id: Option<String>,
    /// The linking ID came from an anchor (objectGUID / mS-DS-ConsistencyGuid): a
    /// different value means a different AD object.
    pub linking_from_anchor: bool,
    pub external_from_anchor: bool,
    pub active: bool,
    /// Values of every managed attribute, in `Mapper::managed` order (userName etc.
    /// included), `Value::Null` when absent.
    pub values: Vec<Value>,
}

/// The keys the matcher needs, kept for every in-scope AD user.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DesiredKeys<'u> {
    pub user_name: Option<Cow<'u, str>>,
    pub external_id: Option<Cow<'u, str>>,
    pub linking_id: Option<Cow<'u, str>>,
    pub linking_from_anchor: bool,
    pub external_from_anchor: bool,
}

impl Mapper {
    pub fn new(config: &DsConfig) -> Result<Mapper, ReconcileError> {
        let file = config.path.display().to_string();
        let (profile, mut notes) = Profile::from_config(&file, &config.dirsnap.profile)?;
        let mut binds: Vec<Bind> = Vec::new();
        for b in &config.iid.ad_bind {
            let target = b.target.as_str();
            if target == "active" || target.ends_with(".active") {
                notes.push(format!(
                    "{file}:{}: iid.scim.attribute.user.ad_bind.{target}: active is derived from userAccountControl/accountExpires (profile active_from); the binding is not used",
                    b.line
                ));
                continue;
            }
            if b.sources.is_empty() {
                continue;
            }
            binds.push(Bind {
                attr: Attr::from_target(target, &profile),
                target: target.to_string(),
                sources: b
                    .sources
                    .iter()
                    .map(|s| (s.clone(), Source::parse(s)))
                    .collect(),
            });
        }
        for (target, sources) in &profile.default_ad_bind {
            let attr = Attr::from_target(target, &profile);
            if binds.iter().any(|b| b.attr == attr) {
                continue;
            }
            binds.push(Bind {
                attr,
                target: target.clone(),
                sources: sources
                    .iter()
                    .map(|s| (s.clone(), Source::parse(s)))
                    .collect(),
            });
        }
        let mut defaults = Vec::new();
        for (name, value) in &config.iid.user_defaults {
            if value.is_null() {
                continue;
            }
            defaults.push((Attr::from_target(name, &profile), value.clone()));
        }
        let mut converts = Vec::new();
        for c in &config.iid.convert {
            let regex = regex::RegexBuilder::new(&c.pattern)
                // Ruby's ^ and $ always match at line boundaries.
                .multi_line(true)
                .build()
                .map_err(|e| ReconcileError::Config {
                    file: file.clone(),
                    line: c.line,
                    key: format!("iid.scim.attribute.user.convert.{}", c.target),
                    message: format!("invalid regular expression: {e}"),
                })?;
            if !binds.iter().any(|b| b.target == c.target) {
                notes.push(format!(
                    "{file}:{}: iid.scim.attribute.user.convert.{}: no ad_bind gives {} a value, so this rule rewrites nothing",
                    c.line, c.target, c.target
                ));
            }
            converts.push((
                c.target.clone(),
                Convert {
                    regex,
                    replacement: ruby_replacement(&c.replacement),
                },
            ));
        }
        let mut managed: Vec<Attr> = Vec::new();
        for a in binds
            .iter()
            .map(|b| &b.attr)
            .chain(defaults.iter().map(|(a, _)| a))
        {
            if !managed.contains(a) {
                managed.push(a.clone());
            }
        }
        // A fixed order keeps plans deterministic whatever the config's key order.
        managed.sort_by_key(|a| (attr_rank(a), a.label()));
        let needs_iid_raw = managed.iter().any(|a| matches!(a, Attr::Extra { .. }));
        let needs_ad_raw = binds
            .iter()
            .any(|b| b.sources.iter().any(|(_, s)| matches!(s, Source::Raw(_))));
        Ok(Mapper {
            profile,
            binds,
            defaults,
            converts,
            managed,
            needs_iid_raw,
            needs_ad_raw,
            notes,
        })
    }

    /// AD user columns of a snapshot this mapping never reads: attributes bound to nothing,
    /// and the change-tracking columns only filter evaluation looks at. A reader may leave
    /// them undecoded unless filters are evaluated on the rows (then every column counts).
    pub fn unused_ad_columns(&self) -> Vec<&'static str> {
        let bound = |s: &Source| {
            self.binds
                .iter()
                .any(|b| b.sources.iter().any(|(_, x)| x == s))
        };
        let mut out = vec!["when_created", "when_changed", "usn_changed", "expired"];
        for (col, src) in [
            ("object_sid", Source::ObjectSid),
            ("telephone_number", Source::Telephone),
            ("mobile", Source::Mobile),
        ] {
            if !bound(&src) {
                out.push(col);
            }
        }
        out
    }

    pub fn binds_target(&self, attr: &Attr) -> bool {
        self.bind_of(attr).is_some()
    }

    /// The `ad_bind` entry for a target attribute.
    fn bind_of(&self, attr: &Attr) -> Option<&Bind> {
        self.binds.iter().find(|b| &b.attr == attr)
    }

    /// The `default` value for a target attribute.
    fn default_of(&self, attr: &Attr) -> Option<&Value> {
        self.defaults
            .iter()
            .find(|(a, _)| a == attr)
            .map(|(_, v)| v)
    }

    /// The AD attributes bound to `attr`, in fallback order.
    pub fn sources_of(&self, attr: &Attr) -> Vec<String> {
        self.bind_of(attr)
            .map(|b| b.sources.iter().map(|(n, _)| n.clone()).collect())
            .unwrap_or_default()
    }

    /// The value of a binding for an AD user: the first non-empty source, converted; whether
    /// it came from an anchor attribute. Typed attributes without a `convert` rule are
    /// borrowed from the row.
    fn bound_str<'u>(
        &self,
        bind: &Bind,
        user: AdUserView<'u>,
        raw: &RawAttrs<'_>,
    ) -> Option<(Cow<'u, str>, bool)> {
        let typed = |v: Option<&'u str>| v.map(|s| (Cow::Borrowed(s), false));
        for (_, src) in &bind.sources {
            let v: Option<(Cow<'u, str>, bool)> = match src {
                Source::ObjectGuid => Some((
                    Cow::Owned(self.profile.encode_anchor(user.object_guid().as_bytes())),
                    true,
                )),
                Source::ConsistencyGuid => user
                    .consistency_guid()
                    .filter(|b| !b.is_empty())
                    .map(|b| (Cow::Owned(self.profile.encode_anchor(b)), true)),
                Source::ObjectSid => user.object_sid().map(|s| (Cow::Borrowed(s), true)),
                Source::Dn => Some((Cow::Borrowed(user.dn()), false)),
                Source::Sam => typed(user.sam_account_name()),
                Source::Upn => typed(user.user_principal_name()),
                Source::Mail => typed(user.mail()),
                Source::GivenName => typed(user.given_name()),
                Source::Sn => typed(user.sn()),
                Source::DisplayName => typed(user.display_name()),
                Source::Department => typed(user.department()),
                Source::Title => typed(user.title()),
                Source::Telephone => typed(user.telephone_number()),
                Source::Mobile => typed(user.mobile()),
                Source::Raw(name) => raw.first(name).map(|(s, binary)| {
                    if binary {
                        (
                            Cow::Owned(self.profile.encode_anchor(&s)),
                            is_anchor_attribute(name),
                        )
                    } else {
                        (
                            Cow::Owned(String::from_utf8_lossy(&s).into_owned()),
                            is_anchor_attribute(name),
                        )
                    }
                }),
            };
            if let Some((s, anchor)) = v
                && !s.is_empty()
            {
                return Some((self.convert(&bind.target, s), anchor));
            }
        }
        None
    }

    fn bound_value(
        &self,
        bind: &Bind,
        user: AdUserView<'_>,
        raw: &RawAttrs<'_>,
    ) -> Option<(String, bool)> {
        self.bound_str(bind, user, raw)
            .map(|(s, anchor)| (s.into_owned(), anchor))
    }

    fn convert<'u>(&self, target: &str, value: Cow<'u, str>) -> Cow<'u, str> {
        let mut value = value;
        for (t, c) in &self.converts {
            if t != target {
                continue;
            }
            value = Cow::Owned(
                match self.profile.convert_replace {
                    ConvertReplace::All => c.regex.replace_all(&value, c.replacement.as_str()),
                    ConvertReplace::First => c.regex.replace(&value, c.replacement.as_str()),
                }
                .into_owned(),
            );
        }
        value
    }

    /// The matcher's keys for an AD user (cheap: only three attributes, borrowed from the
    /// row where no conversion applies).
    pub fn keys<'u>(&self, user: AdUserView<'u>) -> DesiredKeys<'u> {
        let raw = RawAttrs::new(user.raw());
        let mut k = DesiredKeys::default();
        for b in &self.binds {
            match b.attr {
                Attr::UserName => {
                    k.user_name = self.bound_str(b, user, &raw).map(|(s, _)| s);
                }
                Attr::ExternalId => {
                    if let Some((s, anchor)) = self.bound_str(b, user, &raw) {
                        k.external_id = Some(s);
                        k.external_from_anchor = anchor;
                    }
                }
                Attr::DownstreamId => {
                    if let Some((s, anchor)) = self.bound_str(b, user, &raw) {
                        k.linking_id = Some(s);
                        k.linking_from_anchor = anchor;
                    }
                }
                _ => {}
            }
        }
        k
    }

    /// True when Directory Sync would send nothing for this AD user and its IIJ ID user:
    /// `active` and every managed attribute already equal, decided without building the
    /// [`Desired`] values. Conservative: false whenever it cannot tell cheaply, so the
    /// caller then compares in full ([`Self::desired`] and the attribute diff).
    pub fn unchanged(
        &self,
        user: AdUserView<'_>,
        b: IidUserView<'_>,
        as_of: DateTime<Utc>,
    ) -> bool {
        if self.active(user, as_of) != b.active() {
            return false;
        }
        let raw = RawAttrs::new(user.raw());
        for attr in &self.managed {
            let bound = self
                .bind_of(attr)
                .and_then(|x| self.bound_str(x, user, &raw));
            let default = self.default_of(attr);
            let same = match (attr, bound) {
                (Attr::Extra { .. }, _) => None,
                (Attr::Emails, Some((s, _))) => {
                    Some(b.emails().len() == 1 && b.emails().get(0) == Some(s.as_ref()))
                }
                (Attr::Emails, None) => {
                    let v = multi_value(None, "value", default);
                    self.same_as_current(attr, b, &v)
                }
                (_, Some((s, _))) => self.same_str(attr, b, Some(&s)),
                (_, None) => match default {
                    None | Some(Value::Null) => self.same_str(attr, b, None),
                    Some(Value::String(s)) => self.same_str(attr, b, Some(s)),
                    Some(_) => None,
                },
            };
            if same != Some(true) {
                return false;
            }
        }
        true
    }

    /// [`Self::same_as_current`] for a string value (`None` = absent), without a `Value`.
    fn same_str(&self, attr: &Attr, user: IidUserView<'_>, want: Option<&str>) -> Option<bool> {
        fn nonempty(s: Option<&str>) -> Option<&str> {
            s.filter(|s| !s.is_empty())
        }
        let have = match attr {
            Attr::UserName => Some(user.user_name()),
            Attr::ExternalId => user.external_id(),
            Attr::DownstreamId => user.downstream_id(),
            Attr::DisplayName => user.display_name(),
            Attr::FamilyName => user.family_name(),
            Attr::GivenName => user.given_name(),
            Attr::Title => user.title(),
            Attr::Department => user.department(),
            Attr::PreferredLanguage => user.preferred_language(),
            Attr::Timezone => user.timezone(),
            Attr::Emails => return Some(nonempty(want).is_none() && user.emails().is_empty()),
            Attr::Extra { .. } => return None,
        };
        Some(nonempty(want) == nonempty(have))
    }

    /// Everything Directory Sync would send for this AD user.
    pub fn desired(&self, user: AdUserView<'_>, as_of: DateTime<Utc>) -> Desired {
        let raw = RawAttrs::new(user.raw());
        let mut d = Desired {
            active: self.active(user, as_of),
            values: Vec::with_capacity(self.managed.len()),
            ..Desired::default()
        };
        for attr in &self.managed {
            let bound = self
                .bind_of(attr)
                .and_then(|b| self.bound_value(b, user, &raw));
            let default = self.default_of(attr);
            match attr {
                Attr::ExternalId => {
                    d.external_from_anchor = bound.as_ref().is_some_and(|(_, a)| *a);
                }
                Attr::DownstreamId => {
                    d.linking_from_anchor = bound.as_ref().is_some_and(|(_, a)| *a);
                }
                _ => {}
            }
            let value = match attr {
                Attr::Emails => multi_value(bound.map(|(s, _)| s), "value", default),
                Attr::Extra { sub: Some(sub), .. } => {
                    multi_value(bound.map(|(s, _)| s), sub, default)
                }
                _ => match bound {
                    Some((s, _)) => Value::String(s),
                    None => default.cloned().unwrap_or(Value::Null),
                },
            };
            match attr {
                Attr::UserName => d.user_name = value.as_str().map(str::to_string),
                Attr::ExternalId => d.external_id = value.as_str().map(str::to_string),
                Attr::DownstreamId => d.linking_id = value.as_str().map(str::to_string),
                _ => {}
            }
            d.values.push(value);
        }
        d
    }

    /// `active` as Directory Sync derives it (profile `active_from`).
    pub fn active(&self, user: AdUserView<'_>, as_of: DateTime<Utc>) -> bool {
        let enabled = match user.user_account_control() {
            Some(uac) => uac & dirsnap_model::UAC_ACCOUNTDISABLE == 0,
            None => user.enabled(),
        };
        match self.profile.active_from {
            ActiveRule::Uac => enabled,
            ActiveRule::UacAndAccountExpires => {
                enabled && user.account_expires().is_none_or(|t| t > as_of)
            }
        }
    }

    /// The current value of a managed attribute on an IIJ ID user, in the same shape as
    /// [`Desired::values`]. `None` when it cannot be known (`raw` not read).
    pub fn current(&self, attr: &Attr, user: IidUserView<'_>, raw: &LazyJson<'_>) -> Option<Value> {
        let s = |v: Option<&str>| v.map_or(Value::Null, |s| Value::String(s.to_owned()));
        Some(match attr {
            Attr::UserName => Value::String(user.user_name().to_owned()),
            Attr::ExternalId => s(user.external_id()),
            Attr::DownstreamId => s(user.downstream_id()),
            Attr::DisplayName => s(user.display_name()),
            Attr::FamilyName => s(user.family_name()),
            Attr::GivenName => s(user.given_name()),
            Attr::Emails => {
                if user.emails().is_empty() {
                    Value::Null
                } else {
                    Value::Array(
                        user.emails()
                            .iter()
                            .map(|e| Value::String(e.to_owned()))
                            .collect(),
                    )
                }
            }
            Attr::Title => s(user.title()),
            Attr::Department => s(user.department()),
            Attr::PreferredLanguage => s(user.preferred_language()),
            Attr::Timezone => s(user.timezone()),
            Attr::Extra { path, sub } => {
                let json = raw.get()?;
                let v = get_path(json, path).cloned().unwrap_or(Value::Null);
                match sub {
                    Some(sub) => sub_values(&v, sub),
                    None => empty_to_null(v),
                }
            }
        })
    }

    /// Whether `want` (a [`Desired::values`] entry) equals the user's current value, without
    /// building the current value; `None` when it cannot tell cheaply (use [`Self::current`]).
    pub fn same_as_current(
        &self,
        attr: &Attr,
        user: IidUserView<'_>,
        want: &Value,
    ) -> Option<bool> {
        fn nonempty(s: Option<&str>) -> Option<&str> {
            s.filter(|s| !s.is_empty())
        }
        let want_str = match want {
            Value::Null => None,
            Value::String(s) => nonempty(Some(s.as_str())),
            Value::Array(items) if matches!(attr, Attr::Emails) => {
                let have = user.emails();
                if items.is_empty() {
                    return Some(have.is_empty());
                }
                return Some(
                    items.len() == have.len()
                        && items
                            .iter()
                            .zip(have.iter())
                            .all(|(w, h)| w.as_str() == Some(h)),
                );
            }
            _ => return None,
        };
        self.same_str(attr, user, want_str)
    }

    /// Index of an attribute in `managed`.
    pub fn index_of(&self, attr: &Attr) -> Option<usize> {
        self.managed.iter().position(|a| a == attr)
    }

    /// The PATCH value written for a managed attribute (emails and multi-valued attributes
    /// become arrays of objects).
    pub fn write_value(&self, attr: &Attr, value: &Value) -> Value {
        let template = || self.default_of(attr).and_then(first_object);
        match attr {
            Attr::Emails => complex_array(value, "value", template(), true),
            Attr::Extra { sub: Some(sub), .. } => complex_array(value, sub, template(), false),
            _ => value.clone(),
        }
    }

    /// The full SCIM User resource for a create.
    pub fn create_body(&self, d: &Desired) -> Value {
        let mut body = Map::new();
        let mut schemas = vec![Value::String(dirsnap_model::URN_CORE_USER.into())];
        let mut ext: Vec<(String, String, Value)> = Vec::new();
        for (attr, v) in self.managed.iter().zip(&d.values) {
            let v = normalized(v);
            if v.is_null() {
                continue;
            }
            let path = attr.scim_path(&self.profile);
            let value = self.write_value(attr, &v);
            match split_urn(&path) {
                Some((urn, name)) => ext.push((urn.to_string(), name.to_string(), value)),
                None => set_dotted(&mut body, &path, value),
            }
        }
        body.insert("active".into(), Value::Bool(d.active));
        ext.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
        for (urn, name, value) in ext {
            if !schemas.iter().any(|s| s.as_str() == Some(urn.as_str())) {
                schemas.push(Value::String(urn.clone()));
            }
            let obj = body.entry(urn).or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(m) = obj {
                set_dotted(m, &name, value);
            }
        }
        let mut out = Map::new();
        out.insert("schemas".into(), Value::Array(schemas));
        let mut keys: Vec<String> = body.keys().cloned().collect();
        keys.sort();
        for k in keys {
            if let Some(v) = body.remove(&k) {
                out.insert(k, v);
            }
        }
        Value::Object(out)
    }

    /// The IIJ ID group name of an AD group (profile `group_name_attribute`, then
    /// `sAMAccountName`).
    pub fn group_name(&self, group: &AdGroup) -> Option<String> {
        let attr = self.profile.group_name_attribute.to_ascii_lowercase();
        let primary = match attr.as_str() {
            "cn" => group.cn.clone(),
            "displayname" => group.display_name.clone(),
            "samaccountname" => group.sam_account_name.clone(),
            "mail" => group.mail.clone(),
            _ => RawAttrs::new(&group.raw)
                .first(&self.profile.group_name_attribute)
                .map(|(b, _)| String::from_utf8_lossy(&b).into_owned()),
        };
        primary
            .filter(|s| !s.is_empty())
            .or_else(|| group.sam_account_name.clone().filter(|s| !s.is_empty()))
    }
}

fn attr_rank(a: &Attr) -> usize {
    match a {
        Attr::UserName => 0,
        Attr::ExternalId => 1,
        Attr::DownstreamId => 2,
        Attr::DisplayName => 3,
        Attr::FamilyName => 4,
        Attr::GivenName => 5,
        Attr::Emails => 6,
        Attr::Title => 7,
        Attr::Department => 8,
        Attr::PreferredLanguage => 9,
        Attr::Timezone => 10,
        Attr::Extra { .. } => 11,
    }
}

fn first_object(v: &Value) -> Option<&Map<String, Value>> {
    match v {
        Value::Array(items) => items.first().and_then(Value::as_object),
        Value::Object(m) => Some(m),
        _ => None,
    }
}

/// A multi-valued attribute as compared: the list of `sub` values (the bound value, else
/// constant `sub` values in the default template), `Null` when none.
fn multi_value(bound: Option<String>, sub: &str, default: Option<&Value>) -> Value {
    if let Some(s) = bound {
        return Value::Array(vec![Value::String(s)]);
    }
    let constant: Vec<Value> = match default {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|i| i.get(sub).cloned())
            .filter(|v| !v.is_null())
            .collect(),
        _ => Vec::new(),
    };
    if constant.is_empty() {
        Value::Null
    } else {
        Value::Array(constant)
    }
}

fn complex_array(
    value: &Value,
    sub: &str,
    template: Option<&Map<String, Value>>,
    primary_first: bool,
) -> Value {
    let Value::Array(items) = value else {
        return value.clone();
    };
    Value::Array(
        items
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let mut m = Map::new();
                m.insert(sub.to_string(), v.clone());
                if let Some(t) = template {
                    let mut keys: Vec<&String> = t.keys().collect();
                    keys.sort();
                    for k in keys {
                        if k != sub
                            && let Some(tv) = t.get(k)
                        {
                            m.insert(k.clone(), tv.clone());
                        }
                    }
                }
                if primary_first && i > 0 {
                    m.remove("primary");
                }
                Value::Object(m)
            })
            .collect(),
    )
}

fn sub_values(v: &Value, sub: &str) -> Value {
    match v {
        Value::Array(items) => {
            let vals: Vec<Value> = items
                .iter()
                .filter_map(|i| i.get(sub).cloned())
                .filter(|v| !v.is_null())
                .collect();
            if vals.is_empty() {
                Value::Null
            } else {
                Value::Array(vals)
            }
        }
        _ => Value::Null,
    }
}

fn empty_to_null(v: Value) -> Value {
    match &v {
        Value::String(s) if s.is_empty() => Value::Null,
        Value::Array(a) if a.is_empty() => Value::Null,
        _ => v,
    }
}

/// Splits `urn:…:Name:attr.sub` into (`urn:…:Name`, `attr.sub`).
pub fn split_urn(path: &str) -> Option<(&str, &str)> {
    if !path
        .get(..4)
        .is_some_and(|p| p.eq_ignore_ascii_case("urn:"))
    {
        return None;
    }
    let i = path.rfind(':')?;
    Some((&path[..i], &path[i + 1..]))
}

fn set_dotted(m: &mut Map<String, Value>, path: &str, value: Value) {
    match path.split_once('.') {
        None => {
            m.insert(path.to_string(), value);
        }
        Some((head, rest)) => {
            let child = m
                .entry(head.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            if !child.is_object() {
                *child = Value::Object(Map::new());
            }
            if let Value::Object(c) = child {
                set_dotted(c, rest, value);
            }
        }
    }
}

/// Looks up a SCIM path (`a`, `a.b`, `urn:…:a.b`) in a resource, attribute names
/// case-insensitively.
pub fn get_path<'a>(json: &'a Value, path: &str) -> Option<&'a Value> {
    let (base, rest) = match split_urn(path) {
        Some((urn, rest)) => (get_ci(json, urn)?, rest),
        None => (json, path),
    };
    let mut cur = base;
    for part in rest.split('.') {
        cur = get_ci(cur, part)?;
    }
    Some(cur)
}

fn get_ci<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    let m = v.as_object()?;
    m.get(key).or_else(|| {
        m.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

/// Ruby's replacement syntax (`\1`, `\0`, `\&`, `\k<name>`, `\\`) in Rust's (`${1}`…);
/// a literal `$` is escaped.
pub fn ruby_replacement(r: &str) -> String {
    let mut out = String::with_capacity(r.len());
    let mut chars = r.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '$' => out.push_str("$$"),
            '\\' => match chars.peek().copied() {
                Some(d @ '0'..='9') => {
                    chars.next();
                    out.push_str(&format!("${{{d}}}"));
                }
                Some('&') => {
                    chars.next();
                    out.push_str("${0}");
                }
                Some('\\') => {
                    chars.next();
                    out.push('\\');
                }
                Some('k') => {
                    chars.next();
                    if chars.peek() == Some(&'<') {
                        chars.next();
                        let name: String = chars.by_ref().take_while(|c| *c != '>').collect();
                        out.push_str(&format!("${{{name}}}"));
                    } else {
                        out.push_str("\\k");
                    }
                }
                _ => out.push('\\'),
            },
            other => out.push(other),
        }
    }
    out
}

/// A JSON document parsed on first use.
pub struct LazyJson<'a> {
    text: &'a str,
    cell: OnceCell<Option<Value>>,
}

impl<'a> LazyJson<'a> {
    pub fn new(text: &'a str) -> Self {
        LazyJson {
            text,
            cell: OnceCell::new(),
        }
    }

    /// The parsed document; `None` when the text is empty (raw not read) or not JSON.
    pub fn get(&self) -> Option<&Value> {
        self.cell
            .get_or_init(|| {
                if self.text.is_empty() {
                    None
                } else {
                    serde_json::from_str(self.text).ok()
                }
            })
            .as_ref()
    }
}

/// An AD row's `raw` attributes (`{"attr": ["v", {"base64": "…"}]}`), parsed on first use.
pub struct RawAttrs<'a> {
    json: LazyJson<'a>,
}

impl<'a> RawAttrs<'a> {
    pub fn new(text: &'a str) -> Self {
        RawAttrs {
            json: LazyJson::new(text),
        }
    }

    /// Every value of `attr` (case-insensitive) as bytes, with whether it was binary.
    pub fn all(&self, attr: &str) -> Vec<(Vec<u8>, bool)> {
        let Some(v) = self.json.get().and_then(|j| get_ci(j, attr)) else {
            return Vec::new();
        };
        let items: Vec<&Value> = match v {
            Value::Array(a) => a.iter().collect(),
            other => vec![other],
        };
        items.into_iter().filter_map(decode_raw_value).collect()
    }

    pub fn first(&self, attr: &str) -> Option<(Vec<u8>, bool)> {
        self.all(attr).into_iter().next()
    }
}

fn decode_raw_value(v: &Value) -> Option<(Vec<u8>, bool)> {
    match v {
        Value::String(s) => Some((s.clone().into_bytes(), false)),
        Value::Number(n) => Some((n.to_string().into_bytes(), false)),
        Value::Bool(b) => Some((
            (if *b { "TRUE" } else { "FALSE" }).as_bytes().to_vec(),
            false,
        )),
        Value::Object(m) => {
            let b64 = m.get("base64")?.as_str()?;
            use base64::Engine as _;
            base64::engine::general_purpose::STANDARD
                .decode(b64)
                .ok()
                .map(|b| (b, true))
        }
        _ => None,
    }
}

/// Normalizes a JSON value for comparison: empty strings and empty arrays are absent.
pub fn normalized(v: &Value) -> Value {
    empty_to_null(v.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ruby_replacements_translate() {
        assert_eq!(ruby_replacement("@example.jp"), "@example.jp");
        assert_eq!(ruby_replacement(r"\1-\2"), "${1}-${2}");
        assert_eq!(ruby_replacement(r"\k<user>@x"), "${user}@x");
        assert_eq!(ruby_replacement(r"\&!"), "${0}!");
        assert_eq!(ruby_replacement("$5"), "$$5");
        assert_eq!(ruby_replacement(r"a\\b"), r"a\b");
    }

    #[test]
    fn paths_split_at_the_last_colon_of_a_urn() {
        assert_eq!(
            split_urn("urn:iij:params:scim:schemas:extension:enterprisejp:2.0:User:downstreamId"),
            Some((
                "urn:iij:params:scim:schemas:extension:enterprisejp:2.0:User",
                "downstreamId"
            ))
        );
        assert_eq!(split_urn("name.givenName"), None);
        let j = json!({"name": {"givenName": "x"}, "urn:a:b:User": {"dept": "d"}});
        assert_eq!(get_path(&j, "NAME.givenname"), Some(&json!("x")));
        assert_eq!(get_path(&j, "urn:a:b:User:dept"), Some(&json!("d")));
    }
}
