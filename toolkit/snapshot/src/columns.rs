//! Column kinds: how one model field becomes one Arrow column and back, built in one pass
//! over the rows with pre-sized builders (no per-row allocation on write).

use arrow_array::builder::{
    BinaryBuilder, BooleanBuilder, FixedSizeBinaryBuilder, Int32Builder, Int64Builder, ListBuilder,
    StringBuilder, TimestampMicrosecondBuilder, UInt32Builder,
};
use arrow_array::cast::AsArray;
use arrow_array::types::{Int32Type, Int64Type, TimestampMicrosecondType, UInt32Type};
use arrow_array::{Array, ArrayRef};
use arrow_schema::{DataType, Field, TimeUnit};
use chrono::{DateTime, Utc};
use dirsnap_model::{Guid, MemberKind};
use std::fmt::Write as _;
use std::sync::Arc;

/// Why a column could not be read back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ColumnError {
    #[error("column `{column}` has type {found}, expected {expected}")]
    WrongType {
        column: &'static str,
        found: String,
        expected: String,
    },
    #[error("column `{column}` is missing (expected a column of type {expected})")]
    Missing {
        column: &'static str,
        expected: String,
    },
    #[error("column `{column}` row {row}: {message}")]
    BadValue {
        column: &'static str,
        row: usize,
        message: String,
    },
    #[error("column `{column}` row {row} is null but the column is not nullable")]
    UnexpectedNull { column: &'static str, row: usize },
}

/// One kind of column. `Value` is the model field's type.
pub trait Column {
    type Value;
    /// Type name as docs/snapshot-format.md spells it.
    const DOC_TYPE: &'static str;
    /// False for a derived column whose `read` only checks the type (the field comes from
    /// another column): the reader then leaves it undecoded.
    const DECODES: bool = true;
    fn data_type() -> DataType;
    fn nullable() -> bool;
    fn build<'a>(values: impl ExactSizeIterator<Item = &'a Self::Value>) -> ArrayRef
    where
        Self::Value: 'a;
    /// Writes the column's values into the fields yielded by `slots` (same length as the array).
    fn read<'a>(
        name: &'static str,
        array: &dyn Array,
        slots: impl Iterator<Item = &'a mut Self::Value>,
    ) -> Result<(), ColumnError>
    where
        Self::Value: 'a;
}

fn check_type(
    name: &'static str,
    array: &dyn Array,
    expected: &DataType,
) -> Result<(), ColumnError> {
    if array.data_type() == expected {
        Ok(())
    } else {
        Err(ColumnError::WrongType {
            column: name,
            found: array.data_type().to_string(),
            expected: expected.to_string(),
        })
    }
}

pub fn ts_type() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

/// Non-null UTF-8.
pub struct Str;
impl Column for Str {
    type Value = String;
    const DOC_TYPE: &'static str = "string";
    fn data_type() -> DataType {
        DataType::Utf8
    }
    fn nullable() -> bool {
        false
    }
    fn build<'a>(values: impl ExactSizeIterator<Item = &'a String>) -> ArrayRef {
        let values: Vec<&String> = values.collect();
        let bytes = values.iter().map(|v| v.len()).sum();
        let mut b = StringBuilder::with_capacity(values.len(), bytes);
        for v in values {
            b.append_value(v);
        }
        Arc::new(b.finish())
    }
    fn read<'a>(
        name: &'static str,
        array: &dyn Array,
        slots: impl Iterator<Item = &'a mut String>,
    ) -> Result<(), ColumnError> {
        check_type(name, array, &Self::data_type())?;
        let a = array.as_string::<i32>();
        for (row, slot) in slots.enumerate() {
            if a.is_null(row) {
                return Err(ColumnError::UnexpectedNull { column: name, row });
            }
            a.value(row).clone_into(slot);
        }
        Ok(())
    }
}

/// Nullable UTF-8.
pub struct OptStr;
impl Column for OptStr {
    type Value = Option<String>;
    const DOC_TYPE: &'static str = "string?";
    fn data_type() -> DataType {
        DataType::Utf8
    }
    fn nullable() -> bool {
        true
    }
    fn build<'a>(values: impl ExactSizeIterator<Item = &'a Option<String>>) -> ArrayRef {
        let values: Vec<&Option<String>> = values.collect();
        let bytes = values
            .iter()
            .map(|v| v.as_ref().map_or(0, String::len))
            .sum();
        let mut b = StringBuilder::with_capacity(values.len(), bytes);
        for v in values {
            b.append_option(v.as_deref());
        }
        Arc::new(b.finish())
    }
    fn read<'a>(
        name: &'static str,
        array: &dyn Array,
        slots: impl Iterator<Item = &'a mut Option<String>>,
    ) -> Result<(), ColumnError> {
        check_type(name, array, &Self::data_type())?;
        let a = array.as_string::<i32>();
        for (row, slot) in slots.enumerate() {
            *slot = (!a.is_null(row)).then(|| a.value(row).to_string());
        }
        Ok(())
    }
}

/// Non-null boolean.
pub struct Bool;
impl Column for Bool {
    type Value = bool;
    const DOC_TYPE: &'static str = "bool";
    fn data_type() -> DataType {
        DataType::Boolean
    }
    fn nullable() -> bool {
        false
    }
    fn build<'a>(values: impl ExactSizeIterator<Item = &'a bool>) -> ArrayRef {
        let mut b = BooleanBuilder::with_capacity(values.len());
        for v in values {
            b.append_value(*v);
        }
        Arc::new(b.finish())
    }
    fn read<'a>(
        name: &'static str,
        array: &dyn Array,
        slots: impl Iterator<Item = &'a mut bool>,
    ) -> Result<(), ColumnError> {
        check_type(name, array, &Self::data_type())?;
        let a = array.as_boolean();
        for (row, slot) in slots.enumerate() {
            if a.is_null(row) {
                return Err(ColumnError::UnexpectedNull { column: name, row });
            }
            *slot = a.value(row);
        }
        Ok(())
    }
}

/// Nullable boolean.
pub struct OptBool;
impl Column for OptBool {
    type Value = Option<bool>;
    const DOC_TYPE: &'static str = "bool?";
    fn data_type() -> DataType {
        DataType::Boolean
    }
    fn nullable() -> bool {
        true
    }
    fn build<'a>(values: impl ExactSizeIterator<Item = &'a Option<bool>>) -> ArrayRef {
        let mut b = BooleanBuilder::with_capacity(values.len());
        for v in values {
            b.append_option(*v);
        }
        Arc::new(b.finish())
    }
    fn read<'a>(
        name: &'static str,
        array: &dyn Array,
        slots: impl Iterator<Item = &'a mut Option<bool>>,
    ) -> Result<(), ColumnError> {
        check_type(name, array, &Self::data_type())?;
        let a = array.as_boolean();
        for (row, slot) in slots.enumerate() {
            *slot = (!a.is_null(row)).then(|| a.value(row));
        }
        Ok(())
    }
}

macro_rules! opt_primitive {
    ($name:ident, $t:ty, $builder:ident, $arrow:ty, $dt:expr, $doc:literal) => {
        /// Nullable integer column.
        pub struct $name;
        impl Column for $name {
            type Value = Option<$t>;
            const DOC_TYPE: &'static str = $doc;
            fn data_type() -> DataType {
                $dt
            }
            fn nullable() -> bool {
                true
            }
            fn build<'a>(values: impl ExactSizeIterator<Item = &'a Option<$t>>) -> ArrayRef {
                let mut b = $builder::with_capacity(values.len());
                for v in values {
                    b.append_option(*v);
                }
                Arc::new(b.finish())
            }
            fn read<'a>(
                name: &'static str,
                array: &dyn Array,
                slots: impl Iterator<Item = &'a mut Option<$t>>,
            ) -> Result<(), ColumnError> {
                check_type(name, array, &Self::data_type())?;
                let a = array.as_primitive::<$arrow>();
                for (row, slot) in slots.enumerate() {
                    *slot = (!a.is_null(row)).then(|| a.value(row));
                }
                Ok(())
            }
        }
    };
}
opt_primitive!(
    OptU32,
    u32,
    UInt32Builder,
    UInt32Type,
    DataType::UInt32,
    "uint32?"
);
opt_primitive!(
    OptI32,
    i32,
    Int32Builder,
    Int32Type,
    DataType::Int32,
    "int32?"
);
opt_primitive!(
    OptI64,
    i64,
    Int64Builder,
    Int64Type,
    DataType::Int64,
    "int64?"
);

/// Nullable UTC timestamp, microsecond precision.
pub struct OptTs;
impl Column for OptTs {
    type Value = Option<DateTime<Utc>>;
    const DOC_TYPE: &'static str = "timestamp[us, UTC]?";
    fn data_type() -> DataType {
        ts_type()
    }
    fn nullable() -> bool {
        true
    }
    fn build<'a>(values: impl ExactSizeIterator<Item = &'a Option<DateTime<Utc>>>) -> ArrayRef {
        let mut b = TimestampMicrosecondBuilder::with_capacity(values.len()).with_timezone("UTC");
        for v in values {
            b.append_option(v.map(|t| t.timestamp_micros()));
        }
        Arc::new(b.finish())
    }
    fn read<'a>(
        name: &'static str,
        array: &dyn Array,
        slots: impl Iterator<Item = &'a mut Option<DateTime<Utc>>>,
    ) -> Result<(), ColumnError> {
        check_type(name, array, &Self::data_type())?;
        let a = array.as_primitive::<TimestampMicrosecondType>();
        for (row, slot) in slots.enumerate() {
            *slot = if a.is_null(row) {
                None
            } else {
                Some(
                    DateTime::from_timestamp_micros(a.value(row)).ok_or_else(|| {
                        ColumnError::BadValue {
                            column: name,
                            row,
                            message: "timestamp out of range".into(),
                        }
                    })?,
                )
            };
        }
        Ok(())
    }
}

/// A GUID as its canonical text (derived; the binary column is authoritative on read).
pub struct GuidText;
impl Column for GuidText {
    type Value = Guid;
    const DOC_TYPE: &'static str = "string";
    const DECODES: bool = false;
    fn data_type() -> DataType {
        DataType::Utf8
    }
    fn nullable() -> bool {
        false
    }
    fn build<'a>(values: impl ExactSizeIterator<Item = &'a Guid>) -> ArrayRef {
        let mut b = StringBuilder::with_capacity(values.len(), values.len() * 36);
        let mut text = [0u8; 36];
        for v in values {
            b.append_value(v.text(&mut text));
        }
        Arc::new(b.finish())
    }
    fn read<'a>(
        name: &'static str,
        array: &dyn Array,
        _slots: impl Iterator<Item = &'a mut Guid>,
    ) -> Result<(), ColumnError> {
        check_type(name, array, &Self::data_type())
    }
}

/// A GUID as its 16 bytes, in AD's wire order.
pub struct GuidBin;
impl Column for GuidBin {
    type Value = Guid;
    const DOC_TYPE: &'static str = "fixed_size_binary[16]";
    fn data_type() -> DataType {
        DataType::FixedSizeBinary(16)
    }
    fn nullable() -> bool {
        false
    }
    fn build<'a>(values: impl ExactSizeIterator<Item = &'a Guid>) -> ArrayRef {
        let mut b = FixedSizeBinaryBuilder::with_capacity(values.len(), 16);
        for v in values {
            // Length is fixed by the type, so this cannot fail.
            let _ = b.append_value(v.as_bytes());
        }
        Arc::new(b.finish())
    }
    fn read<'a>(
        name: &'static str,
        array: &dyn Array,
        slots: impl Iterator<Item = &'a mut Guid>,
    ) -> Result<(), ColumnError> {
        check_type(name, array, &Self::data_type())?;
        let a = array.as_fixed_size_binary();
        for (row, slot) in slots.enumerate() {
            if a.is_null(row) {
                return Err(ColumnError::UnexpectedNull { column: name, row });
            }
            *slot = Guid::from_slice(a.value(row)).ok_or(ColumnError::BadValue {
                column: name,
                row,
                message: "not 16 bytes".into(),
            })?;
        }
        Ok(())
    }
}

/// Nullable binary.
pub struct OptBin;
impl Column for OptBin {
    type Value = Option<Vec<u8>>;
    const DOC_TYPE: &'static str = "binary?";
    fn data_type() -> DataType {
        DataType::Binary
    }
    fn nullable() -> bool {
        true
    }
    fn build<'a>(values: impl ExactSizeIterator<Item = &'a Option<Vec<u8>>>) -> ArrayRef {
        let values: Vec<_> = values.collect();
        let bytes = values.iter().map(|v| v.as_ref().map_or(0, Vec::len)).sum();
        let mut b = BinaryBuilder::with_capacity(values.len(), bytes);
        for v in values {
            b.append_option(v.as_deref());
        }
        Arc::new(b.finish())
    }
    fn read<'a>(
        name: &'static str,
        array: &dyn Array,
        slots: impl Iterator<Item = &'a mut Option<Vec<u8>>>,
    ) -> Result<(), ColumnError> {
        check_type(name, array, &Self::data_type())?;
        let a = array.as_binary::<i32>();
        for (row, slot) in slots.enumerate() {
            *slot = (!a.is_null(row)).then(|| a.value(row).to_vec());
        }
        Ok(())
    }
}

/// Text of an optional binary GUID-like value: canonical GUID text when 16 bytes, otherwise
/// lowercase hex (derived from the binary column; ignored on read).
pub struct OptBinGuidText;
impl Column for OptBinGuidText {
    type Value = Option<Vec<u8>>;
    const DOC_TYPE: &'static str = "string?";
    const DECODES: bool = false;
    fn data_type() -> DataType {
        DataType::Utf8
    }
    fn nullable() -> bool {
        true
    }
    fn build<'a>(values: impl ExactSizeIterator<Item = &'a Option<Vec<u8>>>) -> ArrayRef {
        let mut b = StringBuilder::with_capacity(values.len(), values.len() * 36);
        let mut text = [0u8; 36];
        for v in values {
            match v {
                None => b.append_null(),
                Some(bytes) => match Guid::from_slice(bytes) {
                    Some(g) => b.append_value(g.text(&mut text)),
                    None => {
                        let _ = bytes.iter().try_for_each(|x| write!(b, "{x:02x}"));
                        b.append_value("");
                    }
                },
            }
        }
        Arc::new(b.finish())
    }
    fn read<'a>(
        name: &'static str,
        array: &dyn Array,
        _slots: impl Iterator<Item = &'a mut Option<Vec<u8>>>,
    ) -> Result<(), ColumnError> {
        check_type(name, array, &Self::data_type())
    }
}

/// A list of UTF-8 strings (never null; empty when there are none).
pub struct StrList;
impl StrList {
    fn item_field() -> Arc<Field> {
        Arc::new(Field::new("item", DataType::Utf8, true))
    }
}
impl Column for StrList {
    type Value = Vec<String>;
    const DOC_TYPE: &'static str = "list<string>";
    fn data_type() -> DataType {
        DataType::List(Self::item_field())
    }
    fn nullable() -> bool {
        false
    }
    fn build<'a>(values: impl ExactSizeIterator<Item = &'a Vec<String>>) -> ArrayRef {
        let values: Vec<_> = values.collect();
        let items = values.iter().map(|v| v.len()).sum();
        let bytes = values.iter().flat_map(|v| v.iter()).map(String::len).sum();
        let mut b =
            ListBuilder::with_capacity(StringBuilder::with_capacity(items, bytes), values.len())
                .with_field(Self::item_field());
        for v in values {
            for s in v {
                b.values().append_value(s);
            }
            b.append(true);
        }
        Arc::new(b.finish())
    }
    fn read<'a>(
        name: &'static str,
        array: &dyn Array,
        slots: impl Iterator<Item = &'a mut Vec<String>>,
    ) -> Result<(), ColumnError> {
        let DataType::List(_) = array.data_type() else {
            return Err(ColumnError::WrongType {
                column: name,
                found: array.data_type().to_string(),
                expected: Self::data_type().to_string(),
            });
        };
        let list = array.as_list::<i32>();
        let values = list.values();
        check_type(name, values.as_ref(), &DataType::Utf8)?;
        let strings = values.as_string::<i32>();
        let offsets = list.value_offsets();
        for (row, slot) in slots.enumerate() {
            slot.clear();
            if list.is_null(row) {
                continue;
            }
            let (start, end) = (offsets[row] as usize, offsets[row + 1] as usize);
            for i in start..end {
                if !strings.is_null(i) {
                    slot.push(strings.value(i).to_string());
                }
            }
        }
        Ok(())
    }
}

/// A member kind as `user` | `group` | `unknown`.
pub struct Kind;
impl Column for Kind {
    type Value = MemberKind;
    const DOC_TYPE: &'static str = "string";
    fn data_type() -> DataType {
        DataType::Utf8
    }
    fn nullable() -> bool {
        false
    }
    fn build<'a>(values: impl ExactSizeIterator<Item = &'a MemberKind>) -> ArrayRef {
        let mut b = StringBuilder::with_capacity(values.len(), values.len() * 5);
        for v in values {
            b.append_value(v.as_str());
        }
        Arc::new(b.finish())
    }
    fn read<'a>(
        name: &'static str,
        array: &dyn Array,
        slots: impl Iterator<Item = &'a mut MemberKind>,
    ) -> Result<(), ColumnError> {
        check_type(name, array, &Self::data_type())?;
        let a = array.as_string::<i32>();
        for (row, slot) in slots.enumerate() {
            let text = if a.is_null(row) { "" } else { a.value(row) };
            *slot = MemberKind::parse(text).ok_or_else(|| ColumnError::BadValue {
                column: name,
                row,
                message: format!("{text:?} is not one of user, group, unknown"),
            })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_guid_text_columns() {
        let g = Guid([4, 3, 2, 1, 6, 5, 8, 7, 9, 10, 11, 12, 13, 14, 15, 16]);
        let a = GuidText::build([g].iter());
        assert_eq!(
            a.as_string::<i32>().value(0),
            "01020304-0506-0708-090a-0b0c0d0e0f10"
        );
        let values = [None, Some(g.as_bytes().to_vec()), Some(vec![0xab, 0x01])];
        let a = OptBinGuidText::build(values.iter());
        let s = a.as_string::<i32>();
        assert!(s.is_null(0));
        assert_eq!(s.value(1), "01020304-0506-0708-090a-0b0c0d0e0f10");
        assert_eq!(s.value(2), "ab01");
    }
}
