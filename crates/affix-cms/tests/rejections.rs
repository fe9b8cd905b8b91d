//! Bad input and failed checks: each gives its specific error, and no input panics.

// Test code: failing loudly is the point.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use affix_cms::{
    DetachedSignature, DigestAlgorithm, Error, SIGNED_DATA_BYTES_MAX, TimestampTokenVerifier,
    ValidationTime, add_timestamp, sign_detached, verify_detached, verify_detached_timestamped,
};
use cms::{
    content_info::{CmsVersion, ContentInfo},
    signed_data::{
        CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo,
        SignerInfos,
    },
};
use der::{
    Any, Decode, Encode, Sequence, Tag,
    asn1::{ObjectIdentifier, OctetString, SetOfVec},
};
use spki::AlgorithmIdentifierOwned;
use support::{Pki, Role};
use x509_cert::{
    Certificate,
    ext::Extension,
    ext::pkix::{KeyUsages, SubjectKeyIdentifier},
};

const DOCUMENT: &[u8] = b"Loan agreement No. 2026-0002: the borrower repays monthly.";

fn sign(pki: &Pki, key: &p256::ecdsa::SigningKey, certificate: &Certificate) -> Vec<u8> {
    sign_detached::<_, p256::ecdsa::DerSignature>(DOCUMENT, key, certificate, &pki.chain(), pki.now)
        .unwrap()
}

fn verify(pki: &Pki, signature: &[u8]) -> Result<(), Error> {
    verify_detached(
        signature,
        DOCUMENT,
        std::slice::from_ref(&pki.root),
        pki.now,
    )
    .map(|_| ())
}

fn find(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
        .unwrap()
}

#[test]
fn garbage_empty_truncated_and_oversized_inputs_are_malformed() {
    let pki = Pki::new();
    let signature = sign(&pki, &pki.signer_key, &pki.signer);

    for input in [
        &b""[..],
        b"\x00",
        b"garbage, not DER",
        &[0x30, 0x84, 0xff, 0xff, 0xff, 0xff],
    ] {
        assert!(
            matches!(
                verify(&pki, input),
                Err(Error::Malformed {
                    what: "ContentInfo",
                    ..
                })
            ),
            "{input:?}"
        );
    }
    for length in [1, 2, 10, signature.len() / 2, signature.len() - 1] {
        assert!(
            matches!(
                verify(&pki, &signature[..length]),
                Err(Error::Malformed { .. })
            ),
            "truncated to {length}"
        );
    }
    let mut trailing = signature.clone();
    trailing.push(0);
    assert!(matches!(
        verify(&pki, &trailing),
        Err(Error::Malformed { .. })
    ));

    let oversized = vec![0u8; SIGNED_DATA_BYTES_MAX + 1];
    assert!(matches!(
        verify(&pki, &oversized),
        Err(Error::InputTooLarge { len, max: SIGNED_DATA_BYTES_MAX, .. }) if len == oversized.len()
    ));
}

#[test]
fn content_info_that_is_not_signed_data_is_refused() {
    let pki = Pki::new();
    let data = ContentInfo {
        content_type: ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.1"),
        content: Any::encode_from(&OctetString::new(DOCUMENT).unwrap()).unwrap(),
    }
    .to_der()
    .unwrap();
    assert!(matches!(
        verify(&pki, &data),
        Err(Error::NotSignedData { .. })
    ));
}

#[test]
fn non_canonical_der_is_refused() {
    let pki = Pki::new();
    let signature = sign(&pki, &pki.signer_key, &pki.signer);
    // Swap the first two certificates of the SET OF: same bytes, not DER order.
    let parsed = SignedData::from_der(
        ContentInfo::from_der(&signature)
            .unwrap()
            .content
            .to_der()
            .unwrap()
            .as_slice(),
    )
    .unwrap();
    let set = parsed.certificates.unwrap();
    let first = set.0.get(0).unwrap().to_der().unwrap();
    let second = set.0.get(1).unwrap().to_der().unwrap();
    let position = find(&signature, &first);
    assert_eq!(&signature[position + first.len()..][..second.len()], second);
    let mut unsorted = signature.clone();
    unsorted[position..position + second.len()].copy_from_slice(&second);
    unsorted[position + second.len()..position + first.len() + second.len()]
        .copy_from_slice(&first);
    assert!(matches!(
        verify(&pki, &unsorted),
        Err(Error::NonCanonicalEncoding { what: "SignedData" })
    ));
}

#[test]
fn unsigned_version_and_digest_algorithm_fields_are_pinned() {
    let pki = Pki::new();
    let signature = sign(&pki, &pki.signer_key, &pki.signer);
    // SignedData ::= SEQUENCE { version 1, digestAlgorithms SET { sha256 }, ... }
    let version_at = find(&signature, &[0x02, 0x01, 0x01, 0x31]) + 2;
    let mut tampered = signature.clone();
    tampered[version_at] = 3;
    assert!(matches!(
        verify(&pki, &tampered),
        Err(Error::VersionInvalid {
            what: "SignedData",
            version: 3
        })
    ));
    let sha256 = [
        0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01,
    ];
    let mut tampered = signature.clone();
    tampered[find(&signature, &sha256) + sha256.len() - 1] = 0x02; // SHA-384
    assert!(matches!(
        verify(&pki, &tampered),
        Err(Error::DigestAlgorithmNotListed { .. })
    ));
}

#[test]
fn wrong_content_fails_the_message_digest() {
    let pki = Pki::new();
    let signature = sign(&pki, &pki.signer_key, &pki.signer);
    assert!(matches!(
        verify_detached(
            &signature,
            b"Loan agreement No. 2026-0003",
            std::slice::from_ref(&pki.root),
            pki.now
        ),
        Err(Error::MessageDigestMismatch)
    ));
    assert!(matches!(
        verify_detached(&signature, b"", std::slice::from_ref(&pki.root), pki.now),
        Err(Error::MessageDigestMismatch)
    ));
}

#[test]
fn tampered_signature_value_or_signed_attribute_fails_the_signature() {
    let pki = Pki::new();
    let signature = sign(&pki, &pki.signer_key, &pki.signer);
    let value = DetachedSignature::from_der(&signature)
        .unwrap()
        .signature_value()
        .to_vec();
    // Byte 10 of the DER ECDSA-Sig-Value lies inside r.
    let position = find(&signature, &value) + 10;
    let mut tampered = signature.clone();
    tampered[position] ^= 0x01;
    assert!(matches!(
        verify(&pki, &tampered),
        Err(Error::SignatureInvalid)
    ));

    // Change the last digit of the seconds of the signing-time attribute (still a valid
    // UTCTime): the digest still matches, the signature no longer does.
    let signing_time_oid = [
        0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x05,
    ];
    let position = find(&signature, &signing_time_oid) + signing_time_oid.len();
    // 31 0f 17 0d YYMMDDhhmmss Z
    assert_eq!(&signature[position..position + 4], [0x31, 0x0f, 0x17, 0x0d]);
    let seconds_digit = position + 4 + 11;
    let mut tampered = signature.clone();
    tampered[seconds_digit] = if tampered[seconds_digit] == b'9' {
        b'8'
    } else {
        tampered[seconds_digit] + 1
    };
    assert!(matches!(
        verify(&pki, &tampered),
        Err(Error::SignatureInvalid)
    ));
}

#[test]
fn untrusted_root_is_refused() {
    let pki = Pki::new();
    let other = Pki::new();
    let signature = sign(&pki, &pki.signer_key, &pki.signer);
    // The chain is included, but ends at a root we do not trust.
    assert!(matches!(
        verify_detached(&signature, DOCUMENT, std::slice::from_ref(&other.root), pki.now),
        Err(Error::UntrustedChain { subject }) if subject == "CN=Affix Test Root CA,O=Affix Test"
    ));
    assert!(matches!(
        verify_detached(&signature, DOCUMENT, &[], pki.now),
        Err(Error::UntrustedChain { .. })
    ));
    // Same names, different keys: a lookalike root fails on the signature.
    let signature = sign_detached::<_, p256::ecdsa::DerSignature>(
        DOCUMENT,
        &pki.signer_key,
        &pki.signer,
        std::slice::from_ref(&pki.intermediate),
        pki.now,
    )
    .unwrap();
    assert!(matches!(
        verify_detached(
            &signature,
            DOCUMENT,
            std::slice::from_ref(&other.root),
            pki.now
        ),
        Err(Error::CertificateSignatureInvalid { .. })
    ));
}

#[test]
fn expired_and_not_yet_valid_certificates_are_refused() {
    let pki = Pki::new();
    let day = Duration::from_secs(86_400);
    // Outside the issuing CA's validity: the CA code would refuse to issue it.
    let key = support::p256_key();
    let expired = support::issue::<_, p256::ecdsa::DerSignature>(
        "CN=Expired Signer",
        &pki.intermediate,
        Role::signer(),
        support::spki_of(key.verifying_key()),
        (pki.now - 10 * day, pki.now - 5 * day),
        pki.intermediate_key(),
    );
    let signature = sign(&pki, &key, &expired);
    assert!(matches!(
        verify(&pki, &signature),
        Err(Error::CertificateExpired { subject, not_after })
            if subject == "CN=Expired Signer" && not_after == support::truncate(pki.now - 5 * day)
    ));
    // Seven days ago the signer was valid, but the hierarchy was not yet.
    assert!(matches!(
        verify_detached(&signature, DOCUMENT, std::slice::from_ref(&pki.root), pki.now - 7 * day),
        Err(Error::CertificateNotYetValid { subject, .. })
            if subject == "CN=Affix Test Signing CA,O=Affix Test"
    ));
    let signature = sign(&pki, &pki.signer_key, &pki.signer);
    assert!(matches!(
        verify_detached(
            &signature,
            DOCUMENT,
            std::slice::from_ref(&pki.root),
            pki.now - 3 * day
        ),
        Err(Error::CertificateNotYetValid { .. })
    ));
    assert!(matches!(
        verify_detached(
            &signature,
            DOCUMENT,
            std::slice::from_ref(&pki.root),
            pki.now + 2 * day
        ),
        Err(Error::CertificateExpired { .. })
    ));
}

#[test]
fn signing_with_a_key_that_is_not_the_certificates_is_refused() {
    let pki = Pki::new();
    let result = sign_detached::<_, p256::ecdsa::DerSignature>(
        DOCUMENT,
        &support::p256_key(),
        &pki.signer,
        &[],
        pki.now,
    );
    assert!(matches!(result, Err(Error::SignerKeyMismatch)));
    // Times before 1970 cannot be encoded.
    let result = sign_detached::<_, p256::ecdsa::DerSignature>(
        DOCUMENT,
        &pki.signer_key,
        &pki.signer,
        &[],
        UNIX_EPOCH - Duration::from_secs(1),
    );
    assert!(matches!(result, Err(Error::TimeOutOfRange)));
}

#[test]
fn certificate_constraints_are_enforced() {
    let pki = Pki::new();
    let validity = Pki::default_validity(pki.now);

    // Key usage without digitalSignature / nonRepudiation.
    let key = support::p256_key();
    let encipher_only = support::issue::<_, p256::ecdsa::DerSignature>(
        "CN=Encryption Only",
        &pki.intermediate,
        Role::Leaf(KeyUsages::KeyEncipherment.into()),
        support::spki_of(key.verifying_key()),
        validity,
        pki.intermediate_key(),
    );
    assert!(matches!(
        verify(&pki, &sign(&pki, &key, &encipher_only)),
        Err(Error::KeyUsageNotPermitted { .. })
    ));

    // A signer certificate issued by an end-entity certificate.
    let (leaf_key, leaf) = pki.p256_leaf("Not A CA", validity);
    let key = support::p256_key();
    let below_leaf = support::issue::<_, p256::ecdsa::DerSignature>(
        "CN=Below A Leaf",
        &leaf,
        Role::signer(),
        support::spki_of(key.verifying_key()),
        validity,
        &leaf_key,
    );
    let signature = sign_detached::<_, p256::ecdsa::DerSignature>(
        DOCUMENT,
        &key,
        &below_leaf,
        &[leaf, pki.intermediate.clone()],
        pki.now,
    )
    .unwrap();
    assert!(matches!(
        verify(&pki, &signature),
        Err(Error::NotCaCertificate { subject }) if subject == "CN=Not A CA"
    ));

    // The intermediate has pathLenConstraint 0: no CA may sit below it.
    let sub_ca_key = support::p256_key();
    let sub_ca = support::issue::<_, p256::ecdsa::DerSignature>(
        "CN=Sub CA",
        &pki.intermediate,
        Role::CA,
        support::spki_of(sub_ca_key.verifying_key()),
        validity,
        pki.intermediate_key(),
    );
    let key = support::p256_key();
    let below_sub_ca = support::issue::<_, p256::ecdsa::DerSignature>(
        "CN=Below Sub CA",
        &sub_ca,
        Role::signer(),
        support::spki_of(key.verifying_key()),
        validity,
        &sub_ca_key,
    );
    let signature = sign_detached::<_, p256::ecdsa::DerSignature>(
        DOCUMENT,
        &key,
        &below_sub_ca,
        &[sub_ca, pki.intermediate.clone()],
        pki.now,
    )
    .unwrap();
    assert!(matches!(
        verify(&pki, &signature),
        Err(Error::PathLengthExceeded { subject }) if subject == "CN=Affix Test Signing CA,O=Affix Test"
    ));

    // An unknown critical extension.
    let key = support::p256_key();
    let unknown = Extension {
        extn_id: ObjectIdentifier::new_unwrap("1.3.6.1.4.1.99999.42"),
        critical: true,
        extn_value: OctetString::new(vec![0x05, 0x00]).unwrap(),
    };
    let with_unknown = support::issue_custom::<_, p256::ecdsa::DerSignature>(
        "CN=Unknown Critical",
        &pki.intermediate,
        Role::signer(),
        support::spki_of(key.verifying_key()),
        validity,
        pki.intermediate_key(),
        &[0x42],
        vec![unknown],
    );
    assert!(matches!(
        verify(&pki, &sign(&pki, &key, &with_unknown)),
        Err(Error::UnsupportedCriticalExtension { oid, .. }) if oid.to_string() == "1.3.6.1.4.1.99999.42"
    ));
}

/// Replaces the certificates of a signature (re-encoding it canonically).
fn with_certificates(signature: &[u8], certificates: Vec<Certificate>) -> Vec<u8> {
    let content_info = ContentInfo::from_der(signature).unwrap();
    let mut signed_data = content_info.content.decode_as::<SignedData>().unwrap();
    signed_data.certificates = Some(
        CertificateSet::try_from(
            certificates
                .into_iter()
                .map(cms::cert::CertificateChoices::Certificate)
                .collect::<Vec<_>>(),
        )
        .unwrap(),
    );
    ContentInfo {
        content_type: content_info.content_type,
        content: Any::encode_from(&signed_data).unwrap(),
    }
    .to_der()
    .unwrap()
}

#[test]
fn substituted_signer_certificate_fails_the_ess_binding() {
    // Two certificates for the same key with the same issuer and serial number: the
    // issuerAndSerialNumber signer identifier (unsigned) cannot tell them apart, the
    // signing-certificate-v2 attribute (signed) can.
    let pki = Pki::new();
    let validity = Pki::default_validity(pki.now);
    let key = support::p256_key();
    let certificate = |common_name| {
        pki.intermediate_issuer
            .issue(
                &affix_pki::ca::Profile::Person(
                    affix_pki::ca::SubjectName::new(common_name).unwrap(),
                ),
                &affix_pki::ca::SubjectPublicKey::from_keypair(&key).unwrap(),
                x509_cert::serial_number::SerialNumber::new(&[0x01, 0x23, 0x45]).unwrap(),
                support::validity_period(validity),
            )
            .unwrap()
    };
    let genuine = certificate("Genuine Signer");
    let substitute = certificate("Substitute Signer");
    let signature = sign(&pki, &key, &genuine);
    verify(&pki, &signature).unwrap();
    let substituted = with_certificates(
        &signature,
        vec![substitute, pki.intermediate.clone(), pki.root.clone()],
    );
    assert!(matches!(
        verify(&pki, &substituted),
        Err(Error::SigningCertificateMismatch)
    ));
    // Both in the set: the signer identifier is ambiguous.
    let both = with_certificates(
        &signature,
        vec![
            genuine.clone(),
            certificate("CN=Substitute Signer"),
            pki.intermediate.clone(),
        ],
    );
    assert!(matches!(
        verify(&pki, &both),
        Err(Error::SignerCertificateAmbiguous)
    ));
}

#[test]
fn two_signer_infos_are_refused() {
    let pki = Pki::new();
    let first = sign(&pki, &pki.signer_key, &pki.signer);
    let second = sign_detached::<_, p256::ecdsa::DerSignature>(
        DOCUMENT,
        &pki.signer_key,
        &pki.signer,
        &pki.chain(),
        pki.now + Duration::from_secs(1),
    )
    .unwrap();
    let decode = |bytes: &[u8]| {
        ContentInfo::from_der(bytes)
            .unwrap()
            .content
            .decode_as::<SignedData>()
            .unwrap()
    };
    let mut signed_data = decode(&first);
    let mut signer_infos = signed_data.signer_infos.0.into_vec();
    signer_infos.extend(decode(&second).signer_infos.0.into_vec());
    signed_data.signer_infos = SignerInfos::try_from(signer_infos).unwrap();
    let both = ContentInfo {
        content_type: ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2"),
        content: Any::encode_from(&signed_data).unwrap(),
    }
    .to_der()
    .unwrap();
    assert!(matches!(
        verify(&pki, &both),
        Err(Error::SignerInfoCount { count: 2 })
    ));
}

/// `TSTInfo` with just the fields we parse, for tokens whose signature nobody checks.
#[derive(Sequence)]
struct FakeTstInfo {
    version: u8,
    policy: ObjectIdentifier,
    message_imprint: FakeMessageImprint,
    serial_number: u32,
    gen_time: Any,
}

#[derive(Sequence)]
struct FakeMessageImprint {
    hash_algorithm: AlgorithmIdentifierOwned,
    hashed_message: OctetString,
}

/// A token-shaped `ContentInfo(SignedData(TSTInfo))` whose one SignerInfo has a
/// signature nobody checks, claiming `gen_time` with a half second fraction.
fn fake_token(signature_value: &[u8], gen_time: SystemTime) -> Vec<u8> {
    let date = der::DateTime::from_system_time(support::truncate(gen_time)).unwrap();
    let text = format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}.5Z",
        date.year(),
        date.month(),
        date.day(),
        date.hour(),
        date.minutes(),
        date.seconds()
    );
    let tst_info = FakeTstInfo {
        version: 1,
        policy: ObjectIdentifier::new_unwrap("1.3.6.1.4.1.99999.1"),
        message_imprint: FakeMessageImprint {
            hash_algorithm: AlgorithmIdentifierOwned {
                oid: ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1"),
                parameters: None,
            },
            hashed_message: OctetString::new(DigestAlgorithm::Sha256.digest(signature_value))
                .unwrap(),
        },
        serial_number: 7,
        gen_time: Any::new(Tag::GeneralizedTime, text.into_bytes()).unwrap(),
    };
    let sha256 = DigestAlgorithm::Sha256.algorithm_identifier();
    let signer_info = SignerInfo {
        version: CmsVersion::V3,
        sid: SignerIdentifier::SubjectKeyIdentifier(SubjectKeyIdentifier(
            OctetString::new([7u8; 20]).unwrap(),
        )),
        digest_alg: sha256.clone(),
        signed_attrs: None,
        signature_algorithm: AlgorithmIdentifierOwned {
            oid: ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2"),
            parameters: None,
        },
        signature: OctetString::new([0u8; 8]).unwrap(),
        unsigned_attrs: None,
    };
    let signed_data = SignedData {
        version: CmsVersion::V3,
        digest_algorithms: SetOfVec::try_from(vec![sha256]).unwrap(),
        encap_content_info: EncapsulatedContentInfo {
            econtent_type: ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.4"),
            econtent: Some(Any::new(Tag::OctetString, tst_info.to_der().unwrap()).unwrap()),
        },
        certificates: None,
        crls: None,
        signer_infos: SignerInfos::try_from(vec![signer_info]).unwrap(),
    };
    ContentInfo {
        content_type: ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2"),
        content: Any::encode_from(&signed_data).unwrap(),
    }
    .to_der()
    .unwrap()
}

/// A time-stamp verifier that answers as told, for testing the plumbing.
struct ScriptedTsa(Result<SystemTime, &'static str>);

#[derive(Debug)]
struct ScriptedTsaError(&'static str);

impl std::fmt::Display for ScriptedTsaError {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.0)
    }
}

impl std::error::Error for ScriptedTsaError {}

impl TimestampTokenVerifier for ScriptedTsa {
    type Error = ScriptedTsaError;

    fn verify_timestamp_token(&self, _: &[u8], _: &[u8]) -> Result<SystemTime, ScriptedTsaError> {
        self.0.map_err(ScriptedTsaError)
    }
}

#[test]
fn expired_signer_is_accepted_at_a_verified_timestamp_time_only() {
    let pki = Pki::new();
    let day = Duration::from_secs(86_400);
    let (key, certificate) = pki.p256_leaf(
        "Signer Since Expired",
        (pki.now - day / 2, pki.now - day / 4),
    );
    let signing_time = pki.now - day / 3;
    let signature = sign_detached::<_, p256::ecdsa::DerSignature>(
        DOCUMENT,
        &key,
        &certificate,
        &pki.chain(),
        signing_time,
    )
    .unwrap();
    let value = DetachedSignature::from_der(&signature)
        .unwrap()
        .signature_value()
        .to_vec();
    let gen_time = signing_time + Duration::from_secs(2);
    let timestamped = add_timestamp(&signature, &fake_token(&value, gen_time)).unwrap();
    let trust = [pki.root.clone()];

    // At `now` the signer certificate has expired.
    assert!(matches!(
        verify_detached(&timestamped, DOCUMENT, &trust, pki.now),
        Err(Error::CertificateExpired { .. })
    ));
    // At the genTime a (here: scripted) TSA verifier vouches for, it was valid.
    let verified_gen_time = support::truncate(gen_time) + Duration::from_millis(500);
    let verified = verify_detached_timestamped(
        &timestamped,
        DOCUMENT,
        &trust,
        &ScriptedTsa(Ok(verified_gen_time)),
    )
    .unwrap();
    assert_eq!(
        verified.validation_time(),
        ValidationTime::SignatureTimestamp(verified_gen_time)
    );
    assert_eq!(
        verified.timestamp().unwrap().token_der(),
        fake_token(&value, gen_time)
    );
    // The verifier must accept the token.
    assert!(matches!(
        verify_detached_timestamped(&timestamped, DOCUMENT, &trust, &ScriptedTsa(Err("bad TSA"))),
        Err(Error::TimestampRejected { source }) if source.to_string() == "bad TSA"
    ));
}

#[test]
fn malformed_timestamp_tokens_are_refused() {
    let pki = Pki::new();
    let signature = sign(&pki, &pki.signer_key, &pki.signer);
    for token in [&b""[..], b"\x30\x00", b"not a token"] {
        assert!(
            matches!(
                add_timestamp(&signature, token),
                Err(Error::TimestampMalformed { .. })
            ),
            "{token:?}"
        );
    }
    // A well-formed token with a trailing byte is not a single DER value.
    let value = DetachedSignature::from_der(&signature)
        .unwrap()
        .signature_value()
        .to_vec();
    let mut token = fake_token(&value, pki.now);
    token.push(0);
    assert!(matches!(
        add_timestamp(&signature, &token),
        Err(Error::TimestampMalformed { .. })
    ));
}

/// xorshift64*: deterministic mutations without a dependency.
struct Mutations(u64);

impl Mutations {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, bound: usize) -> usize {
        usize::try_from(self.next() % bound as u64).unwrap()
    }
}

#[test]
fn mutated_signatures_never_panic_and_only_unverified_bytes_may_change() {
    let pki = Pki::new();
    let signature = sign(&pki, &pki.signer_key, &pki.signer);
    let value = DetachedSignature::from_der(&signature)
        .unwrap()
        .signature_value()
        .to_vec();
    let token = fake_token(&value, pki.now);
    let timestamped = add_timestamp(&signature, &token).unwrap();
    let trust = [pki.root.clone()];
    // Bytes no check depends on: the carried copy of the root (the trust list's copy is
    // used) and the unsigned attributes after the signature value (a token whose
    // attribute type is mutated is no longer a token; the token's own fields are the TSA
    // module's business).
    let root_der = pki.root.to_der().unwrap();
    let root_at = find(&timestamped, &root_der);
    let unsigned_at = find(&timestamped, &value) + value.len();
    let unverified = |position: usize| {
        (root_at..root_at + root_der.len()).contains(&position) || position >= unsigned_at
    };
    let mut mutations = Mutations(0x0123_4567_89ab_cdef);
    let mut accepted_unverified = 0;
    const ROUNDS: usize = 1500;
    for round in 0..ROUNDS {
        let mut input = timestamped.clone();
        let mut position = None;
        match round % 3 {
            0 => {
                let at = mutations.below(input.len());
                input[at] ^= 1 << mutations.below(8);
                position = Some(at);
            }
            1 => {
                let at = mutations.below(input.len());
                input[at] = mutations.next().to_le_bytes()[0];
                position = Some(at);
            }
            _ => input.truncate(mutations.below(input.len())),
        }
        if input != timestamped && verify_detached(&input, DOCUMENT, &trust, pki.now).is_ok() {
            let position = position.expect("a truncated signature verified");
            assert!(
                unverified(position),
                "mutation at {position} still verifies"
            );
            accepted_unverified += 1;
        }
        let _ = add_timestamp(&input, &timestamped);
        if let Ok(parsed) = DetachedSignature::from_der(&input) {
            let _ = parsed.embedded_timestamp();
        }
    }
    println!(
        "mutations still verifying (all in unverified bytes): {accepted_unverified} of {ROUNDS}"
    );
}
