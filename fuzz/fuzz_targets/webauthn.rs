//! The WebAuthn parsers on arbitrary bytes: `verify_registration` (attestation object
//! CBOR, authenticator data, COSE key, client data JSON), `AuthenticatorData::parse`,
//! `PublicKey::from_cose`, `Assertion::decode` and `Assertion::verify`. Never panic;
//! whatever decodes re-encodes to the input; a parsed COSE key re-encodes to a key that
//! parses to the same key.
#![no_main]

use affix_webauthn::soft::SoftAuthenticator;
use affix_webauthn::{
    Algorithm, Assertion, AuthenticatorData, PublicKey, RelyingParty, verify_registration,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(rp) = RelyingParty::new("localhost", vec!["http://localhost:8080".to_owned()]) else {
        return;
    };
    // The first byte splits the rest into an attestation object and client data.
    if let Some((&split, rest)) = data.split_first() {
        let at = (usize::from(split) * rest.len()) / 256;
        let (object, client_data) = rest.split_at(at);
        let _ = verify_registration(&rp, b"challenge", object, client_data);
        let _ = verify_registration(&rp, b"challenge", data, client_data);
    }
    let _ = AuthenticatorData::parse(data);
    if let Ok(key) = PublicKey::from_cose(data) {
        assert_eq!(PublicKey::from_cose(&key.to_cose()).as_ref(), Ok(&key));
    }
    if let Ok(assertion) = Assertion::decode(data) {
        assert_eq!(assertion.encode().as_deref(), Ok(data));
        for alg in [Algorithm::Es256, Algorithm::EdDsa] {
            let key = SoftAuthenticator::new(alg, &[1; 32]).public_key();
            let _ = assertion.verify(&rp, &key, b"challenge", 0);
        }
    }
});
