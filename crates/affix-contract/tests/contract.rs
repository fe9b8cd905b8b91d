//! The contract state machine, the event chain and its verification, evidence records.
#![allow(clippy::unwrap_used)] // Test code: a panic is the failure report.

mod common;

use affix_contract::{
    Contract, ContractEvent, ContractStatus, Error, EventKind, PartyId, PartyStatus, Sha256Digest,
    SigningOrder, verify_chain,
};
use common::{
    BORROWER, CC, EXPIRES_MS, INITIATOR, NOW_MS, WITNESS, identity_of, live_content, signature,
};

/// Records events as a server would: apply, keep the new state, append the event.
struct Run {
    contract: Contract,
    events: Vec<ContractEvent>,
    now_ms: u64,
}

impl Run {
    fn new(order: SigningOrder, with_cc: bool) -> Self {
        let (contract, event) = Contract::create(live_content(order, with_cc), NOW_MS).unwrap();
        Self {
            contract,
            events: vec![event],
            now_ms: NOW_MS,
        }
    }

    fn apply(
        &mut self,
        step: impl FnOnce(&Contract, u64) -> Result<(Contract, ContractEvent), Error>,
    ) -> Result<(), Error> {
        self.now_ms += 60_000;
        let (next, event) = step(&self.contract, self.now_ms)?;
        assert_eq!(event.prev_hash(), self.contract.head());
        assert_eq!(event.seq(), self.contract.event_count());
        self.contract = next;
        self.events.push(event);
        Ok(())
    }

    fn send(&mut self) {
        self.apply(|c, t| c.send(INITIATOR, t)).unwrap();
    }

    /// Identity, view and consent for `party`.
    fn prepare(&mut self, party: PartyId) {
        let digest = self.contract.content_digest();
        self.apply(|c, t| c.verify_identity(party, &identity_of(party, t), t))
            .unwrap();
        self.apply(|c, t| c.view(party, digest, t)).unwrap();
        self.apply(|c, t| c.consent(party, digest, t)).unwrap();
    }

    fn sign(&mut self, party: PartyId) -> Result<(), Error> {
        let digest = self.contract.content_digest();
        let tag = party.as_bytes()[6];
        self.apply(|c, t| c.sign(party, digest, signature(tag), t))
    }
}

fn effective_sequential_run() -> Run {
    let mut run = Run::new(SigningOrder::Sequential, false);
    assert_eq!(run.contract.status(), ContractStatus::Draft);
    run.send();
    assert_eq!(run.contract.status(), ContractStatus::Sent);
    for party in [INITIATOR, BORROWER, WITNESS] {
        run.prepare(party);
        assert_eq!(
            run.contract.party_status(party),
            Some(PartyStatus::Consented)
        );
        run.sign(party).unwrap();
        assert_eq!(run.contract.party_status(party), Some(PartyStatus::Signed));
    }
    run
}

#[test]
fn three_party_sequential_contract_becomes_effective_and_its_chain_verifies() {
    let run = effective_sequential_run();
    assert_eq!(run.contract.status(), ContractStatus::Effective);
    assert_eq!(run.events.len(), 2 + 3 * 4);
    assert_eq!(run.events[0].prev_hash(), run.contract.content_digest());
    for pair in run.events.windows(2) {
        assert_eq!(pair[1].prev_hash(), pair[0].hash());
    }
    let verified = verify_chain(run.contract.content(), &run.events, &run.contract.head()).unwrap();
    assert_eq!(verified.status(), ContractStatus::Effective);
    assert_eq!(verified.head(), run.contract.head());
    assert_eq!(verified.contract(), &run.contract);

    // Events survive their canonical encoding.
    let decoded: Vec<_> = run
        .events
        .iter()
        .map(|e| ContractEvent::decode(&e.encode()).unwrap())
        .collect();
    assert_eq!(decoded, run.events);
    // An effective contract takes no further step.
    assert_eq!(
        run.contract.revoke(INITIATOR, run.now_ms + 1).unwrap_err(),
        Error::ContractNotOpen {
            status: ContractStatus::Effective
        }
    );
}

#[test]
fn flipping_any_bit_of_any_event_is_detected() {
    let run = effective_sequential_run();
    let content = run.contract.content();
    let head = run.contract.head();
    for (index, event) in run.events.iter().enumerate() {
        let bytes = event.encode();
        for position in 0..bytes.len() {
            for bit in [0x01u8, 0x80] {
                let mut tampered = bytes.clone();
                tampered[position] ^= bit;
                // Bytes that no longer decode are rejected by the decoder; the rest by
                // the chain check.
                let Ok(tampered) = ContractEvent::decode(&tampered) else {
                    continue;
                };
                let mut events = run.events.clone();
                events[index] = tampered;
                assert!(
                    verify_chain(content, &events, &head).is_err(),
                    "event {index} byte {position} bit {bit:#x} undetected"
                );
            }
        }
    }
}

#[test]
fn reordering_removing_or_truncating_events_is_detected() {
    let run = effective_sequential_run();
    let content = run.contract.content();
    let head = run.contract.head();
    for i in 0..run.events.len() {
        let mut removed = run.events.clone();
        removed.remove(i);
        assert!(
            verify_chain(content, &removed, &head).is_err(),
            "removing {i}"
        );
        if i + 1 < run.events.len() {
            let mut swapped = run.events.clone();
            swapped.swap(i, i + 1);
            assert!(
                verify_chain(content, &swapped, &head).is_err(),
                "swapping {i}"
            );
        }
    }
    // A prefix links and replays, but does not reach the anchored head; anchored at its
    // own last event it is the chain of an unfinished contract.
    let prefix = &run.events[..run.events.len() - 1];
    assert_eq!(
        verify_chain(content, prefix, &head).unwrap_err(),
        Error::ChainHeadMismatch { events: 13 }
    );
    let prefix_head = prefix.last().unwrap().hash();
    let verified = verify_chain(content, prefix, &prefix_head).unwrap();
    assert_eq!(verified.status(), ContractStatus::PartiallySigned);
    assert!(verify_chain(content, &[], &head).is_err());
    // The events do not verify against other content.
    let other = live_content(SigningOrder::Parallel, false);
    assert!(verify_chain(&other, &run.events, &head).is_err());
}

#[test]
fn sequential_order_refuses_out_of_turn_signatures() {
    let mut run = Run::new(SigningOrder::Sequential, false);
    run.send();
    run.prepare(BORROWER);
    assert_eq!(
        run.sign(BORROWER).unwrap_err(),
        Error::NotYourTurn { next: INITIATOR }
    );
    run.prepare(INITIATOR);
    run.sign(INITIATOR).unwrap();
    assert_eq!(run.contract.status(), ContractStatus::PartiallySigned);
    run.prepare(WITNESS);
    assert_eq!(
        run.sign(WITNESS).unwrap_err(),
        Error::NotYourTurn { next: BORROWER }
    );
    run.sign(BORROWER).unwrap();
    run.sign(WITNESS).unwrap();
    assert_eq!(run.contract.status(), ContractStatus::Effective);
    assert_eq!(
        run.sign(WITNESS).unwrap_err(),
        Error::ContractNotOpen {
            status: ContractStatus::Effective
        }
    );
    verify_chain(run.contract.content(), &run.events, &run.contract.head()).unwrap();
}

#[test]
fn parallel_order_lets_parties_sign_in_any_order() {
    let mut run = Run::new(SigningOrder::Parallel, true);
    run.send();
    for party in [WITNESS, BORROWER, INITIATOR] {
        run.prepare(party);
    }
    run.sign(WITNESS).unwrap();
    assert_eq!(
        run.sign(WITNESS).unwrap_err(),
        Error::AlreadySigned { party: WITNESS }
    );
    run.sign(BORROWER).unwrap();
    assert_eq!(run.contract.status(), ContractStatus::PartiallySigned);
    run.sign(INITIATOR).unwrap();
    // The carbon-copy party does not sign and is not waited for.
    assert_eq!(run.contract.status(), ContractStatus::Effective);
    assert_eq!(run.contract.party_status(CC), Some(PartyStatus::Invited));
    assert_eq!(
        verify_chain(run.contract.content(), &run.events, &run.contract.head())
            .unwrap()
            .status(),
        ContractStatus::Effective
    );
}

#[test]
fn steps_need_the_previous_steps() {
    let mut run = Run::new(SigningOrder::Parallel, true);
    let digest = run.contract.content_digest();
    // Nothing before the initiator sends.
    assert_eq!(
        run.apply(|c, t| c.view(BORROWER, digest, t)).unwrap_err(),
        Error::ContractNotOpen {
            status: ContractStatus::Draft
        }
    );
    assert_eq!(
        run.apply(|c, t| c.send(BORROWER, t)).unwrap_err(),
        Error::NotInitiator { party: BORROWER }
    );
    run.send();
    assert_eq!(
        run.apply(|c, t| c.view(BORROWER, digest, t)).unwrap_err(),
        Error::IdentityNotVerified { party: BORROWER }
    );
    assert_eq!(
        run.sign(BORROWER).unwrap_err(),
        Error::IdentityNotVerified { party: BORROWER }
    );
    // Someone else's verified identity is refused.
    assert_eq!(
        run.apply(|c, t| c.verify_identity(BORROWER, &identity_of(WITNESS, t), t))
            .unwrap_err(),
        Error::IdentityMismatch { party: BORROWER }
    );
    run.apply(|c, t| c.verify_identity(BORROWER, &identity_of(BORROWER, t), t))
        .unwrap();
    assert!(matches!(
        run.apply(|c, t| c.consent(BORROWER, digest, t))
            .unwrap_err(),
        Error::PartyNotReady {
            needed: PartyStatus::Viewed,
            ..
        }
    ));
    // The content a party views must be this contract's.
    assert_eq!(
        run.apply(|c, t| c.view(BORROWER, Sha256Digest::ZERO, t))
            .unwrap_err(),
        Error::WrongContentDigest
    );
    run.apply(|c, t| c.view(BORROWER, digest, t)).unwrap();
    run.apply(|c, t| c.consent(BORROWER, digest, t)).unwrap();
    assert_eq!(
        run.apply(|c, t| c.sign(BORROWER, Sha256Digest::ZERO, signature(1), t))
            .unwrap_err(),
        Error::WrongContentDigest
    );
    // Carbon-copy parties and strangers do not act.
    assert_eq!(
        run.apply(|c, t| c.verify_identity(CC, &identity_of(CC, t), t))
            .unwrap_err(),
        Error::NotASigningParty { party: CC }
    );
    let stranger = PartyId::from_bytes([9; 16]);
    assert_eq!(
        run.apply(|c, t| c.decline(stranger, t)).unwrap_err(),
        Error::UnknownParty { party: stranger }
    );
    // Time does not go backwards.
    assert!(matches!(
        run.contract.decline(BORROWER, NOW_MS),
        Err(Error::TimeWentBackwards { .. })
    ));
    verify_chain(run.contract.content(), &run.events, &run.contract.head()).unwrap();
}

#[test]
fn a_party_declining_ends_the_contract() {
    let mut run = Run::new(SigningOrder::Sequential, false);
    run.send();
    run.prepare(INITIATOR);
    run.sign(INITIATOR).unwrap();
    run.apply(|c, t| c.decline(BORROWER, t)).unwrap();
    assert_eq!(run.contract.status(), ContractStatus::Declined);
    assert_eq!(
        run.contract.party_status(BORROWER),
        Some(PartyStatus::Declined)
    );
    assert_eq!(
        run.apply(|c, t| c.revoke(INITIATOR, t)).unwrap_err(),
        Error::ContractNotOpen {
            status: ContractStatus::Declined
        }
    );
    let chain = verify_chain(run.contract.content(), &run.events, &run.contract.head()).unwrap();
    assert_eq!(chain.status(), ContractStatus::Declined);
    assert_eq!(run.events.last().unwrap().kind(), &EventKind::Declined);
}

#[test]
fn only_the_initiator_revokes_before_the_contract_takes_effect() {
    let mut run = Run::new(SigningOrder::Parallel, false);
    run.send();
    run.prepare(BORROWER);
    run.sign(BORROWER).unwrap();
    assert_eq!(
        run.apply(|c, t| c.revoke(BORROWER, t)).unwrap_err(),
        Error::NotInitiator { party: BORROWER }
    );
    run.apply(|c, t| c.revoke(INITIATOR, t)).unwrap();
    assert_eq!(run.contract.status(), ContractStatus::Revoked);
    assert_eq!(
        verify_chain(run.contract.content(), &run.events, &run.contract.head())
            .unwrap()
            .status(),
        ContractStatus::Revoked
    );
    // A draft can be revoked too.
    let mut draft = Run::new(SigningOrder::Parallel, false);
    draft.apply(|c, t| c.revoke(INITIATOR, t)).unwrap();
    assert_eq!(draft.contract.status(), ContractStatus::Revoked);
}

#[test]
fn after_the_expiry_only_expire_is_allowed() {
    let mut run = Run::new(SigningOrder::Sequential, false);
    run.send();
    run.prepare(INITIATOR);
    assert_eq!(
        run.contract.expire(EXPIRES_MS).unwrap_err(),
        Error::NotExpired {
            expires_ms: EXPIRES_MS
        }
    );
    let late = EXPIRES_MS + 1;
    let digest = run.contract.content_digest();
    assert_eq!(
        run.contract
            .sign(INITIATOR, digest, signature(1), late)
            .unwrap_err(),
        Error::Expired {
            expires_ms: EXPIRES_MS,
            now_ms: late
        }
    );
    let (expired, event) = run.contract.expire(late).unwrap();
    assert_eq!(expired.status(), ContractStatus::Expired);
    assert_eq!(event.actor(), None);
    run.contract = expired;
    run.events.push(event);
    assert_eq!(
        verify_chain(run.contract.content(), &run.events, &run.contract.head())
            .unwrap()
            .status(),
        ContractStatus::Expired
    );
    // Creation needs an expiry in the future.
    assert!(Contract::create(live_content(SigningOrder::Parallel, false), EXPIRES_MS).is_err());
}

#[test]
fn events_become_evidence_records_without_personal_data() {
    let run = effective_sequential_run();
    for event in &run.events {
        let record = event.to_evidence("affix-server").unwrap();
        let decoded = affix_evidence::EvidenceRecord::decode(&record.encode()).unwrap();
        assert_eq!(decoded, record);
        assert_eq!(
            record.subject(),
            "contract:636f6e74726163742d6c6976652d3031"
        );
        assert_eq!(record.event_time().0, event.at_ms());
        let digest = |label: &str| {
            record
                .digests()
                .iter()
                .find(|d| d.label() == label)
                .map(|d| *d.value())
        };
        assert_eq!(digest("event"), Some(*event.hash().as_bytes()));
        assert_eq!(
            digest("content"),
            Some(*run.contract.content_digest().as_bytes())
        );
        let meta: Vec<_> = record.metadata().iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(meta, ["party", "role", "seq"]);
        let text = format!("{record:?}{:?}", record.encode());
        for personal in ["张三", "李四", "13812345678", "10000"] {
            assert!(!text.contains(personal));
        }
    }
    let signed = run
        .events
        .last()
        .unwrap()
        .to_evidence("affix-server")
        .unwrap();
    assert_eq!(signed.kind(), "contract.signed");
    assert_eq!(signed.digests().len(), 7);
    assert!(run.events[0].to_evidence("bad submitter!").is_err());
}
