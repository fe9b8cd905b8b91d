//! Untrusted input never panics: decoders, parsers and validation on arbitrary input.
#![allow(clippy::unwrap_used)] // Test code: a panic is the failure report.

mod common;

use std::collections::BTreeMap;

use affix_contract::{
    ContractContent, ContractEvent, ContractId, Decimal, PartyId, Sha256Digest, Template,
    TemplateId,
};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn content_decode_never_panics_and_round_trips(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        if let Ok(content) = ContractContent::decode(&bytes) {
            prop_assert_eq!(content.encode(), bytes);
        }
    }

    #[test]
    fn mutated_content_never_panics(position in 0usize..2000, byte in any::<u8>(), cut in 0usize..2000) {
        let mut bytes = common::fixture_content().encode();
        let len = bytes.len();
        bytes[position % len] = byte;
        bytes.truncate(cut.max(len / 2));
        if let Ok(content) = ContractContent::decode(&bytes) {
            prop_assert_eq!(content.encode(), bytes);
        }
    }

    #[test]
    fn event_decode_never_panics_and_round_trips(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        if let Ok(event) = ContractEvent::decode(&bytes) {
            prop_assert_eq!(event.encode(), bytes);
        }
    }

    #[test]
    fn mutated_events_never_panic(index in 0usize..14, position in 0usize..300, byte in any::<u8>()) {
        let (_, events) = common::live_chain();
        let mut bytes = events[index % events.len()].encode();
        let len = bytes.len();
        bytes[position % len] = byte;
        if let Ok(event) = ContractEvent::decode(&bytes) {
            prop_assert_eq!(event.encode(), bytes);
        }
    }

    #[test]
    fn text_parsers_never_panic(text in ".{0,80}") {
        if let Ok(id) = ContractId::parse(&text) {
            prop_assert_eq!(id.to_string(), text.clone());
        }
        let _ = PartyId::parse(&text);
        let _ = TemplateId::parse(&text);
        let _ = Sha256Digest::parse_hex(&text);
        if let Some(d) = Decimal::parse(&text) {
            prop_assert_eq!(Decimal::parse(&d.to_string()), Some(d));
        }
    }

    #[test]
    fn validation_never_panics(entries in proptest::collection::btree_map("[a-z_]{1,20}", ".{0,40}", 0..12)) {
        let today = common::today();
        for template in [Template::loan_note(), Template::generic_contract()] {
            let mut values: BTreeMap<String, String> = common::loan_values();
            values.extend(entries.clone());
            if let Ok(fields) = template.validate(&values, today) {
                // Canonical values validate to themselves.
                prop_assert_eq!(template.validate(fields.values(), today).unwrap(), fields);
            }
        }
    }
}
