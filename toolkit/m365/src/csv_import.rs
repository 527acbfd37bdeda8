//! The Microsoft 365 admin center's "Export users" CSV (Users → Active users → Export users),
//! mapped onto the same rows as a Graph export. What the file cannot know, the immutableId
//! above all, is marked unknown (`immutable_id_known = false`), never guessed.
//!
//! The file is UTF-8 with a byte-order mark, comma-separated, fields quoted where needed, one
//! header row. Columns are found by header name (case and spacing ignored), so their order does
//! not matter and columns we do not use are kept only in `raw`. Exports made with PowerShell
//! (`Get-MgUser | Export-Csv`) use Graph's property names; those are accepted too, and when they
//! carry `OnPremisesImmutableId` the immutableId is known.

use crate::error::M365Error;
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use dirsnap_model::M365User;
use serde_json::Value;
use std::collections::HashMap;
use std::path::Path;

/// The header the admin center writes for each column we read, as shown in messages.
pub const COL_UPN: &str = "User principal name";
pub const COL_OBJECT_ID: &str = "Object Id";
pub const COL_DISPLAY_NAME: &str = "Display name";
pub const COL_BLOCK_CREDENTIAL: &str = "Block credential";
pub const COL_LICENSES: &str = "Licenses";
pub const COL_WHEN_CREATED: &str = "When created";
pub const COL_SOFT_DELETED: &str = "Soft deletion time stamp";

/// How the CSV bytes are decoded.
#[derive(Debug, Clone, Copy, Default)]
pub struct CsvOptions {
    /// Decode with this encoding instead of UTF-8 (a file re-saved by Excel in Japan is
    /// usually Shift_JIS). A UTF-8 or UTF-16 byte-order mark always wins.
    pub encoding: Option<&'static encoding_rs::Encoding>,
}

impl CsvOptions {
    /// Options for an encoding given by its WHATWG label (`utf-8`, `shift_jis`, `utf-16le`…).
    pub fn with_encoding_label(label: &str) -> Result<CsvOptions, M365Error> {
        let encoding = encoding_rs::Encoding::for_label(label.trim().as_bytes()).ok_or_else(|| {
            M365Error::Usage(format!(
                "--csv-encoding {label:?}: unknown encoding; expected e.g. utf-8, shift_jis, utf-16le"
            ))
        })?;
        Ok(CsvOptions {
            encoding: Some(encoding),
        })
    }
}

/// The rows of one CSV file and what the reader wants the user to know.
#[derive(Debug, Default)]
pub struct CsvImport {
    pub users: Vec<M365User>,
    /// Every header, in file order.
    pub columns: Vec<String>,
    /// Headers dirsnap does not map onto a typed column (kept in `raw`).
    pub ignored_columns: Vec<String>,
    /// Whether the file had an immutableId column (PowerShell export); the admin center's
    /// export never has one.
    pub immutable_id_known: bool,
    /// Values that could not be read and were left null, with file line numbers.
    pub warnings: Vec<String>,
    /// The encoding the bytes were decoded with.
    pub encoding: &'static str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Field {
    Upn,
    ObjectId,
    DisplayName,
    Mail,
    BlockCredential,
    AccountEnabled,
    Licenses,
    WhenCreated,
    SoftDeleted,
    ImmutableId,
}

const FIELDS: usize = 10;

/// Column position of each field: an array, not a map, because it is read ten times a row.
#[derive(Default)]
struct FieldIndex([Option<usize>; FIELDS]);

impl FieldIndex {
    fn get(&self, f: Field) -> Option<usize> {
        self.0.get(f as usize).copied().flatten()
    }
    fn contains_key(&self, f: &Field) -> bool {
        self.get(*f).is_some()
    }
    fn insert(&mut self, f: Field, i: usize) {
        if let Some(slot) = self.0.get_mut(f as usize) {
            *slot = Some(i);
        }
    }
}

/// Header spellings (normalised: lowercase, no spaces or underscores) for each field.
const ALIASES: &[(Field, &[&str])] = &[
    (Field::Upn, &["userprincipalname"]),
    (Field::ObjectId, &["objectid", "id"]),
    (Field::DisplayName, &["displayname"]),
    (Field::Mail, &["mail"]),
    (Field::BlockCredential, &["blockcredential"]),
    (Field::AccountEnabled, &["accountenabled"]),
    (Field::Licenses, &["licenses"]),
    (Field::WhenCreated, &["whencreated", "createddatetime"]),
    (
        Field::SoftDeleted,
        &["softdeletiontimestamp", "deleteddatetime"],
    ),
    (
        Field::ImmutableId,
        &["immutableid", "onpremisesimmutableid"],
    ),
];

fn normalise_header(h: &str) -> String {
    h.chars()
        .filter(|c| !c.is_whitespace() && *c != '_' && *c != '-')
        .flat_map(char::to_lowercase)
        .collect()
}

/// Reads and maps a CSV file. Any problem that would make a row wrong is an error naming the
/// file, the line and the column; nothing is half-imported.
pub fn read_csv_file(path: &Path, options: CsvOptions) -> Result<CsvImport, M365Error> {
    let bytes = std::fs::read(path).map_err(|source| M365Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse_csv(path, &bytes, options)
}

/// Decodes `bytes` to text: BOM first, then the requested encoding, else strict UTF-8.
fn decode<'a>(
    path: &Path,
    bytes: &'a [u8],
    options: CsvOptions,
) -> Result<(std::borrow::Cow<'a, str>, &'static str), M365Error> {
    if let Some((enc, bom_len)) = encoding_rs::Encoding::for_bom(bytes) {
        let body = bytes.get(bom_len..).unwrap_or_default();
        let (text, had_errors) = enc.decode_without_bom_handling(body);
        if had_errors {
            return Err(M365Error::csv(
                path,
                None,
                format!(
                    "starts with a {} byte-order mark but is not valid {}",
                    enc.name(),
                    enc.name()
                ),
            ));
        }
        return Ok((text, enc.name()));
    }
    if let Some(enc) = options.encoding.filter(|e| *e != encoding_rs::UTF_8) {
        let (text, had_errors) = enc.decode_without_bom_handling(bytes);
        if had_errors {
            return Err(M365Error::csv(
                path,
                None,
                format!("is not valid {} (check --csv-encoding)", enc.name()),
            ));
        }
        return Ok((text, enc.name()));
    }
    match std::str::from_utf8(bytes) {
        Ok(s) => Ok((std::borrow::Cow::Borrowed(s), "UTF-8")),
        Err(e) => {
            let good = bytes.get(..e.valid_up_to()).unwrap_or_default();
            let line = good.iter().filter(|b| **b == b'\n').count() as u64 + 1;
            Err(M365Error::csv(
                path,
                Some(line),
                "not valid UTF-8. The admin center exports UTF-8; a file re-saved by Excel is \
                 often Shift_JIS: re-save it as \"CSV UTF-8\" or pass --csv-encoding shift_jis",
            ))
        }
    }
}

/// Maps the CSV text in `bytes` onto M365 users. `path` is only used in messages.
pub fn parse_csv(path: &Path, bytes: &[u8], options: CsvOptions) -> Result<CsvImport, M365Error> {
    let (text, encoding) = decode(path, bytes, options)?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(text.as_bytes());

    let headers = reader
        .headers()
        .map_err(|e| csv_error(path, &e))?
        .iter()
        .map(|h| h.trim().trim_start_matches('\u{feff}').to_string())
        .collect::<Vec<_>>();
    if headers.iter().all(|h| h.is_empty()) {
        return Err(M365Error::csv(
            path,
            Some(1),
            format!(
                "no header row; expected the admin center's \"Export users\" columns such as `{COL_UPN}`"
            ),
        ));
    }

    let mut index = FieldIndex::default();
    let mut ignored = Vec::new();
    for (i, h) in headers.iter().enumerate() {
        let norm = normalise_header(h);
        let field = ALIASES
            .iter()
            .find(|(_, names)| names.contains(&norm.as_str()))
            .map(|(f, _)| *f);
        match field {
            Some(f) if !index.contains_key(&f) => {
                index.insert(f, i);
            }
            _ => ignored.push(h.clone()),
        }
    }

    let mut missing = Vec::new();
    if !index.contains_key(&Field::Upn) {
        missing.push(COL_UPN);
    }
    if !index.contains_key(&Field::ObjectId) {
        missing.push(COL_OBJECT_ID);
    }
    if !missing.is_empty() {
        let list = missing
            .iter()
            .map(|c| format!("`{c}`"))
            .collect::<Vec<_>>()
            .join(" and ");
        return Err(M365Error::csv(
            path,
            Some(1),
            format!(
                "missing column {list}; the header row has: {}. Expected the Microsoft 365 admin \
                 center's Users → Active users → Export users file",
                headers.join(", ")
            ),
        ));
    }

    // Column names for `raw`, unique even when a header repeats, JSON-escaped once.
    let mut raw_names: Vec<String> = Vec::with_capacity(headers.len());
    for h in &headers {
        let mut name = h.clone();
        let mut n = 2;
        while raw_names.contains(&name) {
            name = format!("{h} ({n})");
            n += 1;
        }
        raw_names.push(name);
    }
    let raw_keys: Vec<String> = raw_names
        .iter()
        .map(|n| Value::String(n.clone()).to_string())
        .collect();

    let immutable_id_known = index.contains_key(&Field::ImmutableId);
    let mut out = CsvImport {
        columns: headers.clone(),
        ignored_columns: ignored,
        immutable_id_known,
        encoding,
        ..CsvImport::default()
    };
    let mut seen_ids: HashMap<String, u64> = HashMap::new();
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => return Err(csv_error(path, &e)),
        }
        let line = record.position().map(|p| p.line()).unwrap_or(0);
        if record.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        let get = |f: Field| -> Option<&str> {
            index
                .get(f)
                .and_then(|i| record.get(i))
                .map(str::trim)
                .filter(|s| !s.is_empty())
        };

        let upn = get(Field::Upn)
            .ok_or_else(|| M365Error::csv(path, Some(line), format!("`{COL_UPN}` is empty")))?
            .to_string();
        let id = get(Field::ObjectId)
            .ok_or_else(|| {
                M365Error::csv(
                    path,
                    Some(line),
                    format!("`{COL_OBJECT_ID}` is empty ({upn})"),
                )
            })?
            .to_string();
        if let Some(first) = seen_ids.insert(id.to_ascii_lowercase(), line) {
            return Err(M365Error::csv(
                path,
                Some(line),
                format!("`{COL_OBJECT_ID}` {id} ({upn}) already appeared on line {first}"),
            ));
        }

        let account_enabled = match (get(Field::BlockCredential), get(Field::AccountEnabled)) {
            (Some(v), _) => Some(!parse_bool(v).ok_or_else(|| {
                M365Error::csv(
                    path,
                    Some(line),
                    format!(
                        "`{COL_BLOCK_CREDENTIAL}` of {upn}: expected True or False, found {v:?}"
                    ),
                )
            })?),
            (None, Some(v)) => Some(parse_bool(v).ok_or_else(|| {
                M365Error::csv(
                    path,
                    Some(line),
                    format!("`AccountEnabled` of {upn}: expected True or False, found {v:?}"),
                )
            })?),
            (None, None) => None,
        };

        let licenses = get(Field::Licenses).map(split_licenses).unwrap_or_default();

        let mut time = |field: Field, column: &str| -> Option<DateTime<Utc>> {
            let v = get(field)?;
            let t = parse_csv_time(v);
            if t.is_none() {
                out.warnings.push(format!(
                    "{}:{line}: `{column}` of {upn}: cannot read {v:?} as a date and time; left null",
                    path.display()
                ));
            }
            t
        };
        let created = time(Field::WhenCreated, COL_WHEN_CREATED);
        let deleted = get(Field::SoftDeleted).is_some();
        let deleted_at = time(Field::SoftDeleted, COL_SOFT_DELETED);

        let raw = raw_row(&raw_keys, &record);

        out.users.push(M365User {
            id,
            user_principal_name: upn,
            display_name: get(Field::DisplayName).map(str::to_string),
            mail: get(Field::Mail).map(str::to_string),
            account_enabled,
            immutable_id: if immutable_id_known {
                get(Field::ImmutableId).map(str::to_string)
            } else {
                None
            },
            immutable_id_known,
            licenses,
            created,
            deleted,
            deleted_at,
            raw,
        });
    }
    Ok(out)
}

/// The row as a JSON object `{header: value}` in column order, written straight to text:
/// building a `serde_json::Map` per row was most of the import's time.
fn raw_row(keys: &[String], record: &csv::StringRecord) -> String {
    let mut out = Vec::with_capacity(record.as_slice().len() + keys.len() * 24);
    out.push(b'{');
    for (i, (key, value)) in keys.iter().zip(record.iter()).enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(key.as_bytes());
        out.push(b':');
        // Writing a &str to a Vec cannot fail.
        let _ = serde_json::to_writer(&mut out, value);
    }
    out.push(b'}');
    String::from_utf8(out).unwrap_or_default()
}

fn csv_error(path: &Path, e: &csv::Error) -> M365Error {
    let line = e.position().map(|p| p.line());
    let message = match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!(
            "this row has {len} fields but the header row has {expected_len}; \
             a field containing a comma must be quoted"
        ),
        _ => format!("not a readable CSV file: {e}"),
    };
    M365Error::csv(path, line, message)
}

fn parse_bool(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "true" | "yes" | "1" => Some(true),
        "false" | "no" | "0" => Some(false),
        _ => None,
    }
}

/// The admin center joins license names with `+`; an unlicensed user reads "Unlicensed".
pub fn split_licenses(v: &str) -> Vec<String> {
    v.split('+')
        .map(str::trim)
        .filter(|s| !s.is_empty() && !s.eq_ignore_ascii_case("unlicensed"))
        .map(str::to_string)
        .collect()
}

/// Reads the date-time forms the admin center writes (they follow the browser's locale) and
/// ISO 8601. A time without an offset is taken as UTC (docs/m365-export.md).
pub fn parse_csv_time(v: &str) -> Option<DateTime<Utc>> {
    let v = v.trim();
    // Only an ISO date (`2024-04-01…`) can be RFC 3339; skip the attempt otherwise.
    if v.as_bytes().get(4) == Some(&b'-')
        && let Ok(t) = DateTime::parse_from_rfc3339(v)
    {
        return Some(t.with_timezone(&Utc));
    }
    // The admin center's own forms first (ja-JP, then en-US): they are what most rows hold.
    const DATE_TIMES: &[&str] = &[
        "%Y/%m/%d %H:%M:%S",
        "%m/%d/%Y %I:%M:%S %p",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y/%m/%d %H:%M",
        "%m/%d/%Y %I:%M %p",
        "%m/%d/%Y %H:%M:%S",
        "%m/%d/%Y %H:%M",
    ];
    for f in DATE_TIMES {
        if let Ok(t) = NaiveDateTime::parse_from_str(v, f) {
            return Some(t.and_utc());
        }
    }
    for f in ["%Y-%m-%d", "%Y/%m/%d", "%m/%d/%Y"] {
        if let Ok(d) = NaiveDate::parse_from_str(v, f) {
            return d.and_hms_opt(0, 0, 0).map(|t| t.and_utc());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use chrono::TimeZone;

    const HEADER: &str =
        "User principal name,Display name,Object Id,Block credential,Licenses,When created";

    fn parse(text: &str) -> Result<CsvImport, M365Error> {
        parse_csv(
            Path::new("users.csv"),
            text.as_bytes(),
            CsvOptions::default(),
        )
    }

    #[test]
    fn block_credential_true_means_disabled() {
        let csv =
            format!("{HEADER}\na@x.jp,A,id-a,True,,\nb@x.jp,B,id-b,False,,\nc@x.jp,C,id-c,,,\n");
        let users = parse(&csv).unwrap().users;
        assert_eq!(users[0].account_enabled, Some(false));
        assert_eq!(users[1].account_enabled, Some(true));
        assert_eq!(users[2].account_enabled, None);
    }

    #[test]
    fn licenses_split_on_plus_and_unlicensed_is_none() {
        assert_eq!(
            split_licenses("Microsoft 365 E3+Microsoft Teams Exploratory"),
            vec!["Microsoft 365 E3", "Microsoft Teams Exploratory"]
        );
        assert!(split_licenses("Unlicensed").is_empty());
        assert!(split_licenses("").is_empty());
    }

    #[test]
    fn immutable_id_is_unknown_without_its_column() {
        let csv = format!("{HEADER}\na@x.jp,A,id-a,False,,\n");
        let out = parse(&csv).unwrap();
        assert!(!out.immutable_id_known);
        assert_eq!(out.users[0].immutable_id, None);
        assert!(!out.users[0].immutable_id_known);
    }

    #[test]
    fn powershell_export_names_make_immutable_id_known() {
        let csv = "Id,UserPrincipalName,AccountEnabled,OnPremisesImmutableId\n\
                   id-a,a@x.jp,False,gzcEr9Nnz02wHhaiSCR5ng==\nid-b,b@x.jp,True,\n";
        let out = parse(csv).unwrap();
        assert!(out.immutable_id_known);
        assert_eq!(
            out.users[0].immutable_id.as_deref(),
            Some("gzcEr9Nnz02wHhaiSCR5ng==")
        );
        assert_eq!(out.users[0].account_enabled, Some(false));
        // Known and empty: the account has no immutableId (cloud-only), not "unknown".
        assert_eq!(out.users[1].immutable_id, None);
        assert!(out.users[1].immutable_id_known);
    }

    #[test]
    fn times_in_admin_center_forms() {
        let want = Utc.with_ymd_and_hms(2024, 4, 1, 13, 5, 9).unwrap();
        assert_eq!(parse_csv_time("2024/04/01 13:05:09"), Some(want));
        assert_eq!(parse_csv_time("4/1/2024 1:05:09 PM"), Some(want));
        assert_eq!(parse_csv_time("2024-04-01T13:05:09Z"), Some(want));
        assert_eq!(parse_csv_time("2024-04-01T22:05:09+09:00"), Some(want));
        assert_eq!(parse_csv_time("2024-04-01 22:05:09+09:00"), Some(want));
        assert_eq!(parse_csv_time("2024-04-01 13:05:09"), Some(want));
        assert_eq!(parse_csv_time("yesterday"), None);
    }

    #[test]
    fn unreadable_date_is_null_with_a_warning_naming_the_line() {
        let csv = format!("{HEADER}\na@x.jp,A,id-a,False,,someday\n");
        let out = parse(&csv).unwrap();
        assert_eq!(out.users[0].created, None);
        assert_eq!(out.warnings.len(), 1);
        assert!(
            out.warnings[0].contains("users.csv:2"),
            "{}",
            out.warnings[0]
        );
        assert!(out.warnings[0].contains("When created"));
    }

    #[test]
    fn bad_block_credential_is_an_error_naming_line_and_column() {
        let csv = format!("{HEADER}\na@x.jp,A,id-a,False,,\nb@x.jp,B,id-b,maybe,,\n");
        let e = parse(&csv).unwrap_err().to_string();
        assert!(e.starts_with("users.csv:3:"), "{e}");
        assert!(e.contains("Block credential") && e.contains("maybe"), "{e}");
    }

    #[test]
    fn missing_columns_are_named() {
        let e = parse("Display name,Licenses\nA,\n").unwrap_err();
        assert!(e.is_invalid_input());
        let e = e.to_string();
        assert!(
            e.contains("`User principal name`") && e.contains("`Object Id`"),
            "{e}"
        );
    }

    #[test]
    fn duplicate_object_id_is_an_error() {
        let csv = format!("{HEADER}\na@x.jp,A,id-a,False,,\nb@x.jp,B,ID-A,False,,\n");
        let e = parse(&csv).unwrap_err().to_string();
        assert!(e.contains("users.csv:3") && e.contains("line 2"), "{e}");
    }

    #[test]
    fn ragged_row_names_its_line() {
        let csv = format!("{HEADER}\na@x.jp,A,id-a,False,,\nb@x.jp,B,id-b,False\n");
        let e = parse(&csv).unwrap_err().to_string();
        assert!(e.starts_with("users.csv:3:"), "{e}");
        assert!(e.contains("4 fields") && e.contains("6"), "{e}");
    }

    #[test]
    fn shift_jis_needs_the_option_and_then_reads() {
        // "User principal name,Display name,Object Id\na@x.jp,木村,id-a\n" in Shift_JIS.
        let text = "User principal name,Display name,Object Id\na@x.jp,木村,id-a\n";
        let (sjis, _, _) = encoding_rs::SHIFT_JIS.encode(text);
        let e = parse_csv(Path::new("u.csv"), &sjis, CsvOptions::default()).unwrap_err();
        assert!(
            e.to_string().contains("u.csv:2") && e.to_string().contains("shift_jis"),
            "{e}"
        );
        let out = parse_csv(
            Path::new("u.csv"),
            &sjis,
            CsvOptions {
                encoding: Some(encoding_rs::SHIFT_JIS),
            },
        )
        .unwrap();
        assert_eq!(out.users[0].display_name.as_deref(), Some("木村"));
    }

    #[test]
    fn utf16_with_bom_is_read() {
        let text = "User principal name,Object Id\na@x.jp,id-a\n";
        let mut bytes = vec![0xFF, 0xFE];
        for u in text.encode_utf16() {
            bytes.extend_from_slice(&u.to_le_bytes());
        }
        let out = parse_csv(Path::new("u.csv"), &bytes, CsvOptions::default()).unwrap();
        assert_eq!(out.users[0].user_principal_name, "a@x.jp");
        assert_eq!(out.encoding, "UTF-16LE");
    }
}
