//! [`ThriftError`]: every way thrift bytes can fail to decode, each saying what was wrong and at
//! which byte, wrapped with the struct field and container element it happened in.

use super::{FieldType, MessageType};

/// Why thrift bytes could not be decoded.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ThriftError {
    /// The input ended inside a value.
    #[error("unexpected end of input at byte {offset} reading {reading}")]
    Eof {
        /// Where the value started.
        offset: usize,
        /// What was being read.
        reading: &'static str,
    },
    /// A string or binary declared more bytes than are left.
    #[error("binary of {len} bytes at byte {offset} exceeds the {remaining} bytes left")]
    BinaryTooLong {
        /// Where the length prefix started.
        offset: usize,
        /// The declared length.
        len: u64,
        /// Bytes left after the prefix.
        remaining: usize,
    },
    /// A container declared more elements than the bytes left could hold.
    #[error("{container} of {len} elements at byte {offset} needs at least {needed} bytes, only {remaining} are left")]
    ContainerTooLong {
        /// "list", "set" or "map".
        container: &'static str,
        /// Where the header started.
        offset: usize,
        /// The declared number of elements.
        len: u64,
        /// The smallest encoding of that many elements.
        needed: u64,
        /// Bytes left after the header.
        remaining: usize,
    },
    /// A binary-protocol size was negative.
    #[error("negative {reading} size {size} at byte {offset}")]
    NegativeSize {
        /// Where the size started.
        offset: usize,
        /// What was being read.
        reading: &'static str,
        /// The size sent.
        size: i32,
    },
    /// A type code is not one the protocol defines.
    #[error("unknown type code {code} at byte {offset}")]
    UnknownType {
        /// Where the code was.
        offset: usize,
        /// The code sent.
        code: u8,
    },
    /// A string was not UTF-8.
    #[error("invalid UTF-8 at byte {offset} in a string")]
    InvalidUtf8 {
        /// The first byte that is not UTF-8.
        offset: usize,
    },
    /// A compact varint ran past its maximum length.
    #[error("varint at byte {offset} is longer than {max} bytes")]
    VarintTooLong {
        /// Where the varint started.
        offset: usize,
        /// The longest varint allowed for the type.
        max: usize,
    },
    /// The message header is not one this protocol writes.
    #[error("invalid message header at byte {offset}: {detail}")]
    InvalidMessageHeader {
        /// Where the offending part started.
        offset: usize,
        /// What was wrong.
        detail: String,
    },
    /// Structs or containers nest deeper than [`MAX_DEPTH`](super::MAX_DEPTH).
    #[error("nesting deeper than {limit} levels at byte {offset}")]
    TooDeep {
        /// Where the level that went too deep started.
        offset: usize,
        /// The limit.
        limit: usize,
    },
    /// A container's element type is not the one the IDL declares.
    #[error("{container} at byte {offset} holds {found} elements, expected {expected}")]
    ElementType {
        /// "list", "set" or "map".
        container: &'static str,
        /// Where the header started.
        offset: usize,
        /// The declared type.
        expected: FieldType,
        /// The type sent.
        found: FieldType,
    },
    /// A required field was sent with a type other than the IDL's.
    #[error("{strukt}.{field} at byte {offset} is {found}, expected {expected}")]
    MistypedField {
        /// The struct's IDL name.
        strukt: &'static str,
        /// The field's IDL name.
        field: &'static str,
        /// Where the field header started.
        offset: usize,
        /// The IDL type.
        expected: FieldType,
        /// The type sent.
        found: FieldType,
    },
    /// A required field is missing.
    #[error("{strukt}.{field} is required")]
    MissingField {
        /// The struct's IDL name.
        strukt: &'static str,
        /// The field's IDL name.
        field: &'static str,
    },
    /// A message called a method this endpoint does not serve.
    #[error("unexpected method {found:?} in a {message_type} message, expected {expected}")]
    UnexpectedMethod {
        /// The method served.
        expected: &'static str,
        /// The method named in the message (cut to 64 characters).
        found: String,
        /// The message's type.
        message_type: MessageType,
    },
    /// A message had a type this endpoint does not accept.
    #[error("unexpected {found} message, expected {expected}")]
    UnexpectedMessageType {
        /// What the endpoint accepts.
        expected: &'static str,
        /// The type sent.
        found: MessageType,
    },
    /// Bytes followed the end of the payload.
    #[error("{count} trailing bytes at byte {offset} after the end of the {after}")]
    TrailingBytes {
        /// Where the extra bytes start.
        offset: usize,
        /// How many there are.
        count: usize,
        /// What ended ("struct", "message" ...).
        after: &'static str,
    },
    /// The error happened inside this field.
    #[error("{strukt}.{field}: {source}")]
    InField {
        /// The struct's IDL name.
        strukt: &'static str,
        /// The field's IDL name.
        field: &'static str,
        /// What went wrong inside.
        source: Box<ThriftError>,
    },
    /// The error happened inside this container element.
    #[error("element {index}: {source}")]
    InElement {
        /// Zero-based position in the container.
        index: usize,
        /// What went wrong inside.
        source: Box<ThriftError>,
    },
}

impl ThriftError {
    /// The error, located inside `strukt.field`.
    pub fn in_field(self, strukt: &'static str, field: &'static str) -> Self {
        Self::InField { strukt, field, source: Box::new(self) }
    }

    /// The error, located inside element `index` of a container.
    pub fn in_element(self, index: usize) -> Self {
        Self::InElement { index, source: Box::new(self) }
    }

    /// The innermost error, without the fields and elements it happened in.
    pub fn root_cause(&self) -> &ThriftError {
        match self {
            Self::InField { source, .. } | Self::InElement { source, .. } => source.root_cause(),
            other => other,
        }
    }
}
