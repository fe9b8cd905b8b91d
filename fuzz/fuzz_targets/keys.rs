//! `VerifierKey::parse`, `SignerKey::parse` and `VerifierKeysFile::parse` on arbitrary
//! text: never panic; what parses re-encodes to the input (up to the case of the hex key
//! ID and trailing line breaks), a parsed signer key signs what its verifier key accepts,
//! and the policy a keys file states, written back, reads back to the same policy.
#![no_main]

use affix_note::{NoteSigner as _, SignerKey, VerifierKey, VerifierKeysFile};
use libfuzzer_sys::fuzz_target;

/// `name+id+key` with the key ID in lowercase, as the encoders write it.
fn canonical(text: &str) -> String {
    let text = text.trim_end_matches(['\n', '\r']);
    let (prefix, rest) = match text.strip_prefix("PRIVATE+KEY+") {
        Some(rest) => ("PRIVATE+KEY+", rest),
        None => ("", text),
    };
    let mut parts = rest.splitn(3, '+');
    let (name, id, key) = (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
    );
    format!("{prefix}{name}+{}+{key}", id.to_ascii_lowercase())
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(vk) = VerifierKey::parse(text) {
        let encoded = vk.to_string();
        assert_eq!(encoded, canonical(text));
        assert_eq!(VerifierKey::parse(&encoded).as_ref(), Ok(&vk));
        // Any bytes as a signature: a boolean, never a panic.
        let _ = vk.verify(b"fuzz\n", data);
    }
    if let Ok(sk) = SignerKey::parse(text) {
        let encoded = sk.to_secret_string();
        assert_eq!(encoded.as_str(), canonical(text));
        let again = SignerKey::parse(&encoded).expect("an encoded signer key parses");
        assert_eq!(again.verifier_key(), sk.verifier_key());
        let message = b"fuzz\n";
        let signature = sk.sign_text(message).expect("a parsed key signs");
        assert!(sk.verifier_key().verify(message, &signature));
    }
    if let Ok(policy) = VerifierKeysFile::parse(text).and_then(|f| f.trust_policy()) {
        let written = policy.verifier_keys_file();
        let again = VerifierKeysFile::parse(&written)
            .and_then(|f| f.trust_policy())
            .expect("a written keys file reads back");
        assert_eq!(again.origin(), policy.origin());
        assert_eq!(again.quorum(), policy.quorum());
        assert_eq!(again.verifier_keys_file(), written);
    }
});
