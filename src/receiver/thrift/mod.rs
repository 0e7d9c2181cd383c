//! Apache Thrift's binary and compact protocols over a byte slice: a bounded, panic-free reader for
//! untrusted datagrams and request bodies, and a writer for tests, benches, fuzz seeds and clients.
//!
//! We keep a small codec of our own instead of the `thrift` crate: that crate needs code generated
//! by the Apache thrift compiler (not available to our build), reads synchronously from a stream
//! and allocates per read, while we need zero-copy decoding of one datagram or body with bounded
//! allocation, no panics on any input, and errors that name the offending field and byte offset.
//!
//! Invariants of every reader:
//! - a length prefix is checked against the bytes left before anything is reserved or borrowed;
//!   containers must fit their smallest possible encoding in what is left;
//! - nesting (structs, and containers while skipping) is limited to [`MAX_DEPTH`] levels;
//! - strings are borrowed from the input and checked as UTF-8; binaries are borrowed as is.
//!
//! [`schema`] reads IDL-described structs (required fields, unknown fields skipped) on top of the
//! [`ThriftRead`] primitives; [`binary`] and [`compact`] are the two wire encodings.

pub mod binary;
pub mod compact;
mod error;
pub mod schema;

#[cfg(test)]
mod tests;

use std::fmt;

pub use binary::{BinaryReader, BinaryWriter};
pub use compact::{CompactReader, CompactWriter};
pub use error::ThriftError;

/// How deep structs and containers may nest before a reader gives up.
pub const MAX_DEPTH: usize = 64;

/// Which thrift protocol a payload is encoded in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// TBinaryProtocol: fixed-width big-endian integers.
    Binary,
    /// TCompactProtocol: zigzag varints and delta field ids.
    Compact,
}

/// The type of a field, list element or map key/value, shared by both protocols.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldType {
    /// `bool`.
    Bool,
    /// `byte` (signed 8 bits).
    Byte,
    /// `i16`.
    I16,
    /// `i32`, and enums.
    I32,
    /// `i64`.
    I64,
    /// `double`.
    Double,
    /// `string` or `binary` (both are TType STRING on the wire).
    Binary,
    /// A nested struct (also exceptions and unions).
    Struct,
    /// `map<K, V>`.
    Map,
    /// `set<T>`.
    Set,
    /// `list<T>`.
    List,
}

impl fmt::Display for FieldType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Bool => "bool",
            Self::Byte => "byte",
            Self::I16 => "i16",
            Self::I32 => "i32",
            Self::I64 => "i64",
            Self::Double => "double",
            Self::Binary => "binary",
            Self::Struct => "struct",
            Self::Map => "map",
            Self::Set => "set",
            Self::List => "list",
        })
    }
}

/// The kind of a thrift message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageType {
    /// A call expecting a reply (1).
    Call,
    /// A reply (2).
    Reply,
    /// An exception reply (3).
    Exception,
    /// A call without a reply (4).
    Oneway,
}

impl MessageType {
    /// The type's code on the wire.
    pub fn code(self) -> u8 {
        match self {
            Self::Call => 1,
            Self::Reply => 2,
            Self::Exception => 3,
            Self::Oneway => 4,
        }
    }

    /// The type for a wire code, if it is one.
    pub fn from_code(code: u8) -> Option<Self> {
        match code {
            1 => Some(Self::Call),
            2 => Some(Self::Reply),
            3 => Some(Self::Exception),
            4 => Some(Self::Oneway),
            _ => None,
        }
    }
}

impl fmt::Display for MessageType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Call => "call",
            Self::Reply => "reply",
            Self::Exception => "exception",
            Self::Oneway => "oneway",
        })
    }
}

/// A message header: method name, kind and sequence id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageHeader<'a> {
    /// The method called.
    pub name: &'a str,
    /// Call, reply, exception or oneway.
    pub message_type: MessageType,
    /// The caller's sequence id.
    pub sequence_id: i32,
}

/// A field header inside a struct.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldHeader {
    /// The field id from the IDL.
    pub id: i16,
    /// The type of the value that follows.
    pub field_type: FieldType,
}

/// A list or set header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListHeader {
    /// The type of every element.
    pub element_type: FieldType,
    /// Number of elements; already checked to fit in the input.
    pub len: usize,
}

/// A map header. An empty compact map carries no types; they read as [`FieldType::Byte`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MapHeader {
    /// The type of every key.
    pub key_type: FieldType,
    /// The type of every value.
    pub value_type: FieldType,
    /// Number of entries; already checked to fit in the input.
    pub len: usize,
}

/// Reads thrift values from a byte slice, borrowing strings and binaries from it.
pub trait ThriftRead<'a> {
    /// Bytes consumed so far.
    fn offset(&self) -> usize;
    /// Bytes not read yet.
    fn remaining(&self) -> usize;
    /// Reads a message header.
    fn read_message_begin(&mut self) -> Result<MessageHeader<'a>, ThriftError>;
    /// Enters a struct.
    fn read_struct_begin(&mut self) -> Result<(), ThriftError>;
    /// Leaves a struct after its STOP.
    fn read_struct_end(&mut self);
    /// Reads the next field header; `None` at the struct's STOP.
    fn read_field_begin(&mut self) -> Result<Option<FieldHeader>, ThriftError>;
    /// Reads a bool.
    fn read_bool(&mut self) -> Result<bool, ThriftError>;
    /// Reads a byte.
    fn read_byte(&mut self) -> Result<i8, ThriftError>;
    /// Reads an i16.
    fn read_i16(&mut self) -> Result<i16, ThriftError>;
    /// Reads an i32.
    fn read_i32(&mut self) -> Result<i32, ThriftError>;
    /// Reads an i64.
    fn read_i64(&mut self) -> Result<i64, ThriftError>;
    /// Reads a double.
    fn read_double(&mut self) -> Result<f64, ThriftError>;
    /// Reads a binary, borrowed from the input.
    fn read_binary(&mut self) -> Result<&'a [u8], ThriftError>;
    /// Reads a list header.
    fn read_list_begin(&mut self) -> Result<ListHeader, ThriftError>;
    /// Reads a set header.
    fn read_set_begin(&mut self) -> Result<ListHeader, ThriftError>;
    /// Reads a map header.
    fn read_map_begin(&mut self) -> Result<MapHeader, ThriftError>;

    /// Reads a UTF-8 string, borrowed from the input.
    fn read_string(&mut self) -> Result<&'a str, ThriftError> {
        let bytes = self.read_binary()?;
        utf8(bytes, self.offset().saturating_sub(bytes.len()))
    }

    /// Reads and discards one value of type `field_type`, however deeply nested (up to [`MAX_DEPTH`]).
    fn skip(&mut self, field_type: FieldType) -> Result<(), ThriftError>
    where
        Self: Sized,
    {
        skip_value(self, field_type, 0)
    }

    /// Fails unless every byte has been read.
    fn expect_end(&self, after: &'static str) -> Result<(), ThriftError> {
        match self.remaining() {
            0 => Ok(()),
            count => Err(ThriftError::TrailingBytes { offset: self.offset(), count, after }),
        }
    }
}

fn skip_value<'a, R: ThriftRead<'a>>(r: &mut R, field_type: FieldType, depth: usize) -> Result<(), ThriftError> {
    if depth > MAX_DEPTH {
        return Err(ThriftError::TooDeep { offset: r.offset(), limit: MAX_DEPTH });
    }
    match field_type {
        FieldType::Bool => r.read_bool().map(drop),
        FieldType::Byte => r.read_byte().map(drop),
        FieldType::I16 => r.read_i16().map(drop),
        FieldType::I32 => r.read_i32().map(drop),
        FieldType::I64 => r.read_i64().map(drop),
        FieldType::Double => r.read_double().map(drop),
        FieldType::Binary => r.read_binary().map(drop),
        FieldType::Struct => {
            r.read_struct_begin()?;
            while let Some(field) = r.read_field_begin()? {
                skip_value(r, field.field_type, depth + 1)?;
            }
            r.read_struct_end();
            Ok(())
        }
        FieldType::List | FieldType::Set => {
            let header = if field_type == FieldType::List { r.read_list_begin()? } else { r.read_set_begin()? };
            for _ in 0..header.len {
                skip_value(r, header.element_type, depth + 1)?;
            }
            Ok(())
        }
        FieldType::Map => {
            let header = r.read_map_begin()?;
            for _ in 0..header.len {
                skip_value(r, header.key_type, depth + 1)?;
                skip_value(r, header.value_type, depth + 1)?;
            }
            Ok(())
        }
    }
}

/// Writes thrift values into a growing buffer. Lengths above `i32::MAX` cannot be expressed in
/// thrift and are clamped.
pub trait ThriftWrite {
    /// Writes a message header.
    fn write_message_begin(&mut self, name: &str, message_type: MessageType, sequence_id: i32);
    /// Enters a struct.
    fn write_struct_begin(&mut self);
    /// Writes the struct's STOP and leaves it.
    fn write_struct_end(&mut self);
    /// Writes a field header; a value of `field_type` must follow.
    fn write_field_begin(&mut self, field_type: FieldType, id: i16);
    /// Writes a bool.
    fn write_bool(&mut self, value: bool);
    /// Writes a byte.
    fn write_byte(&mut self, value: i8);
    /// Writes an i16.
    fn write_i16(&mut self, value: i16);
    /// Writes an i32.
    fn write_i32(&mut self, value: i32);
    /// Writes an i64.
    fn write_i64(&mut self, value: i64);
    /// Writes a double.
    fn write_double(&mut self, value: f64);
    /// Writes a binary.
    fn write_binary(&mut self, value: &[u8]);
    /// Writes a list header; `len` elements of `element_type` must follow.
    fn write_list_begin(&mut self, element_type: FieldType, len: usize);
    /// Writes a set header; `len` elements of `element_type` must follow.
    fn write_set_begin(&mut self, element_type: FieldType, len: usize);
    /// Writes a map header; `len` key/value pairs must follow.
    fn write_map_begin(&mut self, key_type: FieldType, value_type: FieldType, len: usize);
    /// The bytes written.
    fn into_bytes(self) -> Vec<u8>;

    /// Writes a string.
    fn write_string(&mut self, value: &str) {
        self.write_binary(value.as_bytes());
    }
}

/// A cursor over the input that never reads past its end.
#[derive(Debug, Clone)]
struct Input<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Input<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, pos: 0 }
    }

    fn remaining(&self) -> usize {
        self.bytes.len().saturating_sub(self.pos)
    }

    fn take(&mut self, n: usize, reading: &'static str) -> Result<&'a [u8], ThriftError> {
        let end = self.pos.checked_add(n).filter(|end| *end <= self.bytes.len());
        match end.and_then(|end| self.bytes.get(self.pos..end)) {
            Some(slice) => {
                self.pos += n;
                Ok(slice)
            }
            None => Err(ThriftError::Eof { offset: self.pos, reading }),
        }
    }

    fn array<const N: usize>(&mut self, reading: &'static str) -> Result<[u8; N], ThriftError> {
        let offset = self.pos;
        self.take(N, reading)?.try_into().map_err(|_| ThriftError::Eof { offset, reading })
    }

    fn byte(&mut self, reading: &'static str) -> Result<u8, ThriftError> {
        let [b] = self.array::<1>(reading)?;
        Ok(b)
    }

    /// Takes a binary of `len` bytes whose length prefix started at `offset`.
    fn binary(&mut self, offset: usize, len: u64) -> Result<&'a [u8], ThriftError> {
        let remaining = self.remaining();
        match usize::try_from(len) {
            Ok(n) if n <= remaining => self.take(n, "binary"),
            _ => Err(ThriftError::BinaryTooLong { offset, len, remaining }),
        }
    }

    /// Checks that `len` elements of at least `min_each` bytes fit in what is left.
    fn container_len(
        &self,
        container: &'static str,
        offset: usize,
        len: u64,
        min_each: usize,
    ) -> Result<usize, ThriftError> {
        let needed = len.saturating_mul(min_each as u64);
        let remaining = self.remaining();
        match usize::try_from(len) {
            Ok(n) if needed <= remaining as u64 => Ok(n),
            _ => Err(ThriftError::ContainerTooLong { container, offset, len, needed, remaining }),
        }
    }
}

/// Checks that `bytes`, which start at input offset `start`, are UTF-8.
fn utf8(bytes: &[u8], start: usize) -> Result<&str, ThriftError> {
    std::str::from_utf8(bytes).map_err(|e| ThriftError::InvalidUtf8 { offset: start + e.valid_up_to() })
}

/// Clamps a length to what thrift can express.
fn wire_len(len: usize) -> i32 {
    i32::try_from(len).unwrap_or(i32::MAX)
}
