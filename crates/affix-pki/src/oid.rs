//! The object identifiers Affix uses that `const_oid::db` lacks: the Chinese commercial
//! cryptography algorithms (GM/T), ETSI's `organizationIdentifier`, and the identifiers
//! under Affix's own (placeholder) arc: certificate policies and the CMS signed
//! attributes that bind what a signer saw.
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
// Allocation: `.1` TSA policies; `.2` certificate policies; `.3` CMS signed attributes. Each identifier is
// declared here once.

/// Affix CMS signed attribute: the SHA-256 digest of the contract's document (the file
/// the signer was shown), as `OtherHashAlgAndValue` (RFC 5126 §5.8.1).
pub const AA_AFFIX_DOCUMENT_DIGEST: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.59999.3.1");

/// Affix CMS signed attribute: the SHA-256 digest of the signer's handwritten-signature
/// image (its canonical PNG bytes), as `OtherHashAlgAndValue` (RFC 5126 §5.8.1).
pub const AA_AFFIX_SIGNATURE_IMAGE_DIGEST: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.59999.3.2");

/// Certificate policy: a natural person whose e-mail address (or mobile number) the
/// platform verified by a one-time code; the name in the certificate is **asserted by
/// the signer**, not verified.
pub const CP_PERSON_CONTACT_VERIFIED_NAME_ASSERTED: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.59999.2.1.1");

/// Certificate policy: a natural person whose name and resident ID number a
/// verification provider confirmed (the provider is named in the evidence).
pub const CP_PERSON_ID_VERIFIED: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.59999.2.1.2");

/// Certificate policy: a natural person whose face a verification provider matched to
/// the ID record (the provider is named in the evidence).
pub const CP_PERSON_FACE_VERIFIED: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.59999.2.1.3");

/// Certificate policy: an organization whose unified social credit code is **asserted**
/// by the tenant that registered it, not confirmed by a registry.
pub const CP_ORGANIZATION_CREDIT_CODE_ASSERTED: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.59999.2.2.1");

/// Certificate policy: an organization whose credit code and name a business registry
/// provider confirmed.
pub const CP_ORGANIZATION_REGISTRY_CONFIRMED: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.59999.2.2.2");

/// Certificate policy: the key's use is authorized by an Ed25519 **device key** the
/// signer registered (an app integration or the `affix device` CLI).
pub const CP_CREDENTIAL_DEVICE_KEY: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.59999.2.3.1");

/// Certificate policy: the key's use is authorized by a **passkey** (WebAuthn) the
/// signer registered.
pub const CP_CREDENTIAL_PASSKEY: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.59999.2.3.2");

/// Certificate policy: the key's use is authorized by a non-extractable **browser-held**
/// WebCrypto P-256 key the signer created.
pub const CP_CREDENTIAL_BROWSER_KEY: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.59999.2.3.3");

/// Certificate policy: an organization seal whose use is authorized by a credential
/// the platform holds for the tenant (the organization's own key, not a person's).
pub const CP_CREDENTIAL_TENANT_HELD: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.59999.2.3.4");
