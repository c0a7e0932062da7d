//! The SMS envelope as sources send it, and its content hash.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// One SMS as a source delivers it. Sources may deliver the same envelope more than
/// once; identical envelopes have identical [`Envelope::canonical_bytes`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    /// The source that delivered it (the `source_id` label).
    pub source_id: String,
    /// The source's identifier of the message.
    pub id: String,
    /// Sender number.
    pub from: String,
    /// Recipient number or short code.
    pub to: String,
    /// Message text.
    pub body: String,
    /// When the source received it, in milliseconds since the Unix epoch.
    pub sent_at_ms: u64,
}

impl Envelope {
    /// The bytes stored in the CAS and covered by the content hash (JSON, fields in
    /// declaration order, so equal envelopes give equal bytes).
    pub fn canonical_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("an envelope of strings and integers always serialises")
    }
}

/// Milliseconds since the Unix epoch (0 if the clock is before it).
pub fn unix_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_millis() as u64)
}

/// SHA-256 of an envelope's canonical bytes: its name in the CAS and its key for dedup.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ContentHash([u8; 32]);

impl ContentHash {
    /// The hash of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        ContentHash(Sha256::digest(bytes).into())
    }

    /// Lower-case hexadecimal, 64 characters.
    pub fn to_hex(&self) -> String {
        self.to_string()
    }

    /// Parses 64 hexadecimal digits; `None` for anything else.
    pub fn from_hex(hex: &str) -> Option<Self> {
        if hex.len() != 64 || !hex.is_ascii() {
            return None;
        }
        let mut bytes = [0u8; 32];
        for (byte, pair) in bytes.iter_mut().zip(hex.as_bytes().chunks(2)) {
            let pair = std::str::from_utf8(pair).ok()?;
            *byte = u8::from_str_radix(pair, 16).ok()?;
        }
        Some(ContentHash(bytes))
    }
}

impl fmt::Display for ContentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|byte| write!(f, "{byte:02x}"))
    }
}

impl fmt::Debug for ContentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ContentHash({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips_and_rejects_garbage() {
        let hash = ContentHash::of(b"hello");
        assert_eq!(hash.to_hex().len(), 64);
        assert_eq!(ContentHash::from_hex(&hash.to_hex()), Some(hash));
        assert_eq!(ContentHash::from_hex("zz"), None);
        assert_eq!(ContentHash::from_hex(&"g".repeat(64)), None);
        assert_eq!(ContentHash::from_hex(&"é".repeat(32)), None);
    }

    #[test]
    fn sha256_of_a_known_input() {
        assert_eq!(
            ContentHash::of(b"abc").to_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn equal_envelopes_have_equal_bytes() {
        let envelope = Envelope {
            source_id: "provider-1".into(),
            id: "provider-1-00000001".into(),
            from: "+31612345678".into(),
            to: "4411".into(),
            body: "STOP".into(),
            sent_at_ms: 1,
        };
        assert_eq!(
            envelope.canonical_bytes(),
            envelope.clone().canonical_bytes()
        );
    }
}
