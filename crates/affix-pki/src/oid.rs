//! The object identifiers Affix uses that `const_oid::db` lacks: the Chinese commercial
//! cryptography algorithms (GM/T), ETSI's `organizationIdentifier`, and the identifiers
//! under Affix's own (placeholder) arc: the CMS signed attributes that bind what a
//! signer saw.
//!
//! Every other identifier comes from `const_oid::db` (RFC 5280, 5911, 5912, 3161, 6960,
//! 8410, …); do not declare it again. `affix-cms` and `affix-tsp` use these.

use const_oid::ObjectIdentifier;

/// SM3 hash algorithm (GM/T 0004-2012, GB/T 32905-2016).
pub const SM3: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.156.10197.1.401");

/// The SM2 elliptic curve (GB/T 35275, RFC 8998 §3.1): the `namedCurve` of an
/// `id-ecPublicKey` SM2 key.
pub const SM2_CURVE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.156.10197.1.301");

/// SM2-1 digital signature (GM/T 0006-2012), a signature algorithm some GM/T
/// implementations emit instead of [`SM2_WITH_SM3`].
pub const SM2_SIGN: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.156.10197.1.301.1");

/// `sm2sign-with-sm3` (GM/T 0006-2012, GB/T 35275, RFC 8998): the signature algorithm
/// Affix signs with for SM2 keys.
pub const SM2_WITH_SM3: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.156.10197.1.501");

/// X.520 `organizationIdentifier` (ETSI EN 319 412-1 §5.1.4), where an organization
/// certificate carries its unified social credit code.
pub const AT_ORGANIZATION_IDENTIFIER: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.97");

// ----- Affix's private arc -----------------------------------------------------------
//
// `1.3.6.1.4.1.59999` is a placeholder arc until Affix registers a private enterprise
// number (the TSA policy `…59999.1.1` of `affix_platform::authority` uses it too).
// Allocation: `.1` TSA policies; `.3` CMS signed attributes (below). Each identifier is
// declared here once.

/// Affix CMS signed attribute: the SHA-256 digest of the contract's document (the file
/// the signer was shown), as `OtherHashAlgAndValue` (RFC 5126 §5.8.1).
pub const AA_AFFIX_DOCUMENT_DIGEST: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.59999.3.1");

/// Affix CMS signed attribute: the SHA-256 digest of the signer's handwritten-signature
/// image (its canonical PNG bytes), as `OtherHashAlgAndValue` (RFC 5126 §5.8.1).
pub const AA_AFFIX_SIGNATURE_IMAGE_DIGEST: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.59999.3.2");
