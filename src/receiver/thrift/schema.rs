//! Reading structs as an IDL declares them: each struct is a table of field ids, names, types and
//! requiredness, so decoders only say what to do with a field's value. Rules, as Apache's generated
//! code applies them: fields may come in any order and the last copy wins; unknown fields, and
//! optional fields sent with another type, are skipped; a required field that is missing or sent
//! with another type is an error naming `Struct.field`. Errors inside a field are wrapped with the
//! field's name, so a message reads `Batch.spans: element 3: Span.operationName is required`.

use super::{FieldType, ThriftError, ThriftRead};

/// One field of a thrift struct as the IDL declares it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldSpec {
    /// The field id.
    pub id: i16,
    /// The IDL name, for errors.
    pub name: &'static str,
    /// The IDL type.
    pub field_type: FieldType,
    /// Whether the IDL marks it `required`.
    pub required: bool,
}

impl FieldSpec {
    /// A required field.
    pub const fn required(id: i16, name: &'static str, field_type: FieldType) -> Self {
        Self { id, name, field_type, required: true }
    }

    /// An optional (or default-requiredness) field.
    pub const fn optional(id: i16, name: &'static str, field_type: FieldType) -> Self {
        Self { id, name, field_type, required: false }
    }
}

/// A thrift struct as the IDL declares it (at most 64 fields).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StructSpec {
    /// The IDL name, for errors.
    pub name: &'static str,
    /// The fields this decoder knows.
    pub fields: &'static [FieldSpec],
}

/// Reads one struct, calling `on_field` with the reader positioned at the value of each known,
/// correctly typed field; everything else is skipped. Fails if a required field never came.
pub fn read_struct<'a, R, F>(r: &mut R, spec: &StructSpec, mut on_field: F) -> Result<(), ThriftError>
where
    R: ThriftRead<'a>,
    F: FnMut(&mut R, i16) -> Result<(), ThriftError>,
{
    r.read_struct_begin()?;
    let mut seen = 0u64;
    loop {
        let offset = r.offset();
        let Some(header) = r.read_field_begin()? else { break };
        let known = spec.fields.iter().enumerate().take(64).find(|(_, f)| f.id == header.id);
        match known {
            Some((i, field)) if field.field_type == header.field_type => {
                on_field(r, header.id).map_err(|e| e.in_field(spec.name, field.name))?;
                seen |= 1 << i;
            }
            Some((_, field)) if field.required => {
                return Err(ThriftError::MistypedField {
                    strukt: spec.name,
                    field: field.name,
                    offset,
                    expected: field.field_type,
                    found: header.field_type,
                });
            }
            _ => r.skip(header.field_type).map_err(|e| match known {
                Some((_, field)) => e.in_field(spec.name, field.name),
                None => e,
            })?,
        }
    }
    r.read_struct_end();
    match spec.fields.iter().enumerate().take(64).find(|(i, f)| f.required && seen & (1 << i) == 0) {
        Some((_, missing)) => Err(ThriftError::MissingField { strukt: spec.name, field: missing.name }),
        None => Ok(()),
    }
}

/// Reads a `list<T>` whose elements must be `element_type`, each with `read_element`.
pub fn read_list<'a, R, T, F>(r: &mut R, element_type: FieldType, mut read_element: F) -> Result<Vec<T>, ThriftError>
where
    R: ThriftRead<'a>,
    F: FnMut(&mut R) -> Result<T, ThriftError>,
{
    /// Elements reserved up front: the header's count is bounded by the input, but an element
    /// can be far larger in memory than its smallest encoding.
    const RESERVE_LIMIT: usize = 1024;
    let offset = r.offset();
    let header = r.read_list_begin()?;
    if header.len > 0 && header.element_type != element_type {
        return Err(ThriftError::ElementType {
            container: "list",
            offset,
            expected: element_type,
            found: header.element_type,
        });
    }
    let mut elements = Vec::with_capacity(header.len.min(RESERVE_LIMIT));
    for index in 0..header.len {
        elements.push(read_element(r).map_err(|e| e.in_element(index))?);
    }
    Ok(elements)
}
