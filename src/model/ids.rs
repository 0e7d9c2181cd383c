//! Trace and span identifiers: fixed-size, never all zero, shown as lower-case hex.

use std::fmt;
use std::str::FromStr;

/// Why bytes or text could not become an identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// The id had the wrong number of bytes.
    #[error("{kind} must be {expected} bytes, got {got}")]
    Length {
        /// "trace id" or "span id".
        kind: &'static str,
        /// Required length in bytes.
        expected: usize,
        /// Length received.
        got: usize,
    },
    /// The id was all zero bytes, which every tracing format treats as invalid.
    #[error("{0} must not be all zero")]
    Zero(&'static str),
    /// The text was not hex or had the wrong number of digits.
    #[error("{kind} {text:?} is not 1 to {max} hex digits")]
    Hex {
        /// "trace id" or "span id".
        kind: &'static str,
        /// The text received (cut to 64 characters).
        text: String,
        /// Maximum number of digits.
        max: usize,
    },
}

macro_rules! define_id {
    ($name:ident, $len:literal, $kind:literal) => {
        #[doc = concat!("A ", $kind, " of ", stringify!($len), " bytes, never all zero.")]
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name([u8; $len]);

        impl $name {
            /// The greatest id (all bytes 0xFF), an upper bound for ranges.
            pub const MAX: Self = Self([0xFF; $len]);

            /// The id's bytes, big-endian.
            pub fn as_bytes(&self) -> &[u8; $len] {
                &self.0
            }

            /// Builds an id from its bytes, refusing all zero.
            pub fn from_array(bytes: [u8; $len]) -> Result<Self, IdError> {
                if bytes.iter().all(|b| *b == 0) {
                    return Err(IdError::Zero($kind));
                }
                Ok(Self(bytes))
            }

            /// Parses 1 to N hex digits (either case), left-padding short ids with zeros.
            pub fn from_hex(text: &str) -> Result<Self, IdError> {
                let max = $len * 2;
                let bad = || IdError::Hex { kind: $kind, text: text.chars().take(64).collect(), max };
                if text.is_empty() || text.len() > max || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(bad());
                }
                let mut padded = [b'0'; $len * 2];
                padded[max - text.len()..].copy_from_slice(text.as_bytes());
                let mut bytes = [0u8; $len];
                hex::decode_to_slice(padded, &mut bytes).map_err(|_| bad())?;
                Self::from_array(bytes)
            }

            /// The id as lower-case hex of full width.
            pub fn to_hex(&self) -> String {
                hex::encode(self.0)
            }
        }

        impl TryFrom<&[u8]> for $name {
            type Error = IdError;
            fn try_from(bytes: &[u8]) -> Result<Self, IdError> {
                let array: [u8; $len] =
                    bytes.try_into().map_err(|_| IdError::Length { kind: $kind, expected: $len, got: bytes.len() })?;
                Self::from_array(array)
            }
        }

        impl FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                Self::from_hex(s)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let mut buf = [0u8; $len * 2];
                // Cannot fail: the buffer is exactly twice the input.
                hex::encode_to_slice(self.0, &mut buf).map_err(|_| fmt::Error)?;
                f.write_str(std::str::from_utf8(&buf).map_err(|_| fmt::Error)?)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self)
            }
        }
    };
}

define_id!(TraceId, 16, "trace id");
define_id!(SpanId, 8, "span id");

impl SpanId {
    /// The id as an unsigned integer (big-endian).
    pub fn as_u64(&self) -> u64 {
        u64::from_be_bytes(self.0)
    }

    /// The id for a non-zero integer; zero gives the id 1 rather than an invalid id.
    pub fn from_u64(value: u64) -> Self {
        Self(value.max(1).to_be_bytes())
    }
}

impl TraceId {
    /// The high 64 bits (zero for ids that came from 64-bit tracers).
    pub fn high(&self) -> u64 {
        u64::from_be_bytes(self.0[..8].try_into().unwrap_or_default())
    }

    /// The low 64 bits.
    pub fn low(&self) -> u64 {
        u64::from_be_bytes(self.0[8..].try_into().unwrap_or_default())
    }

    /// Builds an id from its two halves, refusing zero.
    pub fn from_halves(high: u64, low: u64) -> Result<Self, IdError> {
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&high.to_be_bytes());
        bytes[8..].copy_from_slice(&low.to_be_bytes());
        Self::from_array(bytes)
    }

    /// Hex as Zipkin and Jaeger show it: 16 digits when the high half is zero, else 32.
    pub fn to_short_hex(&self) -> String {
        if self.high() == 0 {
            hex::encode(&self.0[8..])
        } else {
            self.to_hex()
        }
    }
}

impl SpanId {
    /// The id as an unsigned 64-bit integer.
    pub fn to_u64(&self) -> u64 {
        u64::from_be_bytes(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_all_zero_trace_id() {
        assert_eq!(TraceId::try_from(&[0u8; 16][..]), Err(IdError::Zero("trace id")));
        assert!(TraceId::from_hex("00000000000000000000000000000000").is_err());
    }

    #[test]
    fn rejects_wrong_length_bytes() {
        assert!(matches!(SpanId::try_from(&[1u8; 2][..]), Err(IdError::Length { got: 2, .. })));
        assert!(TraceId::try_from(&[1u8; 8][..]).is_err());
    }

    #[test]
    fn parses_upper_case_and_prints_lower_case() {
        let id = TraceId::from_hex("6E0C63257DE34C92BF9EFCD03927272E").unwrap();
        assert_eq!(id.to_string(), "6e0c63257de34c92bf9efcd03927272e");
    }

    #[test]
    fn short_hex_is_left_padded() {
        let id = TraceId::from_hex("abc").unwrap();
        assert_eq!(id.to_hex(), "00000000000000000000000000000abc");
        assert_eq!(id.to_short_hex(), "0000000000000abc");
        assert_eq!(id.high(), 0);
        assert_eq!(id.low(), 0xabc);
    }

    #[test]
    fn rejects_non_hex_and_too_long() {
        assert!(SpanId::from_hex("xyz").is_err());
        assert!(SpanId::from_hex("00000000000000001").is_err());
        assert!(SpanId::from_hex("").is_err());
    }

    #[test]
    fn halves_round_trip() {
        let id = TraceId::from_halves(1, 2).unwrap();
        assert_eq!((id.high(), id.low()), (1, 2));
        assert_eq!(id.to_short_hex().len(), 32);
    }
}
