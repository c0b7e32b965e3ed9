//! Byte-level encoding: a growable writer and a reader that never panics and never over-reads.
//!
//! Integers are big-endian and fixed width; byte strings, text and lists carry a `u32` length
//! prefix. Every read checks the remaining input first, so any byte sequence decodes to either a
//! value or a [`WireError`] naming what was being read.

use super::error::WireError;

/// Appends encoded values to a byte vector.
#[derive(Debug, Default)]
pub struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    /// An empty writer.
    pub fn new() -> Writer {
        Writer::default()
    }

    /// The bytes written so far.
    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }

    /// One byte.
    pub fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }

    /// A big-endian `u16`.
    pub fn u16(&mut self, v: u16) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }

    /// A big-endian `u32`.
    pub fn u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }

    /// A big-endian `u64`.
    pub fn u64(&mut self, v: u64) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }

    /// A big-endian `i64`.
    pub fn i64(&mut self, v: i64) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }

    /// A boolean as one byte, 0 or 1.
    pub fn bool(&mut self, v: bool) {
        self.u8(u8::from(v));
    }

    /// Fixed-size bytes without a length prefix.
    pub fn fixed(&mut self, v: &[u8]) {
        self.buf.extend_from_slice(v);
    }

    /// Bytes with a `u32` length prefix. Lengths above `u32::MAX` are cut by the frame limit
    /// long before they reach here; they are clamped so the writer itself cannot fail.
    pub fn bytes(&mut self, v: &[u8]) {
        let len = u32::try_from(v.len()).unwrap_or(u32::MAX);
        self.u32(len);
        self.buf.extend_from_slice(&v[..len as usize]);
    }

    /// UTF-8 text with a `u32` length prefix.
    pub fn str(&mut self, v: &str) {
        self.bytes(v.as_bytes());
    }

    /// A list: its `u32` count, then each element written by `each`.
    pub fn list<T>(&mut self, items: &[T], mut each: impl FnMut(&mut Writer, &T)) {
        let len = u32::try_from(items.len()).unwrap_or(u32::MAX);
        self.u32(len);
        for item in items.iter().take(len as usize) {
            each(self, item);
        }
    }

    /// An optional value: a presence byte, then the value.
    pub fn option<T>(&mut self, v: Option<&T>, each: impl FnOnce(&mut Writer, &T)) {
        match v {
            None => self.u8(0),
            Some(v) => {
                self.u8(1);
                each(self, v);
            }
        }
    }
}

/// A value with one canonical encoding, written and read whole.
pub trait Encoded: Sized {
    /// What the value is called in decoding errors.
    const WHAT: &'static str;

    /// Writes the value.
    fn encode(&self, w: &mut Writer);

    /// Reads the value.
    fn decode(r: &mut Reader<'_>) -> Result<Self, WireError>;

    /// The full encoding.
    fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::new();
        self.encode(&mut w);
        w.into_bytes()
    }

    /// Decodes a full encoding, refusing trailing bytes.
    fn from_bytes(bytes: &[u8]) -> Result<Self, WireError> {
        let mut r = Reader::new(bytes);
        let value = Self::decode(&mut r)?;
        r.finish(Self::WHAT)?;
        Ok(value)
    }
}

/// Reads encoded values from a byte slice.
#[derive(Debug)]
pub struct Reader<'a> {
    input: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `input`.
    pub fn new(input: &'a [u8]) -> Reader<'a> {
        Reader { input, pos: 0 }
    }

    /// How many bytes are left.
    pub fn remaining(&self) -> usize {
        self.input.len() - self.pos
    }

    /// Fails unless every byte was read.
    pub fn finish(&self, what: &'static str) -> Result<(), WireError> {
        match self.remaining() {
            0 => Ok(()),
            extra => Err(WireError::TrailingBytes { what, extra }),
        }
    }

    /// The next `n` bytes.
    pub fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], WireError> {
        if self.remaining() < n {
            return Err(WireError::Truncated { what });
        }
        let out = &self.input[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    /// Exactly `N` bytes.
    pub fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], WireError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, what)?);
        Ok(out)
    }

    /// One byte.
    pub fn u8(&mut self, what: &'static str) -> Result<u8, WireError> {
        Ok(self.array::<1>(what)?[0])
    }

    /// A big-endian `u16`.
    pub fn u16(&mut self, what: &'static str) -> Result<u16, WireError> {
        Ok(u16::from_be_bytes(self.array(what)?))
    }

    /// A big-endian `u32`.
    pub fn u32(&mut self, what: &'static str) -> Result<u32, WireError> {
        Ok(u32::from_be_bytes(self.array(what)?))
    }

    /// A big-endian `u64`.
    pub fn u64(&mut self, what: &'static str) -> Result<u64, WireError> {
        Ok(u64::from_be_bytes(self.array(what)?))
    }

    /// A big-endian `i64`.
    pub fn i64(&mut self, what: &'static str) -> Result<i64, WireError> {
        Ok(i64::from_be_bytes(self.array(what)?))
    }

    /// A boolean byte; anything but 0 or 1 is refused.
    pub fn bool(&mut self, what: &'static str) -> Result<bool, WireError> {
        match self.u8(what)? {
            0 => Ok(false),
            1 => Ok(true),
            value => Err(WireError::BadTag { what, value }),
        }
    }

    /// Length-prefixed bytes.
    pub fn bytes(&mut self, what: &'static str) -> Result<&'a [u8], WireError> {
        let len = self.u32(what)? as usize;
        self.take(len, what)
    }

    /// Length-prefixed UTF-8 text.
    pub fn str(&mut self, what: &'static str) -> Result<String, WireError> {
        let raw = self.bytes(what)?;
        std::str::from_utf8(raw)
            .map(str::to_string)
            .map_err(|_| WireError::BadText { what })
    }

    /// A counted list. The count is checked against the remaining input (every element takes at
    /// least one byte), so a hostile count cannot make the reader allocate.
    pub fn list<T>(
        &mut self,
        what: &'static str,
        mut each: impl FnMut(&mut Reader<'a>) -> Result<T, WireError>,
    ) -> Result<Vec<T>, WireError> {
        let count = self.u32(what)? as usize;
        if count > self.remaining() {
            return Err(WireError::Truncated { what });
        }
        let mut out = Vec::new();
        for _ in 0..count {
            out.push(each(self)?);
        }
        Ok(out)
    }

    /// A counted list read element by element into `each`, without collecting the elements
    /// (for a caller that puts them straight where they belong). The count is checked as in
    /// [`Reader::list`].
    pub fn for_each(
        &mut self,
        what: &'static str,
        mut each: impl FnMut(&mut Reader<'a>) -> Result<(), WireError>,
    ) -> Result<(), WireError> {
        let count = self.u32(what)? as usize;
        if count > self.remaining() {
            return Err(WireError::Truncated { what });
        }
        for _ in 0..count {
            each(self)?;
        }
        Ok(())
    }

    /// An optional value behind a presence byte.
    pub fn option<T>(
        &mut self,
        what: &'static str,
        each: impl FnOnce(&mut Reader<'a>) -> Result<T, WireError>,
    ) -> Result<Option<T>, WireError> {
        match self.bool(what)? {
            false => Ok(None),
            true => each(self).map(Some),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reader_refuses_short_input_and_hostile_counts() {
        let mut w = Writer::new();
        w.u32(1_000_000);
        let bytes = w.into_bytes();
        let mut r = Reader::new(&bytes);
        let err = r.list("items", |r| r.u8("item")).unwrap_err();
        assert_eq!(err, WireError::Truncated { what: "items" });
        let mut calls = 0;
        let err = Reader::new(&bytes)
            .for_each("items", |_| {
                calls += 1;
                Ok(())
            })
            .unwrap_err();
        assert_eq!((err, calls), (WireError::Truncated { what: "items" }, 0));
        assert_eq!(
            Reader::new(&[0, 0, 0, 5, b'a']).str("name").unwrap_err(),
            WireError::Truncated { what: "name" }
        );
        assert_eq!(
            Reader::new(&[2]).bool("flag").unwrap_err(),
            WireError::BadTag {
                what: "flag",
                value: 2
            }
        );
    }

    #[test]
    fn values_round_trip() {
        let mut w = Writer::new();
        w.u16(7);
        w.i64(-3);
        w.str("Gemeente Zwolle");
        w.option(Some(&9u64), |w, v| w.u64(*v));
        w.list(&[4u8, 5], |w, v| w.u8(*v));
        let bytes = w.into_bytes();
        let mut r = Reader::new(&bytes);
        assert_eq!(r.u16("a").unwrap(), 7);
        assert_eq!(r.i64("b").unwrap(), -3);
        assert_eq!(r.str("c").unwrap(), "Gemeente Zwolle");
        assert_eq!(r.option("d", |r| r.u64("d")).unwrap(), Some(9));
        let mut items = Vec::new();
        r.for_each("e", |r| {
            items.push(r.u8("e")?);
            Ok(())
        })
        .unwrap();
        assert_eq!(items, [4, 5]);
        r.finish("test").unwrap();
    }
}
