//! `ContractContent::decode` and `ContractEvent::decode` (bundles an auditor downloads,
//! rows the server reads back), the identifier and decimal parsers, and template
//! validation (values typed by signers) on arbitrary input: never panic; whatever
//! decodes re-encodes to the input exactly; whatever parses prints back to itself;
//! validated values validate again to themselves.
#![no_main]

use std::collections::BTreeMap;

use affix_contract::{
    ContractContent, ContractEvent, ContractId, Decimal, LoanNote, LprTable, PartyId,
    Sha256Digest, Template, verify_chain,
};
use affix_identity::Date;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(content) = ContractContent::decode(data) {
        assert_eq!(
            content.encode(),
            data,
            "decoded content re-encodes to other bytes"
        );
        let _ = content.digest();
    }
    if let Ok(event) = ContractEvent::decode(data) {
        assert_eq!(event.encode(), data, "a decoded event re-encodes to other bytes");
        let _ = event.to_evidence("fuzz");
    }
    // A content followed by events (the layout of a bundle: u32 big-endian content
    // length, the content, then events of u16 big-endian length each).
    if data.len() >= 4 {
        let content_len = u32::from_be_bytes([data[0], data[1], data[2], data[3]]) as usize;
        if let Some(content) = data
            .get(4..4usize.saturating_add(content_len))
            .and_then(|bytes| ContractContent::decode(bytes).ok())
        {
            let mut rest = &data[4 + content_len..];
            let mut events = Vec::new();
            while rest.len() >= 2 {
                let len = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
                let Some(bytes) = rest.get(2..2 + len) else {
                    break;
                };
                if let Ok(event) = ContractEvent::decode(bytes) {
                    events.push(event);
                }
                rest = &rest[2 + len..];
            }
            let head = events.last().map(ContractEvent::hash).unwrap_or(Sha256Digest::ZERO);
            if let Ok(chain) = verify_chain(&content, &events, &head) {
                assert_eq!(chain.head(), head);
            }
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(id) = ContractId::parse(text) {
            assert_eq!(id.to_string(), text);
        }
        if let Ok(id) = PartyId::parse(text) {
            assert_eq!(id.to_string(), text);
        }
        let _ = Sha256Digest::parse_hex(text);
        if let Some(decimal) = Decimal::parse(text) {
            assert_eq!(Decimal::parse(&decimal.to_string()), Some(decimal));
        }
        // Lines of `name=value` as field values for both built-in templates.
        let values: BTreeMap<String, String> = text
            .lines()
            .filter_map(|line| line.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let today = Date::from_unix_ms(1_767_225_600_000);
        for template in [Template::loan_note(), Template::generic_contract()] {
            if let Ok(fields) = template.validate(&values, today) {
                assert_eq!(template.validate(fields.values(), today).as_ref(), Ok(&fields));
                // A valid loan note has a schedule (or a specific refusal) and a cap check.
                if let Ok(loan) = LoanNote::from_fields(&fields) {
                    if let Ok(schedule) = loan.schedule() {
                        let _ = schedule.canonical_text();
                    }
                    let _ = loan.check_rate_cap(&LprTable::builtin(), today);
                }
            }
        }
        // An operator's LPR table text: parses to a table whose canonical text parses
        // back to the same table.
        if let Ok(table) = LprTable::parse(text) {
            assert_eq!(LprTable::parse(&table.canonical_text()).as_ref(), Ok(&table));
        }
    }
});
