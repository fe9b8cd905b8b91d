//! The contract state machine and its events.

use affix_evidence::{DigestAlgorithm, EvidenceRecord, UnixMillis};
use affix_identity::{ResultDigest, VerifiedIdentity};
use sha2::{Digest as _, Sha256};

use crate::codec::Reader;
use crate::{ContractContent, ContractId, Error, PartyId, Role, Sha256Digest, SigningOrder};

/// Magic of the canonical event encoding.
pub const EVENT_MAGIC: [u8; 4] = *b"AFEV";
/// Version of the canonical event encoding.
pub const EVENT_VERSION: u8 = 1;
/// Domain-separation prefix of [`ContractEvent::hash`].
pub const EVENT_DOMAIN: &[u8] = b"affix.dev/contract/event/v1\0";
/// Events of one contract (32 parties × 5 steps each, plus create, send and an end,
/// fit many times over).
pub const EVENTS_MAX: usize = 1024;
/// Bytes of the largest event encoding (a `Signed` event).
pub const EVENT_BYTES_MAX: usize = 4 + 1 + 16 + 4 + 8 + 1 + 1 + 17 + 32 + 4 * 32 + 32;

/// Where a contract is in its life.
///
/// ```text
/// Draft ──send──▶ Sent ──sign──▶ PartiallySigned ──last sign──▶ Effective
///   │              │                  │
///   └──────────────┴──────────────────┴──▶ Declined (a signing party declines)
///                                         ▶ Revoked  (the initiator revokes)
///                                         ▶ Expired  (expire, after expires_ms)
/// ```
/// (Draft cannot be declined: nobody has been invited yet.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContractStatus {
    /// Created, not yet sent to the parties.
    Draft,
    /// Sent; nobody has signed yet.
    Sent,
    /// Some, not all, signing parties have signed.
    PartiallySigned,
    /// Every signing party has signed. Final.
    Effective,
    /// A signing party declined. Final.
    Declined,
    /// The initiator revoked it before it took effect. Final.
    Revoked,
    /// It expired before it took effect. Final.
    Expired,
}

impl ContractStatus {
    /// Whether no further step is possible.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            Self::Effective | Self::Declined | Self::Revoked | Self::Expired
        )
    }
}

/// Where one party is: `Invited → IdentityVerified → Viewed → Consented → Signed`, or
/// `Declined` from any status before `Signed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum PartyStatus {
    /// Named in the contract; nothing done yet.
    Invited,
    /// Proved its identity.
    IdentityVerified,
    /// Was shown the content.
    Viewed,
    /// Consented to sign electronically and to the content.
    Consented,
    /// Signed.
    Signed,
    /// Declined.
    Declined,
}

/// The digests of one signature, produced by the server (vault, CMS, TSA) before it
/// records the signing. This crate sees digests only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignatureEvidence {
    /// SHA-256 of the handwritten-signature image (the server checks size and PNG-ness).
    pub signature_image: Sha256Digest,
    /// SHA-256 of the detached CMS signature over the content digest.
    pub cms_signature: Sha256Digest,
    /// SHA-256 of the signer's certificate (DER).
    pub signer_certificate: Sha256Digest,
    /// SHA-256 of the RFC 3161 time-stamp token.
    pub timestamp_token: Sha256Digest,
}

/// What happened, with the digests that happened with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// The contract was created (in Draft) by the initiator.
    Created,
    /// The initiator sent it to the parties.
    Sent,
    /// A party proved its identity; the digest of the [`VerifiedIdentity`].
    IdentityVerified {
        /// [`VerifiedIdentity::result_digest`].
        identity_result: ResultDigest,
    },
    /// A party was shown the content.
    Viewed,
    /// A party consented.
    Consented,
    /// A party signed.
    Signed(SignatureEvidence),
    /// A party declined.
    Declined,
    /// The initiator revoked the contract.
    Revoked,
    /// The contract expired (no actor).
    Expired,
}

impl EventKind {
    /// The evidence record kind: `contract.created`, `contract.signed`, ….
    pub fn evidence_kind(&self) -> &'static str {
        match self {
            Self::Created => "contract.created",
            Self::Sent => "contract.sent",
            Self::IdentityVerified { .. } => "contract.identity_verified",
            Self::Viewed => "contract.viewed",
            Self::Consented => "contract.consented",
            Self::Signed(_) => "contract.signed",
            Self::Declined => "contract.declined",
            Self::Revoked => "contract.revoked",
            Self::Expired => "contract.expired",
        }
    }

    fn code(&self) -> u8 {
        match self {
            Self::Created => 1,
            Self::Sent => 2,
            Self::IdentityVerified { .. } => 3,
            Self::Viewed => 4,
            Self::Consented => 5,
            Self::Signed(_) => 6,
            Self::Declined => 7,
            Self::Revoked => 8,
            Self::Expired => 9,
        }
    }
}

/// Who did it: a party and its role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actor {
    /// The party.
    pub party: PartyId,
    /// Its role in the contract.
    pub role: Role,
}

/// One step in a contract's life: the unit of the event hash chain and of the evidence
/// ledger. Made by the [`Contract`] transitions, or decoded (and then trusted only after
/// [`verify_chain`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContractEvent {
    contract_id: ContractId,
    seq: u32,
    at_ms: u64,
    kind: EventKind,
    actor: Option<Actor>,
    content_digest: Sha256Digest,
    prev_hash: Sha256Digest,
}

impl ContractEvent {
    /// The contract.
    pub fn contract_id(&self) -> ContractId {
        self.contract_id
    }

    /// Position in the chain, from 0 (the `Created` event).
    pub fn seq(&self) -> u32 {
        self.seq
    }

    /// When, Unix milliseconds.
    pub fn at_ms(&self) -> u64 {
        self.at_ms
    }

    /// What happened.
    pub fn kind(&self) -> &EventKind {
        &self.kind
    }

    /// Who did it (`None` for `Expired`).
    pub fn actor(&self) -> Option<Actor> {
        self.actor
    }

    /// The contract's content digest (every event carries it).
    pub fn content_digest(&self) -> Sha256Digest {
        self.content_digest
    }

    /// The previous event's hash; for event 0, the content digest.
    pub fn prev_hash(&self) -> Sha256Digest {
        self.prev_hash
    }

    /// The canonical version-1 bytes (layout in the crate README, "Event encoding").
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(EVENT_BYTES_MAX);
        out.extend_from_slice(&EVENT_MAGIC);
        out.push(EVENT_VERSION);
        out.extend_from_slice(self.contract_id.as_bytes());
        out.extend_from_slice(&self.seq.to_be_bytes());
        out.extend_from_slice(&self.at_ms.to_be_bytes());
        out.push(self.kind.code());
        match self.actor {
            None => out.push(0),
            Some(actor) => {
                out.push(1);
                out.extend_from_slice(actor.party.as_bytes());
                out.push(actor.role.code());
            }
        }
        out.extend_from_slice(self.content_digest.as_bytes());
        match &self.kind {
            EventKind::IdentityVerified { identity_result } => {
                out.extend_from_slice(identity_result.as_bytes());
            }
            EventKind::Signed(s) => {
                for d in [
                    s.signature_image,
                    s.cms_signature,
                    s.signer_certificate,
                    s.timestamp_token,
                ] {
                    out.extend_from_slice(d.as_bytes());
                }
            }
            _ => {}
        }
        out.extend_from_slice(self.prev_hash.as_bytes());
        out
    }

    /// The event hash: `SHA-256(EVENT_DOMAIN || encode())`; the next event's
    /// `prev_hash`.
    pub fn hash(&self) -> Sha256Digest {
        let mut hash = Sha256::new();
        hash.update(EVENT_DOMAIN);
        hash.update(self.encode());
        Sha256Digest::from_bytes(hash.finalize().into())
    }

    /// Decodes canonical version-1 bytes; refuses anything [`ContractEvent::encode`]
    /// would not emit (an actor on `Expired`, none on the others, trailing bytes, …).
    pub fn decode(bytes: &[u8]) -> Result<Self, Error> {
        const WHAT: &str = "contract event";
        if bytes.len() > EVENT_BYTES_MAX {
            return Err(Error::TooLarge {
                what: "contract event bytes",
                actual: bytes.len(),
                limit: EVENT_BYTES_MAX,
            });
        }
        let mut r = Reader::new(WHAT, bytes);
        if r.array::<4>()? != EVENT_MAGIC {
            return Err(r.error("not a contract event (bad magic)"));
        }
        let version = r.u8()?;
        if version != EVENT_VERSION {
            return Err(Error::UnsupportedVersion {
                what: WHAT,
                version,
            });
        }
        let contract_id = ContractId::from_bytes(r.array()?);
        let seq = u32::from_be_bytes(r.array()?);
        let at_ms = u64::from_be_bytes(r.array()?);
        let code = r.u8()?;
        let actor = match r.u8()? {
            0 => None,
            1 => {
                let party = PartyId::from_bytes(r.array()?);
                let role = Role::from_code(r.u8()?).ok_or_else(|| r.error("unknown role"))?;
                Some(Actor { party, role })
            }
            _ => return Err(r.error("bad actor flag")),
        };
        let content_digest = Sha256Digest::from_bytes(r.array()?);
        let kind = match code {
            1 => EventKind::Created,
            2 => EventKind::Sent,
            3 => EventKind::IdentityVerified {
                identity_result: ResultDigest::from_bytes(r.array()?),
            },
            4 => EventKind::Viewed,
            5 => EventKind::Consented,
            6 => EventKind::Signed(SignatureEvidence {
                signature_image: Sha256Digest::from_bytes(r.array()?),
                cms_signature: Sha256Digest::from_bytes(r.array()?),
                signer_certificate: Sha256Digest::from_bytes(r.array()?),
                timestamp_token: Sha256Digest::from_bytes(r.array()?),
            }),
            7 => EventKind::Declined,
            8 => EventKind::Revoked,
            9 => EventKind::Expired,
            _ => return Err(r.error("unknown event kind")),
        };
        if (kind == EventKind::Expired) != actor.is_none() {
            return Err(r.error("actor present on expiry or absent on a party's step"));
        }
        let prev_hash = Sha256Digest::from_bytes(r.array()?);
        r.finish()?;
        Ok(Self {
            contract_id,
            seq,
            at_ms,
            kind,
            actor,
            content_digest,
            prev_hash,
        })
    }

    /// The evidence record of this event: kind `contract.<step>`, subject
    /// `contract:<id>`, the event time, `submitter`; digests `event` (this event's hash),
    /// `prev`, `content`, and the step's own (`identity-result`; `signature-image`,
    /// `cms-signature`, `signer-certificate`, `timestamp-token`); metadata `seq` and,
    /// when there is an actor, `party` (its opaque id) and `role`. No personal data and
    /// no document content: names and field values stay in the content, which the
    /// ledger holds only as a digest.
    pub fn to_evidence(&self, submitter: &str) -> Result<EvidenceRecord, Error> {
        let sha = DigestAlgorithm::Sha256;
        let mut b = EvidenceRecord::builder(
            self.kind.evidence_kind(),
            &format!("contract:{}", self.contract_id),
            UnixMillis(self.at_ms),
            submitter,
        )
        .digest_value("event", sha, *self.hash().as_bytes())
        .digest_value("prev", sha, *self.prev_hash.as_bytes())
        .digest_value("content", sha, *self.content_digest.as_bytes())
        .metadata("seq", &self.seq.to_string());
        match &self.kind {
            EventKind::IdentityVerified { identity_result } => {
                b = b.digest_value("identity-result", sha, *identity_result.as_bytes());
            }
            EventKind::Signed(s) => {
                b = b
                    .digest_value("signature-image", sha, *s.signature_image.as_bytes())
                    .digest_value("cms-signature", sha, *s.cms_signature.as_bytes())
                    .digest_value("signer-certificate", sha, *s.signer_certificate.as_bytes())
                    .digest_value("timestamp-token", sha, *s.timestamp_token.as_bytes());
            }
            _ => {}
        }
        if let Some(actor) = self.actor {
            b = b
                .metadata("party", &actor.party.to_string())
                .metadata("role", actor.role.name());
        }
        Ok(b.build()?)
    }
}

/// A contract's state: its content, its status, each party's status, and the head of
/// its event chain. Every transition takes `&self` and returns the next state with the
/// event to record; the server stores both, or neither.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contract {
    content: ContractContent,
    content_digest: Sha256Digest,
    status: ContractStatus,
    party_status: Vec<PartyStatus>,
    next_seq: u32,
    head: Sha256Digest,
    last_at_ms: u64,
}

impl Contract {
    /// Creates the contract in [`ContractStatus::Draft`]; the event is `Created` by the
    /// initiator, event 0 of the chain, whose `prev_hash` is the content digest.
    /// Refused if the expiry is not after `now_ms`.
    pub fn create(content: ContractContent, now_ms: u64) -> Result<(Self, ContractEvent), Error> {
        if content.expires_ms() <= now_ms {
            return Err(Error::InvalidContent {
                reason: "expiry not after creation",
            });
        }
        let content_digest = content.digest();
        let initiator = content.initiator();
        let event = ContractEvent {
            contract_id: content.contract_id(),
            seq: 0,
            at_ms: now_ms,
            kind: EventKind::Created,
            actor: Some(Actor {
                party: initiator.id,
                role: Role::Initiator,
            }),
            content_digest,
            prev_hash: content_digest,
        };
        let contract = Self {
            party_status: vec![PartyStatus::Invited; content.parties().len()],
            content,
            content_digest,
            status: ContractStatus::Draft,
            next_seq: 1,
            head: event.hash(),
            last_at_ms: now_ms,
        };
        Ok((contract, event))
    }

    /// The content.
    pub fn content(&self) -> &ContractContent {
        &self.content
    }

    /// The content digest (what parties sign).
    pub fn content_digest(&self) -> Sha256Digest {
        self.content_digest
    }

    /// The status.
    pub fn status(&self) -> ContractStatus {
        self.status
    }

    /// A party's status, if it is a party.
    pub fn party_status(&self, party: PartyId) -> Option<PartyStatus> {
        self.content
            .party(party)
            .map(|(index, _)| self.party_status[index])
    }

    /// The hash of the last event.
    pub fn head(&self) -> Sha256Digest {
        self.head
    }

    /// Events so far.
    pub fn event_count(&self) -> u32 {
        self.next_seq
    }

    /// In sequential order, the signing party whose signature comes next; in parallel
    /// order, the first signing party that has not signed. `None` once all have.
    pub fn next_signer(&self) -> Option<PartyId> {
        self.content
            .parties()
            .iter()
            .zip(&self.party_status)
            .find(|(p, s)| p.role.signs() && **s != PartyStatus::Signed)
            .map(|(p, _)| p.id)
    }

    /// The initiator sends the draft to the parties: Draft → Sent.
    pub fn send(&self, by: PartyId, now_ms: u64) -> Result<(Self, ContractEvent), Error> {
        self.step(EventKind::Sent, Some(by), self.content_digest, now_ms)
    }

    /// Records a successful identity check of `party`: Invited → IdentityVerified.
    /// `identity.subject()` must be the party's identity commitment
    /// ([`Error::IdentityMismatch`]); the event keeps only its result digest.
    pub fn verify_identity(
        &self,
        party: PartyId,
        identity: &VerifiedIdentity,
        now_ms: u64,
    ) -> Result<(Self, ContractEvent), Error> {
        let (_, named) = self
            .content
            .party(party)
            .ok_or(Error::UnknownParty { party })?;
        if identity.subject() != named.identity {
            return Err(Error::IdentityMismatch { party });
        }
        self.step(
            EventKind::IdentityVerified {
                identity_result: identity.result_digest(),
            },
            Some(party),
            self.content_digest,
            now_ms,
        )
    }

    /// Records that `party` was shown the content with digest `content_digest`:
    /// IdentityVerified → Viewed.
    pub fn view(
        &self,
        party: PartyId,
        content_digest: Sha256Digest,
        now_ms: u64,
    ) -> Result<(Self, ContractEvent), Error> {
        self.step(EventKind::Viewed, Some(party), content_digest, now_ms)
    }

    /// Records that `party` consented to sign `content_digest` electronically:
    /// Viewed → Consented.
    pub fn consent(
        &self,
        party: PartyId,
        content_digest: Sha256Digest,
        now_ms: u64,
    ) -> Result<(Self, ContractEvent), Error> {
        self.step(EventKind::Consented, Some(party), content_digest, now_ms)
    }

    /// Records `party`'s signature over `content_digest`: Consented → Signed, in turn
    /// if the order is sequential. The last signing party's signature makes the
    /// contract Effective.
    pub fn sign(
        &self,
        party: PartyId,
        content_digest: Sha256Digest,
        signature: SignatureEvidence,
        now_ms: u64,
    ) -> Result<(Self, ContractEvent), Error> {
        self.step(
            EventKind::Signed(signature),
            Some(party),
            content_digest,
            now_ms,
        )
    }

    /// A signing party declines: the contract is Declined.
    pub fn decline(&self, party: PartyId, now_ms: u64) -> Result<(Self, ContractEvent), Error> {
        self.step(
            EventKind::Declined,
            Some(party),
            self.content_digest,
            now_ms,
        )
    }

    /// The initiator revokes the contract before it takes effect: Revoked.
    pub fn revoke(&self, by: PartyId, now_ms: u64) -> Result<(Self, ContractEvent), Error> {
        self.step(EventKind::Revoked, Some(by), self.content_digest, now_ms)
    }

    /// Marks the contract Expired; only after `expires_ms` and before a final status.
    /// Every other step after `expires_ms` is refused with [`Error::Expired`], so the
    /// server calls this (from a sweep, or when a refused step reports `Expired`).
    pub fn expire(&self, now_ms: u64) -> Result<(Self, ContractEvent), Error> {
        self.step(EventKind::Expired, None, self.content_digest, now_ms)
    }

    /// The one transition function: every public step and the chain replay go through
    /// it, so live use and [`verify_chain`] cannot disagree.
    fn step(
        &self,
        kind: EventKind,
        party: Option<PartyId>,
        content_digest: Sha256Digest,
        at_ms: u64,
    ) -> Result<(Self, ContractEvent), Error> {
        if self.next_seq as usize >= EVENTS_MAX {
            return Err(Error::TooLarge {
                what: "contract events",
                actual: self.next_seq as usize + 1,
                limit: EVENTS_MAX,
            });
        }
        if self.status.is_final() {
            return Err(Error::ContractNotOpen {
                status: self.status,
            });
        }
        if at_ms < self.last_at_ms {
            return Err(Error::TimeWentBackwards {
                at_ms,
                previous_ms: self.last_at_ms,
            });
        }
        let expires_ms = self.content.expires_ms();
        if kind == EventKind::Expired {
            if at_ms <= expires_ms {
                return Err(Error::NotExpired { expires_ms });
            }
        } else if at_ms > expires_ms {
            return Err(Error::Expired {
                expires_ms,
                now_ms: at_ms,
            });
        }
        if content_digest != self.content_digest {
            return Err(Error::WrongContentDigest);
        }
        let mut next = self.clone();
        let actor = match party {
            None => None,
            Some(party) => {
                let (index, named) = self
                    .content
                    .party(party)
                    .ok_or(Error::UnknownParty { party })?;
                next.apply_party_step(&kind, index, named.role, party)?;
                Some(Actor {
                    party,
                    role: named.role,
                })
            }
        };
        match kind {
            EventKind::Created => {
                return Err(Error::ContractNotOpen {
                    status: self.status,
                });
            }
            EventKind::Expired => {
                if party.is_some() {
                    return Err(Error::ContractNotOpen {
                        status: self.status,
                    });
                }
                next.status = ContractStatus::Expired;
            }
            _ if party.is_none() => {
                return Err(Error::ContractNotOpen {
                    status: self.status,
                });
            }
            _ => {}
        }
        let event = ContractEvent {
            contract_id: self.content.contract_id(),
            seq: self.next_seq,
            at_ms,
            kind,
            actor,
            content_digest,
            prev_hash: self.head,
        };
        next.next_seq += 1;
        next.head = event.hash();
        next.last_at_ms = at_ms;
        Ok((next, event))
    }

    /// The part of a step that concerns one party (already found at `index`); updates
    /// `self` (the next state) in place.
    fn apply_party_step(
        &mut self,
        kind: &EventKind,
        index: usize,
        role: Role,
        party: PartyId,
    ) -> Result<(), Error> {
        let open = matches!(
            self.status,
            ContractStatus::Sent | ContractStatus::PartiallySigned
        );
        let not_open = Error::ContractNotOpen {
            status: self.status,
        };
        match kind {
            EventKind::Sent | EventKind::Revoked => {
                if role != Role::Initiator {
                    return Err(Error::NotInitiator { party });
                }
                if *kind == EventKind::Sent {
                    if self.status != ContractStatus::Draft {
                        return Err(not_open);
                    }
                    self.status = ContractStatus::Sent;
                } else {
                    self.status = ContractStatus::Revoked;
                }
                return Ok(());
            }
            EventKind::Created | EventKind::Expired => return Err(not_open),
            _ => {}
        }
        if !open {
            return Err(not_open);
        }
        if !role.signs() {
            return Err(Error::NotASigningParty { party });
        }
        let status = self.party_status[index];
        if status == PartyStatus::Signed {
            return Err(Error::AlreadySigned { party });
        }
        let needed = match kind {
            EventKind::IdentityVerified { .. } => Some(PartyStatus::Invited),
            EventKind::Viewed => Some(PartyStatus::IdentityVerified),
            EventKind::Consented => Some(PartyStatus::Viewed),
            EventKind::Signed(_) => Some(PartyStatus::Consented),
            _ => None, // Declined: from any status before Signed.
        };
        if let Some(needed) = needed
            && status != needed
        {
            if status == PartyStatus::Invited {
                return Err(Error::IdentityNotVerified { party });
            }
            return Err(Error::PartyNotReady {
                party,
                status,
                needed,
            });
        }
        match kind {
            EventKind::IdentityVerified { .. } => {
                self.party_status[index] = PartyStatus::IdentityVerified;
            }
            EventKind::Viewed => self.party_status[index] = PartyStatus::Viewed,
            EventKind::Consented => self.party_status[index] = PartyStatus::Consented,
            EventKind::Signed(_) => {
                if self.content.signing_order() == SigningOrder::Sequential
                    && let Some(next) = self.next_signer()
                    && next != party
                {
                    return Err(Error::NotYourTurn { next });
                }
                self.party_status[index] = PartyStatus::Signed;
                self.status = if self.next_signer().is_none() {
                    ContractStatus::Effective
                } else {
                    ContractStatus::PartiallySigned
                };
            }
            _ => {
                self.party_status[index] = PartyStatus::Declined;
                self.status = ContractStatus::Declined;
            }
        }
        Ok(())
    }
}

/// An event chain that [`verify_chain`] accepted: the contract state it replays to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedChain {
    contract: Contract,
}

impl VerifiedChain {
    /// The state after the last event.
    pub fn contract(&self) -> &Contract {
        &self.contract
    }

    /// The status after the last event.
    pub fn status(&self) -> ContractStatus {
        self.contract.status
    }

    /// The hash of the last event.
    pub fn head(&self) -> Sha256Digest {
        self.contract.head
    }
}

/// Verifies a contract's events offline (an auditor with a downloaded bundle): event 0
/// is the `Created` event of `content` with `prev_hash` = the content digest; each next
/// event has the next `seq` and links to its predecessor's hash; replaying every event
/// through the state machine gives exactly that event (same actor, role, time order,
/// digests); and the last event's hash is `anchored_head`.
///
/// **Why the anchor**: a hash chain protects everything *before* its head; a dropped or
/// altered last event leaves a shorter or different chain that links just as well.
/// `anchored_head` must come from outside the bundle: the `event` digest of the last
/// event's evidence record, whose inclusion in the ledger a receipt proves (or, in the
/// server, [`Contract::head`] of the stored state).
///
/// Identity subjects are not re-checked (the events hold only result digests).
pub fn verify_chain(
    content: &ContractContent,
    events: &[ContractEvent],
    anchored_head: &Sha256Digest,
) -> Result<VerifiedChain, Error> {
    let Some(first) = events.first() else {
        return Err(Error::ChainBroken {
            seq: 0,
            reason: "no events",
        });
    };
    if events.len() > EVENTS_MAX {
        return Err(Error::TooLarge {
            what: "contract events",
            actual: events.len(),
            limit: EVENTS_MAX,
        });
    }
    let (mut contract, created) =
        Contract::create(content.clone(), first.at_ms).map_err(|e| Error::ChainEventRejected {
            seq: 0,
            source: Box::new(e),
        })?;
    check_link(first, &created)?;
    if created != *first {
        return Err(Error::ChainBroken {
            seq: 0,
            reason: "first event is not this content's Created event",
        });
    }
    for (expected_seq, event) in (1u32..).zip(&events[1..]) {
        let expected = ContractEvent {
            seq: expected_seq,
            prev_hash: contract.head,
            ..event.clone()
        };
        check_link(event, &expected)?;
        if event.contract_id != content.contract_id() {
            return Err(Error::ChainBroken {
                seq: event.seq,
                reason: "event of another contract",
            });
        }
        let (next, replayed) = contract
            .step(
                event.kind,
                event.actor.map(|a| a.party),
                event.content_digest,
                event.at_ms,
            )
            .map_err(|e| Error::ChainEventRejected {
                seq: expected_seq,
                source: Box::new(e),
            })?;
        if replayed != *event {
            return Err(Error::ChainBroken {
                seq: expected_seq,
                reason: "event differs from its replay (actor role)",
            });
        }
        contract = next;
    }
    if contract.head != *anchored_head {
        return Err(Error::ChainHeadMismatch {
            events: contract.next_seq,
        });
    }
    Ok(VerifiedChain { contract })
}

fn check_link(event: &ContractEvent, expected: &ContractEvent) -> Result<(), Error> {
    if event.seq != expected.seq {
        return Err(Error::ChainBroken {
            seq: expected.seq,
            reason: "sequence number out of order",
        });
    }
    if event.prev_hash != expected.prev_hash {
        return Err(Error::ChainBroken {
            seq: expected.seq,
            reason: "prev_hash does not link to the previous event",
        });
    }
    Ok(())
}
