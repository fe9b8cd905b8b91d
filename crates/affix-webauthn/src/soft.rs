//! A software authenticator: a real WebAuthn authenticator and client in one, with a
//! P-256 or Ed25519 key, its own sign counter and configurable flags. It produces
//! registrations (`none` or `packed` self attestation) and assertions exactly as a
//! browser would hand them to a relying party, signed with its key; nothing about them
//! is faked. For tests and benchmarks (and as a reference for what the verifier expects).
//!
//! Keys come from a 32-byte seed (the crate does no I/O and draws no randomness): the
//! same seed gives the same credential.

use crate::{Algorithm, Assertion, Attestation, FLAG_AT, FLAG_UP, FLAG_UV, PublicKey, cbor};
use base64::Engine as _;
use ciborium::Value;
use sha2::{Digest as _, Sha256};

/// What the authenticator reports and does, changeable between ceremonies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SoftOptions {
    /// Set the UP flag (default true).
    pub user_present: bool,
    /// Set the UV flag (default true).
    pub user_verified: bool,
    /// Added to the sign counter before each signature (default 1; 0: the
    /// authenticator keeps no counter and always reports 0).
    pub counter_step: u32,
    /// Report `crossOrigin: true` in client data (default false).
    pub cross_origin: bool,
}

impl Default for SoftOptions {
    fn default() -> Self {
        Self {
            user_present: true,
            user_verified: true,
            counter_step: 1,
            cross_origin: false,
        }
    }
}

enum SoftKey {
    Es256(p256::ecdsa::SigningKey),
    EdDsa(ed25519_dalek::SigningKey),
}

/// A software authenticator holding one credential.
pub struct SoftAuthenticator {
    key: SoftKey,
    credential_id: Vec<u8>,
    aaguid: [u8; 16],
    sign_count: u32,
    /// Flags and counter behaviour.
    pub options: SoftOptions,
}

impl std::fmt::Debug for SoftAuthenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SoftAuthenticator")
            .field("algorithm", &self.algorithm())
            .field("credential_id", &hex_short(&self.credential_id))
            .field("sign_count", &self.sign_count)
            .finish_non_exhaustive()
    }
}

fn hex_short(bytes: &[u8]) -> String {
    bytes.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// A registration as the browser hands it over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SoftRegistration {
    /// `attestationObject`.
    pub attestation_object: Vec<u8>,
    /// `clientDataJSON`.
    pub client_data_json: Vec<u8>,
}

impl SoftAuthenticator {
    /// An authenticator with a credential of `algorithm` derived from `seed`, a 16-byte
    /// credential id derived from it too, the AAGUID all zeros and the counter at 0.
    pub fn new(algorithm: Algorithm, seed: &[u8; 32]) -> Self {
        let key = match algorithm {
            Algorithm::Es256 => {
                // A scalar must lie in [1, n): hash until it does (about 2^-32 retries).
                let mut candidate: [u8; 32] = Sha256::digest(seed).into();
                loop {
                    if let Ok(k) = p256::ecdsa::SigningKey::from_slice(&candidate) {
                        break SoftKey::Es256(k);
                    }
                    candidate = Sha256::digest(candidate).into();
                }
            }
            Algorithm::EdDsa => SoftKey::EdDsa(ed25519_dalek::SigningKey::from_bytes(seed)),
        };
        let mut h = Sha256::new();
        h.update(b"affix.dev/webauthn/soft/credential-id\0");
        h.update(seed);
        let credential_id = h.finalize()[..16].to_vec();
        Self {
            key,
            credential_id,
            aaguid: [0; 16],
            sign_count: 0,
            options: SoftOptions::default(),
        }
    }

    /// The credential's algorithm.
    pub fn algorithm(&self) -> Algorithm {
        match self.key {
            SoftKey::Es256(_) => Algorithm::Es256,
            SoftKey::EdDsa(_) => Algorithm::EdDsa,
        }
    }

    /// The credential id.
    pub fn credential_id(&self) -> &[u8] {
        &self.credential_id
    }

    /// The credential public key.
    pub fn public_key(&self) -> PublicKey {
        match &self.key {
            SoftKey::Es256(k) => PublicKey::Es256(*k.verifying_key()),
            SoftKey::EdDsa(k) => PublicKey::EdDsa(k.verifying_key()),
        }
    }

    /// The current sign counter.
    pub fn sign_count(&self) -> u32 {
        self.sign_count
    }

    /// Sets the sign counter (to play a cloned authenticator whose counter lags).
    pub fn set_sign_count(&mut self, count: u32) {
        self.sign_count = count;
    }

    /// Creates the credential for `rp_id` in a ceremony from `origin` over `challenge`
    /// (`navigator.credentials.create`), attested as `attestation` says.
    pub fn register(
        &mut self,
        rp_id: &str,
        origin: &str,
        challenge: &[u8],
        attestation: Attestation,
    ) -> SoftRegistration {
        let client_data_json = self.client_data("webauthn.create", origin, challenge);
        let mut auth_data = self.auth_data_prefix(rp_id, FLAG_AT);
        auth_data.extend_from_slice(&self.aaguid);
        let id_len = u16::try_from(self.credential_id.len()).unwrap_or(u16::MAX);
        auth_data.extend_from_slice(&id_len.to_be_bytes());
        auth_data.extend_from_slice(&self.credential_id);
        auth_data.extend_from_slice(&self.public_key().to_cose());
        let text = |s: &str| Value::Text(s.to_owned());
        let (fmt, statement) = match attestation {
            Attestation::None => ("none", Vec::new()),
            Attestation::PackedSelf => {
                let sig = self.sign(&crate::signed_bytes(&auth_data, &client_data_json));
                (
                    "packed",
                    vec![
                        (
                            text("alg"),
                            Value::Integer(self.algorithm().cose_id().into()),
                        ),
                        (text("sig"), Value::Bytes(sig)),
                    ],
                )
            }
        };
        let attestation_object = cbor::encode(&Value::Map(vec![
            (text("fmt"), text(fmt)),
            (text("attStmt"), Value::Map(statement)),
            (text("authData"), Value::Bytes(auth_data)),
        ]));
        SoftRegistration {
            attestation_object,
            client_data_json,
        }
    }

    /// Signs `challenge` for `rp_id` in a ceremony from `origin`
    /// (`navigator.credentials.get`), advancing the counter first.
    pub fn assert(&mut self, rp_id: &str, origin: &str, challenge: &[u8]) -> Assertion {
        let client_data_json = self.client_data("webauthn.get", origin, challenge);
        let authenticator_data = self.auth_data_prefix(rp_id, 0);
        let signature = self.sign(&crate::signed_bytes(&authenticator_data, &client_data_json));
        Assertion {
            authenticator_data,
            client_data_json,
            signature,
        }
    }

    /// rpIdHash ‖ flags ‖ counter (advanced by the step).
    fn auth_data_prefix(&mut self, rp_id: &str, extra_flags: u8) -> Vec<u8> {
        self.sign_count = self.sign_count.wrapping_add(self.options.counter_step);
        let mut flags = extra_flags;
        if self.options.user_present {
            flags |= FLAG_UP;
        }
        if self.options.user_verified {
            flags |= FLAG_UV;
        }
        let mut out = Vec::with_capacity(37);
        out.extend_from_slice(&Sha256::digest(rp_id.as_bytes()));
        out.push(flags);
        out.extend_from_slice(&self.sign_count.to_be_bytes());
        out
    }

    /// The client data a browser serializes (WebAuthn §5.8.1.1, in its member order).
    fn client_data(&self, kind: &str, origin: &str, challenge: &[u8]) -> Vec<u8> {
        let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(challenge);
        let json = |s: &str| serde_json::Value::String(s.to_owned()).to_string();
        format!(
            r#"{{"type":{},"challenge":{},"origin":{},"crossOrigin":{}}}"#,
            json(kind),
            json(&challenge),
            json(origin),
            self.options.cross_origin
        )
        .into_bytes()
    }

    fn sign(&self, message: &[u8]) -> Vec<u8> {
        use signature::Signer as _;
        match &self.key {
            SoftKey::Es256(k) => {
                let sig: p256::ecdsa::Signature = k.sign(message);
                sig.to_der().as_bytes().to_vec()
            }
            SoftKey::EdDsa(k) => k.sign(message).to_bytes().to_vec(),
        }
    }
}
