//! TBinaryProtocol: big-endian fixed-width integers and doubles, `i32` length prefixes, field
//! headers of a type byte and an `i16` id. Messages start with the strict `0x8001` version word;
//! the older non-strict form (name length first) is still accepted when reading.

use super::{
    utf8, wire_len, FieldHeader, FieldType, Input, ListHeader, MapHeader, MessageHeader, MessageType, ThriftError,
    ThriftRead, ThriftWrite, MAX_DEPTH,
};

/// The strict message header's version word (type in the low byte).
const VERSION_1: u32 = 0x8001_0000;
const VERSION_MASK: u32 = 0xffff_0000;

fn code(field_type: FieldType) -> u8 {
    match field_type {
        FieldType::Bool => 2,
        FieldType::Byte => 3,
        FieldType::Double => 4,
        FieldType::I16 => 6,
        FieldType::I32 => 8,
        FieldType::I64 => 10,
        FieldType::Binary => 11,
        FieldType::Struct => 12,
        FieldType::Map => 13,
        FieldType::Set => 14,
        FieldType::List => 15,
    }
}

fn field_type(code: u8, offset: usize) -> Result<FieldType, ThriftError> {
    Ok(match code {
        2 => FieldType::Bool,
        3 => FieldType::Byte,
        4 => FieldType::Double,
        6 => FieldType::I16,
        8 => FieldType::I32,
        10 => FieldType::I64,
        11 => FieldType::Binary,
        12 => FieldType::Struct,
        13 => FieldType::Map,
        14 => FieldType::Set,
        15 => FieldType::List,
        _ => return Err(ThriftError::UnknownType { offset, code }),
    })
}

/// The fewest bytes a value of this type takes, to bound container sizes.
fn min_size(field_type: FieldType) -> usize {
    match field_type {
        FieldType::Bool | FieldType::Byte | FieldType::Struct => 1,
        FieldType::I16 => 2,
        FieldType::I32 | FieldType::Binary => 4,
        FieldType::I64 | FieldType::Double => 8,
        FieldType::List | FieldType::Set => 5,
        FieldType::Map => 6,
    }
}

/// Reads TBinaryProtocol from a byte slice.
#[derive(Debug, Clone)]
pub struct BinaryReader<'a> {
    input: Input<'a>,
    depth: usize,
}

impl<'a> BinaryReader<'a> {
    /// A reader at the start of `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { input: Input::new(bytes), depth: 0 }
    }

    fn size(&mut self, reading: &'static str) -> Result<u32, ThriftError> {
        let offset = self.input.pos;
        let size = i32::from_be_bytes(self.input.array(reading)?);
        u32::try_from(size).map_err(|_| ThriftError::NegativeSize { offset, reading, size })
    }

    fn message_type(&mut self, code: u8, offset: usize) -> Result<MessageType, ThriftError> {
        MessageType::from_code(code)
            .ok_or_else(|| ThriftError::InvalidMessageHeader { offset, detail: format!("unknown message type {code}") })
    }
}

impl<'a> ThriftRead<'a> for BinaryReader<'a> {
    fn offset(&self) -> usize {
        self.input.pos
    }

    fn remaining(&self) -> usize {
        self.input.remaining()
    }

    fn read_message_begin(&mut self) -> Result<MessageHeader<'a>, ThriftError> {
        let offset = self.input.pos;
        let word = u32::from_be_bytes(self.input.array("message header")?);
        if word & 0x8000_0000 != 0 {
            if word & VERSION_MASK != VERSION_1 {
                return Err(ThriftError::InvalidMessageHeader {
                    offset,
                    detail: format!("version {:#010x}, expected {VERSION_1:#010x}", word & VERSION_MASK),
                });
            }
            // Strict: version | type, name, sequence id.
            let message_type = self.message_type((word & 0xff) as u8, offset + 3)?;
            let name = self.read_string()?;
            let sequence_id = self.read_i32()?;
            Ok(MessageHeader { name, message_type, sequence_id })
        } else {
            // Non-strict (pre-0.9 writers): name length, name, type byte, sequence id.
            let start = self.input.pos;
            let name = utf8(self.input.binary(offset, u64::from(word))?, start)?;
            let type_offset = self.input.pos;
            let type_code = self.input.byte("message type")?;
            let message_type = self.message_type(type_code, type_offset)?;
            let sequence_id = self.read_i32()?;
            Ok(MessageHeader { name, message_type, sequence_id })
        }
    }

    fn read_struct_begin(&mut self) -> Result<(), ThriftError> {
        if self.depth >= MAX_DEPTH {
            return Err(ThriftError::TooDeep { offset: self.input.pos, limit: MAX_DEPTH });
        }
        self.depth += 1;
        Ok(())
    }

    fn read_struct_end(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    fn read_field_begin(&mut self) -> Result<Option<FieldHeader>, ThriftError> {
        let offset = self.input.pos;
        let type_code = self.input.byte("field header")?;
        if type_code == 0 {
            return Ok(None);
        }
        let field_type = field_type(type_code, offset)?;
        let id = i16::from_be_bytes(self.input.array("field id")?);
        Ok(Some(FieldHeader { id, field_type }))
    }

    fn read_bool(&mut self) -> Result<bool, ThriftError> {
        Ok(self.input.byte("bool")? != 0)
    }

    fn read_byte(&mut self) -> Result<i8, ThriftError> {
        Ok(i8::from_be_bytes(self.input.array("byte")?))
    }

    fn read_i16(&mut self) -> Result<i16, ThriftError> {
        Ok(i16::from_be_bytes(self.input.array("i16")?))
    }

    fn read_i32(&mut self) -> Result<i32, ThriftError> {
        Ok(i32::from_be_bytes(self.input.array("i32")?))
    }

    fn read_i64(&mut self) -> Result<i64, ThriftError> {
        Ok(i64::from_be_bytes(self.input.array("i64")?))
    }

    fn read_double(&mut self) -> Result<f64, ThriftError> {
        Ok(f64::from_be_bytes(self.input.array("double")?))
    }

    fn read_binary(&mut self) -> Result<&'a [u8], ThriftError> {
        let offset = self.input.pos;
        let len = self.size("binary length")?;
        self.input.binary(offset, u64::from(len))
    }

    fn read_list_begin(&mut self) -> Result<ListHeader, ThriftError> {
        self.read_sequence_begin("list")
    }

    fn read_set_begin(&mut self) -> Result<ListHeader, ThriftError> {
        self.read_sequence_begin("set")
    }

    fn read_map_begin(&mut self) -> Result<MapHeader, ThriftError> {
        let offset = self.input.pos;
        let [key_code, value_code] = self.input.array("map header")?;
        let key_type = field_type(key_code, offset)?;
        let value_type = field_type(value_code, offset + 1)?;
        let size = self.size("map size")?;
        let len =
            self.input.container_len("map", offset, u64::from(size), min_size(key_type) + min_size(value_type))?;
        Ok(MapHeader { key_type, value_type, len })
    }
}

impl BinaryReader<'_> {
    fn read_sequence_begin(&mut self, container: &'static str) -> Result<ListHeader, ThriftError> {
        let offset = self.input.pos;
        let element_type = field_type(self.input.byte(container)?, offset)?;
        let size = self.size(container)?;
        let len = self.input.container_len(container, offset, u64::from(size), min_size(element_type))?;
        Ok(ListHeader { element_type, len })
    }
}

/// Writes TBinaryProtocol into a growing buffer.
#[derive(Debug, Clone, Default)]
pub struct BinaryWriter {
    buf: Vec<u8>,
}

impl BinaryWriter {
    /// An empty writer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Writes a message header in the old non-strict form (name length first), as pre-0.9 clients did.
    pub fn write_message_begin_non_strict(&mut self, name: &str, message_type: MessageType, sequence_id: i32) {
        self.write_binary(name.as_bytes());
        self.buf.push(message_type.code());
        self.write_i32(sequence_id);
    }
}

impl ThriftWrite for BinaryWriter {
    fn write_message_begin(&mut self, name: &str, message_type: MessageType, sequence_id: i32) {
        self.buf.extend_from_slice(&(VERSION_1 | u32::from(message_type.code())).to_be_bytes());
        self.write_string(name);
        self.write_i32(sequence_id);
    }

    fn write_struct_begin(&mut self) {}

    fn write_struct_end(&mut self) {
        self.buf.push(0);
    }

    fn write_field_begin(&mut self, field_type: FieldType, id: i16) {
        self.buf.push(code(field_type));
        self.write_i16(id);
    }

    fn write_bool(&mut self, value: bool) {
        self.buf.push(u8::from(value));
    }

    fn write_byte(&mut self, value: i8) {
        self.buf.extend_from_slice(&value.to_be_bytes());
    }

    fn write_i16(&mut self, value: i16) {
        self.buf.extend_from_slice(&value.to_be_bytes());
    }

    fn write_i32(&mut self, value: i32) {
        self.buf.extend_from_slice(&value.to_be_bytes());
    }

    fn write_i64(&mut self, value: i64) {
        self.buf.extend_from_slice(&value.to_be_bytes());
    }

    fn write_double(&mut self, value: f64) {
        self.buf.extend_from_slice(&value.to_be_bytes());
    }

    fn write_binary(&mut self, value: &[u8]) {
        self.write_i32(wire_len(value.len()));
        self.buf.extend_from_slice(value);
    }

    fn write_list_begin(&mut self, element_type: FieldType, len: usize) {
        self.buf.push(code(element_type));
        self.write_i32(wire_len(len));
    }

    fn write_set_begin(&mut self, element_type: FieldType, len: usize) {
        self.write_list_begin(element_type, len);
    }

    fn write_map_begin(&mut self, key_type: FieldType, value_type: FieldType, len: usize) {
        self.buf.push(code(key_type));
        self.buf.push(code(value_type));
        self.write_i32(wire_len(len));
    }

    fn into_bytes(self) -> Vec<u8> {
        self.buf
    }
}
