//! Serves a generated tenant on a loopback Microsoft Graph (the test fixture) until stdin
//! closes, for benchmarks and manual runs:
//!
//! `cargo run -p dirsnap-m365 --features fixture-server --example graph_fixture -- USERS DELETED TOKEN`
//!
//! Prints the Graph base URL on the first line of stdout.

use dirsnap_m365::fixture::{FixtureConfig, FixtureTenant, GraphFixture};
use serde_json::json;
use std::io::{Read, Write};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let users: usize = args.next().unwrap_or_else(|| "10000".into()).parse()?;
    let deleted: usize = args.next().unwrap_or_else(|| "100".into()).parse()?;
    let token = args.next().unwrap_or_else(|| "bench-token".into());
    let names = [
        "山田 太郎",
        "佐藤 花子",
        "鈴木 一郎",
        "高橋 由紀",
        "Smith John",
    ];
    let user = |i: usize, deleted: bool| {
        let id = format!(
            "00000000-0000-4000-{}-{i:012}",
            if deleted { 9000 } else { 8000 }
        );
        let upn = format!("user{i}@example.co.jp");
        json!({
            "id": id,
            "userPrincipalName": if deleted { format!("{}{upn}", id.replace('-', "")) } else { upn.clone() },
            "displayName": names[i % names.len()],
            "accountEnabled": !i.is_multiple_of(10),
            "onPremisesImmutableId": format!("{:022}==", i),
            "mail": upn,
            "assignedLicenses": [{"disabledPlans": [], "skuId": "05e9a617-0261-4cee-bb44-138d3ef5d965"}],
            "createdDateTime": "2024-04-01T00:00:00Z",
            "deletedDateTime": if deleted { json!("2026-11-01T00:00:00Z") } else { json!(null) },
        })
    };
    let tenant = FixtureTenant {
        users: (0..users).map(|i| user(i, false)).collect(),
        deleted_users: (0..deleted).map(|i| user(i, true)).collect(),
    };
    let fx = GraphFixture::start(
        tenant,
        FixtureConfig {
            page_size: 999,
            bearer_token: Some(token),
            ..FixtureConfig::default()
        },
    )?;
    let mut out = std::io::stdout();
    writeln!(out, "{}", fx.graph_url())?;
    out.flush()?;
    let mut sink = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut sink);
    Ok(())
}
