//! The typed configuration and its extraction from the positioned YAML tree.

use crate::cursor::{Cursor, Reader};
use crate::error::ConfigError;
use crate::node::{Node, Value};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// A value with the place it was written, so later stages (filter parsing in the engine)
/// can still point at the line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located<T> {
    pub value: T,
    /// Dotted key, e.g. `ad.ldap.filter.user`.
    pub key: String,
    pub line: u64,
    pub column: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Encryption {
    /// Plain LDAP on `port` (389).
    #[default]
    None,
    /// StartTLS on `port`.
    StartTls,
    /// LDAP over TLS (636).
    Ldaps,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdServer {
    /// Domain controllers in the order they are tried.
    pub addresses: Vec<String>,
    pub port: u16,
    /// Bind DN or UPN.
    pub user: Option<String>,
    pub timeout_secs: u32,
    pub encryption: Encryption,
    /// Verify the server certificate's name against the address.
    pub verify_mode: bool,
}

impl Default for AdServer {
    fn default() -> Self {
        AdServer {
            addresses: Vec::new(),
            port: 389,
            user: None,
            timeout_secs: 3600,
            encryption: Encryption::None,
            verify_mode: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AdConfig {
    pub server: AdServer,
    pub base_dn: Option<Located<String>>,
    /// `ad.ldap.filter.user` as written (with or without outer parentheses).
    pub user_filter: Option<Located<String>>,
    pub group_filter: Option<Located<String>>,
}

/// One `ad_bind` entry: the IIJ ID attribute (dotted, e.g. `name.familyName`) and the AD
/// attributes that feed it, in fallback order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdBind {
    pub target: String,
    pub sources: Vec<String>,
    pub line: u64,
}

/// One `convert` rewrite: the regex is validated at load time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConvertRule {
    pub target: String,
    pub pattern: String,
    pub replacement: String,
    pub line: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Proxy {
    pub enabled: bool,
    pub address: Option<String>,
    pub port: Option<u16>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct IidConfig {
    /// `iid.scim.url`: overrides the IIJ default endpoint.
    pub url: Option<String>,
    pub user_filter: Option<Located<String>>,
    pub group_filter: Option<Located<String>>,
    /// `iid.scim.attribute.user.default`: constant values, as JSON.
    pub user_defaults: serde_json::Map<String, serde_json::Value>,
    pub ad_bind: Vec<AdBind>,
    /// `iid.scim.attribute.group.ad_bind`: the group attributes dirsnap models
    /// (`description`, `email`, assumption RC15), target without the prefix.
    pub group_ad_bind: Vec<AdBind>,
    pub convert: Vec<ConvertRule>,
    pub proxy: Proxy,
}

/// A safety threshold: an absolute count or a percentage of the relevant population.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Threshold {
    Count(u64),
    Percent(f64),
}

/// Safety thresholds per category (SPEC §5). Counts default to 500, like Entra Connect's
/// export deletion threshold; percentages apply only when configured.
#[derive(Debug, Clone, PartialEq)]
pub struct Thresholds {
    pub pending_deletions: Threshold,
    pub disables: Threshold,
    pub group_deletes: Threshold,
    pub member_removals_per_group: Threshold,
    /// "The AD source shrank by more than X%": off unless configured.
    pub source_shrink: Option<Threshold>,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            pending_deletions: Threshold::Count(500),
            disables: Threshold::Count(500),
            group_deletes: Threshold::Count(500),
            member_removals_per_group: Threshold::Count(500),
            source_shrink: None,
        }
    }
}

/// The toolkit's own settings under the top-level `dirsnap:` key (ignored by the agent).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DirsnapSection {
    /// Name of this Directory Sync instance (one per AD domain).
    pub instance: Option<String>,
    pub thresholds: Thresholds,
    /// The IIJ behaviour profile overrides (docs/iij-assumptions.md), as JSON; interpreted by
    /// the crates that own each assumption.
    pub profile: serde_json::Map<String, serde_json::Value>,
}

/// A key present in the file that this version does not interpret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownKey {
    pub key: String,
    pub line: u64,
    /// The known key it most likely misspells, when one is close.
    pub did_you_mean: Option<String>,
}

/// A Directory Sync setting present in the file that dirsnap knows but does not model, so the
/// plan may differ from what the agent sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnmodelledKey {
    pub key: String,
    pub line: u64,
    /// What dirsnap does instead, and how the plan may differ.
    pub effect: &'static str,
}

impl UnknownKey {
    /// What ignoring it means, for people.
    pub fn effect(&self) -> String {
        match &self.did_you_mean {
            Some(near) => format!(
                "not a Directory Sync setting dirsnap knows; did you mean {near}? It is ignored, so if it is a typo the setting you meant is not in effect (for dirsnap, and probably not for Directory Sync either)"
            ),
            None => "not a Directory Sync setting dirsnap knows (a newer agent version's, or a typo); it is ignored, so the plan does not reflect it".to_string(),
        }
    }
}

/// A Directory Sync config.yml, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct DsConfig {
    pub path: PathBuf,
    pub ad: AdConfig,
    pub iid: IidConfig,
    pub dirsnap: DirsnapSection,
    /// The whole document as JSON, unknown keys included.
    pub document: serde_json::Value,
    pub unknown_keys: Vec<UnknownKey>,
    /// Directory Sync settings present that dirsnap does not model.
    pub unmodelled_keys: Vec<UnmodelledKey>,
}

impl DsConfig {
    /// The `dirsnap.profile` settings, validated (dirsnap_config::profile).
    pub fn profile_settings(&self) -> Result<crate::profile::ProfileSettings, ConfigError> {
        crate::profile::ProfileSettings::parse(&self.dirsnap.profile).map_err(|source| {
            ConfigError::Profile {
                path: self.path.clone(),
                source,
            }
        })
    }
}

impl DsConfig {
    /// `sha256:` digest of the document's canonical JSON: comments and formatting do not
    /// change it, any value does.
    pub fn digest(&self) -> String {
        let text = serde_json::to_string(&self.document).unwrap_or_default();
        format!("sha256:{}", hex::encode(Sha256::digest(text.as_bytes())))
    }

    /// The document with anything that looks like a credential removed, for recording in
    /// snapshot manifests and plans.
    pub fn redacted_document(&self) -> serde_json::Value {
        redact(&self.document)
    }

    /// The SCIM base URL: an explicit override, else `iid.scim.url`, else IIJ's endpoint.
    pub fn scim_url(&self, override_url: Option<&str>) -> String {
        override_url
            .map(str::to_string)
            .or_else(|| self.iid.url.clone())
            .unwrap_or_else(|| crate::DEFAULT_SCIM_URL.to_string())
    }
}

fn redact(v: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        J::Object(map) => J::Object(
            map.iter()
                .map(|(k, v)| {
                    let lower = k.to_ascii_lowercase();
                    if ["password", "token", "secret"]
                        .iter()
                        .any(|w| lower.contains(w))
                    {
                        (k.clone(), J::String("(redacted)".into()))
                    } else {
                        (k.clone(), redact(v))
                    }
                })
                .collect(),
        ),
        J::Array(items) => J::Array(items.iter().map(redact).collect()),
        other => other.clone(),
    }
}

/// Settings Directory Sync documents that dirsnap does not model, with what that means for
/// the plan (`None`: no bearing on what the agent sends, e.g. logging).
const KNOWN_OPAQUE: &[(&str, Option<&str>)] = &[
    ("log", None),
    (
        "ad.ldap.cache_disabled",
        Some(
            "dirsnap keeps no cache: it diffs against the IIJ ID snapshot it is given (--iid in recovery mode, --previous-iid in normal mode); with the agent's cache disabled, compare with --mode recovery, which is what such a run does",
        ),
    ),
    (
        "ad.ldap.search",
        Some(
            "dirsnap selects AD users and groups with its object-class filters (dirsnap.profile.ad_user_class_filter / ad_group_class_filter) and reads members from `member`; objects or members the agent's search settings select differently are missing from, or extra in, this plan — set those profile keys to match",
        ),
    ),
    (
        "iid.scim.attribute.user.exclude",
        Some(
            "the manual documents only exclude.ims (up to 10 entries, each a `value`: an instant messenger ID to exclude), not whether such entries are withheld from what the agent sends or left untouched in IIJ ID (assumption A12); dirsnap sends every value ad_bind and default give, so excluded ims entries can appear in this plan's creates and updates, or be removed by them, although the agent would not",
        ),
    ),
];

/// What an unread setting under `iid.scim.attribute.group` means for the plan.
const GROUP_SETTING_EFFECT: &str = "dirsnap models only the group attribute mapping iid.scim.attribute.group.ad_bind.description / .email (assumption RC15); what the agent does with this group setting is not in this plan";

/// Every key dirsnap reads outside the `dirsnap:` section, for "did you mean".
const KNOWN_KEYS: &[&str] = &[
    "ad",
    "ad.ldap",
    "ad.ldap.server",
    "ad.ldap.server.addresses",
    "ad.ldap.server.port",
    "ad.ldap.server.user",
    "ad.ldap.server.timeout",
    "ad.ldap.server.encryption",
    "ad.ldap.server.verify_mode",
    "ad.ldap.base_dn",
    "ad.ldap.filter",
    "ad.ldap.filter.user",
    "ad.ldap.filter.group",
    "iid",
    "iid.scim",
    "iid.scim.url",
    "iid.scim.filter",
    "iid.scim.filter.user",
    "iid.scim.filter.group",
    "iid.scim.http",
    "iid.scim.http.proxy",
    "iid.scim.attribute",
    "iid.scim.attribute.user",
    "iid.scim.attribute.user.default",
    "iid.scim.attribute.user.ad_bind",
    "iid.scim.attribute.user.convert",
    "dirsnap",
    "log",
];

/// The keys dirsnap reads under `dirsnap:` (the profile's are `profile::PROFILE_KEYS`).
const DIRSNAP_KEYS: &[&str] = &[
    "dirsnap.instance",
    "dirsnap.thresholds",
    "dirsnap.thresholds.pending_deletions",
    "dirsnap.thresholds.disables",
    "dirsnap.thresholds.group_deletes",
    "dirsnap.thresholds.member_removals_per_group",
    "dirsnap.thresholds.source_shrink",
    "dirsnap.profile",
];

pub(crate) fn extract(path: &Path, root: &Node) -> Result<DsConfig, ConfigError> {
    let reader = Reader::new(path);
    for (k, _) in KNOWN_OPAQUE {
        reader.mark(k);
    }
    let top = reader.root(root);
    top.entries()?; // the document must be a mapping

    let mut ad = AdConfig::default();
    let mut iid = IidConfig::default();
    let mut dirsnap = DirsnapSection::default();

    if let Some(ad_node) = top.get("ad")? {
        let adc = ad_node.cursor(&reader);
        if let Some(ldap) = adc.get("ldap")? {
            let ldap = ldap.cursor(&reader);
            if let Some(server) = ldap.get("server")? {
                ad.server = read_server(&reader, &server.cursor(&reader), &ldap)?;
            } else {
                ad.server = read_server(&reader, &ldap, &ldap)?;
            }
            ad.base_dn = located_string(&reader, &ldap, "base_dn")?;
            if let Some(filter) = ldap.get("filter")? {
                let f = filter.cursor(&reader);
                ad.user_filter = located_string(&reader, &f, "user")?;
                ad.group_filter = located_string(&reader, &f, "group")?;
            }
        }
    }

    if let Some(iid_node) = top.get("iid")? {
        let ic = iid_node.cursor(&reader);
        if let Some(scim) = ic.get("scim")? {
            let scim = scim.cursor(&reader);
            if let Some(url) = scim.get("url")? {
                let u = url.cursor(&reader);
                let text = u.string()?;
                if !(text.starts_with("https://") || text.starts_with("http://")) {
                    return Err(reader.bad(u.key, u.pos(), "expected an http:// or https:// URL"));
                }
                iid.url = Some(text);
            }
            if let Some(filter) = scim.get("filter")? {
                let f = filter.cursor(&reader);
                iid.user_filter = located_string(&reader, &f, "user")?;
                iid.group_filter = located_string(&reader, &f, "group")?;
            }
            if let Some(http) = scim.get("http")?
                && let Some(proxy) = http.cursor(&reader).get("proxy")?
            {
                iid.proxy = read_proxy(&reader, &proxy.cursor(&reader))?;
            }
            if let Some(attribute) = scim.get("attribute")?
                && let Some(group) = attribute.cursor(&reader).get("group")?
                && let Some(bind) = group.cursor(&reader).get("ad_bind")?
            {
                let mut all = Vec::new();
                read_ad_bind(&reader, &bind.key, bind.node, &mut all)?;
                // Targets dirsnap does not model count as unread, so they are reported.
                reader.used.borrow_mut().retain(|k| {
                    k.strip_prefix("iid.scim.attribute.group.ad_bind.")
                        .is_none_or(|t| GROUP_BIND_TARGETS.contains(&t))
                });
                iid.group_ad_bind = all
                    .into_iter()
                    .filter(|b| GROUP_BIND_TARGETS.contains(&b.target.as_str()))
                    .collect();
            }
            if let Some(attribute) = scim.get("attribute")?
                && let Some(user) = attribute.cursor(&reader).get("user")?
            {
                let user = user.cursor(&reader);
                if let Some(default) = user.get("default")? {
                    reader.mark(&default.key);
                    mark_subtree(&reader, &default.key, default.node);
                    match default.node.to_json() {
                        serde_json::Value::Object(map) => iid.user_defaults = map,
                        serde_json::Value::Null => {}
                        _ => {
                            return Err(reader.invalid(
                                &default.key,
                                default.node.pos,
                                "a mapping of IIJ ID attributes to values",
                                &default.node.value,
                            ));
                        }
                    }
                }
                if let Some(bind) = user.get("ad_bind")? {
                    read_ad_bind(&reader, &bind.key, bind.node, &mut iid.ad_bind)?;
                }
                if let Some(convert) = user.get("convert")? {
                    iid.convert = read_convert(&reader, &convert.cursor(&reader))?;
                }
            }
        }
    }

    if let Some(ds) = top.get("dirsnap")? {
        dirsnap = read_dirsnap(&reader, &ds.cursor(&reader))?;
        refuse_unknown_dirsnap_keys(&reader, &ds.key, ds.node)?;
    }

    for f in [&ad.user_filter, &ad.group_filter].into_iter().flatten() {
        if let Err(e) = dirsnap_filter::ldap::parse(&f.value) {
            return Err(filter_error(
                reader.path,
                f,
                "LDAP (RFC 4515)",
                &e.to_string(),
            ));
        }
    }
    for f in [&iid.user_filter, &iid.group_filter].into_iter().flatten() {
        if let Err(e) = dirsnap_filter::scim::parse(&f.value) {
            return Err(filter_error(
                reader.path,
                f,
                "SCIM (RFC 7644)",
                &e.to_string(),
            ));
        }
    }

    let mut unknown_keys = Vec::new();
    collect_unknown(&reader, "", root, &mut unknown_keys);
    for k in &unknown_keys {
        tracing::debug!(file = %path.display(), line = k.line, key = %k.key, "unknown config key kept");
    }
    let mut unmodelled_keys = unmodelled(root);
    // Group settings are Directory Sync's (documented in part): not modelled, not unknown.
    let (group_settings, unknown_keys): (Vec<UnknownKey>, Vec<UnknownKey>) = unknown_keys
        .into_iter()
        .partition(|k| k.key.starts_with("iid.scim.attribute.group."));
    unmodelled_keys.extend(group_settings.into_iter().map(|k| UnmodelledKey {
        key: k.key,
        line: k.line,
        effect: GROUP_SETTING_EFFECT,
    }));

    Ok(DsConfig {
        path: path.to_path_buf(),
        ad,
        iid,
        dirsnap,
        document: root.to_json(),
        unknown_keys,
        unmodelled_keys,
    })
}

fn located_string(
    reader: &Reader<'_>,
    map: &Cursor<'_, '_>,
    name: &str,
) -> Result<Option<Located<String>>, ConfigError> {
    let Some(child) = map.get(name)? else {
        return Ok(None);
    };
    let c = child.cursor(reader);
    Ok(c.opt_string()?.map(|value| Located {
        value,
        key: child.key.clone(),
        line: c.pos().line,
        column: c.pos().column,
    }))
}

fn read_server(
    reader: &Reader<'_>,
    server: &Cursor<'_, '_>,
    ldap: &Cursor<'_, '_>,
) -> Result<AdServer, ConfigError> {
    let mut s = AdServer::default();
    // IIJ's pages disagree on whether port/timeout/verify_mode sit under `server` or
    // directly under `ldap` (iij-facts.md §2), so both are read; `server` wins.
    let pick = |name: &str| -> Result<Option<crate::cursor::Child<'_>>, ConfigError> {
        match server.get(name)? {
            Some(c) => Ok(Some(c)),
            None => ldap.get(name),
        }
    };
    if let Some(a) = pick("addresses")? {
        s.addresses = a.cursor(reader).strings()?;
    }
    if let Some(p) = pick("port")? {
        s.port = u16::try_from(p.cursor(reader).integer(1, 65535)?).unwrap_or(389);
    }
    if let Some(u) = pick("user")? {
        s.user = u.cursor(reader).opt_string()?;
    }
    if let Some(t) = pick("timeout")? {
        s.timeout_secs = u32::try_from(t.cursor(reader).integer(1, 36000)?).unwrap_or(3600);
    }
    if let Some(e) = pick("encryption")? {
        let c = e.cursor(reader);
        s.encryption = match c.opt_string()?.as_deref() {
            None | Some("none") => Encryption::None,
            Some("start_tls") => Encryption::StartTls,
            Some("ldaps") | Some("simple_tls") => Encryption::Ldaps,
            Some(_) => {
                return Err(reader.invalid(
                    c.key,
                    c.pos(),
                    "one of none, start_tls, ldaps",
                    &c.node.value,
                ));
            }
        };
    }
    if let Some(v) = pick("verify_mode")? {
        s.verify_mode = v.cursor(reader).boolean()?;
    }
    Ok(s)
}

fn read_proxy(reader: &Reader<'_>, c: &Cursor<'_, '_>) -> Result<Proxy, ConfigError> {
    let mut p = Proxy::default();
    if let Some(u) = c.get("use")? {
        p.enabled = u.cursor(reader).boolean()?;
    }
    if let Some(a) = c.get("address")? {
        p.address = a.cursor(reader).opt_string()?;
    }
    if let Some(port) = c.get("port")? {
        let pc = port.cursor(reader);
        if !pc.is_null() {
            p.port = u16::try_from(pc.integer(1, 65535)?).ok();
        }
    }
    if p.enabled && p.address.is_none() {
        return Err(ConfigError::Missing {
            path: reader.path.to_path_buf(),
            key: format!("{}.address", c.key),
            why: "proxy use is true".into(),
        });
    }
    Ok(p)
}

fn read_ad_bind(
    reader: &Reader<'_>,
    key: &str,
    node: &Node,
    out: &mut Vec<AdBind>,
) -> Result<(), ConfigError> {
    reader.mark(key);
    match &node.value {
        Value::Null => Ok(()),
        Value::Map(entries) => {
            for (name, _, child) in entries {
                let full = format!("{key}.{name}");
                reader.mark(&full);
                match &child.value {
                    Value::Map(_) => read_ad_bind(reader, &full, child, out)?,
                    Value::Str(s) => out.push(AdBind {
                        target: strip_prefix(&full),
                        sources: vec![s.clone()],
                        line: child.pos.line,
                    }),
                    Value::Seq(items) => {
                        let mut sources = Vec::new();
                        for (i, item) in items.iter().enumerate() {
                            match &item.value {
                                Value::Str(s) => sources.push(s.clone()),
                                // `null` keeps a slot in parallel arrays (Linux YAML guide).
                                Value::Null => {}
                                other => {
                                    return Err(reader.invalid(
                                        &format!("{full}[{i}]"),
                                        item.pos,
                                        "an AD attribute name",
                                        other,
                                    ));
                                }
                            }
                        }
                        out.push(AdBind {
                            target: strip_prefix(&full),
                            sources,
                            line: child.pos.line,
                        });
                    }
                    other => {
                        return Err(reader.invalid(
                            &full,
                            child.pos,
                            "an AD attribute name, a list of them, or a mapping",
                            other,
                        ));
                    }
                }
            }
            Ok(())
        }
        other => Err(reader.invalid(
            key,
            node.pos,
            "a mapping of IIJ ID attributes to AD attributes",
            other,
        )),
    }
}

fn strip_prefix(full: &str) -> String {
    full.strip_prefix("iid.scim.attribute.user.ad_bind.")
        .or_else(|| full.strip_prefix("iid.scim.attribute.group.ad_bind."))
        .unwrap_or(full)
        .to_string()
}

/// The IIJ ID group attributes a group `ad_bind` may set (assumption RC15): the enterprise
/// group extension's `description` and `email`.
pub const GROUP_BIND_TARGETS: &[&str] = &["description", "email"];

fn read_convert(reader: &Reader<'_>, c: &Cursor<'_, '_>) -> Result<Vec<ConvertRule>, ConfigError> {
    let mut rules = Vec::new();
    for child in c.entries()? {
        reader.mark(&child.key);
        let target = child
            .key
            .strip_prefix("iid.scim.attribute.user.convert.")
            .unwrap_or(&child.key)
            .to_string();
        let Value::Seq(items) = &child.node.value else {
            return Err(reader.invalid(
                &child.key,
                child.node.pos,
                "a list of {pattern, replacement}",
                &child.node.value,
            ));
        };
        for (i, item) in items.iter().enumerate() {
            let item_key = format!("{}[{i}]", child.key);
            let ic = Cursor {
                reader,
                node: item,
                key: &item_key,
            };
            let pattern_child = ic.get("pattern")?.ok_or_else(|| ConfigError::Missing {
                path: reader.path.to_path_buf(),
                key: format!("{item_key}.pattern"),
                why: format!(
                    "every convert rule needs a pattern (line {})",
                    item.pos.line
                ),
            })?;
            let pc = pattern_child.cursor(reader);
            let pattern = pc.string()?;
            if let Err(e) = regex::Regex::new(&pattern) {
                return Err(reader.bad(
                    &pattern_child.key,
                    pc.pos(),
                    format!("invalid regular expression: {e}"),
                ));
            }
            let replacement = match ic.get("replacement")? {
                Some(r) => r.cursor(reader).opt_string()?.unwrap_or_default(),
                None => String::new(),
            };
            rules.push(ConvertRule {
                target: target.clone(),
                pattern,
                replacement,
                line: item.pos.line,
            });
        }
    }
    Ok(rules)
}

fn read_threshold(c: &Cursor<'_, '_>) -> Result<Threshold, ConfigError> {
    let expected = "a count (e.g. 500) or a percentage (e.g. \"10%\")";
    match &c.node.value {
        Value::Int(i) if *i >= 0 => Ok(Threshold::Count(*i as u64)),
        Value::Str(s) => {
            let t = s.trim();
            if let Some(p) = t.strip_suffix('%') {
                match p.trim().parse::<f64>() {
                    Ok(x) if (0.0..=100.0).contains(&x) => Ok(Threshold::Percent(x)),
                    _ => Err(c.reader.invalid(c.key, c.pos(), expected, &c.node.value)),
                }
            } else {
                t.parse::<u64>()
                    .map(Threshold::Count)
                    .map_err(|_| c.reader.invalid(c.key, c.pos(), expected, &c.node.value))
            }
        }
        other => Err(c.reader.invalid(c.key, c.pos(), expected, other)),
    }
}

fn read_dirsnap(reader: &Reader<'_>, c: &Cursor<'_, '_>) -> Result<DirsnapSection, ConfigError> {
    let mut d = DirsnapSection::default();
    if let Some(i) = c.get("instance")? {
        d.instance = i.cursor(reader).opt_string()?;
    }
    if let Some(t) = c.get("thresholds")? {
        let tc = t.cursor(reader);
        let slots: [(&str, &mut Threshold); 4] = [
            ("pending_deletions", &mut d.thresholds.pending_deletions),
            ("disables", &mut d.thresholds.disables),
            ("group_deletes", &mut d.thresholds.group_deletes),
            (
                "member_removals_per_group",
                &mut d.thresholds.member_removals_per_group,
            ),
        ];
        for (name, slot) in slots {
            if let Some(v) = tc.get(name)? {
                *slot = read_threshold(&v.cursor(reader))?;
            }
        }
        if let Some(v) = tc.get("source_shrink")? {
            let vc = v.cursor(reader);
            d.thresholds.source_shrink = if vc.is_null() {
                None
            } else {
                Some(read_threshold(&vc)?)
            };
        }
    }
    if let Some(p) = c.get("profile")? {
        mark_subtree(reader, &p.key, p.node);
        // Every setting is validated here, once, so a wrong one stops every command with its
        // line, whichever part of dirsnap reads it.
        if let Value::Map(entries) = &p.node.value {
            let mut settings = crate::profile::ProfileSettings::default();
            for (name, _, node) in entries {
                if let Err(e) = settings.set(name, &node.to_json()) {
                    return Err(reader.invalid(
                        &format!("{}.{}", p.key, e.key),
                        node.pos,
                        &e.expected,
                        &node.value,
                    ));
                }
            }
        }
        match p.node.to_json() {
            serde_json::Value::Object(map) => d.profile = map,
            serde_json::Value::Null => {}
            _ => {
                return Err(reader.invalid(&p.key, p.node.pos, "a mapping", &p.node.value));
            }
        }
    }
    Ok(d)
}

fn mark_subtree(reader: &Reader<'_>, key: &str, node: &Node) {
    reader.mark(key);
    if let Value::Map(entries) = &node.value {
        for (k, _, n) in entries {
            mark_subtree(reader, &format!("{key}.{k}"), n);
        }
    }
}

fn collect_unknown(reader: &Reader<'_>, prefix: &str, node: &Node, out: &mut Vec<UnknownKey>) {
    let Value::Map(entries) = &node.value else {
        return;
    };
    for (k, pos, child) in entries {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        let known = reader.used.borrow().contains(&key)
            || KNOWN_OPAQUE
                .iter()
                .any(|(o, _)| key.starts_with(&format!("{o}.")));
        if known {
            collect_unknown(reader, &key, child, out);
        } else {
            let siblings: Vec<&str> = KNOWN_KEYS
                .iter()
                .chain(KNOWN_OPAQUE.iter().map(|(k, _)| k))
                .copied()
                .filter(|c| c.rsplit_once('.').map_or("", |(p, _)| p) == prefix)
                .collect();
            out.push(UnknownKey {
                did_you_mean: nearest(&key, &siblings).map(str::to_string),
                key,
                line: pos.line,
            });
        }
    }
}

/// The settings Directory Sync documents that dirsnap does not model, as present.
fn unmodelled(root: &Node) -> Vec<UnmodelledKey> {
    let mut out = Vec::new();
    for (key, effect) in KNOWN_OPAQUE {
        let Some(effect) = effect else { continue };
        if let Some(line) = line_of(root, key) {
            out.push(UnmodelledKey {
                key: (*key).to_string(),
                line,
                effect,
            });
        }
    }
    out
}

/// The line of a dotted key in the document, when present.
fn line_of(root: &Node, dotted: &str) -> Option<u64> {
    let mut node = root;
    let mut line = None;
    for part in dotted.split('.') {
        let Value::Map(entries) = &node.value else {
            return None;
        };
        let (_, pos, child) = entries.iter().find(|(k, _, _)| k == part)?;
        line = Some(pos.line);
        node = child;
    }
    line
}

/// The `dirsnap:` section is dirsnap's own: a key it does not read is a typo that would
/// silently change the plan (a threshold switched off, say), so it is refused, with the
/// nearest valid key.
fn refuse_unknown_dirsnap_keys(
    reader: &Reader<'_>,
    key: &str,
    node: &Node,
) -> Result<(), ConfigError> {
    let Value::Map(entries) = &node.value else {
        return Ok(());
    };
    for (name, pos, child) in entries {
        let dotted = format!("{key}.{name}");
        let valid: Vec<String> = if key == "dirsnap.profile" {
            crate::profile::PROFILE_KEYS
                .iter()
                .map(|(k, _)| format!("{key}.{k}"))
                .collect()
        } else {
            DIRSNAP_KEYS
                .iter()
                .filter(|k| k.rsplit_once('.').is_some_and(|(p, _)| p == key))
                .map(|k| (*k).to_string())
                .collect()
        };
        if !valid.contains(&dotted) {
            let candidates: Vec<&str> = valid.iter().map(String::as_str).collect();
            let hint = match nearest(&dotted, &candidates) {
                Some(near) => format!("did you mean {near}?"),
                None => format!(
                    "valid here: {}",
                    valid
                        .iter()
                        .map(|v| v.rsplit('.').next().unwrap_or(v))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            };
            return Err(reader.bad(
                &dotted,
                *pos,
                format!(
                    "not a dirsnap setting (a typo here would silently change the plan); {hint}"
                ),
            ));
        }
        // Below a profile key are its values (default_ad_bind's mapping), not settings.
        if key != "dirsnap.profile" {
            refuse_unknown_dirsnap_keys(reader, &dotted, child)?;
        }
    }
    Ok(())
}

/// The candidate closest to `key` by edit distance of their last segments, when close
/// enough to be a likely typo.
fn nearest<'c>(key: &str, candidates: &[&'c str]) -> Option<&'c str> {
    let last = |k: &str| k.rsplit('.').next().unwrap_or(k).to_ascii_lowercase();
    let name = last(key);
    candidates
        .iter()
        .map(|c| (strsim::levenshtein(&name, &last(c)), *c))
        .filter(|(d, c)| *d <= (last(c).len() / 3).max(2))
        .min()
        .map(|(_, c)| c)
}

fn filter_error(path: &Path, f: &Located<String>, language: &str, message: &str) -> ConfigError {
    ConfigError::BadValue {
        path: path.to_path_buf(),
        line: f.line,
        column: f.column,
        key: f.key.clone(),
        message: format!(
            "not a valid {language} filter: {message} (in {:?})",
            f.value
        ),
    }
}
