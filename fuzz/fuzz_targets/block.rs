//! `Block::decode` (ledger blocks arrive from peers over p2p) and `Genesis::parse` on
//! arbitrary input: never panic; whatever decodes is canonical: `encode` gives back the
//! input exactly, and the digest is stable.
#![no_main]

use affix_ledger::{Block, Genesis};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(block) = Block::decode(data) {
        assert_eq!(block.encode(), data, "a decoded block re-encodes to other bytes");
        assert_eq!(Block::decode(&block.encode()).map(|b| b.digest()), Ok(block.digest()));
        assert!(block.check_limits().is_ok());
    }
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(genesis) = Genesis::parse(text) {
            assert!(genesis.quorum() <= genesis.authorities().len());
            assert!(genesis.trust_policy().is_ok());
        }
    }
});
