//! The Active Directory checks: every domain controller on its own (TCP, TLS, bind, base
//! DN), then how many objects the filters select.

use super::{CheckOptions, Recorder, Status, plural};
use dirsnap_ad::{EndpointProbe, ProbeStage, Transport};
use dirsnap_config::{DsConfig, Secret};

pub(super) async fn check_ad(
    options: &CheckOptions,
    config: &DsConfig,
    password: Option<&Secret>,
    report: &mut Recorder<'_>,
) {
    let ca = options.ad_ca_file.as_deref();
    let probes = match dirsnap_ad::probe_endpoints(config, password, ca).await {
        Ok(p) => p,
        Err(e) => {
            let input = e.is_invalid_input();
            report.fail(
                "ad.server",
                e.to_string(),
                if input {
                    "correct the setting shown; no domain controller was contacted"
                } else {
                    "see the message"
                },
            );
            if input {
                report.unusable();
            }
            return;
        }
    };
    let port_of = |p: &EndpointProbe| {
        p.url
            .rsplit(':')
            .next()
            .map(|s| s.trim_end_matches(" (StartTLS)").to_string())
            .unwrap_or_default()
    };
    let mut bound_somewhere = false;
    for (i, p) in probes.iter().enumerate() {
        let id = format!("ad.server[{i}]");
        let head = format!("domain controller {} [{}]", p.address, p.url);
        match &p.result {
            Ok(ok) => {
                let mut parts = vec![match &ok.tls {
                    Some(t) => format!("TLS: {t}"),
                    None if p.transport == Transport::Plain => {
                        "plain LDAP (no TLS: encryption none)".to_string()
                    }
                    None => String::new(),
                }];
                if ok.bound {
                    bound_somewhere = true;
                    parts.push(format!(
                        "bound as {}; base DN found",
                        config.ad.server.user.as_deref().unwrap_or("?")
                    ));
                }
                if let Some(h) = &ok.server {
                    parts.push(format!("server {h}"));
                }
                parts.push(format!("{} ms", ok.elapsed.as_millis()));
                let text = format!("{head}: {}", parts.join("; "));
                match &ok.bind_skipped {
                    None => report.add(id, Status::Pass, text),
                    Some(why) if password.is_none() => {
                        report.add(id, Status::Skip, format!("{text}\nbind {why}"))
                    }
                    Some(why) => report.warn(
                        id,
                        format!("{text}\nbind {why}"),
                        "fix the credentials (see the failed bind above), then run check again",
                    ),
                }
            }
            Err(f) => {
                let fix = match f.stage {
                    ProbeStage::Connect => format!(
                        "make {} reachable from this host on port {}/TCP (DNS, firewall), or \
                         remove it from ad.ldap.server.addresses: Directory Sync uses the first \
                         address that connects, so a dead entry stays hidden until the others fail",
                        p.address,
                        port_of(p)
                    ),
                    ProbeStage::Tls => "give the CA that issued the domain controller's \
                         certificate with --ad-ca-file (or DIRSNAP_AD_CA_FILE) or install it in \
                         the system trust store; with verify_mode: true the address must be a \
                         name or IP the certificate lists"
                        .to_string(),
                    ProbeStage::Bind => format!(
                        "check ad.ldap.server.user and the password (secret.yml \
                         ad.ldap.server.password or {}); AD's data code tells which: 52e wrong \
                         password, 533 disabled, 532 password expired, 775 locked out",
                        dirsnap_config::ENV_AD_PASSWORD
                    ),
                    ProbeStage::BaseDn => "set ad.ldap.base_dn to a DN of this domain; with \
                         several domains, each instance's config lists only its own domain's \
                         controllers"
                        .to_string(),
                };
                report.fail(id, format!("{head}: {}", f.detail), fix);
            }
        }
    }
    let Some(password) = password.filter(|_| bound_somewhere) else {
        report.add(
            "ad.selected",
            Status::Skip,
            "objects selected by the filters: not counted (no domain controller accepted a bind)",
        );
        return;
    };
    match dirsnap_ad::count_selected(config, password, ca).await {
        Ok(s) if s.users == 0 => report.warn(
            "ad.selected",
            format!(
                "the filters select no users under {} (and {}), on {}",
                s.base_dn,
                plural(s.groups, "group"),
                s.url
            ),
            "check ad.ldap.base_dn and ad.ldap.filter.user: a sync would treat every IIJ ID \
             user this instance owns as deleted from AD",
        ),
        Ok(s) => report.add(
            "ad.selected",
            Status::Pass,
            format!(
                "the filters select {} and {} under {} (on {})",
                plural(s.users, "user"),
                plural(s.groups, "group"),
                s.base_dn,
                s.url
            ),
        ),
        Err(e) => report.fail(
            "ad.selected",
            format!("counting the selected objects failed: {e}"),
            "the search Directory Sync makes fails the same way; see the message",
        ),
    }
}
