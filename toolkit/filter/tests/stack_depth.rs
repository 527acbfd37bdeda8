#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Filters at the maximum nesting depth must parse, print, evaluate and drop on a small
//! thread stack (test threads get 2 MiB; this uses 256 KiB to leave a wide margin even in
//! unoptimized builds), and deeper ones must be rejected without recursion.

use dirsnap_filter::{MAX_DEPTH, ldap, scim};

fn on_small_stack(f: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(f)
        .unwrap()
        .join()
        .unwrap();
}

struct Entry;

impl ldap::LdapEntry for Entry {
    fn values(&self, _: &str) -> Vec<&[u8]> {
        vec![b"b"]
    }
    fn dn(&self) -> &str {
        "cn=x"
    }
    fn in_chain(&self, _: &str, _: &str) -> bool {
        false
    }
}

#[test]
fn scim_at_max_depth() {
    on_small_stack(|| {
        let n = MAX_DEPTH;
        for text in [
            format!("{}a pr{}", "not (".repeat(n), ")".repeat(n)),
            format!("{}a[b pr]{}", "not (".repeat(n - 1), ")".repeat(n - 1)),
            format!("{}a pr{}", "(b pr and (".repeat(n / 2), "))".repeat(n / 2)),
            format!("{}a pr{}", "(".repeat(n), ")".repeat(n)),
        ] {
            let f = scim::parse(&text).unwrap();
            let printed = f.to_string();
            assert_eq!(scim::parse(&printed).unwrap(), f);
            let _ = f.matches(&serde_json::json!({"a": [{"b": 1}]}), &scim::DefaultSchema);
        }
        assert!(scim::parse(&"(".repeat(1_000_000)).is_err());
        assert!(scim::parse(&"not (".repeat(200_000)).is_err());
    });
}

#[test]
fn ldap_at_max_depth() {
    on_small_stack(|| {
        let n = MAX_DEPTH - 1;
        for text in [
            format!("{}(a=b){}", "(!".repeat(n), ")".repeat(n)),
            format!("{}(a=b){}", "(&(c=d)".repeat(n), ")".repeat(n)),
            format!("!{}(a=b){}", "(|".repeat(n - 1), ")".repeat(n - 1)),
        ] {
            let f = ldap::parse(&text).unwrap();
            let printed = f.to_string();
            assert_eq!(ldap::parse(&printed).unwrap(), f);
            let _ = f.evaluate(&Entry);
        }
        assert!(ldap::parse(&"(".repeat(1_000_000)).is_err());
        assert!(ldap::parse(&"(!".repeat(500_000)).is_err());
    });
}
