//! Bounded reading of what a user hands the CLI (a file, standard input): never more than a
//! limit is read, whatever the source claims its size is (a FIFO or `/dev/zero` says 0), and
//! the error names the source and the limit, not the content.

use std::io::Read;

use anyhow::{Context as _, anyhow, bail};

/// The text of `reader`, at most `max` bytes of UTF-8; `source` names it in errors
/// (`standard input`, a path).
pub fn read_text(reader: impl Read, max: u64, source: &str) -> anyhow::Result<String> {
    let mut bytes = Vec::new();
    reader
        .take(max + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("read {source}"))?;
    if bytes.len() as u64 > max {
        bail!("{source} is larger than {}", limit(max));
    }
    String::from_utf8(bytes).map_err(|_| anyhow!("{source} is not UTF-8 text"))
}

/// `4 MiB` for whole mebibytes, else bytes.
fn limit(max: u64) -> String {
    if max >= 1 << 20 && max.is_multiple_of(1 << 20) {
        format!("{} MiB", max >> 20)
    } else {
        format!("{max} bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_up_to_the_limit_and_refuses_more() {
        assert_eq!(read_text(&b"abc"[..], 3, "x").unwrap(), "abc");
        let err = read_text(&b"abcd"[..], 3, "x").unwrap_err();
        assert_eq!(err.to_string(), "x is larger than 3 bytes");
        // An endless source stops at the limit.
        let err = read_text(std::io::repeat(b'a'), 4 << 20, "standard input").unwrap_err();
        assert_eq!(err.to_string(), "standard input is larger than 4 MiB");
        let err = read_text(&[0xff_u8][..], 3, "x").unwrap_err();
        assert_eq!(err.to_string(), "x is not UTF-8 text");
    }
}
