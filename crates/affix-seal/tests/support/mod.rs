//! Checks every master key source must pass.

use affix_seal::{Error, Kek, MasterKey, WRAPPED_KEK_BYTES, WrappedKek};

/// The context the vault binds, as in its design.
pub(crate) const AAD: &[u8] = b"affix.dev/vault/kek/v1\x00kek-0001";

/// A deterministic KEK with a recognizable pattern, to look for in error messages.
pub(crate) fn sample_kek() -> Kek {
    let mut bytes = [0u8; 32];
    for (i, b) in bytes.iter_mut().enumerate() {
        *b = 0xa0 ^ u8::try_from(i).expect("i < 32");
    }
    Kek::from_bytes(bytes)
}

/// Wrap then unwrap gives the KEK back; wrapping twice gives different bytes (fresh
/// nonce); every single-bit flip of the wrapped bytes and any change of the associated
/// data fail, and no error message contains the KEK.
pub(crate) fn assert_wraps_and_detects_tampering(master: &dyn MasterKey) {
    let kek = sample_kek();
    let wrapped = master.wrap(&kek, AAD).expect("wrap");
    assert_eq!(wrapped.as_bytes().len(), WRAPPED_KEK_BYTES);
    let unwrapped = master.unwrap(&wrapped, AAD).expect("unwrap");
    assert_eq!(unwrapped.expose_secret(), kek.expose_secret());

    let again = master.wrap(&kek, AAD).expect("wrap again");
    assert_ne!(again, wrapped, "a fresh nonce per wrap");
    assert_eq!(
        master
            .unwrap(&again, AAD)
            .expect("unwrap again")
            .expose_secret(),
        kek.expose_secret()
    );

    // Round trip through the stored encoding.
    let decoded = WrappedKek::decode(wrapped.as_bytes()).expect("decode");
    assert_eq!(decoded, wrapped);

    let kek_hex = hex(kek.expose_secret());
    for position in 0..WRAPPED_KEK_BYTES {
        for bit in [0x01u8, 0x80] {
            let mut bytes = *wrapped.as_bytes();
            bytes[position] ^= bit;
            let result = WrappedKek::decode(&bytes).and_then(|w| master.unwrap(&w, AAD));
            match result {
                Err(Error::UnwrapFailed) => {}
                Err(Error::MalformedWrappedKek(_)) if position == 0 => {}
                Err(other) => panic!("byte {position}: unexpected error {other:?}"),
                Ok(_) => panic!("byte {position} bit {bit:#x} flipped, yet unwrap succeeded"),
            }
        }
    }

    for other_aad in [
        &b""[..],
        b"affix.dev/vault/kek/v1\x00kek-0002",
        &AAD[..AAD.len() - 1],
    ] {
        let error = master
            .unwrap(&wrapped, other_aad)
            .expect_err("other aad must fail");
        assert!(matches!(error, Error::UnwrapFailed), "{error:?}");
        let text = format!("{error} {error:?}");
        assert!(!text.contains(&kek_hex), "error leaks the KEK: {text}");
    }

    let long = vec![0u8; affix_seal::MAX_AAD_BYTES + 1];
    assert!(matches!(
        master.wrap(&kek, &long),
        Err(Error::AadTooLong { .. })
    ));
}

/// Lower-case hex, without pulling a hex crate into the tests.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
