//! TCompactProtocol: zigzag varints for integers, unsigned varints for lengths and sequence ids,
//! little-endian doubles, field ids as a 4-bit delta from the previous field (or a long form), bool
//! fields folded into the field header, and short list headers for up to 14 elements.

use super::{
    wire_len, FieldHeader, FieldType, Input, ListHeader, MapHeader, MessageHeader, MessageType, ThriftError,
    ThriftRead, ThriftWrite, MAX_DEPTH,
};

const PROTOCOL_ID: u8 = 0x82;
const VERSION: u8 = 1;
const VERSION_MASK: u8 = 0x1f;
const TYPE_SHIFT: u8 = 5;
/// Compact type codes for bool fields (the value lives in the header) and bool elements.
const BOOL_TRUE: u8 = 1;
const BOOL_FALSE: u8 = 2;
/// A list or set header's size nibble meaning "a varint size follows".
const LONG_LIST: u8 = 0x0f;
const MAX_VARINT32: usize = 5;
const MAX_VARINT64: usize = 10;

fn code(field_type: FieldType) -> u8 {
    match field_type {
        FieldType::Bool => BOOL_TRUE,
        FieldType::Byte => 3,
        FieldType::I16 => 4,
        FieldType::I32 => 5,
        FieldType::I64 => 6,
        FieldType::Double => 7,
        FieldType::Binary => 8,
        FieldType::List => 9,
        FieldType::Set => 10,
        FieldType::Map => 11,
        FieldType::Struct => 12,
    }
}

fn field_type(code: u8, offset: usize) -> Result<FieldType, ThriftError> {
    Ok(match code {
        BOOL_TRUE | BOOL_FALSE => FieldType::Bool,
        3 => FieldType::Byte,
        4 => FieldType::I16,
        5 => FieldType::I32,
        6 => FieldType::I64,
        7 => FieldType::Double,
        8 => FieldType::Binary,
        9 => FieldType::List,
        10 => FieldType::Set,
        11 => FieldType::Map,
        12 => FieldType::Struct,
        _ => return Err(ThriftError::UnknownType { offset, code }),
    })
}

/// The fewest bytes a value of this type takes, to bound container sizes.
fn min_size(field_type: FieldType) -> usize {
    match field_type {
        FieldType::Double => 8,
        _ => 1,
    }
}

fn zigzag_decode32(n: u32) -> i32 {
    (n >> 1) as i32 ^ -((n & 1) as i32)
}

fn zigzag_decode64(n: u64) -> i64 {
    (n >> 1) as i64 ^ -((n & 1) as i64)
}

fn zigzag_encode32(n: i32) -> u32 {
    ((n << 1) ^ (n >> 31)) as u32
}

fn zigzag_encode64(n: i64) -> u64 {
    ((n << 1) ^ (n >> 63)) as u64
}

/// Reads TCompactProtocol from a byte slice.
#[derive(Debug, Clone)]
pub struct CompactReader<'a> {
    input: Input<'a>,
    /// The id of the previous field in the current struct, base of the next delta.
    last_field_id: i16,
    /// `last_field_id` of each enclosing struct.
    outer_field_ids: [i16; MAX_DEPTH],
    depth: usize,
    /// A bool field's value, read with its header and returned by the next `read_bool`.
    pending_bool: Option<bool>,
}

impl<'a> CompactReader<'a> {
    /// A reader at the start of `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        Self {
            input: Input::new(bytes),
            last_field_id: 0,
            outer_field_ids: [0; MAX_DEPTH],
            depth: 0,
            pending_bool: None,
        }
    }

    fn varint(&mut self, max: usize, reading: &'static str) -> Result<u64, ThriftError> {
        let offset = self.input.pos;
        let mut value = 0u64;
        for i in 0..max {
            let b = self.input.byte(reading)?;
            value |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(ThriftError::VarintTooLong { offset, max })
    }

    /// An unsigned 32-bit varint; bits above 32 are dropped, as Apache's readers do.
    fn varint32(&mut self, reading: &'static str) -> Result<u32, ThriftError> {
        Ok(self.varint(MAX_VARINT32, reading)? as u32)
    }

    fn sequence_begin(&mut self, container: &'static str) -> Result<ListHeader, ThriftError> {
        let offset = self.input.pos;
        let header = self.input.byte(container)?;
        let element_type = field_type(header & 0x0f, offset)?;
        let size = match header >> 4 {
            LONG_LIST => self.varint32(container)?,
            short => u32::from(short),
        };
        let len = self.input.container_len(container, offset, u64::from(size), min_size(element_type))?;
        Ok(ListHeader { element_type, len })
    }
}

impl<'a> ThriftRead<'a> for CompactReader<'a> {
    fn offset(&self) -> usize {
        self.input.pos
    }

    fn remaining(&self) -> usize {
        self.input.remaining()
    }

    fn read_message_begin(&mut self) -> Result<MessageHeader<'a>, ThriftError> {
        let offset = self.input.pos;
        let [protocol_id, version_and_type] = self.input.array("message header")?;
        if protocol_id != PROTOCOL_ID {
            return Err(ThriftError::InvalidMessageHeader {
                offset,
                detail: format!("protocol id {protocol_id:#04x}, expected {PROTOCOL_ID:#04x}"),
            });
        }
        let version = version_and_type & VERSION_MASK;
        if version != VERSION {
            return Err(ThriftError::InvalidMessageHeader {
                offset: offset + 1,
                detail: format!("compact protocol version {version}, expected {VERSION}"),
            });
        }
        let type_code = version_and_type >> TYPE_SHIFT;
        let message_type = MessageType::from_code(type_code).ok_or_else(|| ThriftError::InvalidMessageHeader {
            offset: offset + 1,
            detail: format!("unknown message type {type_code}"),
        })?;
        // The sequence id is a plain varint, not zigzag.
        let sequence_id = self.varint32("sequence id")? as i32;
        let name = self.read_string()?;
        Ok(MessageHeader { name, message_type, sequence_id })
    }

    fn read_struct_begin(&mut self) -> Result<(), ThriftError> {
        let Some(slot) = self.outer_field_ids.get_mut(self.depth) else {
            return Err(ThriftError::TooDeep { offset: self.input.pos, limit: MAX_DEPTH });
        };
        *slot = self.last_field_id;
        self.depth += 1;
        self.last_field_id = 0;
        Ok(())
    }

    fn read_struct_end(&mut self) {
        self.depth = self.depth.saturating_sub(1);
        self.last_field_id = self.outer_field_ids.get(self.depth).copied().unwrap_or(0);
    }

    fn read_field_begin(&mut self) -> Result<Option<FieldHeader>, ThriftError> {
        let offset = self.input.pos;
        let header = self.input.byte("field header")?;
        let type_code = header & 0x0f;
        if type_code == 0 {
            return Ok(None);
        }
        let field_type = field_type(type_code, offset)?;
        let id = match header >> 4 {
            0 => zigzag_decode32(self.varint32("field id")?) as i16,
            delta => self.last_field_id.wrapping_add(i16::from(delta)),
        };
        self.last_field_id = id;
        if field_type == FieldType::Bool {
            self.pending_bool = Some(type_code == BOOL_TRUE);
        }
        Ok(Some(FieldHeader { id, field_type }))
    }

    fn read_bool(&mut self) -> Result<bool, ThriftError> {
        match self.pending_bool.take() {
            Some(value) => Ok(value),
            None => Ok(self.input.byte("bool")? == BOOL_TRUE),
        }
    }

    fn read_byte(&mut self) -> Result<i8, ThriftError> {
        Ok(i8::from_le_bytes(self.input.array("byte")?))
    }

    fn read_i16(&mut self) -> Result<i16, ThriftError> {
        Ok(zigzag_decode32(self.varint32("i16")?) as i16)
    }

    fn read_i32(&mut self) -> Result<i32, ThriftError> {
        Ok(zigzag_decode32(self.varint32("i32")?))
    }

    fn read_i64(&mut self) -> Result<i64, ThriftError> {
        Ok(zigzag_decode64(self.varint(MAX_VARINT64, "i64")?))
    }

    fn read_double(&mut self) -> Result<f64, ThriftError> {
        Ok(f64::from_le_bytes(self.input.array("double")?))
    }

    fn read_binary(&mut self) -> Result<&'a [u8], ThriftError> {
        let offset = self.input.pos;
        let len = self.varint32("binary length")?;
        self.input.binary(offset, u64::from(len))
    }

    fn read_list_begin(&mut self) -> Result<ListHeader, ThriftError> {
        self.sequence_begin("list")
    }

    fn read_set_begin(&mut self) -> Result<ListHeader, ThriftError> {
        self.sequence_begin("set")
    }

    fn read_map_begin(&mut self) -> Result<MapHeader, ThriftError> {
        let offset = self.input.pos;
        let size = self.varint32("map size")?;
        if size == 0 {
            return Ok(MapHeader { key_type: FieldType::Byte, value_type: FieldType::Byte, len: 0 });
        }
        let types_offset = self.input.pos;
        let types = self.input.byte("map types")?;
        let key_type = field_type(types >> 4, types_offset)?;
        let value_type = field_type(types & 0x0f, types_offset)?;
        let len =
            self.input.container_len("map", offset, u64::from(size), min_size(key_type) + min_size(value_type))?;
        Ok(MapHeader { key_type, value_type, len })
    }
}

/// Writes TCompactProtocol into a growing buffer.
#[derive(Debug, Clone, Default)]
pub struct CompactWriter {
    buf: Vec<u8>,
    last_field_id: i16,
    outer_field_ids: Vec<i16>,
    /// A bool field's id, written together with its value by the next `write_bool`.
    pending_bool_field: Option<i16>,
}

impl CompactWriter {
    /// An empty writer.
    pub fn new() -> Self {
        Self::default()
    }

    fn varint(&mut self, mut value: u64) {
        while value >= 0x80 {
            self.buf.push((value as u8 & 0x7f) | 0x80);
            value >>= 7;
        }
        self.buf.push(value as u8);
    }

    fn field_header(&mut self, type_code: u8, id: i16) {
        let delta = i32::from(id) - i32::from(self.last_field_id);
        if (1..=15).contains(&delta) {
            self.buf.push(((delta as u8) << 4) | type_code);
        } else {
            self.buf.push(type_code);
            self.varint(u64::from(zigzag_encode32(i32::from(id))));
        }
        self.last_field_id = id;
    }

    fn size(&mut self, len: usize) {
        self.varint(u64::from(wire_len(len) as u32));
    }
}

impl ThriftWrite for CompactWriter {
    fn write_message_begin(&mut self, name: &str, message_type: MessageType, sequence_id: i32) {
        self.buf.push(PROTOCOL_ID);
        self.buf.push((message_type.code() << TYPE_SHIFT) | VERSION);
        self.varint(u64::from(sequence_id as u32));
        self.write_string(name);
    }

    fn write_struct_begin(&mut self) {
        self.outer_field_ids.push(self.last_field_id);
        self.last_field_id = 0;
    }

    fn write_struct_end(&mut self) {
        self.buf.push(0);
        self.last_field_id = self.outer_field_ids.pop().unwrap_or(0);
    }

    fn write_field_begin(&mut self, field_type: FieldType, id: i16) {
        if field_type == FieldType::Bool {
            self.pending_bool_field = Some(id);
        } else {
            self.field_header(code(field_type), id);
        }
    }

    fn write_bool(&mut self, value: bool) {
        let type_code = if value { BOOL_TRUE } else { BOOL_FALSE };
        match self.pending_bool_field.take() {
            Some(id) => self.field_header(type_code, id),
            None => self.buf.push(type_code),
        }
    }

    fn write_byte(&mut self, value: i8) {
        self.buf.extend_from_slice(&value.to_le_bytes());
    }

    fn write_i16(&mut self, value: i16) {
        self.varint(u64::from(zigzag_encode32(i32::from(value))));
    }

    fn write_i32(&mut self, value: i32) {
        self.varint(u64::from(zigzag_encode32(value)));
    }

    fn write_i64(&mut self, value: i64) {
        self.varint(zigzag_encode64(value));
    }

    fn write_double(&mut self, value: f64) {
        self.buf.extend_from_slice(&value.to_le_bytes());
    }

    fn write_binary(&mut self, value: &[u8]) {
        self.size(value.len());
        self.buf.extend_from_slice(value);
    }

    fn write_list_begin(&mut self, element_type: FieldType, len: usize) {
        if len < usize::from(LONG_LIST) {
            self.buf.push(((len as u8) << 4) | code(element_type));
        } else {
            self.buf.push((LONG_LIST << 4) | code(element_type));
            self.size(len);
        }
    }

    fn write_set_begin(&mut self, element_type: FieldType, len: usize) {
        self.write_list_begin(element_type, len);
    }

    fn write_map_begin(&mut self, key_type: FieldType, value_type: FieldType, len: usize) {
        self.size(len);
        if len > 0 {
            self.buf.push((code(key_type) << 4) | code(value_type));
        }
    }

    fn into_bytes(self) -> Vec<u8> {
        self.buf
    }
}
