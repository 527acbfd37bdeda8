//! Users held column by column: every row's text in a few large buffers instead of one
//! `String` per cell, read through a `Copy` view per row. At a million users a row struct
//! costs ≈ 900 bytes (17 string headers and as many heap blocks); a row of these tables
//! costs its text plus 4 bytes of offset per column.
//!
//! The engine reasons from [`AdUserTable`] and [`IidUserTable`]; exporters, the mock and
//! tests keep building owned [`AdUser`] / [`IidUser`] rows and turn them into a table with
//! `from_rows`. A view's accessors have the owned row's field names and return borrowed
//! values (`user.dn()` for `user.dn`, `Option<&str>` for `Option<String>`).

use crate::{AdUser, Guid, IidUser};
use chrono::{DateTime, Utc};
use std::fmt;

/// Rows per chunk of a variable-length column: a chunk's offsets are `u32`, so one chunk
/// holds up to 4 GiB of text however large the table grows.
pub const CHUNK_ROWS: usize = 1 << 16;

/// Why rows could not be added to a table.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TableError {
    #[error("column `{column}`: more than 4 GiB of values in {CHUNK_ROWS} consecutive rows")]
    ChunkTooLarge { column: &'static str },
}

/// A growable byte store a variable-length column keeps its values in.
pub trait Buffer: Default + Clone {
    type Slice: ?Sized + 'static;
    fn byte_len(&self) -> usize;
    fn append(&mut self, value: &Self::Slice);
    fn slice(&self, start: usize, end: usize) -> &Self::Slice;
    fn as_slice(&self) -> &Self::Slice;
    fn from_slice(value: &Self::Slice) -> Self;
    fn empty() -> &'static Self::Slice;
    fn capacity(&self) -> usize;
    fn reserve_exact(&mut self, additional: usize);
}

impl Buffer for String {
    type Slice = str;
    fn byte_len(&self) -> usize {
        self.len()
    }
    fn append(&mut self, value: &str) {
        self.push_str(value);
    }
    fn slice(&self, start: usize, end: usize) -> &str {
        self.get(start..end).unwrap_or_default()
    }
    fn as_slice(&self) -> &str {
        self
    }
    fn from_slice(value: &str) -> String {
        value.to_owned()
    }
    fn empty() -> &'static str {
        ""
    }
    fn capacity(&self) -> usize {
        String::capacity(self)
    }
    fn reserve_exact(&mut self, additional: usize) {
        String::reserve_exact(self, additional);
    }
}

impl Buffer for Vec<u8> {
    type Slice = [u8];
    fn byte_len(&self) -> usize {
        self.len()
    }
    fn append(&mut self, value: &[u8]) {
        self.extend_from_slice(value);
    }
    fn slice(&self, start: usize, end: usize) -> &[u8] {
        self.get(start..end).unwrap_or_default()
    }
    fn as_slice(&self) -> &[u8] {
        self
    }
    fn from_slice(value: &[u8]) -> Vec<u8> {
        value.to_vec()
    }
    fn empty() -> &'static [u8] {
        &[]
    }
    fn capacity(&self) -> usize {
        Vec::capacity(self)
    }
    fn reserve_exact(&mut self, additional: usize) {
        Vec::reserve_exact(self, additional);
    }
}

/// Up to [`CHUNK_ROWS`] values, back to back in one buffer.
#[derive(Clone, Default)]
struct Chunk<B> {
    ends: Vec<u32>,
    bytes: B,
}

/// A non-null variable-length column, chunked so its offsets stay 32-bit.
#[derive(Clone, Default)]
struct Spans<B> {
    chunks: Vec<Chunk<B>>,
    len: usize,
}

impl<B: Buffer> Spans<B> {
    fn get(&self, row: usize) -> &B::Slice {
        let Some(chunk) = self.chunks.get(row / CHUNK_ROWS) else {
            return B::empty();
        };
        let local = row % CHUNK_ROWS;
        let start = match local {
            0 => 0,
            _ => chunk.ends.get(local - 1).copied().unwrap_or(0),
        };
        let end = chunk.ends.get(local).copied().unwrap_or(start);
        chunk.bytes.slice(start as usize, end as usize)
    }

    fn push(&mut self, value: &B::Slice, column: &'static str) -> Result<(), TableError> {
        // A new chunk starts here unless `reserve` has already started it.
        if self.chunks.len() * CHUNK_ROWS <= self.len {
            self.chunks.push(Chunk::default());
        }
        let chunk = self
            .chunks
            .last_mut()
            .ok_or(TableError::ChunkTooLarge { column })?;
        chunk.bytes.append(value);
        let end = u32::try_from(chunk.bytes.byte_len())
            .map_err(|_| TableError::ChunkTooLarge { column })?;
        chunk.ends.push(end);
        self.len += 1;
        Ok(())
    }

    /// Room for `rows` more values of `bytes` in all, all in the current chunk (the caller
    /// stops at its end), so filling it never regrows a buffer.
    fn reserve(&mut self, rows: usize, bytes: usize) {
        // The chunk the next value goes to, started here if `push` would start it.
        if self.chunks.len() * CHUNK_ROWS <= self.len {
            self.chunks.push(Chunk::default());
        }
        if let Some(chunk) = self.chunks.last_mut() {
            chunk.ends.reserve_exact(rows);
            chunk.bytes.reserve_exact(bytes);
        }
    }

    fn heap_bytes(&self) -> usize {
        self.chunks
            .iter()
            .map(|chunk| chunk.ends.capacity() * 4 + chunk.bytes.capacity())
            .sum()
    }

    /// Appends `other`'s values; when `self` ends on a chunk boundary its chunks are moved,
    /// not copied (a snapshot's row groups are whole chunks).
    fn append(&mut self, other: Spans<B>, column: &'static str) -> Result<(), TableError> {
        if self.len.is_multiple_of(CHUNK_ROWS) {
            // A chunk `reserve` started and nothing filled yet is not kept in between.
            self.chunks.truncate(self.len / CHUNK_ROWS);
            self.len += other.len;
            self.chunks.extend(other.chunks);
            return Ok(());
        }
        for row in 0..other.len {
            self.push(other.get(row), column)?;
        }
        Ok(())
    }
}

/// One column of a table: how a field of the owned row is stored and read back.
pub trait Column: Default + Clone {
    /// The owned row's field type.
    type Owned;
    /// What a view's accessor returns.
    type Ref<'a>: Copy
    where
        Self: 'a;
    fn get(&self, row: usize) -> Self::Ref<'_>;
    fn push(&mut self, value: &Self::Owned, column: &'static str) -> Result<(), TableError>;
    fn append(&mut self, other: Self, column: &'static str) -> Result<(), TableError>;
    /// Room for `rows` rows in all, for the per-row parts (a table's size is known before
    /// its parts are joined).
    fn reserve_rows(&mut self, rows: usize);
    /// Room for `upcoming`, the next values pushed (all in the current chunk).
    fn reserve_for<'v>(&mut self, upcoming: impl ExactSizeIterator<Item = &'v Self::Owned>)
    where
        Self::Owned: 'v;
    fn to_owned_value(value: Self::Ref<'_>) -> Self::Owned;
    /// Bytes of heap this column holds (capacity, not length).
    fn heap_bytes(&self) -> usize;
}

/// Non-null text.
#[derive(Clone, Default)]
pub struct TextColumn(Spans<String>);

impl Column for TextColumn {
    type Owned = String;
    type Ref<'a> = &'a str;
    fn get(&self, row: usize) -> &str {
        self.0.get(row)
    }
    fn push(&mut self, value: &String, column: &'static str) -> Result<(), TableError> {
        self.0.push(value, column)
    }
    fn append(&mut self, other: Self, column: &'static str) -> Result<(), TableError> {
        self.0.append(other.0, column)
    }
    fn heap_bytes(&self) -> usize {
        self.0.heap_bytes()
    }
    fn reserve_rows(&mut self, rows: usize) {
        self.0.chunks.reserve_exact(rows.div_ceil(CHUNK_ROWS));
    }
    fn reserve_for<'v>(&mut self, upcoming: impl ExactSizeIterator<Item = &'v String>) {
        let rows = upcoming.len();
        self.0.reserve(rows, upcoming.map(String::len).sum());
    }
    fn to_owned_value(value: &str) -> String {
        value.to_owned()
    }
}

/// Nullable values: a variable-length column plus whether each row has a value.
#[derive(Clone, Default)]
pub struct OptionalColumn<B> {
    values: Spans<B>,
    present: Vec<bool>,
}

/// Nullable text.
pub type OptTextColumn = OptionalColumn<String>;
/// Nullable bytes (`mS-DS-ConsistencyGuid`).
pub type OptBytesColumn = OptionalColumn<Vec<u8>>;

impl<B: Buffer + 'static> Column for OptionalColumn<B> {
    type Owned = Option<B>;
    type Ref<'a> = Option<&'a B::Slice>;
    fn get(&self, row: usize) -> Option<&B::Slice> {
        match self.present.get(row) {
            Some(true) => Some(self.values.get(row)),
            _ => None,
        }
    }
    fn push(&mut self, value: &Option<B>, column: &'static str) -> Result<(), TableError> {
        self.values
            .push(value.as_ref().map_or(B::empty(), B::as_slice), column)?;
        self.present.push(value.is_some());
        Ok(())
    }
    fn append(&mut self, other: Self, column: &'static str) -> Result<(), TableError> {
        self.values.append(other.values, column)?;
        self.present.extend(other.present);
        Ok(())
    }
    fn heap_bytes(&self) -> usize {
        self.values.heap_bytes() + self.present.capacity()
    }
    fn reserve_rows(&mut self, rows: usize) {
        self.values.chunks.reserve_exact(rows.div_ceil(CHUNK_ROWS));
        self.present
            .reserve_exact(rows.saturating_sub(self.present.len()));
    }
    fn reserve_for<'v>(&mut self, upcoming: impl ExactSizeIterator<Item = &'v Option<B>>) {
        let rows = upcoming.len();
        let bytes = upcoming.map(|v| v.as_ref().map_or(0, B::byte_len)).sum();
        self.values.reserve(rows, bytes);
        self.present.reserve(rows);
    }
    fn to_owned_value(value: Option<&B::Slice>) -> Option<B> {
        value.map(B::from_slice)
    }
}

/// A list of texts per row (IIJ ID's notification emails).
#[derive(Clone, Default)]
pub struct TextListColumn {
    /// Per row, how many items the rows up to and including it have.
    item_ends: Vec<u32>,
    items: Spans<String>,
}

/// One row's list of a [`TextListColumn`].
#[derive(Clone, Copy)]
pub struct TextList<'a> {
    column: &'a TextListColumn,
    start: usize,
    end: usize,
}

impl<'a> TextList<'a> {
    pub fn len(self) -> usize {
        self.end - self.start
    }
    pub fn is_empty(self) -> bool {
        self.start == self.end
    }
    pub fn get(self, index: usize) -> Option<&'a str> {
        (index < self.len()).then(|| self.column.items.get(self.start + index))
    }
    pub fn iter(self) -> impl ExactSizeIterator<Item = &'a str> + Clone + 'a {
        let column = self.column;
        (self.start..self.end).map(move |item| column.items.get(item))
    }
}

impl fmt::Debug for TextList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl Column for TextListColumn {
    type Owned = Vec<String>;
    type Ref<'a> = TextList<'a>;
    fn get(&self, row: usize) -> TextList<'_> {
        let end = self.item_ends.get(row).map_or(0, |&e| e as usize);
        let start = match row {
            0 => 0,
            _ => self.item_ends.get(row - 1).map_or(end, |&e| e as usize),
        };
        TextList {
            column: self,
            start,
            end,
        }
    }
    fn push(&mut self, value: &Vec<String>, column: &'static str) -> Result<(), TableError> {
        for item in value {
            self.items.push(item, column)?;
        }
        let end =
            u32::try_from(self.items.len).map_err(|_| TableError::ChunkTooLarge { column })?;
        self.item_ends.push(end);
        Ok(())
    }
    fn append(&mut self, other: Self, column: &'static str) -> Result<(), TableError> {
        let base = self.item_ends.last().copied().unwrap_or(0);
        for end in other.item_ends {
            self.item_ends.push(
                base.checked_add(end)
                    .ok_or(TableError::ChunkTooLarge { column })?,
            );
        }
        self.items.append(other.items, column)
    }
    fn heap_bytes(&self) -> usize {
        self.item_ends.capacity() * 4 + self.items.heap_bytes()
    }
    fn reserve_rows(&mut self, rows: usize) {
        self.item_ends
            .reserve_exact(rows.saturating_sub(self.item_ends.len()));
    }
    fn reserve_for<'v>(&mut self, upcoming: impl ExactSizeIterator<Item = &'v Vec<String>>) {
        self.item_ends.reserve(upcoming.len());
        // Items are chunked by their own count, which may cross a chunk: reserve nothing
        // then (the lists are short; growth is amortised).
        let (mut items, mut bytes) = (0usize, 0usize);
        for list in upcoming {
            items += list.len();
            bytes += list.iter().map(String::len).sum::<usize>();
        }
        let room = CHUNK_ROWS - self.items.len % CHUNK_ROWS;
        if items <= room {
            self.items.reserve(items, bytes);
        }
    }
    fn to_owned_value(value: TextList<'_>) -> Vec<String> {
        value.iter().map(str::to_owned).collect()
    }
}

/// A fixed-size value per row.
#[derive(Clone, Default)]
pub struct ValueColumn<T>(Vec<T>);

impl<T: Copy + Default> Column for ValueColumn<T> {
    type Owned = T;
    type Ref<'a>
        = T
    where
        T: 'a;
    fn get(&self, row: usize) -> T {
        self.0.get(row).copied().unwrap_or_default()
    }
    fn push(&mut self, value: &T, _column: &'static str) -> Result<(), TableError> {
        self.0.push(*value);
        Ok(())
    }
    fn append(&mut self, other: Self, _column: &'static str) -> Result<(), TableError> {
        self.0.extend(other.0);
        Ok(())
    }
    fn heap_bytes(&self) -> usize {
        self.0.capacity() * std::mem::size_of::<T>()
    }
    fn reserve_rows(&mut self, rows: usize) {
        self.0.reserve_exact(rows.saturating_sub(self.0.len()));
    }
    fn reserve_for<'v>(&mut self, upcoming: impl ExactSizeIterator<Item = &'v T>)
    where
        T: 'v,
    {
        self.0.reserve(upcoming.len());
    }
    fn to_owned_value(value: T) -> T {
        value
    }
}

/// GUIDs: a [`ValueColumn`] read by reference (LDAP filters match a GUID's bytes in place).
#[derive(Clone, Default)]
pub struct GuidColumn(ValueColumn<Guid>);

impl Column for GuidColumn {
    type Owned = Guid;
    type Ref<'a> = &'a Guid;
    fn get(&self, row: usize) -> &Guid {
        static NONE: Guid = Guid([0; 16]);
        self.0.0.get(row).unwrap_or(&NONE)
    }
    fn push(&mut self, value: &Guid, column: &'static str) -> Result<(), TableError> {
        self.0.push(value, column)
    }
    fn append(&mut self, other: Self, column: &'static str) -> Result<(), TableError> {
        self.0.append(other.0, column)
    }
    fn heap_bytes(&self) -> usize {
        self.0.heap_bytes()
    }
    fn reserve_rows(&mut self, rows: usize) {
        self.0.reserve_rows(rows);
    }
    fn reserve_for<'v>(&mut self, upcoming: impl ExactSizeIterator<Item = &'v Guid>) {
        self.0.reserve_for(upcoming);
    }
    fn to_owned_value(value: &Guid) -> Guid {
        *value
    }
}

type Ts = Option<DateTime<Utc>>;

/// The rows of a table, in order, as views.
#[derive(Clone)]
pub struct Rows<'a, T> {
    table: &'a T,
    rows: std::ops::Range<usize>,
}

/// Declares a table of `$owned` rows, its `Copy` view and the accessors, one per field.
macro_rules! user_table {
    (
        $(#[$table_doc:meta])* $table:ident,
        $(#[$view_doc:meta])* $view:ident,
        $owned:ident {
            $( $field:ident : $column:ty; )*
        }
    ) => {
        $(#[$table_doc])*
        #[derive(Clone, Default)]
        pub struct $table {
            len: usize,
            $( $field: $column, )*
        }

        $(#[$view_doc])*
        #[derive(Clone, Copy)]
        pub struct $view<'a> {
            table: &'a $table,
            row: usize,
        }

        impl $table {
            pub fn new() -> Self {
                Self::default()
            }

            pub fn from_rows<'r>(
                rows: impl IntoIterator<Item = &'r $owned>,
            ) -> Result<Self, TableError> {
                let mut table = Self::default();
                for row in rows {
                    table.push(row)?;
                }
                Ok(table)
            }

            pub fn len(&self) -> usize {
                self.len
            }

            pub fn is_empty(&self) -> bool {
                self.len == 0
            }

            pub fn get(&self, row: usize) -> Option<$view<'_>> {
                (row < self.len).then_some($view { table: self, row })
            }

            pub fn iter(&self) -> Rows<'_, $table> {
                Rows { table: self, rows: 0..self.len }
            }

            pub fn to_rows(&self) -> Vec<$owned> {
                self.iter().map($view::to_row).collect()
            }

            pub fn push(&mut self, row: &$owned) -> Result<(), TableError> {
                $( self.$field.push(&row.$field, stringify!($field))?; )*
                self.len += 1;
                Ok(())
            }

            /// Each column's bytes of heap, largest first.
            pub fn heap_bytes_by_column(&self) -> Vec<(&'static str, usize)> {
                let mut columns = vec![$( (stringify!($field), self.$field.heap_bytes()), )*];
                columns.sort_by(|a, b| b.1.cmp(&a.1));
                columns
            }

            /// Room for `rows` rows in all, before parts are appended.
            pub fn reserve_rows(&mut self, rows: usize) {
                $( self.$field.reserve_rows(rows); )*
            }

            /// Room for `rows`, the next rows pushed, so that filling the current chunk
            /// from them allocates each buffer once (rows past the chunk's end are not
            /// counted; they start a chunk of their own).
            pub fn reserve_for(&mut self, rows: &[$owned]) {
                let room = CHUNK_ROWS - self.len % CHUNK_ROWS;
                let rows = rows.get(..room).unwrap_or(rows);
                $( self.$field.reserve_for(rows.iter().map(|row| &row.$field)); )*
            }

            /// Appends another table's rows (moved, not copied, when `self` ends on a chunk
            /// boundary).
            pub fn append(&mut self, other: $table) -> Result<(), TableError> {
                self.len += other.len;
                $( self.$field.append(other.$field, stringify!($field))?; )*
                Ok(())
            }
        }

        impl<'a> $view<'a> {
            /// This row's position in its table.
            pub fn index(self) -> usize {
                self.row
            }

            $(
                pub fn $field(self) -> <$column as Column>::Ref<'a> {
                    self.table.$field.get(self.row)
                }
            )*

            pub fn to_row(self) -> $owned {
                $owned {
                    $( $field: <$column as Column>::to_owned_value(self.$field()), )*
                }
            }
        }

        impl<'a> IntoIterator for &'a $table {
            type Item = $view<'a>;
            type IntoIter = Rows<'a, $table>;
            fn into_iter(self) -> Rows<'a, $table> {
                self.iter()
            }
        }

        impl<'a> Iterator for Rows<'a, $table> {
            type Item = $view<'a>;
            fn next(&mut self) -> Option<$view<'a>> {
                let row = self.rows.next()?;
                Some($view { table: self.table, row })
            }
            fn size_hint(&self) -> (usize, Option<usize>) {
                self.rows.size_hint()
            }
        }

        impl DoubleEndedIterator for Rows<'_, $table> {
            fn next_back(&mut self) -> Option<Self::Item> {
                let row = self.rows.next_back()?;
                Some($view { table: self.table, row })
            }
        }

        impl ExactSizeIterator for Rows<'_, $table> {}

        impl fmt::Debug for $view<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($view))
                    .field("row", &self.row)
                    $( .field(stringify!($field), &self.$field()) )*
                    .finish()
            }
        }

        impl fmt::Debug for $table {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_list().entries(self.iter()).finish()
            }
        }
    };
}

user_table!(
    /// An AD snapshot's users, column by column (see the module docs).
    AdUserTable,
    /// One row of an [`AdUserTable`]: the accessors of [`AdUser`]'s fields.
    AdUserView,
    AdUser {
        object_guid: GuidColumn;
        object_sid: OptTextColumn;
        dn: TextColumn;
        domain: TextColumn;
        sam_account_name: OptTextColumn;
        user_principal_name: OptTextColumn;
        mail: OptTextColumn;
        given_name: OptTextColumn;
        sn: OptTextColumn;
        display_name: OptTextColumn;
        department: OptTextColumn;
        title: OptTextColumn;
        telephone_number: OptTextColumn;
        mobile: OptTextColumn;
        consistency_guid: OptBytesColumn;
        user_account_control: ValueColumn<Option<u32>>;
        enabled: ValueColumn<bool>;
        account_expires: ValueColumn<Ts>;
        expired: ValueColumn<bool>;
        when_created: ValueColumn<Ts>;
        when_changed: ValueColumn<Ts>;
        usn_changed: ValueColumn<Option<i64>>;
        is_deleted: ValueColumn<bool>;
        raw: TextColumn;
    }
);

user_table!(
    /// An IIJ ID snapshot's users, column by column (see the module docs).
    IidUserTable,
    /// One row of an [`IidUserTable`]: the accessors of [`IidUser`]'s fields.
    IidUserView,
    IidUser {
        id: TextColumn;
        user_name: TextColumn;
        external_id: OptTextColumn;
        downstream_id: OptTextColumn;
        active: ValueColumn<bool>;
        display_name: OptTextColumn;
        family_name: OptTextColumn;
        given_name: OptTextColumn;
        email: OptTextColumn;
        emails: TextListColumn;
        title: OptTextColumn;
        department: OptTextColumn;
        preferred_language: OptTextColumn;
        timezone: OptTextColumn;
        pending_deletion: ValueColumn<bool>;
        meta_created: ValueColumn<Ts>;
        meta_last_modified: ValueColumn<Ts>;
        meta_version: OptTextColumn;
        raw: TextColumn;
    }
);

impl<'a> AdUserView<'a> {
    /// The login-ish name people recognise, for messages (as [`AdUser::label`]).
    pub fn label(self) -> &'a str {
        self.user_principal_name()
            .or(self.sam_account_name())
            .unwrap_or(self.dn())
    }

    /// `mS-DS-ConsistencyGuid` as a GUID when it is exactly 16 bytes.
    pub fn consistency_guid_as_guid(self) -> Option<Guid> {
        self.consistency_guid().and_then(Guid::from_slice)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ad(i: usize) -> AdUser {
        AdUser {
            object_guid: Guid([i as u8; 16]),
            dn: format!("CN=u{i},DC=example"),
            domain: "example".into(),
            mail: (!i.is_multiple_of(3)).then(|| format!("u{i}@example")),
            consistency_guid: (i.is_multiple_of(2)).then(|| vec![i as u8; 16]),
            enabled: !i.is_multiple_of(5),
            usn_changed: Some(i as i64),
            raw: "{}".into(),
            ..AdUser::default()
        }
    }

    fn iid(i: usize) -> IidUser {
        IidUser {
            id: format!("id-{i}"),
            user_name: format!("user{i}"),
            external_id: (!i.is_multiple_of(4)).then(|| format!("ext{i}")),
            emails: (0..i % 3).map(|e| format!("{i}.{e}@example")).collect(),
            pending_deletion: i.is_multiple_of(7),
            ..IidUser::default()
        }
    }

    #[test]
    fn rows_round_trip_across_chunks() {
        let rows: Vec<AdUser> = (0..CHUNK_ROWS + 10).map(ad).collect();
        let table = AdUserTable::from_rows(&rows).expect("table");
        assert_eq!(table.len(), rows.len());
        assert_eq!(table.to_rows(), rows);
        let view = table.get(CHUNK_ROWS + 3).expect("row");
        assert_eq!(view.dn(), rows[CHUNK_ROWS + 3].dn);
        assert_eq!(view.mail(), rows[CHUNK_ROWS + 3].mail.as_deref());
        assert!(table.get(rows.len()).is_none());
    }

    #[test]
    fn append_keeps_every_row_whether_aligned_or_not() {
        let rows: Vec<IidUser> = (0..CHUNK_ROWS * 2 + 5).map(iid).collect();
        for split in [0, 7, CHUNK_ROWS, CHUNK_ROWS + 1, rows.len()] {
            let mut head = IidUserTable::from_rows(&rows[..split]).expect("head");
            let tail = IidUserTable::from_rows(&rows[split..]).expect("tail");
            head.append(tail).expect("append");
            assert_eq!(head.to_rows(), rows, "split at {split}");
        }
    }

    #[test]
    fn reserved_rows_read_back_and_append_across_chunks() {
        let rows: Vec<IidUser> = (0..CHUNK_ROWS + 100).map(iid).collect();
        let mut table = IidUserTable::new();
        table.reserve_rows(rows.len() * 2);
        for batch in rows.chunks(1000) {
            table.reserve_for(batch);
            for row in batch {
                table.push(row).expect("push");
            }
        }
        // A part reserved on a chunk boundary and appended before it is filled.
        let mut aligned = IidUserTable::from_rows(&rows[..CHUNK_ROWS]).expect("aligned");
        aligned.reserve_for(&rows[CHUNK_ROWS..]);
        aligned
            .append(IidUserTable::from_rows(&rows[CHUNK_ROWS..]).expect("tail"))
            .expect("append");
        assert_eq!(aligned.to_rows(), rows);
        table.append(aligned).expect("append");
        let twice: Vec<IidUser> = rows.iter().chain(&rows).cloned().collect();
        assert_eq!(table.to_rows(), twice);
    }

    #[test]
    fn reserving_twice_or_for_nothing_starts_no_second_chunk() {
        let rows: Vec<IidUser> = (0..CHUNK_ROWS + 3).map(iid).collect();
        let mut table = IidUserTable::new();
        table.reserve_for(&[]);
        table.reserve_for(&rows[..10]);
        for row in &rows[..CHUNK_ROWS] {
            table.push(row).expect("push");
        }
        // On a chunk boundary: an empty batch, then the next one.
        table.reserve_for(&[]);
        table.reserve_for(&rows[CHUNK_ROWS..]);
        for row in &rows[CHUNK_ROWS..] {
            table.push(row).expect("push");
        }
        assert_eq!(table.to_rows(), rows);
    }

    #[test]
    fn lists_and_nulls_read_back() {
        let rows: Vec<IidUser> = (0..10).map(iid).collect();
        let table = IidUserTable::from_rows(&rows).expect("table");
        for (view, row) in table.iter().zip(&rows) {
            assert_eq!(
                view.emails().iter().collect::<Vec<_>>(),
                row.emails.iter().map(String::as_str).collect::<Vec<_>>()
            );
            assert_eq!(view.emails().get(0), row.emails.first().map(String::as_str));
            assert_eq!(view.external_id(), row.external_id.as_deref());
        }
    }
}
