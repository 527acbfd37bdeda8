//! Typed reads from the positioned YAML tree, recording every key read so that the keys
//! nobody read can be reported as unknown.

use crate::error::ConfigError;
use crate::node::{Node, Pos, Value};
use std::cell::RefCell;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

pub(crate) struct Reader<'a> {
    pub path: &'a Path,
    /// Dotted keys that were read (or whose whole subtree is interpreted elsewhere).
    pub used: RefCell<BTreeSet<String>>,
}

#[derive(Clone, Copy)]
pub(crate) struct Cursor<'r, 'a> {
    pub reader: &'r Reader<'a>,
    pub node: &'a Node,
    pub key: &'r str,
}

impl<'r, 'a> Reader<'a> {
    pub fn new(path: &'a Path) -> Self {
        Reader {
            path,
            used: RefCell::new(BTreeSet::new()),
        }
    }

    fn file(&self) -> PathBuf {
        self.path.to_path_buf()
    }

    pub fn invalid(&self, key: &str, pos: Pos, expected: &str, found: &Value) -> ConfigError {
        ConfigError::Invalid {
            path: self.file(),
            line: pos.line,
            column: pos.column,
            key: key.to_string(),
            expected: expected.to_string(),
            found: found.describe(),
        }
    }

    pub fn bad(&self, key: &str, pos: Pos, message: impl Into<String>) -> ConfigError {
        ConfigError::BadValue {
            path: self.file(),
            line: pos.line,
            column: pos.column,
            key: key.to_string(),
            message: message.into(),
        }
    }

    pub fn mark(&self, key: &str) {
        self.used.borrow_mut().insert(key.to_string());
    }

    pub fn root(&'r self, node: &'a Node) -> Cursor<'r, 'a> {
        Cursor {
            reader: self,
            node,
            key: "",
        }
    }
}

/// A child key of a mapping, with its full dotted name.
pub(crate) struct Child<'a> {
    pub key: String,
    pub node: &'a Node,
}

impl<'r, 'a> Cursor<'r, 'a> {
    pub fn pos(&self) -> Pos {
        self.node.pos
    }

    pub fn join(&self, name: &str) -> String {
        if self.key.is_empty() {
            name.to_string()
        } else {
            format!("{}.{name}", self.key)
        }
    }

    /// The entries of this mapping; `null` counts as empty.
    pub fn entries(&self) -> Result<Vec<Child<'a>>, ConfigError> {
        match &self.node.value {
            Value::Null => Ok(Vec::new()),
            Value::Map(entries) => Ok(entries
                .iter()
                .map(|(k, _, n)| Child {
                    key: self.join(k),
                    node: n,
                })
                .collect()),
            other => {
                Err(self
                    .reader
                    .invalid(self.display_key(), self.pos(), "a mapping of keys", other))
            }
        }
    }

    fn display_key(&self) -> &str {
        if self.key.is_empty() {
            "(document)"
        } else {
            self.key
        }
    }

    /// Looks up `name` in this mapping and marks it as read.
    pub fn get(&self, name: &str) -> Result<Option<Child<'a>>, ConfigError> {
        let full = self.join(name);
        self.reader.mark(&full);
        match &self.node.value {
            Value::Null => Ok(None),
            Value::Map(entries) => Ok(entries
                .iter()
                .find(|(k, _, _)| k == name)
                .map(|(_, _, n)| Child { key: full, node: n })),
            other => {
                Err(self
                    .reader
                    .invalid(self.display_key(), self.pos(), "a mapping of keys", other))
            }
        }
    }
}

impl<'a> Child<'a> {
    pub fn cursor<'r>(&'r self, reader: &'r Reader<'a>) -> Cursor<'r, 'a> {
        Cursor {
            reader,
            node: self.node,
            key: &self.key,
        }
    }
}

/// Scalar conversions with positioned errors.
impl Cursor<'_, '_> {
    pub fn is_null(&self) -> bool {
        matches!(self.node.value, Value::Null)
    }

    pub fn string(&self) -> Result<String, ConfigError> {
        match &self.node.value {
            Value::Str(s) => Ok(s.clone()),
            other => Err(self.reader.invalid(self.key, self.pos(), "a string", other)),
        }
    }

    pub fn opt_string(&self) -> Result<Option<String>, ConfigError> {
        if self.is_null() {
            Ok(None)
        } else {
            self.string().map(Some)
        }
    }

    pub fn boolean(&self) -> Result<bool, ConfigError> {
        match &self.node.value {
            Value::Bool(b) => Ok(*b),
            other => Err(self
                .reader
                .invalid(self.key, self.pos(), "true or false", other)),
        }
    }

    pub fn integer(&self, min: i64, max: i64) -> Result<i64, ConfigError> {
        let expected = format!("an integer from {min} to {max}");
        match &self.node.value {
            Value::Int(i) if (min..=max).contains(i) => Ok(*i),
            Value::Str(s) => match s.trim().parse::<i64>() {
                Ok(i) if (min..=max).contains(&i) => Ok(i),
                _ => Err(self
                    .reader
                    .invalid(self.key, self.pos(), &expected, &self.node.value)),
            },
            other => Err(self.reader.invalid(self.key, self.pos(), &expected, other)),
        }
    }

    /// One string or a list of strings (Directory Sync accepts both for `addresses` and
    /// the fallback lists of `ad_bind`).
    pub fn strings(&self) -> Result<Vec<String>, ConfigError> {
        match &self.node.value {
            Value::Str(s) => Ok(vec![s.clone()]),
            Value::Seq(items) => items
                .iter()
                .enumerate()
                .map(|(i, n)| match &n.value {
                    Value::Str(s) => Ok(s.clone()),
                    other => Err(self.reader.invalid(
                        &format!("{}[{i}]", self.key),
                        n.pos,
                        "a string",
                        other,
                    )),
                })
                .collect(),
            other => Err(self.reader.invalid(
                self.key,
                self.pos(),
                "a string or a list of strings",
                other,
            )),
        }
    }
}
