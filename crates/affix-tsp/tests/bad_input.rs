//! Hostile and broken input: bad requests get the right error and
//! `PKIFailureInfo`, tampered tokens fail verification, and nothing panics.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::str::FromStr;
use std::time::Duration;

use affix_cms::Error as CmsError;
use affix_tsp::{
    Accuracy, DigestAlgorithm, Error, ExpectedImprint, FailureInfo, GenTime, MessageImprint, Nonce,
    REQUEST_BYTES_MAX, Response, TimeStampAuthority, TimeStampReq, TimeStampRequest,
    TimeStampResponse, TokenSerial, TsaConfig, TsaTrust, verify_response, verify_token,
};
use common::*;
use const_oid::ObjectIdentifier;
use der::asn1::{Int, OctetString};
use der::{Any, Decode, Encode};
use p256::ecdsa::{DerSignature, SigningKey};
use spki::AlgorithmIdentifierOwned;
use x509_cert::Certificate;
use x509_cert::ext::Extension;

const DATA: &[u8] = b"contract body";

struct Fixture {
    root: Certificate,
    tsa: TimeStampAuthority<SigningKey, DerSignature>,
}

fn fixture() -> Fixture {
    let root_key = p256_key("root");
    let root = root_certificate::<_, DerSignature>(&root_key, ROOT_SUBJECT);
    let tsa_key = p256_key("tsa");
    let certificate =
        tsa_certificate::<_, DerSignature>(public_key_of(&tsa_key), &root, &root_key, 2);
    let tsa = TimeStampAuthority::new(
        tsa_key,
        certificate,
        vec![],
        TsaConfig::new(ObjectIdentifier::new_unwrap(POLICY)),
    )
    .unwrap();
    Fixture { root, tsa }
}

/// A well-formed request as a wire struct, to be spoiled by each test.
fn request_struct() -> TimeStampReq {
    TimeStampReq {
        version: 1,
        message_imprint: MessageImprint {
            hash_algorithm: DigestAlgorithm::Sha256.algorithm_identifier(),
            hashed_message: OctetString::new(DigestAlgorithm::Sha256.digest(DATA)).unwrap(),
        },
        req_policy: None,
        nonce: Some(Int::new(&[0x01, 0x02, 0x03]).unwrap()),
        cert_req: true,
        extensions: None,
    }
}

/// Requires that `der` is refused by `parse` with an error matching
/// `expected`, and answered with a rejection carrying `failure`.
fn assert_refused(der: &[u8], failure: FailureInfo, expected: impl Fn(&Error) -> bool) {
    let error = TimeStampRequest::parse(der).unwrap_err();
    assert!(expected(&error), "unexpected error {error:?}");
    assert_eq!(error.failure_info(), failure);

    let fixture = fixture();
    let response = fixture
        .tsa
        .respond(der, &TokenSerial::from_u64(1), now())
        .unwrap();
    let Response::Rejected { der, reason } = response else {
        panic!("not rejected: {response:?}");
    };
    assert_eq!(reason.failure_info(), failure);
    let parsed = TimeStampResponse::parse(&der).unwrap();
    assert_eq!(parsed.failure_info(), [failure]);
    assert!(matches!(
        verify_response(
            &der,
            TsaTrust::Pinned(fixture.tsa.certificate()),
            ExpectedImprint::Data(DATA),
            None
        ),
        Err(Error::Rejected { .. })
    ));
}

#[test]
fn garbage_is_malformed_and_bad_data_format() {
    let mut trailing = request_struct().to_der().unwrap();
    trailing.push(0);
    for input in [
        &[][..],
        b"GET / HTTP/1.1\r\n",
        &[0x30, 0x03, 0x02, 0x01],
        &[0x30, 0x80, 0x00, 0x00], // BER indefinite length
        &[0x30, 0x84, 0xff, 0xff, 0xff, 0xff],
        &trailing,
    ] {
        assert_refused(input, FailureInfo::BadDataFormat, |e| {
            matches!(
                e,
                Error::Malformed {
                    what: "TimeStampReq",
                    ..
                }
            )
        });
    }
}

#[test]
fn wrong_version_is_bad_request() {
    let request = TimeStampReq {
        version: 2,
        ..request_struct()
    };
    assert_refused(&request.to_der().unwrap(), FailureInfo::BadRequest, |e| {
        matches!(e, Error::UnsupportedVersion { version: 2, .. })
    });
}

#[test]
fn unsupported_hash_is_bad_alg() {
    let sha1 = ObjectIdentifier::new_unwrap("1.3.14.3.2.26");
    let mut request = request_struct();
    request.message_imprint = MessageImprint {
        hash_algorithm: AlgorithmIdentifierOwned {
            oid: sha1,
            parameters: None,
        },
        hashed_message: OctetString::new([0u8; 20]).unwrap(),
    };
    assert_refused(
        &request.to_der().unwrap(),
        FailureInfo::BadAlg,
        |e| matches!(e, Error::UnsupportedHashAlgorithm { oid } if *oid == sha1),
    );

    // SHA-256 with parameters other than NULL.
    let mut request = request_struct();
    request.message_imprint.hash_algorithm.parameters = Some(Any::encode_from(&sha1).unwrap());
    assert_refused(&request.to_der().unwrap(), FailureInfo::BadAlg, |e| {
        matches!(e, Error::HashParametersNotAllowed { .. })
    });

    // NULL parameters, as OpenSSL sends, are fine.
    let mut request = request_struct();
    request.message_imprint.hash_algorithm.parameters = Some(Any::null());
    TimeStampRequest::parse(&request.to_der().unwrap()).unwrap();
}

#[test]
fn imprint_length_mismatch_is_bad_data_format() {
    let mut request = request_struct();
    request.message_imprint.hashed_message = OctetString::new([7u8; 31]).unwrap();
    assert_refused(
        &request.to_der().unwrap(),
        FailureInfo::BadDataFormat,
        |e| {
            matches!(
                e,
                Error::ImprintLengthMismatch {
                    algorithm: DigestAlgorithm::Sha256,
                    actual_bytes: 31,
                    expected_bytes: 32,
                }
            )
        },
    );
    assert!(TimeStampRequest::new(DigestAlgorithm::Sha512, &[0u8; 32]).is_err());
}

#[test]
fn oversized_request_is_refused_before_decoding() {
    // A syntactically valid request, padded with a huge extension.
    let mut request = request_struct();
    request.extensions = Some(vec![Extension {
        extn_id: ObjectIdentifier::new_unwrap("1.2.3.4"),
        critical: false,
        extn_value: OctetString::new(vec![0u8; REQUEST_BYTES_MAX]).unwrap(),
    }]);
    let der = request.to_der().unwrap();
    assert!(der.len() > REQUEST_BYTES_MAX);
    assert_refused(
        &der,
        FailureInfo::BadDataFormat,
        |e| matches!(e, Error::TooLarge { what: "TimeStampReq", limit_bytes, .. } if *limit_bytes == REQUEST_BYTES_MAX),
    );
}

#[test]
fn oversized_nonce_is_bad_data_format() {
    let mut request = request_struct();
    request.nonce = Some(Int::new(&[0x11; 65]).unwrap());
    assert_refused(
        &request.to_der().unwrap(),
        FailureInfo::BadDataFormat,
        |e| {
            matches!(
                e,
                Error::NonceTooLarge {
                    actual_bytes: 65,
                    ..
                }
            )
        },
    );
}

#[test]
fn request_extensions_are_unaccepted() {
    let mut request = request_struct();
    request.extensions = Some(vec![Extension {
        extn_id: ObjectIdentifier::new_unwrap("1.2.3.4"),
        critical: false,
        extn_value: OctetString::new([5u8; 2]).unwrap(),
    }]);
    assert_refused(
        &request.to_der().unwrap(),
        FailureInfo::UnacceptedExtension,
        |e| matches!(e, Error::UnsupportedExtension { .. }),
    );
}

#[test]
fn unaccepted_policy_is_rejected() {
    let fixture = fixture();
    let policy = ObjectIdentifier::new_unwrap("1.2.3.4.5");
    let request = TimeStampRequest::new(
        DigestAlgorithm::Sha256,
        &DigestAlgorithm::Sha256.digest(DATA),
    )
    .unwrap()
    .with_policy(policy);
    let serial = TokenSerial::from_u64(1);
    assert!(matches!(
        fixture.tsa.issue(&request, &serial, now()),
        Err(Error::UnacceptedPolicy { policy: p }) if p == policy
    ));
    let response = fixture
        .tsa
        .respond(&request.to_der().unwrap(), &serial, now())
        .unwrap();
    let Response::Rejected { der, reason } = response else {
        panic!("not rejected");
    };
    assert!(matches!(reason, Error::UnacceptedPolicy { .. }));
    assert_eq!(
        TimeStampResponse::parse(&der).unwrap().failure_info(),
        [FailureInfo::UnacceptedPolicy]
    );
}

/// A valid token with certificate and nonce, and its request.
fn token(fixture: &Fixture) -> (Vec<u8>, TimeStampRequest) {
    let request = TimeStampRequest::new(
        DigestAlgorithm::Sha256,
        &DigestAlgorithm::Sha256.digest(DATA),
    )
    .unwrap()
    .with_nonce(Nonce::from_u64(42))
    .with_certificate_requested(true);
    let token = fixture
        .tsa
        .issue_token(&request, &TokenSerial::from_u64(7), now())
        .unwrap();
    (token, request)
}

fn verify(fixture: &Fixture, token: &[u8]) -> Result<(), Error> {
    verify_token(
        token,
        TsaTrust::IssuedBy(std::slice::from_ref(&fixture.root)),
        ExpectedImprint::Data(DATA),
        Some(&Nonce::from_u64(42)),
    )
    .map(|_| ())
}

/// Decodes the token, lets `edit` change the `SignedData`, re-encodes.
fn edit_token(token: &[u8], edit: impl FnOnce(&mut cms::signed_data::SignedData)) -> Vec<u8> {
    let mut content_info = cms::content_info::ContentInfo::from_der(token).unwrap();
    let mut signed_data: cms::signed_data::SignedData = content_info.content.decode_as().unwrap();
    edit(&mut signed_data);
    content_info.content = Any::encode_from(&signed_data).unwrap();
    content_info.to_der().unwrap()
}

#[test]
fn tampered_tokens_fail_verification() {
    let fixture = fixture();
    let (token, _) = token(&fixture);
    verify(&fixture, &token).unwrap();

    // Re-encoding an untouched token reproduces it: the edits below change
    // only what they mean to.
    assert_eq!(edit_token(&token, |_| {}), token);

    // Another serial number in the TSTInfo.
    let changed_serial = edit_token(&token, |signed_data| {
        let econtent = signed_data.encap_content_info.econtent.as_mut().unwrap();
        let octets: OctetString = econtent.decode_as().unwrap();
        let mut tst_info = affix_tsp::TstInfo::from_der(octets.as_bytes()).unwrap();
        tst_info.serial_number = Int::new(&[8]).unwrap();
        *econtent = Any::new(der::Tag::OctetString, tst_info.to_der().unwrap()).unwrap();
    });
    assert!(matches!(
        verify(&fixture, &changed_serial),
        Err(Error::SignedData(CmsError::MessageDigestMismatch))
    ));

    // The same, with the message-digest attribute recomputed: now the
    // signature is what fails.
    let recomputed = edit_token(&changed_serial, |signed_data| {
        let octets: OctetString = signed_data
            .encap_content_info
            .econtent
            .as_ref()
            .unwrap()
            .decode_as()
            .unwrap();
        let digest = DigestAlgorithm::Sha256.digest(octets.as_bytes());
        let mut signer = signed_data.signer_infos.0.get(0).unwrap().clone();
        let attributes: Vec<_> = signer
            .signed_attrs
            .unwrap()
            .into_vec()
            .into_iter()
            .map(|mut attribute| {
                if attribute.oid == const_oid::db::rfc5911::ID_MESSAGE_DIGEST {
                    attribute.values = der::asn1::SetOfVec::try_from(vec![
                        Any::new(der::Tag::OctetString, digest.clone()).unwrap(),
                    ])
                    .unwrap();
                }
                attribute
            })
            .collect();
        signer.signed_attrs = Some(der::asn1::SetOfVec::try_from(attributes).unwrap());
        signed_data.signer_infos = cms::signed_data::SignerInfos::try_from(vec![signer]).unwrap();
    });
    assert!(matches!(
        verify(&fixture, &recomputed),
        Err(Error::SignedData(CmsError::SignatureInvalid))
    ));

    // A flipped bit in the signature value.
    let flipped = edit_token(&token, |signed_data| {
        let mut signer = signed_data.signer_infos.0.get(0).unwrap().clone();
        let mut signature = signer.signature.as_bytes().to_vec();
        let last = signature.len() - 1;
        signature[last] ^= 1;
        signer.signature = OctetString::new(signature).unwrap();
        signed_data.signer_infos = cms::signed_data::SignerInfos::try_from(vec![signer]).unwrap();
    });
    assert!(matches!(
        verify(&fixture, &flipped),
        Err(Error::SignedData(CmsError::SignatureInvalid))
    ));

    // Wrong data, wrong nonce.
    let trust = TsaTrust::IssuedBy(std::slice::from_ref(&fixture.root));
    assert!(matches!(
        verify_token(&token, trust, ExpectedImprint::Data(b"other"), None),
        Err(Error::ImprintMismatch)
    ));
    assert!(matches!(
        verify_token(
            &token,
            trust,
            ExpectedImprint::Digest {
                algorithm: DigestAlgorithm::Sha512,
                digest: &DigestAlgorithm::Sha512.digest(DATA)
            },
            None
        ),
        Err(Error::ImprintMismatch)
    ));
    assert!(matches!(
        verify_token(
            &token,
            trust,
            ExpectedImprint::Data(DATA),
            Some(&Nonce::from_u64(43))
        ),
        Err(Error::NonceMismatch)
    ));
}

#[test]
fn tokens_fail_against_the_wrong_trust() {
    let fixture = fixture();
    let (token, _) = token(&fixture);
    let imprint = ExpectedImprint::Data(DATA);

    // Pinned to a different TSA certificate.
    let other_key = p256_key("other tsa");
    let other_certificate = tsa_certificate::<_, DerSignature>(
        public_key_of(&other_key),
        &fixture.root,
        &p256_key("root"),
        99,
    );
    assert!(matches!(
        verify_token(&token, TsaTrust::Pinned(&other_certificate), imprint, None),
        Err(Error::SignerMismatch)
    ));

    // A root with another name.
    let stranger_key = p256_key("stranger");
    let stranger =
        root_certificate::<_, DerSignature>(&stranger_key, "CN=Stranger Root,O=Elsewhere,C=FR");
    assert!(matches!(
        verify_token(
            &token,
            TsaTrust::IssuedBy(std::slice::from_ref(&stranger)),
            imprint,
            None
        ),
        Err(Error::SignedData(CmsError::UntrustedChain { .. }))
    ));

    // A root with the right name but another key.
    let impostor = root_certificate::<_, DerSignature>(&stranger_key, ROOT_SUBJECT);
    assert!(matches!(
        verify_token(
            &token,
            TsaTrust::IssuedBy(std::slice::from_ref(&impostor)),
            imprint,
            None
        ),
        Err(Error::SignedData(
            CmsError::CertificateSignatureInvalid { .. }
        ))
    ));

    // The TSA refuses to date a token after its certificate expires (the
    // verifier's side of this is checked against OpenSSL-issued tokens in
    // `openssl_interop`).
    let request = TimeStampRequest::new(
        DigestAlgorithm::Sha256,
        &DigestAlgorithm::Sha256.digest(DATA),
    )
    .unwrap();
    let year_2060 = GenTime::from_unix_duration(Duration::from_secs(2_840_140_800)).unwrap();
    assert!(matches!(
        fixture
            .tsa
            .issue(&request, &TokenSerial::from_u64(9), year_2060),
        Err(Error::CertificateNotValidAtGenTime { which: "TSA" })
    ));
    assert!(matches!(
        fixture.tsa.respond(
            &request.to_der().unwrap(),
            &TokenSerial::from_u64(9),
            year_2060
        ),
        Err(Error::CertificateNotValidAtGenTime { which: "TSA" })
    ));
}

#[test]
fn tsa_refuses_misconfiguration() {
    let root_key = p256_key("root");
    let root = root_certificate::<_, DerSignature>(&root_key, ROOT_SUBJECT);
    let tsa_key = p256_key("tsa");
    let certificate =
        tsa_certificate::<_, DerSignature>(public_key_of(&tsa_key), &root, &root_key, 2);
    let config = TsaConfig::new(ObjectIdentifier::new_unwrap(POLICY));

    // Key and certificate do not match.
    assert!(matches!(
        TimeStampAuthority::<_, DerSignature>::new(
            p256_key("not the tsa"),
            certificate.clone(),
            vec![],
            config.clone()
        ),
        Err(Error::SignerKeyMismatch)
    ));
    // A CA certificate is not a TSA certificate (no timeStamping EKU).
    assert!(matches!(
        TimeStampAuthority::<_, DerSignature>::new(root_key, root, vec![], config.clone()),
        Err(Error::CertificateProfile { .. })
    ));
    // Accuracy fields are 1..=999.
    assert!(matches!(
        config.clone().with_accuracy(Accuracy {
            seconds: None,
            millis: Some(1000),
            micros: None
        }),
        Err(Error::InvalidAccuracy)
    ));
    assert!(matches!(
        config.with_accuracy(Accuracy {
            seconds: Some(1),
            millis: None,
            micros: Some(0)
        }),
        Err(Error::InvalidAccuracy)
    ));
}

/// Every prefix and many one-byte corruptions of a request, a response and
/// a token: parsing and verifying return errors, never panic, and never
/// accept a corrupted token.
#[test]
fn truncated_and_corrupted_input_never_panics() {
    let fixture = fixture();
    let (token, request) = token(&fixture);
    let request_der = request.to_der().unwrap();
    let response = fixture
        .tsa
        .issue(&request, &TokenSerial::from_u64(7), now())
        .unwrap();
    let trust = TsaTrust::IssuedBy(std::slice::from_ref(&fixture.root));
    let check_token =
        |bytes: &[u8]| verify_token(bytes, trust, ExpectedImprint::Data(DATA), request.nonce());

    for end in 0..token.len() {
        assert!(check_token(&token[..end]).is_err());
        assert!(TimeStampResponse::parse(&response[..end.min(response.len() - 1)]).is_err());
    }
    for end in 0..request_der.len() {
        let _ = TimeStampRequest::parse(&request_der[..end]);
    }

    let mut accepted = 0;
    for position in 0..token.len() {
        for mask in [0x01, 0x80, 0xff] {
            let mut corrupted = token.clone();
            corrupted[position] ^= mask;
            if check_token(&corrupted).is_ok() {
                println!("accepted a corruption at byte {position} (xor {mask:#04x})");
                accepted += 1;
            }
        }
    }
    // Every byte is covered: by the signature, by signing-certificate-v2
    // (the certificate set) or by a CMS rule the verifier enforces (the
    // version numbers and the digest algorithm list).
    assert_eq!(accepted, 0);

    for position in 0..request_der.len() {
        for mask in [0x01, 0x80, 0xff] {
            let mut corrupted = request_der.clone();
            corrupted[position] ^= mask;
            let _ = TimeStampRequest::parse(&corrupted);
            let _ = fixture
                .tsa
                .respond(&corrupted, &TokenSerial::from_u64(1), now());
        }
    }
}

#[test]
fn serial_numbers_and_nonces_round_trip_through_tokens() {
    let fixture = fixture();
    let big_serial = TokenSerial::from_unsigned_be_bytes(&[0xfe; 20]).unwrap();
    let big_nonce = Nonce::from_unsigned_be_bytes(&[0x80; 32]).unwrap();
    let request = TimeStampRequest::new(
        DigestAlgorithm::Sha256,
        &DigestAlgorithm::Sha256.digest(DATA),
    )
    .unwrap()
    .with_nonce(big_nonce.clone());
    let response = fixture.tsa.issue(&request, &big_serial, now()).unwrap();
    let verified = verify_response(
        &response,
        TsaTrust::Pinned(fixture.tsa.certificate()),
        ExpectedImprint::Data(DATA),
        Some(&big_nonce),
    )
    .unwrap();
    assert_eq!(verified.serial(), &big_serial);
    assert_eq!(verified.nonce(), Some(&big_nonce));
    assert_eq!(
        verified.tsa_name(),
        None,
        "the default config leaves the tsa field out"
    );
    // Issued times are cut to milliseconds.
    let gen_time = GenTime::from_unix_duration(Duration::new(1_800_000_000, 123_456_789)).unwrap();
    let response = fixture
        .tsa
        .issue(&request, &TokenSerial::from_u64(2), gen_time)
        .unwrap();
    let verified = verify_response(
        &response,
        TsaTrust::Pinned(fixture.tsa.certificate()),
        ExpectedImprint::Data(DATA),
        None,
    )
    .unwrap();
    assert_eq!(
        verified.gen_time().unix_duration(),
        Duration::new(1_800_000_000, 123_000_000)
    );
    let _ = x509_cert::name::Name::from_str(TSA_SUBJECT).unwrap();
}
