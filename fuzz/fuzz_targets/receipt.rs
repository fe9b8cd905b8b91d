//! `Receipt::parse` on arbitrary bytes: never panics; what parses re-encodes to the input;
//! verifying it against the fixed policies never panics, and a receipt that verifies
//! proves exactly the entry it carries.
#![no_main]

use affix_evidence::EvidenceRecord;
use affix_fuzz::{sha256_policy, sm3_policy};
use affix_note::Receipt;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(receipt) = Receipt::parse(data) else {
        return;
    };
    let bytes = receipt.to_bytes();
    assert_eq!(bytes, data, "a parsed receipt re-encodes to other bytes");
    assert_eq!(Receipt::parse(&bytes).as_ref(), Ok(&receipt));

    for policy in [sha256_policy(), sm3_policy()] {
        if let Ok(verified) = receipt.verify(policy) {
            assert_eq!(Some(verified.entry()), receipt.extra.as_deref());
            assert_eq!(verified.index(), receipt.index);
            assert_eq!(
                verified.leaf_hash(),
                &policy.origin().suite().leaf_hash(verified.entry())
            );
            assert_eq!(
                verified.checkpoint().checkpoint(),
                receipt.checkpoint.unverified_checkpoint()
            );
        }
        // An entry supplied out of band that differs from `extra` is never accepted.
        if let Some(extra) = &receipt.extra {
            let mut other = extra.clone();
            other.push(0);
            assert!(receipt.verify_entry(policy, &other).is_err());
        }
    }
    if let Some(extra) = &receipt.extra {
        let _ = EvidenceRecord::decode(extra);
    }
});
