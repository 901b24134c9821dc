//! A payload codec that encrypts every payload with AES-256-GCM (RustCrypto's `aes-gcm`), in
//! the format of Temporal's encryption samples: the whole `Payload` message is encrypted, and
//! the result is a payload with encoding `binary/encrypted` and the key's id in
//! `encryption-key-id`. The data is a random 12-byte nonce followed by the ciphertext.
//!
//! Payloads it did not encrypt (older history, another worker's) pass through `decode` as they
//! are; a key id it does not hold is an error rather than a garbled value.

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use chronicle::payload::{CodecError, Payload, PayloadCodec, ENCODING};
use futures::future::BoxFuture;
use prost::Message;

/// The encoding of an encrypted payload.
pub const ENCRYPTED: &[u8] = b"binary/encrypted";
/// The metadata key naming the key a payload was encrypted with.
pub const KEY_ID: &str = "encryption-key-id";
const NONCE_LEN: usize = 12;

/// Encrypts payloads with one AES-256 key.
pub struct AesGcmCodec {
    key_id: String,
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for AesGcmCodec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key.
        f.debug_struct("AesGcmCodec")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl AesGcmCodec {
    /// A codec for the 32-byte `key`, recorded in payloads as `key_id`.
    pub fn new(key_id: impl Into<String>, key: &[u8; 32]) -> Self {
        Self {
            key_id: key_id.into(),
            cipher: Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(key)),
        }
    }

    fn encrypt(&self, payload: &Payload) -> Result<Payload, CodecError> {
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let ciphertext = self
            .cipher
            .encrypt(&nonce, payload.encode_to_vec().as_slice())
            .map_err(|_| CodecError::new("AES-GCM encryption failed"))?;
        let mut data = nonce.to_vec();
        data.extend_from_slice(&ciphertext);
        Ok(Payload {
            metadata: [
                (ENCODING.to_string(), ENCRYPTED.to_vec()),
                (KEY_ID.to_string(), self.key_id.as_bytes().to_vec()),
            ]
            .into(),
            data,
            ..Default::default()
        })
    }

    fn decrypt(&self, payload: Payload) -> Result<Payload, CodecError> {
        if payload.metadata.get(ENCODING).map(Vec::as_slice) != Some(ENCRYPTED) {
            return Ok(payload);
        }
        let key_id = payload.metadata.get(KEY_ID).map(Vec::as_slice);
        if key_id != Some(self.key_id.as_bytes()) {
            return Err(CodecError::new(format!(
                "payload encrypted with key {:?}, this codec holds {:?}",
                String::from_utf8_lossy(key_id.unwrap_or_default()),
                self.key_id
            )));
        }
        if payload.data.len() < NONCE_LEN {
            return Err(CodecError::new("encrypted payload shorter than its nonce"));
        }
        let (nonce, ciphertext) = payload.data.split_at(NONCE_LEN);
        let plain = self
            .cipher
            .decrypt(Nonce::from_slice(nonce), ciphertext)
            .map_err(|_| {
                CodecError::new("AES-GCM decryption failed (wrong key or altered data)")
            })?;
        Payload::decode(plain.as_slice())
            .map_err(|e| CodecError::with_source("decrypted bytes are not a payload", e))
    }
}

impl PayloadCodec for AesGcmCodec {
    fn encode(&self, payloads: Vec<Payload>) -> BoxFuture<'_, Result<Vec<Payload>, CodecError>> {
        Box::pin(async move { payloads.iter().map(|p| self.encrypt(p)).collect() })
    }

    fn decode(&self, payloads: Vec<Payload>) -> BoxFuture<'_, Result<Vec<Payload>, CodecError>> {
        Box::pin(async move { payloads.into_iter().map(|p| self.decrypt(p)).collect() })
    }
}

/// The example's key id and key. A real deployment reads the key from a secret store; the
/// example derives it from `CHRONICLE_EXAMPLE_KEY` (32 bytes), or uses a fixed demo key.
pub fn demo_codec() -> AesGcmCodec {
    let mut key = *b"chronicle-demo-key-32-bytes-long";
    if let Ok(text) = std::env::var("CHRONICLE_EXAMPLE_KEY") {
        if let Ok(bytes) = <[u8; 32]>::try_from(text.as_bytes()) {
            key = bytes;
        }
    }
    AesGcmCodec::new("demo-key", &key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn round_trip_and_pass_through() {
        let codec = AesGcmCodec::new("k1", &[7; 32]);
        let plain = chronicle::payload::encode("secret").unwrap();
        let encrypted = codec.encode(vec![plain.clone()]).await.unwrap();
        assert_eq!(encrypted[0].metadata[ENCODING], ENCRYPTED);
        assert_eq!(encrypted[0].metadata[KEY_ID], b"k1");
        assert!(!encrypted[0].data.windows(6).any(|w| w == b"secret"));
        let back = codec.decode(encrypted.clone()).await.unwrap();
        assert_eq!(back, vec![plain.clone()]);
        // Not encrypted: left alone.
        assert_eq!(
            codec.decode(vec![plain.clone()]).await.unwrap(),
            vec![plain]
        );
        // Another key id: an error that names both.
        let other = AesGcmCodec::new("k2", &[7; 32]);
        let err = other.decode(encrypted).await.unwrap_err().to_string();
        assert!(err.contains("k1") && err.contains("k2"), "{err}");
    }
}
