//! Provider interfaces: object safety, request limits, outcomes into verified data.
//!
//! The stub providers here are test doubles that return canned outcomes; the crate ships
//! no provider, and nothing here checks a face or a card.

#![allow(clippy::unwrap_used)] // Test code: a panic is the failure report.

mod common;

use std::sync::Arc;

use affix_identity::{
    BankCardNumber, BankCardVerificationRequest, BankCardVerifier, Error, ExternalCheck,
    ExternalDecision, ExternalOutcome, FACE_IMAGE_BYTES_MAX, FaceSample, FaceVerificationRequest,
    FaceVerifier, IdentityProvider, MobileNumber, PersonName, ProviderName, ProviderReference,
    ResidentId, VerificationMethod, VerifiedIdentity,
};
use common::{NOW_MS, salt, today};

/// A test double answering every request with the same decision.
struct Canned {
    name: ProviderName,
    decision: ExternalDecision,
}

impl Canned {
    fn outcome(&self, check: ExternalCheck) -> ExternalOutcome {
        ExternalOutcome::new(
            self.name.clone(),
            check,
            self.decision,
            ProviderReference::new("txn-42").unwrap(),
            [7; 32],
            NOW_MS,
        )
    }
}

impl IdentityProvider for Canned {
    fn name(&self) -> &ProviderName {
        &self.name
    }

    fn checks(&self) -> &[ExternalCheck] {
        &[ExternalCheck::Face, ExternalCheck::BankCard]
    }
}

impl FaceVerifier for Canned {
    fn verify_face(&self, _: &FaceVerificationRequest<'_>) -> Result<ExternalOutcome, Error> {
        Ok(self.outcome(ExternalCheck::Face))
    }
}

impl BankCardVerifier for Canned {
    fn verify_bank_card(
        &self,
        _: &BankCardVerificationRequest<'_>,
    ) -> Result<ExternalOutcome, Error> {
        Ok(self.outcome(ExternalCheck::BankCard))
    }
}

fn canned(decision: ExternalDecision) -> Canned {
    Canned {
        name: ProviderName::new("test-double").unwrap(),
        decision,
    }
}

#[test]
fn traits_are_object_safe_and_shareable() {
    let face: Box<dyn FaceVerifier> = Box::new(canned(ExternalDecision::Match));
    let card: Arc<dyn BankCardVerifier> = Arc::new(canned(ExternalDecision::Match));
    fn assert_send_sync<T: Send + Sync + ?Sized>(_: &T) {}
    assert_send_sync(&*face);
    assert_send_sync(&*card);
    assert_eq!(face.name().as_str(), "test-double");
    assert!(card.checks().contains(&ExternalCheck::BankCard));
}

#[test]
fn a_face_match_becomes_verified_data() {
    let id = ResidentId::parse("11010519491231002X", today()).unwrap();
    let name = PersonName::new("张三").unwrap();
    let request =
        FaceVerificationRequest::new(&id, &name, FaceSample::Image { bytes: &[1; 100] }).unwrap();
    let face: Box<dyn FaceVerifier> = Box::new(canned(ExternalDecision::Match));
    let outcome = face.verify_face(&request).unwrap();
    let verified = VerifiedIdentity::from_face(&request, &outcome, &salt()).unwrap();
    assert_eq!(verified.subject(), id.commitment(&salt()));
    assert_eq!(verified.verified_at_ms(), NOW_MS);
    assert_eq!(
        verified.method(),
        &VerificationMethod::External {
            provider: ProviderName::new("test-double").unwrap(),
            check: ExternalCheck::Face,
            reference: ProviderReference::new("txn-42").unwrap(),
            response_digest: [7; 32],
        }
    );
    // The outcome is not a bank-card outcome.
    let card = BankCardNumber::parse("6222 0212 3456 7890").unwrap();
    let card_request = BankCardVerificationRequest::new(&id, &name, &card, None);
    assert_eq!(
        VerifiedIdentity::from_bank_card(&card_request, &outcome, &salt()).unwrap_err(),
        Error::ExternalCheckMismatch {
            expected: ExternalCheck::BankCard,
            found: ExternalCheck::Face
        }
    );
}

#[test]
fn no_match_and_inconclusive_are_not_verified() {
    let id = ResidentId::parse("11010519491231002X", today()).unwrap();
    let name = PersonName::new("张三").unwrap();
    let card = BankCardNumber::parse("6222021234567890123").unwrap();
    let mobile = MobileNumber::parse("13812345678").unwrap();
    let request = BankCardVerificationRequest::new(&id, &name, &card, Some(&mobile));
    for (decision, error) in [
        (ExternalDecision::NoMatch, Error::ExternalNoMatch),
        (ExternalDecision::Inconclusive, Error::ExternalInconclusive),
    ] {
        let provider = canned(decision);
        let outcome = provider.verify_bank_card(&request).unwrap();
        assert_eq!(
            VerifiedIdentity::from_bank_card(&request, &outcome, &salt()).unwrap_err(),
            error
        );
    }
    let outcome = canned(ExternalDecision::Match)
        .verify_bank_card(&request)
        .unwrap();
    let verified = VerifiedIdentity::from_bank_card(&request, &outcome, &salt()).unwrap();
    // Distinct checks of the same person give distinct evidence digests.
    let face_outcome = ExternalOutcome::new(
        outcome.provider().clone(),
        ExternalCheck::Face,
        ExternalDecision::Match,
        outcome.reference().clone(),
        *outcome.response_digest(),
        outcome.checked_at_ms(),
    );
    let face_request =
        FaceVerificationRequest::new(&id, &name, FaceSample::LivenessSession { token: "t" })
            .unwrap();
    let face = VerifiedIdentity::from_face(&face_request, &face_outcome, &salt()).unwrap();
    assert_eq!(face.subject(), verified.subject());
    assert_ne!(face.result_digest(), verified.result_digest());
}

#[test]
fn face_sample_limits() {
    let id = ResidentId::parse("11010519491231002X", today()).unwrap();
    let name = PersonName::new("Li Lei").unwrap();
    let big = vec![0u8; FACE_IMAGE_BYTES_MAX + 1];
    for sample in [
        FaceSample::Image { bytes: &big },
        FaceSample::Image { bytes: &[] },
        FaceSample::LivenessSession { token: "" },
        FaceSample::LivenessSession {
            token: &"t".repeat(513),
        },
    ] {
        assert!(matches!(
            FaceVerificationRequest::new(&id, &name, sample),
            Err(Error::TooLarge { .. })
        ));
    }
    let request =
        FaceVerificationRequest::new(&id, &name, FaceSample::Image { bytes: &big[1..] }).unwrap();
    let debug = format!("{request:?}");
    assert!(debug.contains("Image(<4194304 bytes>)"), "{debug}");
    assert!(!debug.contains("Li Lei"), "{debug}");
    assert!(!debug.contains("19491231"), "{debug}");
}

#[test]
fn names_references_and_cards() {
    assert!(ProviderName::new("aliyun-cloudauth").is_ok());
    assert!(ProviderName::new("tencent.faceid").is_ok());
    for bad in ["", "Upper", "with space", "下划线", &"a".repeat(33)] {
        assert_eq!(
            ProviderName::new(bad).unwrap_err(),
            Error::ProviderNameInvalid,
            "{bad}"
        );
    }
    assert!(ProviderReference::new(&"r".repeat(128)).is_ok());
    for bad in ["", "a b", "tab\t", "é", &"r".repeat(129)] {
        assert_eq!(
            ProviderReference::new(bad).unwrap_err(),
            Error::ProviderReferenceInvalid,
            "{bad}"
        );
    }
    assert!(PersonName::new("欧阳娜娜").is_ok());
    assert!(PersonName::new("阿卜杜热合曼·艾力").is_ok());
    assert!(PersonName::new("").is_err());
    assert!(PersonName::new(" 张三").is_err());
    assert!(PersonName::new("张\n三").is_err());
    assert!(PersonName::new(&"张".repeat(86)).is_err()); // 258 bytes
    assert_eq!(
        format!("{:?}", PersonName::new("张三").unwrap()),
        "PersonName(<redacted>)"
    );

    let card = BankCardNumber::parse("6222 0212 3456 7890").unwrap();
    assert_eq!(card.expose_digits(), "6222021234567890");
    assert_eq!(card.to_string(), "****7890");
    assert_eq!(format!("{card:?}"), "BankCardNumber(****7890)");
    for bad in [
        "",
        "12345678901",
        "12345678901234567890",
        "6222-0212-3456-7890",
        " 6222021234567890",
        "6222  021234567890",
        "６２２２021234567890",
    ] {
        assert!(BankCardNumber::parse(bad).is_err(), "{bad}");
    }
}
