//! Signing: [`Vault::sign`] and [`Vault::sign_many`]. A batch is checked (key, statement,
//! credential, freshness), its authorizations verified (Ed25519 ones in one batch), each
//! request signed, and the whole batch committed at once: plain signatures through the
//! signing journal, signatures under a grant through the store (they count a use).

use super::commit::{Job, JournalJob, Work};
use super::{BATCH_REQUESTS_MAX, Vault};
use crate::authz::{Action, Authorization};
use crate::error::{Error, Refusal};
use crate::evidence;
use crate::ids::{CredentialId, GrantId, KeyId, TenantId};
use crate::journal;
use crate::keys::{MESSAGE_BYTES_MAX, Payload, SignatureBytes};
use crate::record::{CredentialKind, CredentialRecord, KeyRecord};
use crate::store::{self, insert_new, nonce_row};
use redb::ReadableTable;
use sha2::{Digest as _, Sha256};

/// Smallest share of a batch worth a thread of its own.
const PARALLEL_CHUNK_REQUESTS_MIN: usize = 16;

/// A request to sign.
#[derive(Debug, Clone)]
pub struct SignRequest {
    /// Tenant of the caller; must be the key's.
    pub tenant: TenantId,
    /// The key.
    pub key: KeyId,
    /// What to sign.
    pub payload: Payload,
    /// The owner's (or grantee's) authorization of exactly this.
    pub authorization: Authorization,
}

/// A signature and where its usage record is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    /// The signature.
    pub signature: SignatureBytes,
    /// Index of the `vault.key.signed` record in the evidence log.
    pub evidence_leaf: u64,
}

impl Vault {
    /// Signs one payload with the owner's (or a grantee's) authorization.
    ///
    /// # Errors
    /// See [`Vault::sign_many`].
    pub fn sign(&self, request: SignRequest, now_ms: u64) -> Result<Signed, Error> {
        self.sign_many(vec![request], now_ms)
            .pop()
            .unwrap_or_else(|| Err(Error::internal("no result")))
    }

    /// Signs a batch; each request succeeds or fails on its own. A signature is returned
    /// only after its `vault.key.signed` record is durable in the evidence log and the
    /// authorization's nonce is durably spent.
    ///
    /// Per request: [`Error::KeyNotFound`] (also for other tenants' keys),
    /// [`Error::KeyDisabled`], [`Error::AuthorizationRefused`] (bad, expired, replayed or
    /// mismatched authorization, revoked credential, grant out of scope: see [`Refusal`]),
    /// [`Error::Unsupported`] (payload kind), [`Error::TooLarge`], [`Error::Tampered`];
    /// for the whole batch, [`Error::Busy`] while too many signature records wait for the
    /// evidence log (a stalled drain).
    pub fn sign_many(&self, requests: Vec<SignRequest>, now_ms: u64) -> Vec<Result<Signed, Error>> {
        if requests.len() > BATCH_REQUESTS_MAX {
            return requests
                .iter()
                .map(|_| {
                    Err(Error::TooLarge {
                        what: "signing batch",
                        size: requests.len(),
                        max: BATCH_REQUESTS_MAX,
                    })
                })
                .collect();
        }
        // The journal's records wait in memory until the drainer moves them into the log:
        // past a bound (a stalled or failing drain), refuse rather than grow.
        let undrained = self.undrained_journal_records();
        let max = self.config.undrained_signature_records_max;
        if undrained >= max {
            return requests
                .iter()
                .map(|_| {
                    Err(Error::Busy(format!(
                        "{undrained} signature records wait for the evidence log (at most {max})"
                    )))
                })
                .collect();
        }
        let threads = self.config.sign_threads.clamp(
            1,
            requests.len().div_ceil(PARALLEL_CHUNK_REQUESTS_MIN).max(1),
        );
        let prepared: Vec<Result<Prepared, Error>> = if threads == 1 {
            self.prepare_batch(&requests, now_ms)
        } else {
            // Spread the CPU work over the cores; each share keeps its own order.
            let chunk = requests.len().div_ceil(threads);
            std::thread::scope(|s| {
                let shares: Vec<_> = requests
                    .chunks(chunk)
                    .map(|share| {
                        (
                            share.len(),
                            s.spawn(move || self.prepare_batch(share, now_ms)),
                        )
                    })
                    .collect();
                shares
                    .into_iter()
                    .flat_map(|(len, handle)| {
                        handle.join().unwrap_or_else(|_| {
                            (0..len)
                                .map(|_| Err(Error::internal("a signing thread panicked")))
                                .collect()
                        })
                    })
                    .collect()
            })
        };
        // Signatures under a grant also count a use of the grant: they commit through the
        // store. All others go to the signing journal (record and nonce, one append).
        // So do signatures authorized by a passkey whose sign counter must be stored
        // with the use.
        let mut signatures = Vec::new();
        let mut granted_records = Vec::new();
        let mut granted_writes = Vec::new();
        let slots: Vec<Result<Slot, Error>> = prepared
            .into_iter()
            .map(|p| {
                let p = p?;
                let journaled = p.grant.is_none() && p.sign_count.is_none();
                if !journaled {
                    granted_records.push(p.record);
                    granted_writes.push((p.nonce, p.expires_ms, p.grant, p.sign_count));
                } else {
                    signatures.push(journal::Signature {
                        record: p.record,
                        key: p.key,
                        nonce: p.nonce,
                    });
                }
                Ok(Slot {
                    journaled,
                    signature: p.signature,
                    grant: p.grant,
                })
            })
            .collect();
        let mut works = Vec::new();
        let journaled = !signatures.is_empty();
        if journaled {
            works.push(Work::Journal(JournalJob { signatures, now_ms }));
        }
        if !granted_records.is_empty() {
            works.push(Work::Store(Job {
                key_creations: None,
                records: granted_records,
                // The signature index (key → leaf) is derived from the log by the drainer.
                write: Box::new(move |tx, _| {
                    let mut nonces = tx.open_table(store::NONCES)?;
                    let mut uses = tx.open_table(store::GRANT_USES)?;
                    for (nonce, expires, grant, _) in &granted_writes {
                        insert_new(&mut nonces, nonce, *expires, "nonce", || "replayed".into())?;
                        if let Some(grant) = grant {
                            let n = uses.get(&grant.0)?.map_or(0, |v| v.value());
                            uses.insert(&grant.0, n + 1)?;
                        }
                    }
                    drop((nonces, uses));
                    for (_, _, _, sign_count) in &granted_writes {
                        if let Some((credential, count)) = sign_count {
                            super::nonces::raise_sign_count(tx, credential, *count)?;
                        }
                    }
                    Ok(())
                }),
            }));
        }
        // Every signature of a failed work shares its error.
        let mut committed = self
            .commit_works(works)
            .into_iter()
            .map(|r| r.map_err(Error::shared));
        let mut journal_leaf = if journaled { committed.next() } else { None };
        let mut store_leaf = committed.next();
        // Release the reservations whatever happened: committed nonces are spent (in the
        // journal's nonce set or the store).
        for (r, slot) in requests.iter().zip(&slots) {
            if let Ok(Slot { grant, .. }) = slot {
                self.release_nonce(Some(&r.authorization));
                self.release_grant(*grant);
            }
        }
        slots
            .into_iter()
            .map(|slot| {
                let Slot {
                    journaled,
                    signature,
                    ..
                } = slot?;
                let leaf = if journaled {
                    &mut journal_leaf
                } else {
                    &mut store_leaf
                };
                match leaf {
                    Some(Ok(l)) => {
                        *l += 1;
                        Ok(Signed {
                            signature,
                            evidence_leaf: *l - 1,
                        })
                    }
                    Some(Err(e)) => Err(Error::commit_failed(e)),
                    None => Err(Error::internal("no commit result")),
                }
            })
            .collect()
    }

    /// Checks, verifies and signs `requests` (no commit): one result per request, in order.
    fn prepare_batch(&self, requests: &[SignRequest], now_ms: u64) -> Vec<Result<Prepared, Error>> {
        let checked: Vec<Result<Checked, Error>> = requests
            .iter()
            .map(|r| self.check_request(r, now_ms))
            .collect();
        let verified = self.verify_authorizations(requests, checked, now_ms);
        requests
            .iter()
            .zip(verified)
            .map(|(r, c)| self.prepare_signature(r, c, now_ms))
            .collect()
    }

    /// Everything about a request that needs no signature verification: limits, key,
    /// statement binding, credential, freshness.
    fn check_request(&self, r: &SignRequest, now_ms: u64) -> Result<Checked, Error> {
        if let Payload::Message(m) = &r.payload
            && m.len() > MESSAGE_BYTES_MAX
        {
            return Err(Error::TooLarge {
                what: "message",
                size: m.len(),
                max: MESSAGE_BYTES_MAX,
            });
        }
        let (record, disabled) = self.load_key(&r.tenant, &r.key)?;
        if disabled {
            return Err(Error::KeyDisabled(r.key.to_string()));
        }
        if matches!(r.payload, Payload::Prehash(_)) && !record.algorithm.signs_prehash() {
            return Err(Error::Unsupported(format!(
                "{} keys sign messages, not digests",
                record.algorithm.name()
            )));
        }
        let s = &r.authorization.statement;
        let digest = r.payload.digest();
        s.check_for(Action::Sign, &r.tenant, Some(r.key), &digest)?;
        if s.payload_kind != r.payload.kind_code() {
            return Err(Refusal::WrongPayloadKind.into());
        }
        let (cred, revoked) = self.presented_credential(&s.credential)?;
        if revoked {
            return Err(Refusal::CredentialRevoked.into());
        }
        if s.grant.is_none() && (cred.tenant != record.tenant || cred.owner != record.owner) {
            return Err(Refusal::NotOwnersCredential.into());
        }
        r.authorization.check_fresh(now_ms)?;
        Ok(Checked {
            record,
            cred,
            digest,
            sign_count: None,
        })
    }

    /// Verifies the authorizations of checked requests: Ed25519 ones in one batch
    /// (falling back to one by one when the batch fails, to find the bad ones).
    fn verify_authorizations(
        &self,
        requests: &[SignRequest],
        checked: Vec<Result<Checked, Error>>,
        now_ms: u64,
    ) -> Vec<Result<Checked, Error>> {
        let batch: Vec<usize> = checked
            .iter()
            .enumerate()
            .filter(|(_, c)| matches!(c, Ok(c) if c.cred.kind == CredentialKind::Ed25519))
            .map(|(i, _)| i)
            .collect();
        let mut batch_ok = false;
        if batch.len() >= 2 {
            let parsed: Option<Vec<_>> = batch
                .iter()
                .map(|&i| {
                    let c = checked[i].as_ref().ok()?;
                    let key =
                        ed25519_dalek::VerifyingKey::try_from(c.cred.public_key.as_slice()).ok()?;
                    let sig =
                        ed25519_dalek::Signature::from_slice(&requests[i].authorization.signature)
                            .ok()?;
                    Some((requests[i].authorization.statement.to_bytes(), sig, key))
                })
                .collect();
            if let Some(parsed) = parsed {
                let messages: Vec<&[u8]> = parsed.iter().map(|(m, _, _)| m.as_slice()).collect();
                let sigs: Vec<_> = parsed.iter().map(|(_, s, _)| *s).collect();
                let keys: Vec<_> = parsed.iter().map(|(_, _, k)| *k).collect();
                batch_ok = ed25519_dalek::verify_batch(&messages, &sigs, &keys).is_ok();
            }
        }
        checked
            .into_iter()
            .enumerate()
            .map(|(i, c)| {
                let mut c = c?;
                let in_batch = batch_ok && c.cred.kind == CredentialKind::Ed25519;
                if !in_batch {
                    c.sign_count =
                        self.verify_authorization(&requests[i].authorization, &c.cred, now_ms)?;
                }
                Ok(c)
            })
            .collect()
    }

    fn prepare_signature(
        &self,
        r: &SignRequest,
        checked: Result<Checked, Error>,
        now_ms: u64,
    ) -> Result<Prepared, Error> {
        let Checked {
            record,
            cred,
            digest,
            sign_count,
        } = checked?;
        let s = &r.authorization.statement;
        let grant = match s.grant {
            None => None,
            Some(g) => {
                self.check_grant(g, &r.key, &s.credential, now_ms)?;
                Some(g)
            }
        };
        if let Err(e) = self.reserve_nonce(&r.authorization) {
            self.release_grant(grant);
            return Err(e);
        }
        let sign_count = sign_count.map(|count| (s.credential, count));
        if let Some((credential, count)) = sign_count
            && let Err(e) = self.reserve_sign_count(&r.authorization, credential, count)
        {
            self.release_nonce(Some(&r.authorization));
            self.release_grant(grant);
            return Err(e);
        }
        let presented_count = sign_count.map(|(_, count)| count);
        // Only counters that change need a store write; 0 (no counter) stays 0.
        let sign_count = sign_count.filter(|(_, count)| *count > 0);
        let signed = (|| {
            let secret = self.open_secret(&r.tenant, &r.key, &record)?;
            secret.sign_with_public(&record.public_key, &r.payload)
        })();
        let signature = match signed {
            Ok(s) => s,
            Err(e) => {
                self.release_nonce(Some(&r.authorization));
                self.release_grant(grant);
                return Err(e);
            }
        };
        let auth_digest: [u8; 32] = Sha256::digest(s.to_bytes()).into();
        let mut metadata = vec![
            ("credential", s.credential.to_string()),
            (
                "payload",
                if s.payload_kind == 1 {
                    "message"
                } else {
                    "prehash"
                }
                .to_owned(),
            ),
            ("tenant", r.tenant.as_str().to_owned()),
        ];
        if let Some(g) = grant {
            metadata.push(("grant", g.to_string()));
        }
        // Records of the original kinds keep their layout; the newer kinds are named, so
        // the evidence says which kind of credential approved.
        if !matches!(
            cred.kind,
            CredentialKind::Ed25519 | CredentialKind::EcdsaP256
        ) {
            metadata.push(("credential-kind", cred.kind.name().to_owned()));
        }
        if let Some(count) = presented_count {
            metadata.push(("sign-count", count.to_string()));
        }
        let metadata: Vec<(&str, &str)> = metadata.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let mut digests = vec![("authorization", auth_digest), ("signed", digest)];
        digests.extend(super::proof_digests(cred.kind, &r.authorization));
        let record_bytes = evidence::record(
            "vault.key.signed",
            &format!("key:{}", r.key),
            now_ms,
            self.submitter(),
            &digests,
            &metadata,
        );
        let record_bytes = match record_bytes {
            Ok(b) => b,
            Err(e) => {
                self.release_nonce(Some(&r.authorization));
                self.release_grant(grant);
                return Err(e);
            }
        };
        Ok(Prepared {
            key: r.key,
            nonce: nonce_row(&r.authorization),
            expires_ms: s.expires_ms,
            grant,
            sign_count,
            signature,
            record: record_bytes,
        })
    }
}

struct Checked {
    record: KeyRecord,
    cred: CredentialRecord,
    digest: [u8; 32],
    /// A passkey's sign counter, once its assertion verified.
    sign_count: Option<u32>,
}

/// A prepared signature, once its record went to the journal or to the store.
struct Slot {
    /// Its record went to the journal (otherwise to the store, with a grant use).
    journaled: bool,
    signature: SignatureBytes,
    grant: Option<GrantId>,
}

struct Prepared {
    key: KeyId,
    nonce: [u8; 40],
    expires_ms: u64,
    grant: Option<GrantId>,
    /// A passkey's new sign counter, stored with the use.
    sign_count: Option<(CredentialId, u32)>,
    signature: SignatureBytes,
    record: Vec<u8>,
}
