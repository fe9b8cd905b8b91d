//! Contracts: creation from templates, the step transaction (event, state, evidence
//! outbox, webhooks), loading and replay, listing, sending, revoking, expiry.

use super::*;

impl Platform {
    // ----- contracts -------------------------------------------------------------------

    /// Creates a contract in Draft from a template (admins and members).
    ///
    /// # Errors
    /// [`Error::Fields`] listing every bad field; [`Error::Invalid`]; [`Error::NotFound`]
    /// for unknown people; [`Error::TooLarge`] for the document.
    pub async fn create_contract(
        &self,
        who: &Principal,
        new: NewContract,
    ) -> Result<ContractView, Error> {
        let tenant = who.member(&[Role::Admin, Role::Member])?.to_owned();
        let template = template_by_name(&new.template)?;
        let mut fields = new.fields.clone();
        if let Some(document) = &new.document {
            if document.len() > DOCUMENT_BYTES_MAX {
                return Err(Error::TooLarge {
                    what: "document",
                    max: DOCUMENT_BYTES_MAX,
                });
            }
            if new.template != "generic_contract" {
                return Err(invalid(
                    ProblemType::UnexpectedDocument,
                    "only the generic contract carries an uploaded document",
                ));
            }
            // A PDF must be one that can be read and signed later: not encrypted, not
            // certified against changes, with pages. (Parsing takes milliseconds for
            // the largest document: off the async workers.)
            if document.starts_with(b"%PDF-") {
                let bytes = document.clone();
                tokio::task::spawn_blocking(move || affix_pdf::Pdf::check_upload(&bytes))
                    .await
                    .map_err(|e| Error::Internal(e.to_string()))?
                    .map_err(|e| invalid(ProblemType::InvalidPdf, format!("the document: {e}")))?;
            }
            fields.insert("document_sha256".into(), hex::encode(sha256(document)));
        } else if new.template == "generic_contract" {
            return Err(invalid(
                ProblemType::MissingDocument,
                "the generic contract needs the document (base64 in `document`)",
            ));
        }
        let document_name = new
            .document_name
            .as_deref()
            .map(|n| check_name("document name", n))
            .transpose()?;
        let now = self.now_ms();
        let today = Date::from_unix_ms_china(now);
        let validated = template.validate(&fields, today)?;
        let loan = if template.id() == affix_contract::LOAN_NOTE_ID {
            // The legal rate cap, on the LPR in force today; checked again when the last
            // signature makes the contract (the day the rule looks at).
            let note = affix_contract::LoanNote::from_fields(&validated)?;
            note.check_rate_cap(&self.lpr, today)?;
            let rules = match &new.loan_rules {
                Some(json) => affix_contract::RuleSet::from_json(json)?,
                None => affix_contract::RuleSet::standard(),
            };
            Some((note.schedule()?, rules))
        } else {
            if new.loan_rules.is_some() {
                return Err(invalid(
                    ProblemType::UnexpectedRules,
                    "only the loan note carries automation rules",
                ));
            }
            None
        };
        if new.parties.len() < if new.single_party { 1 } else { 2 } {
            return Err(invalid(
                ProblemType::TooFewParties,
                "a contract needs an initiator and at least one other party",
            ));
        }
        let mut rng = OsSeeded::new()?;
        let mut parties = Vec::with_capacity(new.parties.len());
        let mut rows = Vec::with_capacity(new.parties.len());
        let org_name: Option<String> = if new.parties.iter().any(|p| p.seal) {
            store::tenants::name(self.store.pool(), &tenant).await?
        } else {
            None
        };
        for (n, spec) in new.parties.iter().enumerate() {
            let person_id = &spec.person;
            if new.parties[..n].iter().any(|p| p.person == *person_id) {
                return Err(invalid(
                    ProblemType::DuplicateParty,
                    format!("person {person_id} is named twice"),
                ));
            }
            let (mut name, email) =
                store::persons::name_and_email(self.store.pool(), person_id, &tenant)
                    .await?
                    .ok_or_else(|| Error::NotFound(format!("person {person_id}")))?;
            if spec.seal {
                if !self.is_seal_holder(&tenant, person_id).await? {
                    return Err(conflict(
                        ProblemType::NotSealHolder,
                        format!(
                            "person {person_id} does not hold the organization's seal (PUT /v1/organization designates the holder)"
                        ),
                    ));
                }
                // 经办人: the organization signs, through the person who holds its seal.
                name = format!("{} ({name})", org_name.as_deref().unwrap_or_default());
            }
            let email = EmailAddress::parse(&email)?;
            let salt = random_bytes::<32>()?;
            let id = PartyId::random(&mut rng);
            parties.push(Party {
                id,
                role: if n == 0 {
                    affix_contract::Role::Initiator
                } else {
                    affix_contract::Role::Signer
                },
                display_name: name,
                identity: email.commitment(&salt),
            });
            rows.push((id, person_id.clone(), salt, spec.seal));
        }
        let days = new.expires_in_days.unwrap_or(DEFAULT_EXPIRY_DAYS);
        if days == 0 || days > MAX_EXPIRY_DAYS {
            return Err(invalid(
                ProblemType::InvalidExpiry,
                format!("expires_in_days must be 1 to {MAX_EXPIRY_DAYS}"),
            ));
        }
        let id = ContractId::random(&mut rng);
        // The loan terms (schedule and rules) are signed with the note, by their digest.
        let (validated, loan_rules) = match loan {
            Some((schedule, rules)) => {
                let terms = affix_contract::LoanTerms::new(id, schedule, rules.clone());
                fields.insert("loan_terms_sha256".into(), terms.digest().to_string());
                (template.validate(&fields, today)?, Some(rules.to_json()))
            }
            None => (validated, None),
        };
        let content = ContractContent::new(
            id,
            validated,
            parties,
            if new.parallel {
                SigningOrder::Parallel
            } else {
                SigningOrder::Sequential
            },
            now + days * 86_400_000,
        )?;
        let title = content
            .fields()
            .get("title")
            .cloned()
            .unwrap_or_else(|| template.title().to_owned());
        let (contract, event) = Contract::create(content.clone(), now)?;
        let mut tx = self.store.writer().begin().await?;
        store::contracts::insert(
            &mut *tx,
            store::contracts::NewContractRow {
                id: &id.to_string(),
                tenant: &tenant,
                template: new.template.as_str(),
                title: &title,
                status: status_name(contract.status()),
                content: content.encode(),
                document: new.document.clone(),
                document_name,
                head: contract.head().as_bytes(),
                created_ms: now,
                expires_ms: content.expires_ms(),
                loan_rules,
            },
        )
        .await?;
        for (position, (party, person, salt, seal)) in rows.iter().enumerate() {
            store::contracts::insert_party(
                &mut *tx,
                store::contracts::NewPartyRow {
                    contract: &id.to_string(),
                    party: &party.to_string(),
                    tenant: &tenant,
                    person,
                    position: position as u64,
                    role: if position == 0 { "initiator" } else { "signer" },
                    salt,
                    seal: *seal,
                },
            )
            .await?;
        }
        self.append_event(&mut tx, &tenant, id, 0, &contract, &event)
            .await?;
        self.audit_in(
            &mut tx,
            Some(&tenant),
            who,
            "contract.create",
            &id.to_string(),
        )
        .await?;
        tx.commit().await?;
        self.evidence_wake.notify_one();
        // The row as just inserted, before its first event.
        let created = ContractRow {
            contract: contract.clone(),
            event_count: 0,
            created_ms: now,
            updated_ms: now,
            template: new.template,
            title,
            parties: rows
                .into_iter()
                .map(|(party, person, salt, seal)| PartyRow {
                    party,
                    person,
                    salt,
                    seal,
                })
                .collect(),
        };
        let row = self.advance(id, &created, contract, event.at_ms());
        Ok(Self::view_of(who, id, &row))
    }

    /// Appends `event` (number `seq`) and the new state in `tx`; refuses when another
    /// step got there first.
    pub(super) async fn append_event(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        tenant: &str,
        id: ContractId,
        seq: u64,
        contract: &Contract,
        event: &ContractEvent,
    ) -> Result<(), Error> {
        let now = event.at_ms();
        let record = event.to_evidence(&self.submitter)?.encode();
        let advanced = store::contracts::advance(
            &mut **tx,
            &id.to_string(),
            seq,
            status_name(contract.status()),
            contract.head().as_bytes(),
            now,
        )
        .await?;
        if !advanced {
            return Err(conflict(
                ProblemType::ConcurrentChange,
                "the contract changed meanwhile; retry",
            ));
        }
        store::contracts::insert_event(&mut **tx, &id.to_string(), seq, event.encode(), record)
            .await?;
        let body = serde_json::json!({
            "contract_id": id.to_string(),
            "seq": seq,
            "kind": event.kind().evidence_kind(),
            "status": status_name(contract.status()),
            "party": event.actor().map(|a| a.party.to_string()),
            "at_ms": event.at_ms(),
            "event_hash": event.hash().to_string(),
        })
        .to_string();
        self.queue_webhooks(tx, tenant, event.kind().evidence_kind(), &body, now)
            .await?;
        self.webhook_wake.notify_one();
        Ok(())
    }

    /// Loads a contract of `tenant`: its row, and the state replayed from its chain
    /// against the stored head (kept in memory, so only the row is read while the
    /// contract is unchanged since the last request that saw it).
    pub(super) async fn load(&self, tenant: &str, id: ContractId) -> Result<ContractRow, Error> {
        let row = store::contracts::head(self.store.pool(), &id.to_string(), tenant)
            .await?
            .ok_or_else(|| Error::NotFound(format!("contract {id}")))?;
        let head = Sha256Digest::from_bytes(
            row.head
                .try_into()
                .map_err(|_| Error::Internal(format!("stored head of {id}")))?,
        );
        let event_count = row.event_count;
        let state = match self.contracts.get(&id, event_count, &head) {
            Some(state) => state,
            None => self.replay(id, event_count, head).await?,
        };
        Ok(ContractRow {
            contract: state.contract,
            event_count,
            created_ms: row.created_ms,
            updated_ms: row.updated_ms,
            template: row.template_id,
            title: row.title,
            parties: state.parties,
        })
    }

    /// Replays the first `event_count` stored events of `id` and checks they end in
    /// `head` (events are append-only, so those are the ones the row counted even if a
    /// step committed since); keeps the result in the cache.
    async fn replay(
        &self,
        id: ContractId,
        event_count: u64,
        head: Sha256Digest,
    ) -> Result<cache::Cached, Error> {
        let content = store::contracts::content(self.store.pool(), &id.to_string()).await?;
        let content = ContractContent::decode(&content)
            .map_err(|e| Error::Internal(format!("stored content of {id}: {e}")))?;
        let events =
            store::contracts::event_bytes(self.store.pool(), &id.to_string(), event_count).await?;
        let decoded = events
            .iter()
            .map(|bytes| ContractEvent::decode(bytes))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| Error::Internal(format!("stored events of {id}: {e}")))?;
        let chain = verify_chain(&content, &decoded, &head)
            .map_err(|e| Error::Internal(format!("stored chain of {id} does not verify: {e}")))?;
        let parties = match self.contracts.parties(&id) {
            Some(parties) => parties,
            None => self.parties_of(id).await?.into(),
        };
        let state = cache::Cached {
            event_count,
            head,
            contract: chain.contract().clone(),
            parties,
        };
        self.contracts.put(id, state.clone());
        Ok(state)
    }

    /// The row after `row` with `next` (reached by an event at `at_ms`) committed; the
    /// new state is kept in the cache.
    pub(super) fn advance(
        &self,
        id: ContractId,
        row: &ContractRow,
        next: Contract,
        at_ms: u64,
    ) -> ContractRow {
        let row = ContractRow {
            event_count: row.event_count + 1,
            created_ms: row.created_ms,
            updated_ms: at_ms,
            template: row.template.clone(),
            title: row.title.clone(),
            parties: row.parties.clone(),
            contract: next,
        };
        self.contracts.put(
            id,
            cache::Cached {
                event_count: row.event_count,
                head: row.contract.head(),
                contract: row.contract.clone(),
                parties: row.parties.clone(),
            },
        );
        row
    }

    /// (event bytes, record bytes, leaf hash, receipt) in order.
    #[allow(clippy::type_complexity)]
    pub(super) async fn events_of(
        &self,
        id: ContractId,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>, Option<Vec<u8>>, Option<String>)>, Error> {
        let rows = store::contracts::events(self.store.pool(), &id.to_string()).await?;
        Ok(rows
            .into_iter()
            .map(|r| (r.bytes, r.record, r.leaf_hash, r.receipt))
            .collect())
    }

    pub(super) async fn parties_of(&self, id: ContractId) -> Result<Vec<PartyRow>, Error> {
        let rows = store::contracts::parties(self.store.pool(), &id.to_string()).await?;
        rows.into_iter()
            .map(|r| {
                Ok(PartyRow {
                    party: PartyId::parse(&r.party_id)?,
                    person: r.person_id,
                    salt: r
                        .salt
                        .try_into()
                        .map_err(|_| Error::Internal("stored party salt".into()))?,
                    seal: r.seal,
                })
            })
            .collect()
    }

    pub(super) fn tenant_reader<'p>(&self, who: &'p Principal) -> Result<&'p str, Error> {
        who.member(&[Role::Admin, Role::Member, Role::Regulator])
    }

    /// A contract of the caller's tenant, or the caller's own contract for a party.
    ///
    /// # Errors
    /// [`Error::NotFound`], [`Error::Forbidden`].
    pub async fn contract_view(
        &self,
        who: &Principal,
        id: ContractId,
    ) -> Result<ContractView, Error> {
        let tenant = match who {
            Principal::Party {
                tenant, contract, ..
            } if *contract == id => tenant.as_str(),
            Principal::Party { .. } => return Err(Error::NotFound(format!("contract {id}"))),
            _ => self.tenant_reader(who)?,
        };
        let row = self.load(tenant, id).await?;
        Ok(Self::view_of(who, id, &row))
    }

    /// The view of `row` for `who` (who may read it: checked by the caller).
    pub(super) fn view_of(who: &Principal, id: ContractId, row: &ContractRow) -> ContractView {
        let regulator = matches!(
            who,
            Principal::Member {
                role: Role::Regulator,
                ..
            }
        );
        let people = &row.parties;
        let content = row.contract.content();
        let parties = content
            .parties()
            .iter()
            .map(|p| PartyView {
                id: p.id.to_string(),
                person_id: people
                    .iter()
                    .find(|r| r.party == p.id)
                    .map(|r| r.person.clone())
                    .unwrap_or_default(),
                name: p.display_name.clone(),
                role: p.role.name().to_owned(),
                status: row
                    .contract
                    .party_status(p.id)
                    .map_or("unknown", party_status_name)
                    .to_owned(),
                seal: people.iter().any(|r| r.party == p.id && r.seal),
            })
            .collect();
        ContractView {
            id: id.to_string(),
            template: row.template.clone(),
            title: row.title.clone(),
            status: status_name(row.contract.status()).to_owned(),
            content_digest: row.contract.content_digest().to_string(),
            fields: if regulator {
                None
            } else {
                Some(content.fields().clone())
            },
            signing_order: match content.signing_order() {
                SigningOrder::Parallel => "parallel",
                _ => "sequential",
            }
            .to_owned(),
            parties,
            events: row.event_count,
            created_ms: row.created_ms,
            updated_ms: row.updated_ms,
            expires_ms: content.expires_ms(),
        }
    }

    /// Lists contracts of the caller's tenant, newest first, filtered and paged.
    ///
    /// # Errors
    /// [`Error::Forbidden`], [`Error::Invalid`] for a bad filter.
    pub async fn list_contracts(
        &self,
        who: &Principal,
        filter: &ContractFilter,
    ) -> Result<ContractPage, Error> {
        let tenant = self.tenant_reader(who)?.to_owned();
        let limit = filter.limit.unwrap_or(50);
        if limit == 0 || limit > PAGE_MAX {
            return Err(invalid(
                ProblemType::InvalidLimit,
                format!("limit must be 1 to {PAGE_MAX}"),
            ));
        }
        let (before_ms, before_id) = match &filter.cursor {
            None => (i64::MAX, String::from("~")),
            Some(c) => {
                let (ms, id) = c
                    .split_once('.')
                    .and_then(|(ms, id)| Some((ms.parse::<i64>().ok()?, id)))
                    .ok_or_else(|| {
                        invalid(
                            ProblemType::InvalidCursor,
                            "the cursor is not one we issued",
                        )
                    })?;
                ContractId::parse(id)
                    .map_err(|_| invalid(ProblemType::InvalidCursor, "bad cursor id"))?;
                (ms, id.to_owned())
            }
        };
        if let Some(s) = &filter.status
            && ![
                "draft",
                "sent",
                "partially_signed",
                "effective",
                "declined",
                "revoked",
                "expired",
            ]
            .contains(&s.as_str())
        {
            return Err(invalid(
                ProblemType::InvalidStatus,
                format!("unknown status {s:?}"),
            ));
        }
        if let Some(t) = &filter.template {
            template_by_name(t)?;
        }
        let rows = store::contracts::list(
            self.store.pool(),
            &store::contracts::ListQuery {
                tenant: &tenant,
                before_ms,
                before_id: &before_id,
                status: filter.status.as_deref(),
                template: filter.template.as_deref(),
                person: filter.person.as_deref(),
                created_from: filter.created_from,
                created_to: filter.created_to,
                limit: i64::from(limit) + 1,
            },
        )
        .await?;
        let mut contracts = Vec::new();
        let mut next = None;
        for (k, (id, created)) in rows.iter().enumerate() {
            if k == limit as usize {
                break;
            }
            if k + 1 == limit as usize && rows.len() > limit as usize {
                next = Some(format!("{created}.{id}"));
            }
            contracts.push(self.contract_view(who, ContractId::parse(id)?).await?);
        }
        Ok(ContractPage { contracts, next })
    }

    /// A contract's events with their evidence records and receipts.
    ///
    /// # Errors
    /// [`Error::NotFound`], [`Error::Forbidden`].
    pub async fn events(&self, who: &Principal, id: ContractId) -> Result<Vec<EventView>, Error> {
        self.contract_view(who, id).await?;
        let mut out = Vec::new();
        for (seq, (bytes, record, leaf, receipt)) in
            self.events_of(id).await?.into_iter().enumerate()
        {
            let event = ContractEvent::decode(&bytes)
                .map_err(|e| Error::Internal(format!("stored event: {e}")))?;
            out.push(EventView {
                seq: seq as u64,
                kind: event.kind().evidence_kind().to_owned(),
                at_ms: event.at_ms(),
                party: event.actor().map(|a| a.party.to_string()),
                hash: event.hash().to_string(),
                event: base64::Engine::encode(&b64(), &bytes),
                record: base64::Engine::encode(&b64(), &record),
                leaf_hash: leaf.map(hex::encode),
                receipt,
            });
        }
        Ok(out)
    }

    /// Sends a Draft contract to its parties (admins and members): one invite link per
    /// party, delivered out of band to the party's own contact (e-mail, and SMS when the
    /// party has a mobile number). The caller learns where each invite went, never its
    /// token: a tenant that held a party's link could act as the party.
    ///
    /// # Errors
    /// [`Error::Conflict`] unless Draft; [`Error::NotFound`]; [`Error::Forbidden`].
    pub async fn send_contract(
        &self,
        who: &Principal,
        id: ContractId,
    ) -> Result<Vec<Invite>, Error> {
        let tenant = who.member(&[Role::Admin, Role::Member])?.to_owned();
        let row = self.load(&tenant, id).await?;
        let now = self.now_ms();
        let initiator = row.contract.content().initiator().id;
        let (next, event) = row.contract.send(initiator, now)?;
        let expires = row.contract.content().expires_ms();
        let mut links = Vec::new();
        let mut tx = self.store.writer().begin().await?;
        for party in row.parties.iter() {
            let token = new_invite(&mut tx, id, party.party, expires).await?;
            links.push((party.clone(), token));
        }
        self.append_event(&mut tx, &tenant, id, row.event_count, &next, &event)
            .await?;
        self.audit_in(
            &mut tx,
            Some(&tenant),
            who,
            "contract.send",
            &id.to_string(),
        )
        .await?;
        tx.commit().await?;
        self.evidence_wake.notify_one();
        let title = self.advance(id, &row, next, event.at_ms()).title;
        let mut invites = Vec::new();
        for (party, token) in links {
            invites.push(
                self.deliver_invite(id, &title, &party, &token, expires)
                    .await?,
            );
        }
        Ok(invites)
    }

    /// Re-sends a party's invite with a fresh link (admins and members of the
    /// initiator's tenant): the old link stops working at once. For a party that lost
    /// or leaked its link, or whose identity check was locked.
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown party; [`Error::Conflict`] when the contract is
    /// not out for signature or the party already signed or declined.
    pub async fn remind_party(
        &self,
        who: &Principal,
        id: ContractId,
        party: &str,
    ) -> Result<Invite, Error> {
        let tenant = who.member(&[Role::Admin, Role::Member])?.to_owned();
        let party = PartyId::parse(party).map_err(|_| Error::NotFound(format!("party {party}")))?;
        let row = self.load(&tenant, id).await?;
        let me = row
            .parties
            .iter()
            .find(|p| p.party == party)
            .cloned()
            .ok_or_else(|| Error::NotFound(format!("party {party}")))?;
        if row.contract.status() != ContractStatus::Sent {
            return Err(conflict(
                ProblemType::WrongStep,
                "only a contract out for signature has invites to re-send",
            ));
        }
        match row.contract.party_status(party) {
            Some(PartyStatus::Signed | PartyStatus::Declined) => {
                return Err(conflict(
                    ProblemType::WrongStep,
                    "this party has already signed or declined",
                ));
            }
            Some(_) => {}
            None => return Err(Error::NotFound(format!("party {party}"))),
        }
        let expires = row.contract.content().expires_ms();
        let mut tx = self.store.writer().begin().await?;
        let token = new_invite(&mut tx, id, party, expires).await?;
        // The new link starts a fresh identity check: the lock and counters of the old
        // one go (whoever guessed with the old link has no link any more).
        store::contracts::reset_identity_lock(&mut *tx, &id.to_string(), &party.to_string())
            .await?;
        self.audit_in(
            &mut tx,
            Some(&tenant),
            who,
            "contract.remind",
            &format!("{id}/{party}"),
        )
        .await?;
        tx.commit().await?;
        self.deliver_invite(id, &row.title.clone(), &me, &token, expires)
            .await
    }

    /// A short-lived signing URL for a party whose signer account approves with a
    /// passkey, for a sender that embeds signing in its own app: the URL replaces the
    /// party's invite link (the e-mailed one stops working; `remind` sends a fresh
    /// one) and lives [`SIGNING_URL_LIFETIME_MS`]. Whoever opens it still needs the
    /// one-time code sent to the signer's address for the identity check, and only the
    /// signer's passkey approves the signature; a party without a passkey gets no URL
    /// (its link would let the holder act for it with nothing more to prove).
    ///
    /// # Errors
    /// [`ProblemType::NoPasskey`] when the party's signer account has no passkey (or
    /// no account yet, or the party seals); [`ProblemType::WrongStep`] unless the
    /// contract is out for signature and the party has not signed or declined.
    pub async fn signing_url(
        &self,
        who: &Principal,
        id: ContractId,
        party: &str,
    ) -> Result<SigningUrl, Error> {
        let tenant = who.member(&[Role::Admin, Role::Member])?.to_owned();
        let party = PartyId::parse(party).map_err(|_| Error::NotFound(format!("party {party}")))?;
        let row = self.load(&tenant, id).await?;
        let me = row
            .parties
            .iter()
            .find(|p| p.party == party)
            .cloned()
            .ok_or_else(|| Error::NotFound(format!("party {party}")))?;
        if row.contract.status() != ContractStatus::Sent
            || matches!(
                row.contract.party_status(party),
                Some(PartyStatus::Signed | PartyStatus::Declined)
            )
        {
            return Err(conflict(
                ProblemType::WrongStep,
                "a signing URL is for a party yet to sign a contract out for signature",
            ));
        }
        let passkey = !me.seal
            && store::signers::of_person(self.store.pool(), &me.person)
                .await?
                .is_some_and(|a| {
                    super::ceremony::vault_credential_kind(&a.credential_kind)
                        .is_ok_and(affix_vault::CredentialKind::is_passkey)
                });
        if !passkey {
            return Err(conflict(
                ProblemType::NoPasskey,
                "a signing URL is only for a party whose signer account approves with a passkey; send or remind the invite instead",
            ));
        }
        let expires =
            (self.now_ms() + SIGNING_URL_LIFETIME_MS).min(row.contract.content().expires_ms());
        let mut tx = self.store.writer().begin().await?;
        let token = new_invite(&mut tx, id, party, expires).await?;
        self.audit_in(
            &mut tx,
            Some(&tenant),
            who,
            "contract.signing-url",
            &format!("{id}/{party}"),
        )
        .await?;
        tx.commit().await?;
        Ok(SigningUrl {
            url: format!("{}/sign#{token}", self.public_url),
            expires_ms: expires,
        })
    }

    /// E-mails (and texts, with a mobile number) a party its invite link.
    async fn deliver_invite(
        &self,
        id: ContractId,
        title: &str,
        party: &PartyRow,
        token: &str,
        expires: u64,
    ) -> Result<Invite, Error> {
        let url = format!("{}/sign#{token}", self.public_url);
        let person = store::persons::contact(self.store.pool(), &party.person).await?;
        let mut sent_via = vec!["email".to_owned()];
        if let Some(mobile) = person.mobile {
            self.text(
                &mobile,
                "contract.invite",
                &format!("[Affix] Please sign \"{title}\": {url}"),
            )
            .await;
            sent_via.push("sms".to_owned());
        }
        self.mail(
            &person.email,
            "contract.invite",
            &format!("Please sign: {title}"),
            &format!(
                "You are invited to sign \"{title}\" (contract {id}).\n\nOpen {url}\n\nThe link expires at {expires} (Unix ms). \
                 You will confirm your identity with a one-time code sent to this address. \
                 Do not forward this link: whoever holds it can start your identity check."
            ),
        )
        .await?;
        Ok(Invite {
            party_id: party.party.to_string(),
            person_id: party.person.clone(),
            sent_via,
            expires_ms: expires,
        })
    }

    /// Revokes a contract before it takes effect (admins and members, on behalf of the
    /// initiator).
    ///
    /// # Errors
    /// [`Error::Contract`] when final; [`Error::NotFound`]; [`Error::Forbidden`].
    pub async fn revoke_contract(
        &self,
        who: &Principal,
        id: ContractId,
    ) -> Result<ContractView, Error> {
        let tenant = who.member(&[Role::Admin, Role::Member])?.to_owned();
        let row = self.load(&tenant, id).await?;
        let now = self.now_ms();
        let (next, event) = row
            .contract
            .revoke(row.contract.content().initiator().id, now)?;
        let mut tx = self.store.writer().begin().await?;
        self.append_event(&mut tx, &tenant, id, row.event_count, &next, &event)
            .await?;
        store::contracts::expire_invites(&mut *tx, &id.to_string(), now).await?;
        self.audit_in(
            &mut tx,
            Some(&tenant),
            who,
            "contract.revoke",
            &id.to_string(),
        )
        .await?;
        tx.commit().await?;
        self.evidence_wake.notify_one();
        let row = self.advance(id, &row, next, event.at_ms());
        Ok(Self::view_of(who, id, &row))
    }

    pub(super) async fn mail(
        &self,
        to: &str,
        event: &str,
        subject: &str,
        body: &str,
    ) -> Result<(), Error> {
        let sent = self.mail_record(to, event, subject, body).await?;
        if sent.outcome.starts_with("failed") {
            return Err(Error::Notify(format!(
                "e-mail to the party {}",
                sent.outcome
            )));
        }
        Ok(())
    }

    /// Sends an e-mail and returns its outcome and the SHA-256 of its delivery record,
    /// for a proof of notice. A failure is a result here, not an error.
    pub(super) async fn mail_record(
        &self,
        to: &str,
        event: &str,
        subject: &str,
        body: &str,
    ) -> Result<MailSent, Error> {
        let notification = Notification::new(
            NotificationId::random().map_err(|e| Error::Notify(e.to_string()))?,
            Recipient::Email(
                affix_notify::EmailAddress::parse(to).map_err(|e| Error::Notify(e.to_string()))?,
            ),
            affix_notify::EventType::parse(event).map_err(|e| Error::Notify(e.to_string()))?,
            subject,
            body,
            self.now_ms(),
        )
        .map_err(|e| Error::Notify(e.to_string()))?;
        debug_assert_eq!(notification.channel(), Channel::Email);
        let record = self.mailer.send(&notification, 1).await;
        let (outcome, retryable) = match &record.outcome {
            affix_notify::Outcome::Failed {
                reason, retryable, ..
            } => (format!("failed: {reason}"), *retryable),
            affix_notify::Outcome::Outboxed { .. } => ("outboxed".to_owned(), false),
            _ => ("delivered".to_owned(), false),
        };
        Ok(MailSent {
            outcome,
            record_sha256: record.digest().to_string(),
            retryable,
        })
    }

    /// Sends a text message to `mobile` (E.164). SMS is a courtesy copy: e-mail is the
    /// channel of record, so a failed text is logged, not an error of the step.
    pub(super) async fn text(&self, mobile: &str, event: &str, text: &str) {
        let notification = (|| -> Result<Notification, String> {
            Notification::new(
                NotificationId::random().map_err(|e| e.to_string())?,
                Recipient::Sms(
                    affix_notify::PhoneNumber::parse(mobile).map_err(|e| e.to_string())?,
                ),
                affix_notify::EventType::parse(event).map_err(|e| e.to_string())?,
                "",
                text,
                self.now_ms(),
            )
            .map_err(|e| e.to_string())
        })();
        let outcome = match notification {
            Ok(n) => self.sms.send(&n, 1).await.outcome,
            Err(e) => affix_notify::Outcome::failed(false, None, e),
        };
        if let affix_notify::Outcome::Failed { reason, .. } = &outcome {
            tracing::warn!(event, %reason, "text message not sent");
        }
    }

    /// The signatures of a contract, in the order they were made.
    pub(crate) async fn signatures_of(
        &self,
        id: ContractId,
    ) -> Result<Vec<StoredSignature>, Error> {
        let rows = store::contracts::signatures(self.store.pool(), &id.to_string()).await?;
        Ok(rows
            .into_iter()
            .map(|r| StoredSignature {
                party: r.party_id,
                cms_der: r.cms,
                certificate_der: r.certificate,
                timestamp_token_der: r.timestamp_token,
                image_png: r.image,
                approval: r.approval,
            })
            .collect())
    }

    /// The stored content, document and name of a contract the caller may read in full.
    pub(crate) async fn content_and_document(
        &self,
        who: &Principal,
        id: ContractId,
    ) -> Result<(Vec<u8>, Option<Vec<u8>>, Option<String>), Error> {
        // The same read rights as the contract itself.
        self.contract_view(who, id).await?;
        store::contracts::content_and_document(self.store.pool(), &id.to_string()).await
    }

    /// Expires contracts whose expiry has passed while still open (Draft or Sent): one
    /// `contract.expired` event each. Returns how many.
    ///
    /// # Errors
    /// [`Error::Db`].
    pub async fn expire_due(&self) -> Result<usize, Error> {
        let now = self.now_ms();
        let rows = store::contracts::due_to_expire(self.store.pool(), now).await?;
        let mut n = 0;
        for (id, tenant) in rows {
            let id = ContractId::parse(&id)?;
            let row = self.load(&tenant, id).await?;
            let Ok((next, event)) = row.contract.expire(now) else {
                continue;
            };
            let mut tx = self.store.writer().begin().await?;
            match self
                .append_event(&mut tx, &tenant, id, row.event_count, &next, &event)
                .await
            {
                Ok(()) => {
                    tx.commit().await?;
                    n += 1;
                }
                Err(Error::Conflict { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        if n > 0 {
            self.evidence_wake.notify_one();
        }
        Ok(n)
    }

    /// Wakes the evidence loop.
    pub fn wake_evidence(&self) {
        self.evidence_wake.notify_one();
    }
}

/// What [`Platform::mail_record`] reports about one e-mail.
pub(super) struct MailSent {
    /// `delivered`, `outboxed` or `failed: <reason>`.
    pub(super) outcome: String,
    /// SHA-256 of the delivery record (the proof of notice).
    pub(super) record_sha256: String,
    /// A failure that trying again later may cure (connection errors, SMTP 4xx).
    pub(super) retryable: bool,
}

/// A fresh invite token for `party`, its hash stored in `tx` (replacing, and so killing,
/// any earlier link of the party).
async fn new_invite(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    id: ContractId,
    party: PartyId,
    expires: u64,
) -> Result<String, Error> {
    let secret = hex::encode(random_bytes::<32>()?);
    store::contracts::set_invite(
        &mut **tx,
        &id.to_string(),
        &party.to_string(),
        &sha256(secret.as_bytes()),
        expires,
    )
    .await?;
    Ok(format!("afi_{secret}"))
}
