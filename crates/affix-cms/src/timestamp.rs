//! Signature time-stamp tokens (RFC 3161) carried as the CAdES-T unsigned attribute
//! `id-aa-signatureTimeStampToken` (RFC 3161 appendix A, RFC 5126 §6.1.1).
//!
//! A token is a CMS `SignedData` over a `TSTInfo`. This crate parses it with its one
//! `SignedData` parser, checks that it encapsulates an `id-ct-TSTInfo`, and carries it;
//! everything RFC 3161 says about the `TSTInfo` (its message imprint, `genTime`, the
//! TSA's certificate profile) is the business of a [`TimestampTokenVerifier`] —
//! `affix-tsp` implements it once, for its `TsaTrust`.

use std::time::SystemTime;

use const_oid::db::rfc3161::ID_CT_TST_INFO;

use super::{
    Error, TIMESTAMP_TOKEN_BYTES_MAX,
    signed_data::{Encoding, SignedDataParts},
};

/// Verifies RFC 3161 time-stamp tokens: the hook through which the time-stamp crate
/// plugs into [`verify_detached_timestamped`](super::verify_detached_timestamped).
pub trait TimestampTokenVerifier {
    /// The verifier's error type.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Fully verifies `token_der` (a DER `ContentInfo` holding `SignedData` over
    /// `TSTInfo`): the TSA's signature, the TSA certificate and its chain to the TSA
    /// trust anchors, and that the message imprint is the hash of `timestamped_data`.
    /// Returns the token's `genTime`.
    ///
    /// # Errors
    /// Whatever makes the token unacceptable.
    fn verify_timestamp_token(
        &self,
        token_der: &[u8],
        timestamped_data: &[u8],
    ) -> Result<SystemTime, Self::Error>;
}

/// A signature time-stamp token found in a `SignerInfo`: a well-formed CMS `SignedData`
/// encapsulating an `id-ct-TSTInfo`.
///
/// Nothing in it has been verified — not its signature, not its time, not that it
/// covers this signature value — until a [`TimestampTokenVerifier`] has accepted it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EmbeddedTimestamp {
    token_der: Vec<u8>,
}

impl EmbeddedTimestamp {
    /// Checks that `token_der` is a time-stamp token as CMS sees one.
    pub(super) fn from_token(token_der: &[u8]) -> Result<Self, Error> {
        let malformed = |reason| Error::TimestampMalformed { reason };
        let token = SignedDataParts::from_der(
            token_der,
            "time-stamp token",
            TIMESTAMP_TOKEN_BYTES_MAX,
            Encoding::Decodable,
        )
        .map_err(|error| match error {
            too_large @ Error::InputTooLarge { .. } => too_large,
            _ => malformed("not a CMS SignedData with one signer"),
        })?;
        if token.content_type() != ID_CT_TST_INFO {
            return Err(malformed("eContentType is not id-ct-TSTInfo"));
        }
        if token
            .encapsulated_content()
            .map_err(|_| malformed("eContent is not an OCTET STRING"))?
            .is_none()
        {
            return Err(malformed("eContent is absent"));
        }
        Ok(EmbeddedTimestamp {
            token_der: token_der.to_vec(),
        })
    }

    /// The token, DER `ContentInfo`, exactly as embedded.
    pub fn token_der(&self) -> &[u8] {
        &self.token_der
    }
}
