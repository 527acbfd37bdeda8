//! Shared by the interop and end-to-end tests: the independent scim2-server (PyPI, in the
//! venv scripts/test creates) as a child process that stops with the test.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The venv's python (DIRSNAP_TEST_PYTHON overrides).
/// The `plan.json` a command `o` wrote to `dir`; `o` must have written a plan: exit 0, or 3
/// for blocking findings (its output is shown otherwise).
pub fn written_plan(o: &Output, dir: &Path) -> serde_json::Value {
    assert!(
        matches!(o.status.code(), Some(0 | 3)),
        "exit {:?}\n{}{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_str(&std::fs::read_to_string(dir.join("plan.json")).unwrap()).unwrap()
}

pub fn python() -> PathBuf {
    std::env::var_os("DIRSNAP_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join(".venv/bin/python"))
}

/// A script installed in the venv beside python.
pub fn venv_bin(name: &str) -> PathBuf {
    let bin = python().parent().unwrap().join(name);
    assert!(
        bin.exists(),
        "{} not found: run scripts/test (it creates .venv with scim2-server)",
        bin.display()
    );
    bin
}

/// A running scim2-server on a free loopback port; killed when dropped.
pub struct Scim2Server {
    child: Child,
    pub port: u16,
    /// The SCIM base URL, ending in `/`.
    pub url: String,
}

impl Scim2Server {
    /// Starts it with `extra` arguments (e.g. `--schema FILE`) and waits until it accepts
    /// connections.
    pub fn start(token: &str, extra: &[&std::ffi::OsStr]) -> Scim2Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(venv_bin("scim2-server"))
            .args(["--hostname", "127.0.0.1", "--port", &port.to_string()])
            .args(["--bearer-token", token])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let server = Scim2Server {
            child,
            port,
            url: format!("http://127.0.0.1:{port}/v2/"),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "scim2-server did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        server
    }
}

impl Drop for Scim2Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
