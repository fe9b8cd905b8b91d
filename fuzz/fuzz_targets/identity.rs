//! `ResidentId::parse`, `MobileNumber::parse`, `EmailAddress::parse` (text typed by
//! signers) and `OtpChallenge::decode` (bytes read back from the database) on arbitrary
//! input: never panic; whatever parses is normalized and stable; whatever decodes
//! re-encodes to the input exactly and can be verified against without panicking.
#![no_main]

use affix_identity::{Date, EmailAddress, MobileNumber, OtpChallenge, OtpPepper, ResidentId};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let today = Date::from_unix_ms(1_767_225_600_000);
        if let Ok(id) = ResidentId::parse(text, today) {
            assert_eq!(id.expose_number(), text.to_ascii_uppercase());
            assert!(id.birth_date() <= today);
            assert_eq!(
                ResidentId::parse(id.expose_number(), today).as_ref(),
                Ok(&id)
            );
        }
        if let Ok(mobile) = MobileNumber::parse(text) {
            assert_eq!(
                MobileNumber::parse(&mobile.expose_e164()).as_ref(),
                Ok(&mobile)
            );
        }
        if let Ok(email) = EmailAddress::parse(text) {
            assert_eq!(
                EmailAddress::parse(email.expose_address()).as_ref(),
                Ok(&email)
            );
        }
    }
    if let Ok(mut challenge) = OtpChallenge::decode(data) {
        assert_eq!(
            challenge.encode(),
            data,
            "a decoded challenge re-encodes to other bytes"
        );
        let before = challenge.attempts_used();
        let _ = challenge.verify(
            "123456",
            challenge.issued_at_ms(),
            &OtpPepper::from_bytes([7; 32]),
        );
        assert!(challenge.attempts_used() >= before);
        assert!(OtpChallenge::decode(&challenge.encode()).is_ok());
    }
});
