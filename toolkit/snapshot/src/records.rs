//! The tables of each snapshot kind: which model type is a row, which columns it has.
//! docs/snapshot-format.md documents exactly these columns (a test keeps them in step).

use crate::columns::{
    Bool, Column, ColumnError, GuidBin, GuidText, Kind, OptBin, OptBinGuidText, OptBool, OptI32,
    OptI64, OptStr, OptTs, OptU32, Str, StrList,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{ArrowError, Field, Schema, SchemaRef};
use dirsnap_model::{
    AdGroup, AdUser, AdUserTable, IidGroup, IidUser, IidUserTable, M365Group, M365User, Membership,
    TableError,
};
use rayon::prelude::*;
use std::sync::{Arc, OnceLock};

/// One of the three tables of a snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Table {
    Users,
    Groups,
    Memberships,
}

impl Table {
    pub const ALL: [Table; 3] = [Table::Users, Table::Groups, Table::Memberships];

    pub fn file_name(self) -> &'static str {
        match self {
            Table::Users => "users.parquet",
            Table::Groups => "groups.parquet",
            Table::Memberships => "memberships.parquet",
        }
    }
}

/// A documented column, for `inspect` and the format docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ColumnDoc {
    pub name: &'static str,
    pub doc_type: &'static str,
    pub doc: &'static str,
}

/// A model type that is one row of a snapshot table.
pub trait Record: Default + Send + Sync + 'static {
    fn schema() -> SchemaRef;
    fn columns() -> &'static [ColumnDoc];
    fn to_batch(rows: &[Self]) -> Result<RecordBatch, ArrowError>;
    /// Builds the column at `index` (schema order) from the rows; `None` past the last
    /// column. The writer builds and encodes each column of a row group on its own task.
    fn build_column(rows: &[Self], index: usize) -> Option<ArrayRef> {
        Self::to_batch(rows)
            .ok()
            .and_then(|batch| batch.columns().get(index).cloned())
    }
    /// Whether `fill_from_batch` uses this column's values. The reader decodes only these
    /// (minus `skip`); every column's type is still checked against the file's schema.
    fn reads_column(name: &str) -> bool {
        Self::columns().iter().any(|c| c.name == name)
    }

    /// Decodes the batch into `rows` (exactly `batch.num_rows()` long). `skip` names
    /// columns not to decode (left as they are); columns `reads_column` rejects may be
    /// absent from the batch.
    fn fill_from_batch(
        batch: &RecordBatch,
        rows: &mut [Self],
        skip: &[&str],
    ) -> Result<(), ColumnError>;

    /// Appends the batch's rows to `out`.
    fn append_from_batch(
        batch: &RecordBatch,
        out: &mut Vec<Self>,
        skip: &[&str],
    ) -> Result<(), ColumnError> {
        let start = out.len();
        out.resize_with(start + batch.num_rows(), Default::default);
        Self::fill_from_batch(batch, &mut out[start..], skip)
    }
}

/// A row type the engine reads as a column-by-column table ([`dirsnap_model::table`]).
pub trait Tabular: Record {
    /// The table type holding these rows.
    type Columns: Default + Send;
    fn push(table: &mut Self::Columns, row: &Self) -> Result<(), TableError>;
    fn append(table: &mut Self::Columns, rows: Self::Columns) -> Result<(), TableError>;
    /// Room for `rows` rows in all (before the parts are appended).
    fn reserve_rows(table: &mut Self::Columns, rows: usize);
    /// Room for the rows about to be pushed, at their exact size.
    fn reserve_for(table: &mut Self::Columns, rows: &[Self]);
}

/// A row type and its table: every method is the table's own.
macro_rules! tabular {
    ($row:ty => $table:ty) => {
        impl Tabular for $row {
            type Columns = $table;
            fn push(table: &mut $table, row: &$row) -> Result<(), TableError> {
                table.push(row)
            }
            fn append(table: &mut $table, rows: $table) -> Result<(), TableError> {
                table.append(rows)
            }
            fn reserve_rows(table: &mut $table, rows: usize) {
                table.reserve_rows(rows);
            }
            fn reserve_for(table: &mut $table, rows: &[Self]) {
                table.reserve_for(rows);
            }
        }
    };
}

tabular!(AdUser => AdUserTable);
tabular!(IidUser => IidUserTable);

/// Below this many rows a second thread costs more than it saves.
const PARALLEL_BUILD_ROWS: usize = 4096;

fn missing(name: &'static str, expected: &str) -> ColumnError {
    ColumnError::Missing {
        column: name,
        expected: expected.into(),
    }
}

macro_rules! record {
    ($ty:ty { $( $col:literal => $field:ident : $kind:ident, $doc:literal; )* }) => {
        impl Record for $ty {
            fn schema() -> SchemaRef {
                static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
                SCHEMA
                    .get_or_init(|| {
                        Arc::new(Schema::new(vec![
                            $( Field::new($col, <$kind as Column>::data_type(), <$kind as Column>::nullable()), )*
                        ]))
                    })
                    .clone()
            }

            fn columns() -> &'static [ColumnDoc] {
                &[ $( ColumnDoc { name: $col, doc_type: <$kind as Column>::DOC_TYPE, doc: $doc }, )* ]
            }

            fn to_batch(rows: &[Self]) -> Result<RecordBatch, ArrowError> {
                let schema = Self::schema();
                let count = schema.fields().len();
                let build = |index| Self::build_column(rows, index);
                // One task per column on all cores. `raw`, as much copying as every other
                // column together, is the last column of every table: building in reverse
                // starts it first. The columns come back in schema order whichever thread
                // built them, so the batch does not depend on the scheduling.
                let built: Option<Vec<ArrayRef>> = if rows.len() >= PARALLEL_BUILD_ROWS {
                    let mut reversed: Vec<Option<ArrayRef>> =
                        (0..count).into_par_iter().rev().map(build).collect();
                    reversed.reverse();
                    reversed.into_iter().collect()
                } else {
                    (0..count).map(build).collect()
                };
                let columns = built.ok_or_else(|| {
                    ArrowError::SchemaError(format!("fewer than {count} columns could be built"))
                })?;
                RecordBatch::try_new(schema, columns)
            }

            fn build_column(rows: &[Self], index: usize) -> Option<ArrayRef> {
                let mut at = 0usize;
                $(
                    if index == at {
                        return Some(<$kind as Column>::build(rows.iter().map(|r| &r.$field)));
                    }
                    at += 1;
                )*
                let _ = at;
                None
            }

            fn reads_column(name: &str) -> bool {
                $( if name == $col { return <$kind as Column>::DECODES; } )*
                false
            }

            fn fill_from_batch(
                batch: &RecordBatch,
                rows: &mut [Self],
                skip: &[&str],
            ) -> Result<(), ColumnError> {
                $(
                    if <$kind as Column>::DECODES && !skip.contains(&$col) {
                        let array = batch.column_by_name($col).ok_or_else(|| missing($col, <$kind as Column>::DOC_TYPE))?;
                        <$kind as Column>::read($col, array.as_ref(), rows.iter_mut().map(|r| &mut r.$field))?;
                    }
                )*
                Ok(())
            }
        }
    };
}

record!(AdUser {
    "object_guid" => object_guid: GuidText, "objectGUID as canonical text (AD's mixed-endian order, lowercase); the stable key";
    "object_guid_bin" => object_guid: GuidBin, "objectGUID, the 16 bytes as AD sends them";
    "object_sid" => object_sid: OptStr, "objectSid as S-1-5-… text";
    "dn" => dn: Str, "distinguishedName";
    "domain" => domain: Str, "DNS domain the object came from (from the base DN)";
    "sam_account_name" => sam_account_name: OptStr, "sAMAccountName";
    "user_principal_name" => user_principal_name: OptStr, "userPrincipalName";
    "mail" => mail: OptStr, "mail";
    "given_name" => given_name: OptStr, "givenName";
    "sn" => sn: OptStr, "sn (surname)";
    "display_name" => display_name: OptStr, "displayName";
    "department" => department: OptStr, "department";
    "title" => title: OptStr, "title";
    "telephone_number" => telephone_number: OptStr, "telephoneNumber";
    "mobile" => mobile: OptStr, "mobile";
    "consistency_guid" => consistency_guid: OptBinGuidText, "mS-DS-ConsistencyGuid as GUID text when 16 bytes, else lowercase hex";
    "consistency_guid_bin" => consistency_guid: OptBin, "mS-DS-ConsistencyGuid, the bytes as stored";
    "user_account_control" => user_account_control: OptU32, "userAccountControl flags";
    "enabled" => enabled: Bool, "derived: ACCOUNTDISABLE (0x2) not set";
    "account_expires" => account_expires: OptTs, "accountExpires; null when 0 or never (0x7FFFFFFFFFFFFFFF)";
    "expired" => expired: Bool, "derived: accountExpires at or before taken_at";
    "when_created" => when_created: OptTs, "whenCreated";
    "when_changed" => when_changed: OptTs, "whenChanged";
    "usn_changed" => usn_changed: OptI64, "uSNChanged";
    "is_deleted" => is_deleted: Bool, "a tombstone (read with --include-deleted)";
    "raw" => raw: Str, "every attribute as received: JSON object attr → [values], binary values as {\"base64\": …}";
});

record!(AdGroup {
    "object_guid" => object_guid: GuidText, "objectGUID as canonical text; the stable key";
    "object_guid_bin" => object_guid: GuidBin, "objectGUID, the 16 bytes as AD sends them";
    "object_sid" => object_sid: OptStr, "objectSid as S-1-5-… text";
    "dn" => dn: Str, "distinguishedName";
    "domain" => domain: Str, "DNS domain the object came from";
    "sam_account_name" => sam_account_name: OptStr, "sAMAccountName";
    "cn" => cn: OptStr, "cn (the group name Directory Sync sends as displayName)";
    "display_name" => display_name: OptStr, "displayName";
    "description" => description: OptStr, "description";
    "mail" => mail: OptStr, "mail";
    "group_type" => group_type: OptI32, "groupType (signed, as AD stores it)";
    "when_created" => when_created: OptTs, "whenCreated";
    "when_changed" => when_changed: OptTs, "whenChanged";
    "usn_changed" => usn_changed: OptI64, "uSNChanged";
    "is_deleted" => is_deleted: Bool, "a tombstone (read with --include-deleted)";
    "raw" => raw: Str, "every attribute as received except member (see memberships.parquet)";
});

record!(IidUser {
    "id" => id: Str, "SCIM id (server-assigned); the stable key";
    "user_name" => user_name: Str, "userName (IIJ ID login ID)";
    "external_id" => external_id: OptStr, "externalId; null when unset (IIJ ID sends \"\")";
    "downstream_id" => downstream_id: OptStr, "application-linking ID (see docs/iij-assumptions.md for its SCIM path)";
    "active" => active: Bool, "active";
    "display_name" => display_name: OptStr, "displayName";
    "family_name" => family_name: OptStr, "name.familyName";
    "given_name" => given_name: OptStr, "name.givenName";
    "email" => email: OptStr, "primary notification email (or the first)";
    "emails" => emails: StrList, "every emails[].value in order";
    "title" => title: OptStr, "title";
    "department" => department: OptStr, "enterprise extension department";
    "preferred_language" => preferred_language: OptStr, "preferredLanguage";
    "timezone" => timezone: OptStr, "timezone";
    "pending_deletion" => pending_deletion: Bool, "pending deletion (削除待ち)";
    "meta_created" => meta_created: OptTs, "meta.created, converted to UTC";
    "meta_last_modified" => meta_last_modified: OptTs, "meta.lastModified, converted to UTC";
    "meta_version" => meta_version: OptStr, "meta.version (ETag)";
    "raw" => raw: Str, "the resource's JSON exactly as received (unknown extensions included)";
});

record!(IidGroup {
    "id" => id: Str, "SCIM id; the stable key";
    "display_name" => display_name: Str, "displayName (unique in the tenant)";
    "external_id" => external_id: OptStr, "externalId; null when unset";
    "description" => description: OptStr, "IIJ group extension description";
    "meta_created" => meta_created: OptTs, "meta.created, converted to UTC";
    "meta_last_modified" => meta_last_modified: OptTs, "meta.lastModified, converted to UTC";
    "meta_version" => meta_version: OptStr, "meta.version (ETag)";
    "raw" => raw: Str, "the resource's JSON as received, without members (see memberships.parquet)";
});

record!(M365User {
    "id" => id: Str, "Entra object id; the stable key";
    "user_principal_name" => user_principal_name: Str, "userPrincipalName";
    "display_name" => display_name: OptStr, "displayName";
    "mail" => mail: OptStr, "mail";
    "account_enabled" => account_enabled: OptBool, "accountEnabled (false = blocked); null when unknown";
    "immutable_id" => immutable_id: OptStr, "onPremisesImmutableId";
    "immutable_id_known" => immutable_id_known: Bool, "false when the source cannot know immutableId (CSV import)";
    "licenses" => licenses: StrList, "assigned license SKUs";
    "created" => created: OptTs, "createdDateTime";
    "deleted" => deleted: Bool, "soft-deleted (in the recycle bin)";
    "deleted_at" => deleted_at: OptTs, "deletedDateTime";
    "raw" => raw: Str, "the Graph JSON (or the CSV row as JSON) as received";
});

record!(M365Group {
    "id" => id: Str, "Entra object id";
    "display_name" => display_name: Str, "displayName";
    "mail" => mail: OptStr, "mail";
    "raw" => raw: Str, "the Graph JSON as received";
});

record!(Membership {
    "group_key" => group_key: Str, "the group's stable key (objectGUID text / SCIM id)";
    "member_key" => member_key: OptStr, "the member's stable key; null when outside the exported scope";
    "member_kind" => member_kind: Kind, "user | group | unknown";
    "member_ref" => member_ref: OptStr, "how the source named the member: DN (AD), value/$ref (SCIM)";
    "member_display" => member_display: OptStr, "SCIM members[].display when sent";
    "in_scope" => in_scope: Bool, "the member is itself in this snapshot";
});
