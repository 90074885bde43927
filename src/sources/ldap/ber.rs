//! BER as LDAP uses it (RFC 4511 §5.1): the encoder for the few requests
//! behorig sends, and a decoder that reads the server's answers in place,
//! borrowing every value from the receive buffer. Only definite lengths
//! and one-byte tags occur in LDAP; anything else is malformed.
//!
//! The decoder trusts nothing: every length is checked against the bytes
//! that are there, so a hostile or broken server gets an error, never a
//! panic or an allocation of the size it claims.

/// Universal tags.
pub const BOOLEAN: u8 = 0x01;
pub const INTEGER: u8 = 0x02;
pub const OCTET_STRING: u8 = 0x04;
pub const ENUMERATED: u8 = 0x0a;
pub const SEQUENCE: u8 = 0x30;
pub const SET: u8 = 0x31;

/// What was wrong with the bytes, for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Malformed(pub &'static str);

impl std::fmt::Display for Malformed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

/// Appends the length octets of a definite length.
fn length(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
}

/// Appends a primitive value.
pub fn put(out: &mut Vec<u8>, tag: u8, content: &[u8]) {
    out.push(tag);
    length(out, content.len());
    out.extend_from_slice(content);
}

/// Appends a constructed value whose content `build` writes.
pub fn nest(out: &mut Vec<u8>, tag: u8, build: impl FnOnce(&mut Vec<u8>)) {
    let mut content = Vec::new();
    build(&mut content);
    put(out, tag, &content);
}

/// Appends an INTEGER or ENUMERATED in the fewest octets.
pub fn put_int(out: &mut Vec<u8>, tag: u8, value: i64) {
    let bytes = value.to_be_bytes();
    let mut skip = 0;
    while skip < 7 {
        let (b, next) = (bytes[skip], bytes[skip + 1]);
        if (b == 0 && next & 0x80 == 0) || (b == 0xff && next & 0x80 != 0) {
            skip += 1;
        } else {
            break;
        }
    }
    put(out, tag, &bytes[skip..]);
}

/// The tag, header length and content length at the start of `bytes`;
/// `None` while the header is incomplete.
pub fn header(bytes: &[u8]) -> Result<Option<(u8, usize, usize)>, Malformed> {
    let (Some(&tag), Some(&first)) = (bytes.first(), bytes.get(1)) else {
        return Ok(None);
    };
    if tag & 0x1f == 0x1f {
        return Err(Malformed("a multi-byte tag, which LDAP does not use"));
    }
    if first & 0x80 == 0 {
        return Ok(Some((tag, 2, first as usize)));
    }
    let count = (first & 0x7f) as usize;
    if count == 0 {
        return Err(Malformed("an indefinite length, which LDAP does not allow"));
    }
    if count > 4 {
        return Err(Malformed("a length of more than four octets"));
    }
    let Some(octets) = bytes.get(2..2 + count) else {
        return Ok(None);
    };
    let len = octets
        .iter()
        .fold(0usize, |acc, &b| (acc << 8) | b as usize);
    Ok(Some((tag, 2 + count, len)))
}

/// Reads the values of a constructed value's content one after another.
#[derive(Debug, Clone, Copy)]
pub struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Reader { rest: bytes }
    }

    pub fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    /// The tag of the next value, if any.
    pub fn peek(&self) -> Option<u8> {
        self.rest.first().copied()
    }

    /// The next value: its tag and content.
    pub fn any(&mut self) -> Result<(u8, &'a [u8]), Malformed> {
        let (tag, head, len) = header(self.rest)?.ok_or(Malformed("a value is cut short"))?;
        let end = head
            .checked_add(len)
            .filter(|&end| end <= self.rest.len())
            .ok_or(Malformed("a value is longer than what holds it"))?;
        let content = &self.rest[head..end];
        self.rest = &self.rest[end..];
        Ok((tag, content))
    }

    /// The content of the next value, which must have `tag`.
    pub fn expect(&mut self, tag: u8, what: &'static str) -> Result<&'a [u8], Malformed> {
        match self.any()? {
            (t, content) if t == tag => Ok(content),
            _ => Err(Malformed(what)),
        }
    }

    /// The content of the next value if it has `tag`.
    pub fn optional(&mut self, tag: u8) -> Result<Option<&'a [u8]>, Malformed> {
        if self.peek() == Some(tag) {
            self.any().map(|(_, content)| Some(content))
        } else {
            Ok(None)
        }
    }

    /// The next value as an integer with `tag`.
    pub fn int(&mut self, tag: u8, what: &'static str) -> Result<i64, Malformed> {
        int_value(self.expect(tag, what)?).ok_or(Malformed(what))
    }
}

/// The value of an INTEGER's or ENUMERATED's content.
pub fn int_value(content: &[u8]) -> Option<i64> {
    if content.is_empty() || content.len() > 8 {
        return None;
    }
    let negative = content[0] & 0x80 != 0;
    let start = if negative { -1i64 } else { 0 };
    Some(
        content
            .iter()
            .fold(start, |acc, &b| (acc << 8) | i64::from(b)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_round_trip_in_the_fewest_octets() {
        for (value, octets) in [
            (0i64, 1usize),
            (127, 1),
            (128, 2),
            (-1, 1),
            (-128, 1),
            (-129, 2),
            (1000, 2),
            (i64::MAX, 8),
            (i64::MIN, 8),
        ] {
            let mut out = Vec::new();
            put_int(&mut out, INTEGER, value);
            assert_eq!(out.len(), 2 + octets, "{value}");
            let mut r = Reader::new(&out);
            assert_eq!(r.int(INTEGER, "int"), Ok(value));
            assert!(r.is_empty());
        }
    }

    #[test]
    fn long_lengths_round_trip() {
        for len in [0usize, 127, 128, 255, 256, 70_000] {
            let content = vec![7u8; len];
            let mut out = Vec::new();
            put(&mut out, OCTET_STRING, &content);
            let mut r = Reader::new(&out);
            assert_eq!(r.expect(OCTET_STRING, "s"), Ok(content.as_slice()));
        }
    }

    #[test]
    fn lengths_past_the_end_and_indefinite_lengths_are_malformed() {
        assert!(Reader::new(&[0x04, 0x05, 1, 2]).any().is_err());
        assert!(Reader::new(&[0x30, 0x80, 0, 0]).any().is_err());
        assert!(Reader::new(&[0x04, 0x84, 0xff, 0xff, 0xff, 0xff])
            .any()
            .is_err());
        assert!(Reader::new(&[0x1f, 0x01, 0x00]).any().is_err());
        assert_eq!(header(&[0x30]), Ok(None));
        assert_eq!(header(&[0x30, 0x82, 0x01]), Ok(None));
        assert_eq!(header(&[0x30, 0x82, 0x01, 0x00]), Ok(Some((0x30, 4, 256))));
    }
}
