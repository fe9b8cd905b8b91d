//! Bundles: what a court receives. The evidence bundle of a contract and the litigation
//! bundle of a loan are assembled here from what is stored, once every event (and, for
//! a loan, every rule action) has its ledger receipt.

use std::time::{Duration, Instant};

use affix_bundle::{
    Bundle, BundleApproval, BundleCertificates, BundleDocument, BundleEvent, BundleLedger,
    BundleSignature, FORMAT_V1, FORMAT_V2, LITIGATION_FORMAT_V1, LITIGATION_FORMAT_V2,
    LitigationBundle, LoanBundleAction, LoanBundleDocument, LoanBundleEvent,
};
use base64::Engine as _;
use der::EncodePem as _;

use super::*;

/// Largest OCSP request answered.
const OCSP_REQUEST_BYTES_MAX: usize = 64 * 1024;

/// The longest a bundle request waits for pending receipts.
pub const BUNDLE_WAIT_MAX: Duration = Duration::from_secs(60);
/// How often pending receipts are looked for while waiting.
const RECEIPT_POLL: Duration = Duration::from_millis(100);

impl Platform {
    /// The evidence bundle v1 of contract `id`, once every event has its ledger receipt,
    /// waiting up to `wait` (at most [`BUNDLE_WAIT_MAX`]) for pending ones. Not for
    /// regulators: a bundle holds the contract's content and document.
    ///
    /// # Errors
    /// [`Error::Forbidden`], [`Error::NotFound`], [`Error::ReceiptsPending`] when the
    /// wait ends first.
    pub async fn contract_bundle(
        &self,
        who: &Principal,
        id: ContractId,
        wait: Duration,
    ) -> Result<Bundle, Error> {
        refuse_regulator(
            who,
            "regulators read metadata and evidence (GET …/events), not contents",
        )?;
        self.contract_bundle_until(who, id, deadline(wait)).await
    }

    /// The litigation bundle of the loan of note `id`: the note's bundle, the signed
    /// rules, every loan event (with its proof attachment) and rule action with its
    /// receipt, and the bundles of the documents the parties signed since (format v2
    /// when there are any). Waits as [`Platform::contract_bundle`] does.
    ///
    /// # Errors
    /// As [`Platform::contract_bundle`].
    pub async fn litigation_bundle(
        &self,
        who: &Principal,
        id: ContractId,
        wait: Duration,
    ) -> Result<LitigationBundle, Error> {
        let (rules, proofs) = self.loan_rules_and_transfer_proofs(who, id).await?;
        let deadline = deadline(wait);
        let contract = self.contract_bundle_until(who, id, deadline).await?;
        let mut documents = Vec::new();
        for (kind, document) in self.loan_documents(who, id).await? {
            let document = ContractId::parse(&document)
                .map_err(|e| Error::Internal(format!("stored document id: {e}")))?;
            let bundle = self.contract_bundle_until(who, document, deadline).await?;
            documents.push(LoanBundleDocument { kind, bundle });
        }
        let evidence = loop {
            self.wake_evidence();
            let evidence = self.loan_evidence(who, id).await?;
            let receipted = evidence.events.iter().all(|e| e.receipt.is_some())
                && evidence.actions.iter().all(|a| a.receipt.is_some());
            if receipted {
                break evidence;
            }
            if Instant::now() >= deadline {
                return Err(Error::ReceiptsPending("loan events or actions"));
            }
            tokio::time::sleep(RECEIPT_POLL).await;
        };
        let format = if documents.is_empty() {
            LITIGATION_FORMAT_V1
        } else {
            LITIGATION_FORMAT_V2
        };
        Ok(LitigationBundle {
            format: format.to_owned(),
            documents,
            contract,
            rules,
            events: evidence
                .events
                .into_iter()
                .enumerate()
                .map(|(n, e)| LoanBundleEvent {
                    text: e.text,
                    record: e.record,
                    receipt: e.receipt,
                    proof: proofs.get(n).cloned().flatten().map(|p| b64().encode(p)),
                })
                .collect(),
            actions: evidence
                .actions
                .into_iter()
                .map(|a| LoanBundleAction {
                    key: a.key,
                    day: a.day,
                    rule: a.rule,
                    action: a.action,
                    deliveries: a.deliveries,
                    record: a.record,
                    receipt: a.receipt,
                })
                .collect(),
        })
    }

    /// The contract's document (generic contracts). Not for regulators.
    ///
    /// # Errors
    /// [`Error::Forbidden`], [`Error::NotFound`] (also when the contract has none).
    pub async fn document(&self, who: &Principal, id: ContractId) -> Result<Vec<u8>, Error> {
        refuse_regulator(who, "regulators do not read documents")?;
        let (_, document, _) = self.content_and_document(who, id).await?;
        document.ok_or_else(|| Error::NotFound("this contract has no document".into()))
    }

    /// The CA's root and issuing certificates in PEM: the trust anchors of every
    /// signature.
    ///
    /// # Errors
    /// [`Error::Internal`] if a certificate does not encode.
    pub fn ca_certificates_pem(&self) -> Result<(String, String), Error> {
        Ok((pem(self.authority.root())?, pem(self.authority.issuing())?))
    }

    /// The issuing CA's OCSP response to `request` (both DER), at the platform's time;
    /// anyone may ask (RFC 6960; the signers' certificates point here). Blocking file
    /// reads: run off the async workers.
    ///
    /// # Errors
    /// [`Error::TooLarge`] for a request over 64 KiB; [`Error::Io`], [`Error::Pki`].
    pub async fn ocsp_answer(&self, request: Vec<u8>) -> Result<Vec<u8>, Error> {
        if request.len() > OCSP_REQUEST_BYTES_MAX {
            return Err(Error::TooLarge {
                what: "OCSP request",
                max: OCSP_REQUEST_BYTES_MAX,
            });
        }
        let authority = self.authority.clone();
        let now = system_time(self.now_ms());
        tokio::task::spawn_blocking(move || authority.ocsp_answer(&request, now))
            .await
            .map_err(|e| Error::Internal(e.to_string()))?
    }

    /// The issuing CA's current CRL (DER).
    ///
    /// # Errors
    /// [`Error::Io`], [`Error::Pki`].
    pub async fn crl(&self) -> Result<Vec<u8>, Error> {
        let authority = self.authority.clone();
        let now = system_time(self.now_ms());
        tokio::task::spawn_blocking(move || authority.crl(now))
            .await
            .map_err(|e| Error::Internal(e.to_string()))?
    }

    async fn contract_bundle_until(
        &self,
        who: &Principal,
        id: ContractId,
        deadline: Instant,
    ) -> Result<Bundle, Error> {
        let events = loop {
            self.wake_evidence();
            let events = self.events(who, id).await?;
            if events.iter().all(|e| e.receipt.is_some()) {
                break events;
            }
            if Instant::now() >= deadline {
                return Err(Error::ReceiptsPending("events"));
            }
            tokio::time::sleep(RECEIPT_POLL).await;
        };
        let (content, document, document_name) = self.content_and_document(who, id).await?;
        let (root, issuing) = self.ca_certificates_pem()?;
        let signatures = self.signatures_of(id).await?;
        // v2 carries every signature's approval; a contract with a signature made
        // before approvals were kept stays v1.
        let format = if signatures.iter().all(|s| s.approval.is_some()) {
            FORMAT_V2
        } else {
            FORMAT_V1
        };
        Ok(Bundle {
            format: format.to_owned(),
            contract_id: id.to_string(),
            content: b64().encode(&content),
            document: document.map(|d| BundleDocument {
                name: document_name,
                sha256: hex::encode(sha256(&d)),
                bytes: b64().encode(&d),
            }),
            events: events
                .into_iter()
                .map(|e| BundleEvent {
                    event: e.event,
                    record: e.record,
                    receipt: e.receipt,
                })
                .collect(),
            signatures: signatures
                .into_iter()
                .map(|s| BundleSignature {
                    cms: b64().encode(&s.cms_der),
                    certificate: b64().encode(&s.certificate_der),
                    timestamp_token: b64().encode(&s.timestamp_token_der),
                    image_png: b64().encode(&s.image_png),
                    party: s.party,
                    approval: (format == FORMAT_V2)
                        .then_some(s.approval)
                        .flatten()
                        .map(|a| BundleApproval {
                            credential_kind: a.credential_kind,
                            credential_public_key: b64().encode(&a.credential_public_key),
                            authorization: b64().encode(&a.authorization),
                            rp_id: a.rp_id,
                            origin: a.rp_origin,
                        }),
                })
                .collect(),
            certificates: BundleCertificates { root, issuing },
            ledger: BundleLedger {
                verifier_keys: self.verifier_keys.clone(),
            },
        })
    }
}

fn deadline(wait: Duration) -> Instant {
    Instant::now() + wait.min(BUNDLE_WAIT_MAX)
}

fn refuse_regulator(who: &Principal, why: &str) -> Result<(), Error> {
    if matches!(
        who,
        Principal::Member {
            role: Role::Regulator,
            ..
        }
    ) {
        return Err(Error::Forbidden(why.to_owned()));
    }
    Ok(())
}

fn pem(certificate: &Certificate) -> Result<String, Error> {
    certificate
        .to_pem(der::pem::LineEnding::LF)
        .map_err(|e| Error::Internal(format!("certificate PEM: {e}")))
}
