//! A TCP proxy in front of the DC that records every LDAP message in both directions, so
//! tests can assert on what the exporter actually sent (Samba does not enforce AD's limits,
//! so a test that only looked at results could not tell paging from one big answer).
#![allow(dead_code)]

use ldap3::asn1::{PL, StructureTag, parse_tag};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One LDAP message seen on the wire.
#[derive(Debug, Clone)]
pub struct Message {
    pub from_client: bool,
    pub id: i64,
    /// The protocolOp's APPLICATION tag: 3 SearchRequest, 4 SearchResultEntry, 5 SearchResultDone…
    pub op: u64,
    pub op_tag: StructureTag,
    /// (OID, value) of each control.
    pub controls: Vec<(String, Option<Vec<u8>>)>,
}

impl Message {
    pub fn control(&self, oid: &str) -> Option<&Option<Vec<u8>>> {
        self.controls.iter().find(|(o, _)| o == oid).map(|(_, v)| v)
    }

    /// For a SearchRequest: (base, requested attributes).
    pub fn search_request(&self) -> Option<(String, Vec<String>)> {
        if self.op != 3 {
            return None;
        }
        let PL::C(items) = &self.op_tag.payload else {
            return None;
        };
        let base = prim_string(items.first()?)?;
        let PL::C(attrs) = &items.get(7)?.payload else {
            return None;
        };
        Some((base, attrs.iter().filter_map(prim_string).collect()))
    }
}

fn prim_string(t: &StructureTag) -> Option<String> {
    match &t.payload {
        PL::P(b) => Some(String::from_utf8_lossy(b).into_owned()),
        PL::C(_) => None,
    }
}

fn integer(bytes: &[u8]) -> i64 {
    let mut v: i64 = if bytes.first().is_some_and(|b| b & 0x80 != 0) {
        -1
    } else {
        0
    };
    for b in bytes {
        v = (v << 8) | i64::from(*b);
    }
    v
}

/// `(size, cookie)` of a paged-results control value.
pub fn paged_value(value: &[u8]) -> (i64, Vec<u8>) {
    let (_, tag) = parse_tag(value).expect("paged results control value");
    let PL::C(items) = tag.payload else {
        panic!("paged results value is not a sequence")
    };
    let size = match &items[0].payload {
        PL::P(b) => integer(b),
        PL::C(_) => panic!("size"),
    };
    let cookie = match &items[1].payload {
        PL::P(b) => b.clone(),
        PL::C(_) => panic!("cookie"),
    };
    (size, cookie)
}

fn decode(bytes: &[u8], from_client: bool) -> Option<Message> {
    let (_, tag) = parse_tag(bytes).ok()?;
    let PL::C(items) = tag.payload else {
        return None;
    };
    let mut items = items.into_iter();
    let id = match items.next()?.payload {
        PL::P(b) => integer(&b),
        PL::C(_) => return None,
    };
    let op_tag = items.next()?;
    let mut controls = Vec::new();
    if let Some(ctrls) = items.next()
        && let PL::C(list) = ctrls.payload
    {
        for c in list {
            let PL::C(parts) = c.payload else { continue };
            let mut oid = String::new();
            let mut value = None;
            for p in parts {
                match (p.id, p.payload) {
                    (4, PL::P(b)) if oid.is_empty() => oid = String::from_utf8_lossy(&b).into(),
                    (4, PL::P(b)) => value = Some(b),
                    _ => {}
                }
            }
            controls.push((oid, value));
        }
    }
    Some(Message {
        from_client,
        id,
        op: op_tag.id,
        op_tag,
        controls,
    })
}

/// Length of the first complete BER element in `buf`, if it is all there.
fn frame_len(buf: &[u8]) -> Option<usize> {
    let first = *buf.get(1)?;
    if first < 0x80 {
        let total = 2 + usize::from(first);
        return (buf.len() >= total).then_some(total);
    }
    let n = usize::from(first & 0x7f);
    let len_bytes = buf.get(2..2 + n)?;
    let len = len_bytes
        .iter()
        .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
    let total = 2 + n + len;
    (buf.len() >= total).then_some(total)
}

async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    log: Arc<Mutex<Vec<Message>>>,
    from_client: bool,
) {
    let mut buf: Vec<u8> = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let n = match from.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if to.write_all(&chunk[..n]).await.is_err() {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
        while let Some(len) = frame_len(&buf) {
            if let Some(m) = decode(&buf[..len], from_client) {
                log.lock().unwrap().push(m);
            }
            buf.drain(..len);
        }
    }
    let _ = to.shutdown().await;
}

/// A recording proxy listening on 127.0.0.1:`port`, forwarding to `upstream`.
pub struct Proxy {
    pub port: u16,
    pub log: Arc<Mutex<Vec<Message>>>,
}

impl Proxy {
    pub async fn start(upstream: String) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let log = Arc::new(Mutex::new(Vec::new()));
        let l = log.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = TcpStream::connect(&upstream).await else {
                    continue;
                };
                let (cr, cw) = client.into_split();
                let (sr, sw) = server.into_split();
                tokio::spawn(pump(cr, sw, l.clone(), true));
                tokio::spawn(pump(sr, cw, l.clone(), false));
            }
        });
        Proxy { port, log }
    }

    pub fn messages(&self) -> Vec<Message> {
        self.log.lock().unwrap().clone()
    }
}
