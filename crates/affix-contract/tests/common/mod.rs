//! Helpers shared by the integration tests: the fixed loan-note example (the one the
//! vectors and `tools/contract_vectors.py` use) and three parties with identities.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)] // Test code: a panic is the failure report.

use std::collections::BTreeMap;

use affix_contract::{
    ContractContent, ContractId, Party, PartyId, Role, Sha256Digest, SignatureEvidence,
    SigningOrder, Template,
};
use affix_identity::{Commitment, Date, MobileNumber, VerifiedIdentity};

/// 2026-01-01T00:00:00Z.
pub const NOW_MS: u64 = 1_767_225_600_000;
/// Thirty days later: the example's expiry.
pub const EXPIRES_MS: u64 = NOW_MS + 30 * 86_400_000;

pub fn today() -> Date {
    Date::new(2026, 1, 1).unwrap()
}

pub fn values(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// The loan note values of the fixture (as typed: canonicalization changes some).
pub fn loan_values() -> BTreeMap<String, String> {
    values(&[
        ("lender", "张三"),
        ("borrower", "李四"),
        ("principal", "10000"),
        ("annual_rate_percent", "3.65"),
        ("start_date", "2026-01-01"),
        ("term_months", "012"),
        ("repayment_method", "equal_instalments"),
        ("purpose", "装修 home renovation"),
    ])
}

pub const INITIATOR: PartyId = PartyId::from_bytes(*b"party-initiator1");
pub const BORROWER: PartyId = PartyId::from_bytes(*b"party-borrower01");
pub const WITNESS: PartyId = PartyId::from_bytes(*b"party-witness-01");
pub const CC: PartyId = PartyId::from_bytes(*b"party-cc-copy-01");

/// The fixture's parties, with fixed identity commitments (0xa1…, 0xb2…, 0xc3…).
pub fn fixture_parties() -> Vec<Party> {
    vec![
        Party {
            id: INITIATOR,
            role: Role::Initiator,
            display_name: "张三".to_owned(),
            identity: Commitment::from_bytes([0xa1; 32]),
        },
        Party {
            id: BORROWER,
            role: Role::Signer,
            display_name: "李四".to_owned(),
            identity: Commitment::from_bytes([0xb2; 32]),
        },
        Party {
            id: WITNESS,
            role: Role::Witness,
            display_name: "王五".to_owned(),
            identity: Commitment::from_bytes([0xc3; 32]),
        },
    ]
}

/// The frozen example: the loan note, three parties, sequential, 30 days.
pub fn fixture_content() -> ContractContent {
    let fields = Template::loan_note_v1()
        .validate(&loan_values(), today())
        .unwrap();
    ContractContent::new(
        ContractId::from_bytes(*b"contract-fixture"),
        fields,
        fixture_parties(),
        SigningOrder::Sequential,
        EXPIRES_MS,
    )
    .unwrap()
}

/// Each party's mobile number and salt: its identity commitment is the mobile
/// number's, so `VerifiedIdentity::from_mobile_format` matches it.
pub fn mobile(party: PartyId) -> (MobileNumber, [u8; 32]) {
    let (number, salt) = match party.as_bytes()[6] {
        b'i' => ("13812345678", [1u8; 32]),
        b'b' => ("13912345678", [2u8; 32]),
        b'w' => ("13712345678", [3u8; 32]),
        _ => ("15012345678", [4u8; 32]),
    };
    (MobileNumber::parse(number).unwrap(), salt)
}

pub fn live_party(id: PartyId, role: Role, name: &str) -> Party {
    let (number, salt) = mobile(id);
    Party {
        id,
        role,
        display_name: name.to_owned(),
        identity: number.commitment(&salt),
    }
}

pub fn identity_of(party: PartyId, at_ms: u64) -> VerifiedIdentity {
    let (number, salt) = mobile(party);
    VerifiedIdentity::from_mobile_format(&number, &salt, at_ms)
}

/// A live example whose identities can be verified.
pub fn live_content(order: SigningOrder, with_cc: bool) -> ContractContent {
    let fields = Template::loan_note_v1()
        .validate(&loan_values(), today())
        .unwrap();
    let mut parties = vec![
        live_party(INITIATOR, Role::Initiator, "张三"),
        live_party(BORROWER, Role::Signer, "李四"),
        live_party(WITNESS, Role::Witness, "王五"),
    ];
    if with_cc {
        parties.push(live_party(CC, Role::Cc, "赵六"));
    }
    ContractContent::new(
        ContractId::from_bytes(*b"contract-live-01"),
        fields,
        parties,
        order,
        EXPIRES_MS,
    )
    .unwrap()
}

pub fn signature(tag: u8) -> SignatureEvidence {
    SignatureEvidence {
        signature_image: Sha256Digest::from_bytes([tag; 32]),
        cms_signature: Sha256Digest::from_bytes([tag.wrapping_add(1); 32]),
        signer_certificate: Sha256Digest::from_bytes([tag.wrapping_add(2); 32]),
        timestamp_token: Sha256Digest::from_bytes([tag.wrapping_add(3); 32]),
    }
}

/// The frozen event chain: the live content, sequential, every party verified, viewed,
/// consented and signed in order, one minute apart.
pub fn live_chain() -> (affix_contract::Contract, Vec<affix_contract::ContractEvent>) {
    use affix_contract::Contract;
    let (mut contract, created) =
        Contract::create(live_content(SigningOrder::Sequential, false), NOW_MS).unwrap();
    let mut events = vec![created];
    let mut now_ms = NOW_MS;
    let mut record = |contract: &mut Contract, (next, event): (Contract, _)| {
        *contract = next;
        events.push(event);
    };
    now_ms += 60_000;
    let step = contract.send(INITIATOR, now_ms).unwrap();
    record(&mut contract, step);
    let digest = contract.content_digest();
    for (tag, party) in [(0x10u8, INITIATOR), (0x20, BORROWER), (0x30, WITNESS)] {
        now_ms += 60_000;
        let step = contract
            .verify_identity(party, &identity_of(party, now_ms), now_ms)
            .unwrap();
        record(&mut contract, step);
        now_ms += 60_000;
        let step = contract.view(party, digest, now_ms).unwrap();
        record(&mut contract, step);
        now_ms += 60_000;
        let step = contract.consent(party, digest, now_ms).unwrap();
        record(&mut contract, step);
        now_ms += 60_000;
        let step = contract
            .sign(party, digest, signature(tag), now_ms)
            .unwrap();
        record(&mut contract, step);
    }
    (contract, events)
}

/// Compares `actual` with the vector file `tests/vectors/<name>` (or writes it when
/// `AFFIX_CONTRACT_WRITE_VECTORS` is set: an explicit approval of a format change).
pub fn check_vector(name: &str, actual: &str) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/vectors")
        .join(name);
    if std::env::var_os("AFFIX_CONTRACT_WRITE_VECTORS").is_some() {
        std::fs::write(&path, actual).unwrap();
    }
    let expected =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(actual, expected, "{name} changed: the format is frozen");
}

/// `YYYY-MM-DD` as a date.
pub fn date(text: &str) -> Date {
    Date::new(
        text[0..4].parse().unwrap(),
        text[5..7].parse().unwrap(),
        text[8..10].parse().unwrap(),
    )
    .unwrap()
}

/// A decimal from its text.
pub fn dec(text: &str) -> affix_contract::Decimal {
    affix_contract::Decimal::parse(text).unwrap()
}

/// The loan of the loan-book tests: 1200.00 yuan at 12 % a year, equal principal over
/// 4 months from 2026-01-15: 300.00 of principal a month, interest 1 % of the balance
/// (12.00, 9.00, 6.00, 3.00), due 02-15, 03-15, 04-15, 05-15; 1230.00 in all.
pub fn small_loan() -> affix_contract::LoanNote {
    affix_contract::LoanNote {
        principal_yuan: dec("1200"),
        annual_rate_percent: dec("12"),
        start_date: date("2026-01-15"),
        term_months: 4,
        repayment_method: affix_contract::RepaymentMethod::EqualPrincipal,
    }
}

/// Contract id of the loan-book tests: ASCII `contract-loan-01`.
pub const LOAN_CONTRACT: ContractId = ContractId::from_bytes(*b"contract-loan-01");

/// A new book for `loan` under the standard rules.
pub fn book_of(loan: &affix_contract::LoanNote) -> affix_contract::LoanBook {
    affix_contract::LoanBook::new(affix_contract::LoanTerms::new(
        LOAN_CONTRACT,
        loan.schedule().unwrap(),
        affix_contract::RuleSet::standard(),
    ))
}
