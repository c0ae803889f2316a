//! The on-disk byte formats. Nothing outside this module knows how values are laid out.
//!
//! - A **value** is an 8-byte big-endian version followed by the JSON encoding of the user's
//!   type. The version is the resource_version the caller compares against; it starts at 1 and
//!   grows by one on every put. Invariant: every value this crate writes has the header.
//! - An **outbox record** (the value under an entry's id in the outbox tree) is a format tag
//!   followed by length-prefixed fields; the id is the key and is not repeated. Payloads are
//!   stored raw, not as a JSON array of numbers (which would quadruple them).

use accord_core::outbox::OutboxEntry;

use crate::error::DecodeError;

/// Length of the version header in front of every value.
pub(crate) const VERSION_LEN: usize = 8;

/// Start a value buffer: a zeroed version header the commit fills in later.
pub(crate) fn value_buffer() -> Vec<u8> {
    let mut buf = Vec::with_capacity(128);
    buf.extend_from_slice(&[0; VERSION_LEN]);
    buf
}

/// Write `version` into the header of a buffer made by [`value_buffer`].
pub(crate) fn stamp_version(buf: &mut [u8], version: u64) {
    if let Some(header) = buf.get_mut(..VERSION_LEN) {
        header.copy_from_slice(&version.to_be_bytes());
    }
}

/// Split a stored value into its version and JSON body.
pub(crate) fn split_value(bytes: &[u8]) -> Result<(u64, &[u8]), DecodeError> {
    match bytes.split_first_chunk::<VERSION_LEN>() {
        Some((header, body)) => Ok((u64::from_be_bytes(*header), body)),
        None => Err(DecodeError::Truncated { len: bytes.len() }),
    }
}

/// Only the version of a stored value (used by compare-and-swap; the body is not parsed).
pub(crate) fn version_of(bytes: &[u8]) -> Result<u64, DecodeError> {
    split_value(bytes).map(|(version, _)| version)
}

const OUTBOX_FORMAT_V1: u8 = 1;

/// Encode an outbox entry (without its id, which is the key).
///
/// Fails only when a field is longer than `u32::MAX` bytes.
pub(crate) fn encode_outbox(entry: &OutboxEntry) -> Result<Vec<u8>, &'static str> {
    let headers_len: usize = entry
        .headers
        .iter()
        .map(|(k, v)| 8 + k.len() + v.len())
        .sum();
    let mut out =
        Vec::with_capacity(1 + 4 + entry.subject.len() + 4 + entry.payload.len() + 4 + headers_len);
    out.push(OUTBOX_FORMAT_V1);
    put_bytes(&mut out, entry.subject.as_bytes())?;
    put_bytes(&mut out, &entry.payload)?;
    put_len(&mut out, entry.headers.len())?;
    for (name, value) in &entry.headers {
        put_bytes(&mut out, name.as_bytes())?;
        put_bytes(&mut out, value.as_bytes())?;
    }
    Ok(out)
}

fn put_len(out: &mut Vec<u8>, len: usize) -> Result<(), &'static str> {
    let len = u32::try_from(len).map_err(|_| "outbox field longer than 4 GiB")?;
    out.extend_from_slice(&len.to_be_bytes());
    Ok(())
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) -> Result<(), &'static str> {
    put_len(out, bytes.len())?;
    out.extend_from_slice(bytes);
    Ok(())
}

/// Decode an outbox record stored under `id`.
pub(crate) fn decode_outbox(id: String, bytes: &[u8]) -> Result<OutboxEntry, DecodeError> {
    let mut r = Reader(bytes);
    if r.take(1)? != [OUTBOX_FORMAT_V1] {
        return Err(DecodeError::Outbox("unknown format tag"));
    }
    let subject = r.string()?;
    let payload = r.bytes()?.to_vec();
    let count = r.len()?;
    // Each header needs at least 8 bytes, so a corrupt count cannot make us over-allocate.
    if count > r.0.len() / 8 {
        return Err(DecodeError::Outbox("header count exceeds record"));
    }
    let mut headers = Vec::with_capacity(count);
    for _ in 0..count {
        headers.push((r.string()?, r.string()?));
    }
    if !r.0.is_empty() {
        return Err(DecodeError::Outbox("trailing bytes"));
    }
    Ok(OutboxEntry {
        id,
        subject,
        payload,
        headers,
    })
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if self.0.len() < n {
            return Err(DecodeError::Outbox("truncated"));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn len(&mut self) -> Result<usize, DecodeError> {
        let (len, rest) = self
            .0
            .split_first_chunk::<4>()
            .ok_or(DecodeError::Outbox("truncated"))?;
        self.0 = rest;
        usize::try_from(u32::from_be_bytes(*len))
            .map_err(|_| DecodeError::Outbox("length overflow"))
    }

    fn bytes(&mut self) -> Result<&'a [u8], DecodeError> {
        let len = self.len()?;
        self.take(len)
    }

    fn string(&mut self) -> Result<String, DecodeError> {
        let bytes = self.bytes()?;
        String::from_utf8(bytes.to_vec()).map_err(|_| DecodeError::Outbox("field is not UTF-8"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> OutboxEntry {
        OutboxEntry {
            id: "01J0000000000000000000000A".into(),
            subject: "accord.evt.cluster.created.c1".into(),
            payload: br#"{"specversion":"1.0"}"#.to_vec(),
            headers: vec![
                ("traceparent".into(), "00-abc-def-01".into()),
                ("Nats-Msg-Id".into(), "01J0000000000000000000000A".into()),
            ],
        }
    }

    #[test]
    fn outbox_record_round_trips() {
        let e = entry();
        let bytes = encode_outbox(&e).unwrap();
        assert_eq!(decode_outbox(e.id.clone(), &bytes).unwrap(), e);
    }

    #[test]
    fn outbox_record_rejects_every_truncation_and_trailing_bytes() {
        let e = entry();
        let bytes = encode_outbox(&e).unwrap();
        for cut in 0..bytes.len() {
            assert!(
                decode_outbox(e.id.clone(), &bytes[..cut]).is_err(),
                "cut at {cut}"
            );
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(matches!(
            decode_outbox(e.id.clone(), &longer),
            Err(DecodeError::Outbox("trailing bytes"))
        ));
        let mut bad_tag = bytes;
        bad_tag[0] = 9;
        assert!(matches!(
            decode_outbox(e.id, &bad_tag),
            Err(DecodeError::Outbox("unknown format tag"))
        ));
    }

    #[test]
    fn corrupt_header_count_does_not_allocate() {
        let mut bytes = encode_outbox(&OutboxEntry {
            id: "x".into(),
            subject: "s".into(),
            payload: vec![],
            headers: vec![],
        })
        .unwrap();
        let n = bytes.len();
        bytes[n - 4..].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(matches!(
            decode_outbox("x".into(), &bytes),
            Err(DecodeError::Outbox("header count exceeds record"))
        ));
    }

    #[test]
    fn value_header_round_trips() {
        let mut buf = value_buffer();
        buf.extend_from_slice(b"{}");
        stamp_version(&mut buf, 0x0102_0304_0506_0708);
        assert_eq!(
            split_value(&buf).unwrap(),
            (0x0102_0304_0506_0708, &b"{}"[..])
        );
        assert!(matches!(
            version_of(&[1, 2, 3]),
            Err(DecodeError::Truncated { len: 3 })
        ));
    }
}
