//! The ranged-retrieval loop against recorded answers: Active Directory's own behaviour
//! (server-chosen windows of MaxValRange = 1500, [MS-ADTS] 3.1.1.3.1.3.3), which Samba does
//! not reproduce, and Samba's answers to forced windows (recorded from the test DC).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use dirsnap_ad::range::{Members, RangeSource, fetch_rest, members_of, parse_range, request_attr};
use dirsnap_ad::{AdError, RawAttr, RawEntry};

/// Answers requests from a script of (expected request attribute, answer), failing on any
/// request the script does not expect.
struct Recorded {
    script: Vec<(String, Option<RawEntry>)>,
    seen: Vec<(String, String)>,
}

impl RangeSource for Recorded {
    async fn fetch(&mut self, base: &str, attribute: &str) -> Result<Option<RawEntry>, AdError> {
        self.seen.push((base.to_string(), attribute.to_string()));
        assert!(
            !self.script.is_empty(),
            "unexpected extra request {attribute}"
        );
        let (want, answer) = self.script.remove(0);
        assert_eq!(attribute, want, "request out of order");
        Ok(answer)
    }

    fn url(&self) -> String {
        "ldap://recorded".into()
    }
}

fn dns(from: usize, to: usize) -> Vec<Vec<u8>> {
    (from..to)
        .map(|i| format!("CN=user{i:05},OU=Staff,DC=example,DC=co,DC=jp").into_bytes())
        .collect()
}

fn answer(attr: &str, values: Vec<Vec<u8>>) -> Option<RawEntry> {
    Some(RawEntry {
        dn: "CN=All Staff,OU=Groups,DC=example,DC=co,DC=jp".into(),
        attrs: vec![RawAttr {
            name: attr.into(),
            values,
        }],
    })
}

const BASE: &str = "<GUID=2f6b8a1c-0d3e-4f5a-9b7c-1e2d3c4b5a69>";

fn run(
    first: RawEntry,
    step: Option<u32>,
    script: Vec<(&str, Option<RawEntry>)>,
) -> (Result<Vec<Vec<u8>>, AdError>, Recorded) {
    let mut source = Recorded {
        script: script
            .into_iter()
            .map(|(a, e)| (a.to_string(), e))
            .collect(),
        seen: Vec::new(),
    };
    let result = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(async {
            match members_of(&first).map_err(|detail| AdError::Protocol {
                url: "first".into(),
                detail,
            })? {
                Members::Complete(v) => Ok(v),
                Members::Partial { mut values, next } => {
                    fetch_rest(&mut source, BASE, next, step, &mut values).await?;
                    Ok(values)
                }
            }
        });
    (result, source)
}

#[test]
fn active_directory_3200_members_in_server_chosen_windows() {
    // AD answers `member` of a 3,200-member group with `member;range=0-1499` (and an empty
    // `member`), then each `member;range=N-*` with the next 1,500, the last one ending in `*`.
    let mut first = answer("member;range=0-1499", dns(0, 1500)).unwrap();
    first.attrs.insert(
        0,
        RawAttr {
            name: "member".into(),
            values: vec![],
        },
    );
    let (got, src) = run(
        first,
        None,
        vec![
            (
                "member;range=1500-*",
                answer("member;range=1500-2999", dns(1500, 3000)),
            ),
            (
                "member;range=3000-*",
                answer("member;range=3000-*", dns(3000, 3200)),
            ),
        ],
    );
    assert_eq!(got.unwrap(), dns(0, 3200));
    assert!(src.script.is_empty(), "every recorded answer used");
    assert!(src.seen.iter().all(|(b, _)| b == BASE));
}

#[test]
fn samba_forced_windows() {
    // Recorded from Samba 4.17 with a 2,000-member group: a window reaching or passing the
    // last value is answered `START-*`.
    let (got, src) = run(
        answer("member;range=0-999", dns(0, 1000)).unwrap(),
        Some(1000),
        vec![(
            "member;range=1000-1999",
            answer("member;range=1000-*", dns(1000, 2000)),
        )],
    );
    assert_eq!(got.unwrap(), dns(0, 2000));
    assert_eq!(src.seen.len(), 1);

    let (got, _) = run(
        answer("member;range=0-299", dns(0, 300)).unwrap(),
        Some(300),
        vec![
            (
                "member;range=300-599",
                answer("member;range=300-599", dns(300, 600)),
            ),
            (
                "member;range=600-899",
                answer("member;range=600-*", dns(600, 650)),
            ),
        ],
    );
    assert_eq!(got.unwrap(), dns(0, 650));
}

#[test]
fn a_window_past_the_end_answered_without_member_ends_the_loop() {
    // A server that answers a window ending exactly at the last value as asked leaves the
    // client one request past the end; Samba answers that request (recorded: 2000-2999 of a
    // 2,000-member group) with the entry and no member attribute at all.
    let (got, src) = run(
        answer("member;range=0-999", dns(0, 1000)).unwrap(),
        Some(1000),
        vec![
            (
                "member;range=1000-1999",
                answer("member;range=1000-1999", dns(1000, 2000)),
            ),
            (
                "member;range=2000-2999",
                Some(RawEntry {
                    dn: "CN=All Staff,OU=Groups,DC=example,DC=co,DC=jp".into(),
                    attrs: vec![],
                }),
            ),
        ],
    );
    assert_eq!(got.unwrap(), dns(0, 2000));
    assert_eq!(src.seen.len(), 2);
}

#[test]
fn small_group_needs_no_extra_request() {
    let (got, src) = run(
        answer("member;range=0-*", dns(0, 3)).unwrap(),
        Some(300),
        vec![],
    );
    assert_eq!(got.unwrap(), dns(0, 3));
    assert!(src.seen.is_empty());
    let (got, _) = run(answer("member", dns(0, 5)).unwrap(), None, vec![]);
    assert_eq!(got.unwrap().len(), 5);
}

#[test]
fn inconsistent_answers_are_errors_not_loops() {
    // The server skips ahead.
    let (got, _) = run(
        answer("member;range=0-1499", dns(0, 1500)).unwrap(),
        None,
        vec![(
            "member;range=1500-*",
            answer("member;range=1600-*", dns(1600, 1700)),
        )],
    );
    let msg = got.unwrap_err().to_string();
    assert!(msg.contains("asked for member;range=1500-*"), "{msg}");

    // The server repeats an empty window forever.
    let (got, _) = run(
        answer("member;range=0-1499", dns(0, 1500)).unwrap(),
        None,
        vec![(
            "member;range=1500-*",
            answer("member;range=1500-1499", vec![]),
        )],
    );
    assert!(got.unwrap_err().to_string().contains("does not advance"));

    // The group was deleted between the page and the range request.
    let (got, _) = run(
        answer("member;range=0-1499", dns(0, 1500)).unwrap(),
        None,
        vec![("member;range=1500-*", None)],
    );
    assert!(got.unwrap_err().to_string().contains("disappeared"));

    // A first answer that does not start at 0.
    let (got, _) = run(
        answer("member;range=5-9", dns(5, 10)).unwrap(),
        None,
        vec![],
    );
    assert!(got.is_err());
}

#[test]
fn range_syntax() {
    assert_eq!(
        parse_range("member;range=1500-2999").map(|r| (r.start, r.end)),
        Some((1500, Some(2999)))
    );
    assert_eq!(
        parse_range("Member;Range=3000-*").map(|r| (r.start, r.end)),
        Some((3000, None))
    );
    assert_eq!(parse_range("member"), None);
    assert_eq!(parse_range("member;range=x-*"), None);
    assert_eq!(request_attr(1500, None), "member;range=1500-*");
    assert_eq!(request_attr(300, Some(300)), "member;range=300-599");
}
