//! SHA-256, the one hash promlab uses: docker context ids, the demo image's tag, per-learner
//! parameters. Callers say what they hash; how is written once here.

use std::io::Read;

use sha2::{Digest, Sha256};

/// The SHA-256 digest of several byte strings fed one after the other (no separator is
/// added: put one in `parts` where two parts could run together).
pub(crate) fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// The SHA-256 digest of everything `reader` yields.
pub(crate) fn sha256_reader(mut reader: impl Read) -> std::io::Result<[u8; 32]> {
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            return Ok(h.finalize().into());
        }
        h.update(&buf[..n]);
    }
}

/// Lower-case hex of `bytes` (`[0xab, 0x01]` → `ab01`).
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Lower-case hex SHA-256 of `data`, as docker names a context's folder.
pub(crate) fn sha256_hex(data: impl AsRef<[u8]>) -> String {
    hex(&sha256(&[data.as_ref()]))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The digest of "abc" (FIPS 180-2, appendix B.1).
    const ABC: &str = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

    #[test]
    fn known_digest() {
        assert_eq!(sha256_hex("abc"), ABC);
    }

    #[test]
    fn parts_hash_as_their_concatenation() {
        assert_eq!(hex(&sha256(&[b"a", b"", b"bc"])), ABC);
    }

    #[test]
    fn a_reader_hashes_as_its_bytes() {
        assert_eq!(hex(&sha256_reader(&b"abc"[..]).unwrap()), ABC);
    }

    #[test]
    fn hex_is_lower_case_and_padded() {
        assert_eq!(hex(&[0xab, 0x01, 0x00]), "ab0100");
    }
}
