//! The agreed content of a contract, its canonical bytes and its digest.

use std::collections::{BTreeMap, BTreeSet};

use affix_identity::Commitment;
use sha2::{Digest as _, Sha256};

use crate::codec::{Reader, push_u16_bytes};
use crate::template::is_field_name;
use crate::{
    ContractId, Error, FIELD_NAME_BYTES_MAX, FIELD_VALUE_BYTES_MAX, FIELDS_MAX, PartyId,
    Sha256Digest, TemplateId, ValidatedFields,
};

/// Magic of the canonical content encoding.
pub const CONTENT_MAGIC: [u8; 4] = *b"AFCT";
/// Version of the canonical content encoding.
pub const CONTENT_VERSION: u8 = 1;
/// Domain-separation prefix of [`ContractContent::digest`].
pub const CONTENT_DOMAIN: &[u8] = b"affix.dev/contract/content/v1\0";
/// Parties of one contract.
pub const PARTIES_MAX: usize = 32;
/// Bytes of a party's display name.
pub const DISPLAY_NAME_BYTES_MAX: usize = 256;
/// Bytes of a canonical content encoding (the field and party limits keep it below
/// this; the decoder refuses anything larger before reading it).
pub const CONTENT_BYTES_MAX: usize = 1024 * 1024;

/// What a party does in a contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Created the contract; sends and may revoke it; signs. Exactly one per contract.
    Initiator,
    /// Signs.
    Signer,
    /// Signs as a witness (见证人); counted like a signer.
    Witness,
    /// Receives a copy; does not sign, verify, view or consent through this state
    /// machine.
    Cc,
}

impl Role {
    /// Whether the role signs (all but [`Role::Cc`]); the contract is effective once
    /// every signing party has signed.
    pub fn signs(self) -> bool {
        !matches!(self, Self::Cc)
    }

    /// Lowercase name, as in evidence metadata.
    pub fn name(self) -> &'static str {
        match self {
            Self::Initiator => "initiator",
            Self::Signer => "signer",
            Self::Witness => "witness",
            Self::Cc => "cc",
        }
    }

    pub(crate) fn code(self) -> u8 {
        match self {
            Self::Initiator => 1,
            Self::Signer => 2,
            Self::Witness => 3,
            Self::Cc => 4,
        }
    }

    pub(crate) fn from_code(code: u8) -> Option<Self> {
        Some(match code {
            1 => Self::Initiator,
            2 => Self::Signer,
            3 => Self::Witness,
            4 => Self::Cc,
            _ => return None,
        })
    }
}

/// In which order the signing parties sign.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigningOrder {
    /// In the order of the party list; each waits for the ones before it.
    Sequential,
    /// In any order.
    Parallel,
}

impl SigningOrder {
    pub(crate) fn code(self) -> u8 {
        match self {
            Self::Sequential => 1,
            Self::Parallel => 2,
        }
    }
}

/// One party as the content names it: never a raw ID number, only an opaque id, the
/// name shown in the document, and a commitment to the identity it must prove.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Party {
    /// The party's opaque id.
    pub id: PartyId,
    /// Its role.
    pub role: Role,
    /// The name printed in the contract (1 to [`DISPLAY_NAME_BYTES_MAX`] bytes, no
    /// control characters).
    pub display_name: String,
    /// The salted commitment ([`affix_identity::VerifiedIdentity::subject`]) an identity
    /// check must produce for this party.
    pub identity: Commitment,
}

/// The agreed content of one contract: what every party signs, through
/// [`ContractContent::digest`]. Built from [`ValidatedFields`] by
/// [`ContractContent::new`], or decoded from its canonical bytes.
///
/// Decoding checks the structure, not the field values against their template: an
/// auditor with the template re-parses [`ContractContent::fields`] with
/// [`crate::Template::parse`] if they need to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContractContent {
    contract_id: ContractId,
    template_id: TemplateId,
    template_version: u32,
    template_body_digest: Sha256Digest,
    fields: BTreeMap<String, String>,
    parties: Vec<Party>,
    signing_order: SigningOrder,
    expires_ms: u64,
}

impl ContractContent {
    /// The content of contract `contract_id`: its validated fields, the parties (list
    /// order is signing order for [`SigningOrder::Sequential`]) and the expiry.
    ///
    /// Refused ([`Error::InvalidContent`]): no parties or more than [`PARTIES_MAX`],
    /// not exactly one [`Role::Initiator`], duplicate party ids, a bad display name.
    pub fn new(
        contract_id: ContractId,
        fields: ValidatedFields,
        parties: Vec<Party>,
        signing_order: SigningOrder,
        expires_ms: u64,
    ) -> Result<Self, Error> {
        check_parties(&parties)?;
        Ok(Self {
            contract_id,
            template_id: fields.template(),
            template_version: fields.template_version(),
            template_body_digest: fields.template_body_digest(),
            fields: fields.values().clone(),
            parties,
            signing_order,
            expires_ms,
        })
    }

    /// The contract's id.
    pub fn contract_id(&self) -> ContractId {
        self.contract_id
    }

    /// The template's id.
    pub fn template_id(&self) -> TemplateId {
        self.template_id
    }

    /// The template's version.
    pub fn template_version(&self) -> u32 {
        self.template_version
    }

    /// SHA-256 of the template's body.
    pub fn template_body_digest(&self) -> Sha256Digest {
        self.template_body_digest
    }

    /// The canonical field values, sorted by name.
    pub fn fields(&self) -> &BTreeMap<String, String> {
        &self.fields
    }

    /// The parties, in signing order.
    pub fn parties(&self) -> &[Party] {
        &self.parties
    }

    /// The signing order.
    pub fn signing_order(&self) -> SigningOrder {
        self.signing_order
    }

    /// The expiry, Unix milliseconds: after it, no step but expiry.
    pub fn expires_ms(&self) -> u64 {
        self.expires_ms
    }

    /// The initiator (there is exactly one).
    pub fn initiator(&self) -> &Party {
        // `check_parties` (run by `new` and `decode`) guarantees exactly one initiator;
        // the fallback to the first party is never taken.
        self.parties
            .iter()
            .find(|p| p.role == Role::Initiator)
            .unwrap_or(&self.parties[0])
    }

    /// The canonical version-1 bytes (layout in the crate README, "Content encoding").
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        out.extend_from_slice(&CONTENT_MAGIC);
        out.push(CONTENT_VERSION);
        out.extend_from_slice(self.contract_id.as_bytes());
        out.extend_from_slice(self.template_id.as_bytes());
        out.extend_from_slice(&self.template_version.to_be_bytes());
        out.extend_from_slice(self.template_body_digest.as_bytes());
        // At most FIELDS_MAX (128) fields and PARTIES_MAX (32) parties: the counts fit.
        out.push(u8::try_from(self.fields.len()).unwrap_or(u8::MAX));
        for (name, value) in &self.fields {
            out.push(u8::try_from(name.len()).unwrap_or(u8::MAX));
            out.extend_from_slice(name.as_bytes());
            push_u16_bytes(&mut out, value.as_bytes());
        }
        out.push(u8::try_from(self.parties.len()).unwrap_or(u8::MAX));
        for party in &self.parties {
            out.extend_from_slice(party.id.as_bytes());
            out.push(party.role.code());
            push_u16_bytes(&mut out, party.display_name.as_bytes());
            out.extend_from_slice(party.identity.as_bytes());
        }
        out.push(self.signing_order.code());
        out.extend_from_slice(&self.expires_ms.to_be_bytes());
        out
    }

    /// The content digest every party signs:
    /// `SHA-256(CONTENT_DOMAIN || encode())`.
    pub fn digest(&self) -> Sha256Digest {
        let mut hash = Sha256::new();
        hash.update(CONTENT_DOMAIN);
        hash.update(self.encode());
        Sha256Digest::from_bytes(hash.finalize().into())
    }

    /// Decodes canonical version-1 bytes; refuses anything [`ContractContent::encode`]
    /// would not emit (unsorted or duplicate fields, bad names, trailing bytes, …).
    pub fn decode(bytes: &[u8]) -> Result<Self, Error> {
        const WHAT: &str = "contract content";
        if bytes.len() > CONTENT_BYTES_MAX {
            return Err(Error::TooLarge {
                what: "contract content bytes",
                actual: bytes.len(),
                limit: CONTENT_BYTES_MAX,
            });
        }
        let mut r = Reader::new(WHAT, bytes);
        if r.array::<4>()? != CONTENT_MAGIC {
            return Err(r.error("not a contract content (bad magic)"));
        }
        let version = r.u8()?;
        if version != CONTENT_VERSION {
            return Err(Error::UnsupportedVersion {
                what: WHAT,
                version,
            });
        }
        let contract_id = ContractId::from_bytes(r.array()?);
        let template_id = TemplateId::from_bytes(r.array()?);
        let template_version = u32::from_be_bytes(r.array()?);
        let template_body_digest = Sha256Digest::from_bytes(r.array()?);
        let field_count = usize::from(r.u8()?);
        if field_count > FIELDS_MAX {
            return Err(r.error("too many fields"));
        }
        let mut fields = BTreeMap::new();
        let mut previous: Option<String> = None;
        for _ in 0..field_count {
            let name_len = usize::from(r.u8()?);
            let name = r.utf8(name_len)?;
            if name_len > FIELD_NAME_BYTES_MAX || !is_field_name(name) {
                return Err(r.error("bad field name"));
            }
            if previous.as_deref().is_some_and(|p| p >= name) {
                return Err(r.error("field names not sorted and unique"));
            }
            let value_len = usize::from(r.u16()?);
            let value = r.utf8(value_len)?;
            if value.is_empty() || value_len > FIELD_VALUE_BYTES_MAX {
                return Err(r.error("empty or oversized field value"));
            }
            previous = Some(name.to_owned());
            fields.insert(name.to_owned(), value.to_owned());
        }
        let party_count = usize::from(r.u8()?);
        if party_count > PARTIES_MAX {
            return Err(r.error("too many parties"));
        }
        let mut parties = Vec::with_capacity(party_count);
        for _ in 0..party_count {
            let id = PartyId::from_bytes(r.array()?);
            let role = Role::from_code(r.u8()?).ok_or_else(|| r.error("unknown role"))?;
            let name_len = usize::from(r.u16()?);
            let display_name = r.utf8(name_len)?.to_owned();
            let identity = Commitment::from_bytes(r.array()?);
            parties.push(Party {
                id,
                role,
                display_name,
                identity,
            });
        }
        let signing_order = match r.u8()? {
            1 => SigningOrder::Sequential,
            2 => SigningOrder::Parallel,
            _ => return Err(r.error("unknown signing order")),
        };
        let expires_ms = u64::from_be_bytes(r.array()?);
        r.finish()?;
        check_parties(&parties)?;
        Ok(Self {
            contract_id,
            template_id,
            template_version,
            template_body_digest,
            fields,
            parties,
            signing_order,
            expires_ms,
        })
    }

    pub(crate) fn party(&self, id: PartyId) -> Option<(usize, &Party)> {
        self.parties.iter().enumerate().find(|(_, p)| p.id == id)
    }
}

fn check_parties(parties: &[Party]) -> Result<(), Error> {
    let bad = |reason| Err(Error::InvalidContent { reason });
    if parties.is_empty() || parties.len() > PARTIES_MAX {
        return bad("no parties, or more than 32");
    }
    if parties.iter().filter(|p| p.role == Role::Initiator).count() != 1 {
        return bad("not exactly one initiator");
    }
    let ids: BTreeSet<_> = parties.iter().map(|p| p.id).collect();
    if ids.len() != parties.len() {
        return bad("duplicate party id");
    }
    if parties.iter().any(|p| {
        p.display_name.is_empty()
            || p.display_name.len() > DISPLAY_NAME_BYTES_MAX
            || p.display_name.chars().any(char::is_control)
    }) {
        return bad("display name empty, too long or with control characters");
    }
    Ok(())
}
