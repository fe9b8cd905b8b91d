//! Signer plumbing: what a CA's key handle must offer ([`CertificateSigner`]), and the
//! adapter that makes a raw SM2 signer sign to DER ([`Sm2DerSigner`]).

use der::asn1::BitString;
use signature::{Keypair, Signer};
use spki::{
    AlgorithmIdentifierOwned, DynSignatureAlgorithmIdentifier, EncodePublicKey,
    SignatureAlgorithmIdentifier, SignatureBitStringEncoding,
};

use crate::error::{Error, Result};

use crate::{algorithm::SM2_DEFAULT_DISTID, oid::SM2_WITH_SM3};

/// What this crate needs from a CA's (or OCSP responder's) key handle: it
/// signs with signature type `Sig`, reports its public key, and names its
/// signature algorithm.
///
/// This is the same set of bounds x509-cert's builder uses; it is blanket
/// implemented, so `p256::ecdsa::SigningKey` (with
/// `Sig = p256::ecdsa::DerSignature`), `ed25519_dalek::SigningKey` (with
/// `Sig = ed25519_dalek::Signature`), [`Sm2DerSigner`] (with
/// `Sig = sm2::dsa::DerSignature`) or an HSM handle all qualify.
pub trait CertificateSigner<Sig>:
    Signer<Sig> + Keypair<VerifyingKey: EncodePublicKey> + DynSignatureAlgorithmIdentifier
{
}

impl<T, Sig> CertificateSigner<Sig> for T where
    T: Signer<Sig> + Keypair<VerifyingKey: EncodePublicKey> + DynSignatureAlgorithmIdentifier
{
}

/// The signature algorithm identifier `signer` will sign with; it goes into
/// the to-be-signed structure before signing.
pub(crate) fn signature_algorithm<S: DynSignatureAlgorithmIdentifier + ?Sized>(
    signer: &S,
) -> Result<AlgorithmIdentifierOwned> {
    signer
        .signature_algorithm_identifier()
        .map_err(Error::PublicKeyEncoding)
}

/// Sign `message` with `signer` and return the signature as the BIT STRING
/// of a `signature` field.
pub(crate) fn sign_bits<S, Sig>(signer: &S, message: &[u8]) -> Result<BitString>
where
    S: Signer<Sig> + ?Sized,
    Sig: SignatureBitStringEncoding,
{
    signer
        .try_sign(message)
        .map_err(Error::Signing)?
        .to_bitstring()
        .map_err(Error::Encoding)
}

/// Adapts an SM2 signer that produces raw `r‖s` signatures
/// ([`sm2::dsa::Signature`], what `sm2::dsa::SigningKey` makes) into one that
/// produces DER `SEQUENCE { r, s }` ([`sm2::dsa::DerSignature`]), the form
/// OpenSSL, GmSSL and Tongsuo expect inside certificates, CRLs and OCSP
/// responses.
///
/// The wrapped handle must use the default distinguishing identifier
/// [`SM2_DEFAULT_DISTID`]; relying parties cannot learn any other.
#[derive(Debug, Clone)]
pub struct Sm2DerSigner<K> {
    inner: K,
}

impl<K> Sm2DerSigner<K>
where
    K: Signer<sm2::dsa::Signature> + Keypair<VerifyingKey = sm2::dsa::VerifyingKey>,
{
    /// Wrap an SM2 signer.
    ///
    /// # Errors
    /// [`Error::Sm2DistinguishingId`] if the key was not created with
    /// [`SM2_DEFAULT_DISTID`].
    pub fn new(inner: K) -> Result<Self> {
        if inner.verifying_key().distid() != SM2_DEFAULT_DISTID {
            return Err(Error::Sm2DistinguishingId);
        }
        Ok(Self { inner })
    }

    /// Give back the wrapped signer.
    pub fn into_inner(self) -> K {
        self.inner
    }
}

impl<K> Signer<sm2::dsa::DerSignature> for Sm2DerSigner<K>
where
    K: Signer<sm2::dsa::Signature>,
{
    fn try_sign(&self, message: &[u8]) -> signature::Result<sm2::dsa::DerSignature> {
        self.inner.try_sign(message).map(|raw| raw.to_der())
    }
}

impl<K: Keypair> Keypair for Sm2DerSigner<K> {
    type VerifyingKey = K::VerifyingKey;

    fn verifying_key(&self) -> Self::VerifyingKey {
        self.inner.verifying_key()
    }
}

impl<K> SignatureAlgorithmIdentifier for Sm2DerSigner<K> {
    type Params = der::asn1::AnyRef<'static>;

    const SIGNATURE_ALGORITHM_IDENTIFIER: spki::AlgorithmIdentifier<Self::Params> =
        spki::AlgorithmIdentifier {
            oid: SM2_WITH_SM3,
            parameters: None,
        };
}
