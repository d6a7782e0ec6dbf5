//! The protobuf wire format, read only: just enough to decode the API
//! server's `application/vnd.kubernetes.protobuf` answers field by field,
//! without generated code. Unknown fields are skipped, as protobuf intends;
//! malformed input is an error, never a panic.

/// Why bytes are not a protobuf message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error("the message ends in the middle of a field")]
    Truncated,
    #[error("a varint is longer than 10 bytes")]
    VarintTooLong,
    #[error("field {field} has wire type {wire_type}, which Kubernetes messages do not use")]
    WireType { field: u64, wire_type: u8 },
    #[error("field {field} is not UTF-8 text")]
    Utf8 { field: u32 },
    #[error("field {field} has the wrong wire type for its kind")]
    Kind { field: u32 },
}

/// One field's value, as the wire carries it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Value<'a> {
    Varint(u64),
    Fixed64(u64),
    /// Strings, bytes and embedded messages.
    Bytes(&'a [u8]),
    Fixed32(u32),
}

/// A field number and its value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Field<'a> {
    pub number: u32,
    pub value: Value<'a>,
}

impl<'a> Field<'a> {
    /// The bytes of a length-delimited field (a string, bytes, a message).
    pub fn bytes(&self) -> Result<&'a [u8], WireError> {
        match self.value {
            Value::Bytes(b) => Ok(b),
            _ => Err(WireError::Kind { field: self.number }),
        }
    }

    pub fn string(&self) -> Result<String, WireError> {
        let bytes = self.bytes()?;
        std::str::from_utf8(bytes)
            .map(str::to_string)
            .map_err(|_| WireError::Utf8 { field: self.number })
    }

    pub fn varint(&self) -> Result<u64, WireError> {
        match self.value {
            Value::Varint(v) => Ok(v),
            _ => Err(WireError::Kind { field: self.number }),
        }
    }

    /// An `int64` field (two's complement in a varint).
    pub fn int64(&self) -> Result<i64, WireError> {
        self.varint().map(|v| v as i64)
    }
}

/// The fields of a message, in wire order.
pub struct Fields<'a> {
    rest: &'a [u8],
    failed: bool,
}

/// Iterates over the fields of a message.
pub fn fields(message: &[u8]) -> Fields<'_> {
    Fields {
        rest: message,
        failed: false,
    }
}

fn varint(bytes: &mut &[u8]) -> Result<u64, WireError> {
    let mut value = 0u64;
    for i in 0..10 {
        let (&byte, rest) = bytes.split_first().ok_or(WireError::Truncated)?;
        *bytes = rest;
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err(WireError::VarintTooLong)
}

fn take<'a>(bytes: &mut &'a [u8], n: usize) -> Result<&'a [u8], WireError> {
    if bytes.len() < n {
        return Err(WireError::Truncated);
    }
    let (head, rest) = bytes.split_at(n);
    *bytes = rest;
    Ok(head)
}

impl<'a> Fields<'a> {
    fn read(&mut self) -> Result<Field<'a>, WireError> {
        let key = varint(&mut self.rest)?;
        let number = key >> 3;
        let wire_type = (key & 7) as u8;
        let value = match wire_type {
            0 => Value::Varint(varint(&mut self.rest)?),
            1 => {
                let b = take(&mut self.rest, 8)?;
                Value::Fixed64(u64::from_le_bytes(b.try_into().expect("8 bytes")))
            }
            2 => {
                let len = varint(&mut self.rest)?;
                let len = usize::try_from(len).map_err(|_| WireError::Truncated)?;
                Value::Bytes(take(&mut self.rest, len)?)
            }
            5 => {
                let b = take(&mut self.rest, 4)?;
                Value::Fixed32(u32::from_le_bytes(b.try_into().expect("4 bytes")))
            }
            _ => {
                return Err(WireError::WireType {
                    field: number,
                    wire_type,
                })
            }
        };
        let number = u32::try_from(number).map_err(|_| WireError::WireType {
            field: number,
            wire_type,
        })?;
        Ok(Field { number, value })
    }
}

impl<'a> Iterator for Fields<'a> {
    type Item = Result<Field<'a>, WireError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() || self.failed {
            return None;
        }
        let field = self.read();
        self.failed = field.is_err();
        Some(field)
    }
}

/// A `map<string, string>` entry (a message of key = 1, value = 2).
pub fn map_entry(entry: &[u8]) -> Result<(String, String), WireError> {
    let (mut key, mut value) = (String::new(), String::new());
    for field in fields(entry) {
        let field = field?;
        match field.number {
            1 => key = field.string()?,
            2 => value = field.string()?,
            _ => {}
        }
    }
    Ok((key, value))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Test encoder: key, then the value in its wire form.
    pub fn varint_bytes(mut v: u64) -> Vec<u8> {
        let mut out = Vec::new();
        loop {
            let byte = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                out.push(byte);
                return out;
            }
            out.push(byte | 0x80);
        }
    }

    pub fn bytes_field(number: u32, value: &[u8]) -> Vec<u8> {
        let mut out = varint_bytes(u64::from(number) << 3 | 2);
        out.extend(varint_bytes(value.len() as u64));
        out.extend_from_slice(value);
        out
    }

    pub fn varint_field(number: u32, value: u64) -> Vec<u8> {
        let mut out = varint_bytes(u64::from(number) << 3);
        out.extend(varint_bytes(value));
        out
    }

    fn all(bytes: &[u8]) -> Result<Vec<Field<'_>>, WireError> {
        fields(bytes).collect()
    }

    #[test]
    fn reads_every_wire_type() {
        let mut msg = varint_field(1, 300);
        msg.extend(bytes_field(2, b"nodes"));
        msg.extend([0x19]); // field 3, fixed64
        msg.extend(7u64.to_le_bytes());
        msg.extend([0x25]); // field 4, fixed32
        msg.extend(9u32.to_le_bytes());
        let f = all(&msg).unwrap();
        assert_eq!(f[0].varint(), Ok(300));
        assert_eq!(f[1].string().unwrap(), "nodes");
        assert_eq!(f[2].value, Value::Fixed64(7));
        assert_eq!(f[3].value, Value::Fixed32(9));
    }

    #[test]
    fn negative_int64_values_round_trip() {
        let msg = varint_field(1, (-5i64) as u64);
        assert_eq!(all(&msg).unwrap()[0].int64(), Ok(-5));
    }

    #[test]
    fn truncated_and_malformed_input_is_an_error_not_a_panic() {
        let msg = bytes_field(2, b"nodes");
        for cut in 1..msg.len() {
            assert_eq!(all(&msg[..cut]), Err(WireError::Truncated), "cut at {cut}");
        }
        assert_eq!(all(&[0xff; 11]), Err(WireError::VarintTooLong));
        assert!(matches!(
            all(&[0x0b]),
            Err(WireError::WireType { wire_type: 3, .. })
        ));
        let huge_length = [0x12, 0xff, 0xff, 0xff, 0xff, 0x0f];
        assert_eq!(all(&huge_length), Err(WireError::Truncated));
        let not_text = bytes_field(1, &[0xff, 0xfe]);
        assert_eq!(
            all(&not_text).unwrap()[0].string(),
            Err(WireError::Utf8 { field: 1 })
        );
        assert_eq!(
            all(&varint_field(1, 1)).unwrap()[0].bytes(),
            Err(WireError::Kind { field: 1 })
        );
    }

    #[test]
    fn iteration_stops_after_the_first_error() {
        let mut msg = vec![0x0b];
        msg.extend(varint_field(1, 1));
        assert_eq!(fields(&msg).count(), 1);
    }

    #[test]
    fn map_entries_have_a_key_and_a_value() {
        let mut entry = bytes_field(1, b"tier");
        entry.extend(bytes_field(2, b"ops"));
        assert_eq!(map_entry(&entry).unwrap(), ("tier".into(), "ops".into()));
    }
}
