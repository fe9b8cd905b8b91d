//! Garbage in, errors out: parsing arbitrary text and decoding arbitrary bytes never
//! panics, and whatever is accepted is consistent.

#![allow(clippy::unwrap_used)] // Test code: a panic is the failure report.

mod common;

use affix_identity::{
    BankCardNumber, CHALLENGE_ENCODED_BYTES, Date, EmailAddress, MobileNumber, OtpChallenge,
    PersonName, ResidentId,
};
use common::{NOW_MS, SeededRng, pepper, salt, today};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn arbitrary_text_is_not_a_panic(text in any::<String>(), days in any::<u64>()) {
        let today = Date::from_unix_ms(days);
        if let Ok(id) = ResidentId::parse(&text, today) {
            prop_assert_eq!(id.expose_number(), text.to_ascii_uppercase());
            prop_assert!(id.birth_date() <= today);
        }
        if let Ok(mobile) = MobileNumber::parse(&text) {
            prop_assert_eq!(MobileNumber::parse(&mobile.expose_e164()).unwrap(), mobile);
        }
        if let Ok(email) = EmailAddress::parse(&text) {
            prop_assert_eq!(EmailAddress::parse(email.expose_address()).unwrap(), email);
        }
        let _ = PersonName::new(&text);
        let _ = BankCardNumber::parse(&text);
    }

    #[test]
    fn id_like_text_is_not_a_panic(text in "[0-9]{17}[0-9Xx]") {
        if let Ok(id) = ResidentId::parse(&text, today()) {
            prop_assert_eq!(id.expose_number(), text.to_ascii_uppercase());
            prop_assert!(id.birth_date().year() >= 1900);
        }
    }

    #[test]
    fn mobile_like_text_is_not_a_panic(text in "[+]?[0-9 -]{0,20}") {
        if let Ok(mobile) = MobileNumber::parse(&text) {
            prop_assert_eq!(mobile.expose_e164().len(), 14);
        }
    }

    #[test]
    fn email_like_text_is_not_a_panic(text in "[a-zA-Z0-9.@_+-]{0,40}") {
        if let Ok(email) = EmailAddress::parse(&text) {
            prop_assert_eq!(email.expose_address().matches('@').count(), 1);
        }
    }

    #[test]
    fn arbitrary_bytes_are_not_a_panic_as_challenge(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        if let Ok(challenge) = OtpChallenge::decode(&bytes) {
            prop_assert_eq!(challenge.encode(), bytes);
        }
    }

    #[test]
    fn mutated_challenges_are_not_a_panic(
        position in 0..CHALLENGE_ENCODED_BYTES,
        value in any::<u8>(),
        code in "[0-9]{6}",
    ) {
        let email = EmailAddress::parse("alice@example.com").unwrap();
        let (challenge, _) = OtpChallenge::issue(
            &email, &salt(), Default::default(), NOW_MS, &pepper(), &mut SeededRng::new(b"mutate"),
        ).unwrap();
        let mut bytes = challenge.encode();
        bytes[position] = value;
        if let Ok(mut mutated) = OtpChallenge::decode(&bytes) {
            prop_assert_eq!(mutated.encode(), bytes);
            let _ = mutated.verify(&code, NOW_MS, &pepper());
        }
    }
}
