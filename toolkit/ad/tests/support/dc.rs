//! The Samba AD DC the integration tests run against, and helpers to seed it and to write a
//! Directory Sync config.yml for it. Shared by toolkit/ad/tests and toolkit/cli/tests (std
//! only, so either can include it with `#[path]`).
//!
//! The DC comes from the `DIRSNAP_TEST_AD_*` variables scripts/test.d/10-ad-server.sh exports;
//! without them the tests start it with `scripts/ad-server start` (idempotent) rather than
//! skip.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};

/// An OU of one test.
#[derive(Debug, Clone)]
pub struct Ou {
    pub name: String,
    pub dn: String,
    pub token: String,
}

#[derive(Debug, Clone)]
pub struct Dc {
    pub name: String,
    pub ip: String,
    pub url: String,
    pub ldaps_url: String,
    pub bind_dn: String,
    pub password: String,
    pub base_dn: String,
    pub realm: String,
    pub ca: PathBuf,
    pub sam: PathBuf,
    pub root: PathBuf,
}

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .find(|p| p.join("scripts/ad-server").is_file())
        .expect("repository root with scripts/ad-server")
        .to_path_buf()
}

fn parse_vars(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| {
            let (k, v) = l.split_once('=')?;
            let v = v.strip_prefix('\'')?.strip_suffix('\'')?;
            Some((k.to_string(), v.replace("'\\''", "'")))
        })
        .collect()
}

pub fn dc() -> &'static Dc {
    static DC: OnceLock<Dc> = OnceLock::new();
    DC.get_or_init(|| {
        let root = repo_root();
        let from_env = |k: &str| std::env::var(format!("DIRSNAP_TEST_AD_{k}")).ok();
        let vars: Vec<(String, String)> = if from_env("URL").is_some() {
            [
                "NAME",
                "IP",
                "URL",
                "LDAPS_URL",
                "BIND_DN",
                "PASSWORD",
                "BASE_DN",
                "REALM",
                "CA",
                "SAM",
            ]
            .iter()
            .map(|k| {
                let v = from_env(k).unwrap_or_else(|| {
                    panic!("DIRSNAP_TEST_AD_URL is set but DIRSNAP_TEST_AD_{k} is not")
                });
                (format!("AD_{k}"), v)
            })
            .collect()
        } else {
            eprintln!(
                "DIRSNAP_TEST_AD_* not set: starting the test DC with scripts/ad-server start test"
            );
            // A DC that was already running belongs to whoever started it: leases leave it be.
            let running = Command::new(root.join("scripts/ad-server"))
                .args(["status", "test"])
                .output()
                .is_ok_and(|o| o.status.success());
            STARTED_HERE.store(!running, Ordering::SeqCst);
            let out = Command::new(root.join("scripts/ad-server"))
                .args(["start", "test"])
                .output()
                .expect("run scripts/ad-server");
            assert!(
                out.status.success(),
                "scripts/ad-server start failed:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
            parse_vars(&String::from_utf8_lossy(&out.stdout))
        };
        let get = |k: &str| {
            vars.iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.clone())
                .unwrap_or_else(|| panic!("scripts/ad-server did not print {k}"))
        };
        Dc {
            name: get("AD_NAME"),
            ip: get("AD_IP"),
            url: get("AD_URL"),
            ldaps_url: get("AD_LDAPS_URL"),
            bind_dn: get("AD_BIND_DN"),
            password: get("AD_PASSWORD"),
            base_dn: get("AD_BASE_DN"),
            realm: get("AD_REALM"),
            ca: PathBuf::from(get("AD_CA")),
            sam: PathBuf::from(get("AD_SAM")),
            root,
        }
    })
}

/// Set when this test process started the DC itself (no `DIRSNAP_TEST_AD_*`, not running).
static STARTED_HERE: AtomicBool = AtomicBool::new(false);
/// Leases held, and whether the last release stopped the DC.
static LEASES: Mutex<(usize, bool)> = Mutex::new((0, false));

/// The DC for the duration of one test. When the tests started the DC themselves, the last
/// lease to be dropped stops it (so `cargo test` leaves no samba running) and the next lease
/// starts it again; a DC from scripts/test or started by hand is never stopped.
pub struct DcLease(&'static Dc);

impl std::ops::Deref for DcLease {
    type Target = Dc;
    fn deref(&self) -> &Dc {
        self.0
    }
}

pub fn lease() -> DcLease {
    let dc = dc();
    let mut held = LEASES.lock().unwrap_or_else(|e| e.into_inner());
    if held.1 {
        let out = Command::new(dc.root.join("scripts/ad-server"))
            .args(["start", &dc.name])
            .output()
            .expect("run scripts/ad-server");
        assert!(
            out.status.success(),
            "scripts/ad-server start failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        held.1 = false;
    }
    held.0 += 1;
    DcLease(dc)
}

impl Drop for DcLease {
    fn drop(&mut self) {
        let mut held = LEASES.lock().unwrap_or_else(|e| e.into_inner());
        held.0 = held.0.saturating_sub(1);
        if held.0 == 0 && STARTED_HERE.load(Ordering::SeqCst) {
            let _ = Command::new(self.0.root.join("scripts/ad-server"))
                .args(["stop", &self.0.name])
                .output();
            held.1 = true;
        }
    }
}

impl Dc {
    /// A fresh OU, unique per test and run, so tests never see each other's data and a
    /// reused DC needs no cleanup. Its `token` prefixes account names (sAMAccountName and
    /// userPrincipalName are unique domain-wide).
    pub fn unique_ou(&self, tag: &str) -> Ou {
        static N: AtomicU32 = AtomicU32::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let mut n = nanos
            ^ (u128::from(std::process::id()) << 64)
            ^ (u128::from(N.fetch_add(1, Ordering::SeqCst)) * 7919);
        let mut token = String::new();
        for _ in 0..7 {
            token.push(char::from(
                b"abcdefghijklmnopqrstuvwxyz0123456789"[(n % 36) as usize],
            ));
            n /= 36;
        }
        let name = format!("t-{tag}-{token}");
        let dn = format!("OU={name},{}", self.base_dn);
        Ou { name, dn, token }
    }

    /// Loads LDIF straight into the directory's database, as `scripts/ad-server seed` does
    /// (ldbadd in batch mode, which works while samba runs).
    pub fn seed(&self, ldif: &str) {
        let dir = tempfile_dir();
        let path = dir.join("seed.ldif");
        std::fs::write(&path, ldif).unwrap();
        let out = Command::new("ldbadd")
            .args([
                "-o",
                "batch_mode:1",
                "-o",
                "transaction_index_cache_size:200003",
                "-H",
            ])
            .arg(&self.sam)
            .arg(&path)
            .output()
            .expect("run ldbadd (installed by scripts/ad-server)");
        let _ = std::fs::remove_dir_all(&dir);
        let stderr = String::from_utf8_lossy(&out.stderr);
        // In batch mode ldbadd skips a refused entry, says so on stderr and still exits 0.
        let entries = ldif.lines().filter(|l| l.starts_with("dn:")).count();
        assert!(
            out.status.success()
                && !stderr.contains("ERR")
                && String::from_utf8_lossy(&out.stdout)
                    .contains(&format!("Added {entries} records")),
            "seeding failed:\n{stderr}"
        );
    }

    /// Runs an ldap-utils tool (ldapmodify, ldapdelete, ldapsearch …) bound as the admin.
    pub fn ldap_tool(&self, tool: &str, args: &[&str], stdin: Option<&str>) -> String {
        use std::io::Write;
        let mut cmd = Command::new(tool);
        cmd.args([
            "-x",
            "-H",
            &self.url,
            "-D",
            &self.bind_dn,
            "-w",
            &self.password,
        ]);
        cmd.args(args);
        cmd.stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = cmd.spawn().unwrap_or_else(|e| panic!("run {tool}: {e}"));
        if let Some(text) = stdin {
            child
                .stdin
                .take()
                .unwrap()
                .write_all(text.as_bytes())
                .unwrap();
        }
        drop(child.stdin.take());
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{tool} {args:?} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

/// A temporary directory under the system temp dir (removed by the caller or left for the OS).
pub fn tempfile_dir() -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "dirsnap-ad-test-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Settings of a config.yml for the test DC.
#[derive(Debug, Clone)]
pub struct ConfigSpec {
    pub addresses: Vec<String>,
    pub port: Option<u16>,
    pub encryption: &'static str,
    pub verify_mode: bool,
    pub user: String,
    pub base_dn: String,
    pub user_filter: Option<String>,
    pub group_filter: Option<String>,
}

impl ConfigSpec {
    pub fn new(dc: &Dc, base_dn: &str) -> ConfigSpec {
        ConfigSpec {
            addresses: vec![dc.ip.clone()],
            port: None,
            encryption: "none",
            verify_mode: false,
            user: dc.bind_dn.clone(),
            base_dn: base_dn.to_string(),
            user_filter: None,
            group_filter: None,
        }
    }

    /// Directory Sync's config.yml layout (IIJ's sample), single-quoted YAML scalars.
    pub fn yaml(&self) -> String {
        let q = |s: &str| format!("'{}'", s.replace('\'', "''"));
        let mut y = String::from("ad:\n  ldap:\n    server:\n      addresses:\n");
        for a in &self.addresses {
            y.push_str(&format!("        - {}\n", q(a)));
        }
        if let Some(p) = self.port {
            y.push_str(&format!("      port: {p}\n"));
        }
        y.push_str(&format!(
            "      user: {}\n      timeout: 60\n      encryption: {}\n      verify_mode: {}\n",
            q(&self.user),
            self.encryption,
            self.verify_mode
        ));
        y.push_str(&format!("    base_dn: {}\n", q(&self.base_dn)));
        if self.user_filter.is_some() || self.group_filter.is_some() {
            y.push_str("    filter:\n");
            if let Some(f) = &self.user_filter {
                y.push_str(&format!("      user: {}\n", q(f)));
            }
            if let Some(f) = &self.group_filter {
                y.push_str(&format!("      group: {}\n", q(f)));
            }
        }
        y.push_str("dirsnap:\n  instance: samba-test\n");
        y
    }

    pub fn write(&self, dir: &Path) -> PathBuf {
        let path = dir.join("config.yml");
        std::fs::write(&path, self.yaml()).unwrap();
        path
    }
}

/// Windows FILETIME (100 ns ticks since 1601) for a Unix time.
pub fn filetime(unix_secs: i64) -> i64 {
    (unix_secs + 11_644_473_600) * 10_000_000
}

pub fn b64(bytes: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                s.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                s.push('=');
            }
        }
    }
    s
}

/// One LDIF attribute line; non-ASCII or unsafe values are base64 (`attr:: …`).
pub fn ldif_attr(name: &str, value: &str) -> String {
    let safe = value.is_ascii()
        && !value.starts_with([' ', ':', '<'])
        && !value.ends_with(' ')
        && !value.contains(['\n', '\r', '\0']);
    if safe {
        format!("{name}: {value}\n")
    } else {
        format!("{name}:: {}\n", b64(value.as_bytes()))
    }
}

/// LDIF for one entry.
pub fn ldif_entry(dn: &str, attrs: &[(&str, String)]) -> String {
    let mut s = ldif_attr("dn", dn);
    for (k, v) in attrs {
        s.push_str(&ldif_attr(k, v));
    }
    s.push('\n');
    s
}

pub fn ldif_ou(dn: &str) -> String {
    ldif_entry(dn, &[("objectClass", "organizationalUnit".into())])
}

/// A user with the attributes Directory Sync maps; `uac` 512 = enabled, 514 = disabled.
pub fn ldif_user(parent: &str, cn: &str, sam: &str, uac: u32, extra: &[(&str, String)]) -> String {
    let upn = format!("{sam}@test.example");
    let mut attrs: Vec<(&str, String)> = vec![
        ("objectClass", "user".into()),
        ("sAMAccountName", sam.into()),
        ("userPrincipalName", upn.clone()),
        ("mail", upn),
        ("userAccountControl", uac.to_string()),
    ];
    attrs.extend(extra.iter().cloned());
    ldif_entry(&format!("CN={cn},{parent}"), &attrs)
}

/// A global security group with the given member DNs.
pub fn ldif_group(parent: &str, cn: &str, members: &[String]) -> String {
    // sAMAccountName is unique domain-wide and the DN is unique per run: derive one from it.
    let hash = format!("CN={cn},{parent}")
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
    let mut attrs: Vec<(&str, String)> = vec![
        ("objectClass", "group".into()),
        ("sAMAccountName", format!("g{:015x}", hash >> 4)),
    ];
    for m in members {
        attrs.push(("member", m.clone()));
    }
    ldif_entry(&format!("CN={cn},{parent}"), &attrs)
}
