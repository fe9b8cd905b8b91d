//! A PKCS#11 signing peer for benchmarks: how fast a token creates signing keys and signs.
//!
//! The vault benchmark compares its own signing against a token's. [`generate_keys`]
//! creates N key pairs as token objects (EC P-256 with `CKM_EC_KEY_PAIR_GEN`, Ed25519 with
//! `CKM_EC_EDWARDS_KEY_PAIR_GEN`, which SoftHSM 2.6 offers); [`sign_with_random_key`]
//! signs a 32-byte digest with one of them chosen at random (`CKM_ECDSA`, raw r‖s; or
//! `CKM_EDDSA` over the 32 bytes as the message). Open a session per benchmark thread with
//! [`crate::Pkcs11Token::open_session`].

use cryptoki::mechanism::eddsa::{EddsaParams, EddsaSignatureScheme};
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::Session;

use crate::{Error, Pkcs11Token};

/// Most key pairs one [`generate_keys`] call creates.
pub const MAX_KEYS: usize = 100_000;

/// DER of the P-256 curve OID (1.2.840.10045.3.1.7), the `CKA_EC_PARAMS` value.
const P256_PARAMS: &[u8] = &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];

/// DER of the Ed25519 OID (1.3.101.112), the `CKA_EC_PARAMS` value.
const ED25519_PARAMS: &[u8] = &[0x06, 0x03, 0x2b, 0x65, 0x70];

/// The signature algorithm of a peer key.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub enum PeerAlgorithm {
    /// ECDSA over P-256 (`CKM_ECDSA` on a digest; signature r‖s, 64 bytes).
    EcdsaP256,
    /// Ed25519 (`CKM_EDDSA`; signature 64 bytes).
    Ed25519,
}

impl PeerAlgorithm {
    fn key_gen(self) -> (Mechanism<'static>, MechanismType, KeyType, &'static [u8]) {
        match self {
            Self::EcdsaP256 => (
                Mechanism::EccKeyPairGen,
                MechanismType::ECC_KEY_PAIR_GEN,
                KeyType::EC,
                P256_PARAMS,
            ),
            Self::Ed25519 => (
                Mechanism::EccEdwardsKeyPairGen,
                MechanismType::ECC_EDWARDS_KEY_PAIR_GEN,
                KeyType::EC_EDWARDS,
                ED25519_PARAMS,
            ),
        }
    }

    fn sign_mechanism(self) -> MechanismType {
        match self {
            Self::EcdsaP256 => MechanismType::ECDSA,
            Self::Ed25519 => MechanismType::EDDSA,
        }
    }
}

/// Whether `token` can generate keys for and sign with `algorithm`.
pub fn supported(token: &Pkcs11Token, algorithm: PeerAlgorithm) -> Result<bool, Error> {
    let (_, key_gen, _, _) = algorithm.key_gen();
    Ok(token.supports(key_gen)? && token.supports(algorithm.sign_mechanism())?)
}

/// One key pair on the token (handles only; the private key stays in the token).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct PeerKey {
    algorithm: PeerAlgorithm,
    private: ObjectHandle,
    public: ObjectHandle,
}

impl PeerKey {
    /// The key's algorithm.
    pub fn algorithm(&self) -> PeerAlgorithm {
        self.algorithm
    }

    /// The public key: for P-256 the SEC1 uncompressed point (65 bytes), for Ed25519 the
    /// 32-byte encoding (both taken out of the DER OCTET STRING in `CKA_EC_POINT`).
    pub fn public_key(&self, session: &Session) -> Result<Vec<u8>, Error> {
        let attributes = session
            .get_attributes(self.public, &[AttributeType::EcPoint])
            .map_err(|source| Error::Pkcs11 {
                op: "read public key",
                source,
            })?;
        let point = attributes
            .into_iter()
            .find_map(|a| match a {
                Attribute::EcPoint(point) => Some(point),
                _ => None,
            })
            .ok_or(Error::UnexpectedTokenOutput("no CKA_EC_POINT"))?;
        der_octet_string(&point)
            .map(<[u8]>::to_vec)
            .ok_or(Error::UnexpectedTokenOutput(
                "CKA_EC_POINT is not a DER OCTET STRING",
            ))
    }
}

/// Generates `count` key pairs of `algorithm` as token objects labelled
/// `<label_prefix>-<n>` (private key: private, sensitive, not extractable, sign only).
pub fn generate_keys(
    session: &Session,
    algorithm: PeerAlgorithm,
    count: usize,
    label_prefix: &str,
) -> Result<Vec<PeerKey>, Error> {
    if count > MAX_KEYS {
        return Err(Error::InvalidArgument("more than MAX_KEYS peer keys"));
    }
    if label_prefix.is_empty() || label_prefix.len() > 48 {
        return Err(Error::InvalidArgument("label prefix must be 1..=48 bytes"));
    }
    let (mechanism, _, key_type, params) = algorithm.key_gen();
    let mut keys = Vec::with_capacity(count);
    for n in 0..count {
        let label = format!("{label_prefix}-{n}").into_bytes();
        let public_template = [
            Attribute::Token(true),
            Attribute::Private(false),
            Attribute::Verify(true),
            Attribute::KeyType(key_type),
            Attribute::EcParams(params.to_vec()),
            Attribute::Label(label.clone()),
        ];
        let private_template = [
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Sign(true),
            Attribute::Class(ObjectClass::PRIVATE_KEY),
            Attribute::KeyType(key_type),
            Attribute::Label(label),
        ];
        let (public, private) = session
            .generate_key_pair(&mechanism, &public_template, &private_template)
            .map_err(|source| Error::Pkcs11 {
                op: "generate key pair",
                source,
            })?;
        keys.push(PeerKey {
            algorithm,
            private,
            public,
        });
    }
    Ok(keys)
}

/// Signs `digest` with one of `keys` chosen uniformly by `rng`; returns the index of the
/// key used and the signature.
pub fn sign_with_random_key(
    session: &Session,
    keys: &[PeerKey],
    digest: &[u8; 32],
    rng: &mut impl rand_core::Rng,
) -> Result<(usize, Vec<u8>), Error> {
    let len = u64::try_from(keys.len()).map_err(|_| Error::InvalidArgument("too many keys"))?;
    if len == 0 {
        return Err(Error::InvalidArgument("no peer keys to sign with"));
    }
    // Rejection sampling: no modulo bias.
    let zone = u64::MAX - u64::MAX % len;
    let pick = loop {
        let r = rng.next_u64();
        if r < zone {
            break r % len;
        }
    };
    let index = usize::try_from(pick).map_err(|_| Error::InvalidArgument("too many keys"))?;
    let key = keys[index];
    let mechanism = match key.algorithm {
        PeerAlgorithm::EcdsaP256 => Mechanism::Ecdsa,
        PeerAlgorithm::Ed25519 => Mechanism::Eddsa(EddsaParams::new(EddsaSignatureScheme::Pure)),
    };
    let signature = session
        .sign(&mechanism, key.private, digest)
        .map_err(|source| Error::Pkcs11 { op: "sign", source })?;
    Ok((index, signature))
}

/// The content of a DER OCTET STRING (short or long definite length).
fn der_octet_string(der: &[u8]) -> Option<&[u8]> {
    let (&tag, rest) = der.split_first()?;
    if tag != 0x04 {
        return None;
    }
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = match first {
        0..=0x7f => (usize::from(first), rest),
        0x81 => {
            let (&len, rest) = rest.split_first()?;
            (usize::from(len), rest)
        }
        0x82 => {
            let (len, rest) = rest.split_at_checked(2)?;
            (usize::from(u16::from_be_bytes([len[0], len[1]])), rest)
        }
        _ => return None,
    };
    (rest.len() == len).then_some(rest)
}

#[cfg(test)]
mod tests {
    use super::der_octet_string;

    #[test]
    fn der_octet_string_accepts_short_and_long_lengths_and_rejects_the_rest() {
        assert_eq!(der_octet_string(&[0x04, 0x02, 1, 2]), Some(&[1u8, 2][..]));
        let mut long = vec![0x04, 0x81, 65];
        long.extend([7u8; 65]);
        assert_eq!(der_octet_string(&long).map(<[u8]>::len), Some(65));
        assert_eq!(der_octet_string(&[0x04, 0x03, 1, 2]), None);
        assert_eq!(der_octet_string(&[0x03, 0x02, 1, 2]), None);
        assert_eq!(der_octet_string(&[]), None);
    }
}
