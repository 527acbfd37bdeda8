//! From Directory Sync's `ad.ldap.server.*` settings to the list of LDAP endpoints to try.

use crate::error::AdError;
use dirsnap_config::{DsConfig, Encryption};
use std::time::Duration;

/// How long to wait for one domain controller to accept a connection (TCP, TLS, StartTLS)
/// before trying the next address. `ad.ldap.server.timeout` (default 3600 s) is Directory
/// Sync's operation timeout; waiting that long for a dead DC before failing over would make
/// failover useless, so connecting is capped (docs/iij-assumptions.md).
pub const MAX_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Transport security of one endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Plain,
    StartTls,
    Ldaps,
}

/// One domain controller endpoint, in the order it is tried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// The address as written in `ad.ldap.server.addresses`.
    pub address: String,
    /// Host name or IP literal (no brackets), used for TLS name verification.
    pub host: String,
    pub port: u16,
    pub transport: Transport,
}

impl Endpoint {
    /// The LDAP URL ldap3 connects to (StartTLS is a connection setting, not a scheme).
    pub fn url(&self) -> String {
        let scheme = match self.transport {
            Transport::Ldaps => "ldaps",
            Transport::Plain | Transport::StartTls => "ldap",
        };
        if self.host.contains(':') {
            format!("{scheme}://[{}]:{}", self.host, self.port)
        } else {
            format!("{scheme}://{}:{}", self.host, self.port)
        }
    }

    /// The URL shown to people: says when StartTLS is used.
    pub fn display(&self) -> String {
        match self.transport {
            Transport::StartTls => format!("{} (StartTLS)", self.url()),
            _ => self.url(),
        }
    }
}

/// Everything needed to reach and bind to the directory, validated.
#[derive(Debug, Clone)]
pub struct ConnectionPlan {
    pub endpoints: Vec<Endpoint>,
    pub bind_dn: String,
    pub base_dn: String,
    /// `verify_mode: true`: the certificate must name the address connected to.
    pub verify_name: bool,
    pub connect_timeout: Duration,
    pub op_timeout: Duration,
}

impl ConnectionPlan {
    pub fn from_config(cfg: &DsConfig) -> Result<ConnectionPlan, AdError> {
        let file = cfg.path.display().to_string();
        let bad = |key: &str, message: String| AdError::Config {
            file: file.clone(),
            key: key.to_string(),
            message,
        };
        let server = &cfg.ad.server;
        if server.addresses.is_empty() {
            return Err(bad(
                "ad.ldap.server.addresses",
                "is required: list the domain controllers to read, e.g. [dc1.example.co.jp]".into(),
            ));
        }
        let mut endpoints = Vec::with_capacity(server.addresses.len());
        for (i, address) in server.addresses.iter().enumerate() {
            let key = format!("ad.ldap.server.addresses[{i}]");
            let ep = parse_address(address, server.port, server.encryption)
                .map_err(|message| bad(&key, message))?;
            endpoints.push(ep);
        }
        let bind_dn = server
            .user
            .clone()
            .filter(|u| !u.trim().is_empty())
            .ok_or_else(|| {
                bad(
                    "ad.ldap.server.user",
                    "is required: the bind DN or UPN of the account Directory Sync reads AD with"
                        .into(),
                )
            })?;
        let base_dn = cfg
            .ad
            .base_dn
            .as_ref()
            .map(|b| b.value.trim().to_string())
            .filter(|b| !b.is_empty())
            .ok_or_else(|| {
                bad(
                    "ad.ldap.base_dn",
                    "is required: the DN to search under, e.g. DC=example,DC=co,DC=jp".into(),
                )
            })?;
        let op_timeout = Duration::from_secs(u64::from(server.timeout_secs.max(1)));
        Ok(ConnectionPlan {
            endpoints,
            bind_dn,
            base_dn,
            verify_name: server.verify_mode,
            connect_timeout: op_timeout.min(MAX_CONNECT_TIMEOUT),
            op_timeout,
        })
    }
}

/// Parses one entry of `addresses`: a host name, an IP literal, `host:port`, `[v6]:port`,
/// or an `ldap://` / `ldaps://` URL (the scheme then decides the transport).
pub fn parse_address(
    address: &str,
    default_port: u16,
    encryption: Encryption,
) -> Result<Endpoint, String> {
    let a = address.trim();
    let (scheme, rest) = match a.split_once("://") {
        Some((s, r)) => (Some(s.to_ascii_lowercase()), r),
        None => (None, a),
    };
    let rest = rest.trim_end_matches('/');
    if rest.contains('/') || rest.contains('?') {
        return Err(format!(
            "{address:?}: expected a host name, host:port or ldap[s]://host[:port] (no path)"
        ));
    }
    let (host, port) = split_host_port(rest)
        .ok_or_else(|| format!("{address:?}: expected a host name, host:port or [IPv6]:port"))?;
    if host.is_empty() {
        return Err(format!("{address:?}: the host name is empty"));
    }
    let transport = match scheme.as_deref() {
        Some("ldaps") => Transport::Ldaps,
        Some("ldap") => match encryption {
            Encryption::StartTls => Transport::StartTls,
            // `ldap://` asks for a plain connection; `encryption: ldaps` contradicts it.
            Encryption::Ldaps | Encryption::None => Transport::Plain,
        },
        Some(other) => {
            return Err(format!(
                "{address:?}: unknown scheme {other:?}, expected ldap:// or ldaps://"
            ));
        }
        None => match encryption {
            Encryption::None => Transport::Plain,
            Encryption::Ldaps => Transport::Ldaps,
            // IIJ: "for LDAPS specify start_tls". StartTLS on the LDAPS port cannot work, so
            // start_tls with port 636 means TLS from the first byte (docs/iij-assumptions.md).
            Encryption::StartTls if port.unwrap_or(default_port) == 636 => Transport::Ldaps,
            Encryption::StartTls => Transport::StartTls,
        },
    };
    let port = port.unwrap_or(match (transport, default_port) {
        // The config default port is 389; LDAPS without an explicit port means 636.
        (Transport::Ldaps, 389) => 636,
        (_, p) => p,
    });
    Ok(Endpoint {
        address: address.to_string(),
        host: host.to_string(),
        port,
        transport,
    })
}

fn split_host_port(s: &str) -> Option<(&str, Option<u16>)> {
    if let Some(inner) = s.strip_prefix('[') {
        let (host, after) = inner.split_once(']')?;
        return match after {
            "" => Some((host, None)),
            p => Some((host, Some(p.strip_prefix(':')?.parse().ok()?))),
        };
    }
    match s.matches(':').count() {
        0 => Some((s, None)),
        1 => {
            let (h, p) = s.split_once(':')?;
            Some((h, Some(p.parse().ok().filter(|p| *p != 0)?)))
        }
        // A bare IPv6 literal has several colons and no port.
        _ => Some((s, None)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ep(a: &str, port: u16, enc: Encryption) -> (String, Transport) {
        let e = parse_address(a, port, enc).unwrap();
        (e.url(), e.transport)
    }

    #[test]
    fn addresses_and_encryption() {
        use Encryption as E;
        use Transport as T;
        assert_eq!(
            ep("dc1.example.co.jp", 389, E::None),
            ("ldap://dc1.example.co.jp:389".into(), T::Plain)
        );
        assert_eq!(
            ep("dc1", 389, E::StartTls),
            ("ldap://dc1:389".into(), T::StartTls)
        );
        assert_eq!(
            ep("dc1", 389, E::Ldaps),
            ("ldaps://dc1:636".into(), T::Ldaps)
        );
        assert_eq!(
            ep("dc1", 636, E::StartTls),
            ("ldaps://dc1:636".into(), T::Ldaps)
        );
        assert_eq!(
            ep("ldaps://127.0.0.1", 389, E::None),
            ("ldaps://127.0.0.1:636".into(), T::Ldaps)
        );
        assert_eq!(
            ep("ldap://127.0.0.1:3389", 389, E::StartTls),
            ("ldap://127.0.0.1:3389".into(), T::StartTls)
        );
        assert_eq!(
            ep("127.0.0.2:1389", 389, E::None),
            ("ldap://127.0.0.2:1389".into(), T::Plain)
        );
        assert_eq!(
            ep("::1", 389, E::None),
            ("ldap://[::1]:389".into(), T::Plain)
        );
        assert_eq!(
            ep("[::1]:636", 389, E::Ldaps),
            ("ldaps://[::1]:636".into(), T::Ldaps)
        );
        assert!(parse_address("ftp://dc1", 389, E::None).is_err());
        assert!(parse_address("dc1:notaport", 389, E::None).is_err());
        assert!(parse_address("ldap://dc1/DC=x", 389, E::None).is_err());
        assert!(parse_address("", 389, E::None).is_err());
    }
}
