//! The OpenAPI 3.1 document of the HTTP API, served at `/openapi.json`.
//!
//! [`OPERATIONS`] lists every route of [`crate::http::router`] with its method, auth,
//! request body and answers; the document is generated from it. Tests check that the
//! router's routes and this list are the same set, and drive the API with
//! schemathesis against the document.

use serde_json::{Map, Value, json};

/// Who may call an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    /// Nobody needs to authenticate.
    Public,
    /// The operator token.
    Operator,
    /// A tenant API key (roles in the summary).
    ApiKey,
    /// A party's invite token.
    Invite,
}

/// One operation.
#[derive(Debug, Clone, Copy)]
pub struct Operation {
    /// HTTP method (lower case).
    pub method: &'static str,
    /// Path with `{param}` segments.
    pub path: &'static str,
    /// operationId.
    pub id: &'static str,
    /// One line.
    pub summary: &'static str,
    /// Who may call it.
    pub auth: Auth,
    /// Request body schema name in `components/schemas` (JSON), or `image/png`.
    pub body: Option<&'static str>,
    /// Success status.
    pub ok: u16,
    /// Success schema name, or a media type for non-JSON answers.
    pub answer: &'static str,
    /// Query parameters (name, schema type).
    pub query: &'static [(&'static str, &'static str)],
}

#[allow(clippy::too_many_arguments)] // a table row, read positionally
const fn op(
    method: &'static str,
    path: &'static str,
    id: &'static str,
    summary: &'static str,
    auth: Auth,
    body: Option<&'static str>,
    ok: u16,
    answer: &'static str,
) -> Operation {
    Operation {
        method,
        path,
        id,
        summary,
        auth,
        body,
        ok,
        answer,
        query: &[],
    }
}

/// Every operation of the API.
pub const OPERATIONS: &[Operation] = &[
    op(
        "get",
        "/healthz",
        "health",
        "Liveness",
        Auth::Public,
        None,
        200,
        "text/plain",
    ),
    op(
        "get",
        "/openapi.json",
        "openapi",
        "This document",
        Auth::Public,
        None,
        200,
        "Object",
    ),
    op(
        "get",
        "/v1/ca",
        "caCertificates",
        "The CA's root and issuing certificates (PEM): the trust anchors of every signature",
        Auth::Public,
        None,
        200,
        "CaCertificates",
    ),
    op(
        "get",
        "/v1/ledger/verifier-keys",
        "verifierKeys",
        "The ledger's verifier-keys file: the trust anchors of every receipt",
        Auth::Public,
        None,
        200,
        "text/plain",
    ),
    op(
        "post",
        "/v1/tenants",
        "createTenant",
        "Create a tenant and its first admin API key (operator)",
        Auth::Operator,
        Some("TenantIn"),
        201,
        "TenantCreated",
    ),
    op(
        "post",
        "/v1/api-keys",
        "createApiKey",
        "Create an API key with a role (admin)",
        Auth::ApiKey,
        Some("ApiKeyIn"),
        201,
        "ApiKeyCreated",
    ),
    op(
        "post",
        "/v1/api-keys/{id}/revoke",
        "revokeApiKey",
        "Revoke an API key (admin)",
        Auth::ApiKey,
        None,
        200,
        "Object",
    ),
    op(
        "get",
        "/v1/organization",
        "getOrganization",
        "The caller's organization: credit code, seal holder, seal certificate (admin, member, regulator)",
        Auth::ApiKey,
        None,
        200,
        "Organization",
    ),
    op(
        "put",
        "/v1/organization",
        "setOrganization",
        "Set the credit code and designate the seal holder; fixed once the seal exists (admin)",
        Auth::ApiKey,
        Some("OrganizationIn"),
        200,
        "Organization",
    ),
    op(
        "post",
        "/v1/persons",
        "createPerson",
        "Register a person: name, e-mail, optional mobile and resident ID number (checked, not kept) (admin, member)",
        Auth::ApiKey,
        Some("PersonIn"),
        201,
        "Person",
    ),
    op(
        "get",
        "/v1/persons/{id}",
        "getPerson",
        "A person (regulators see no contact details)",
        Auth::ApiKey,
        None,
        200,
        "Person",
    ),
    op(
        "post",
        "/v1/contracts",
        "createContract",
        "Create a contract from a template (admin, member)",
        Auth::ApiKey,
        Some("ContractIn"),
        201,
        "Contract",
    ),
    Operation {
        query: &[
            ("status", "string"),
            ("template", "string"),
            ("person", "string"),
            ("created_from", "integer"),
            ("created_to", "integer"),
            ("limit", "integer"),
            ("cursor", "string"),
        ],
        ..op(
            "get",
            "/v1/contracts",
            "listContracts",
            "List contracts, newest first, filtered, paged by cursor",
            Auth::ApiKey,
            None,
            200,
            "ContractPage",
        )
    },
    op(
        "get",
        "/v1/contracts/{id}",
        "getContract",
        "A contract (regulators see no field values)",
        Auth::ApiKey,
        None,
        200,
        "Contract",
    ),
    op(
        "post",
        "/v1/contracts/{id}/send",
        "sendContract",
        "Send a draft to its parties: invite links, e-mailed and returned once (admin, member)",
        Auth::ApiKey,
        None,
        200,
        "Invites",
    ),
    op(
        "post",
        "/v1/contracts/{id}/revoke",
        "revokeContract",
        "Revoke before it takes effect (admin, member)",
        Auth::ApiKey,
        None,
        200,
        "Contract",
    ),
    op(
        "get",
        "/v1/contracts/{id}/events",
        "contractEvents",
        "Events with evidence records and ledger receipts",
        Auth::ApiKey,
        None,
        200,
        "Events",
    ),
    Operation {
        query: &[("wait", "integer")],
        ..op(
            "get",
            "/v1/contracts/{id}/bundle",
            "contractBundle",
            "The evidence bundle (v1): content, document, events, receipts, signatures, certificates (not for regulators)",
            Auth::ApiKey,
            None,
            200,
            "Bundle",
        )
    },
    op(
        "get",
        "/v1/contracts/{id}/document",
        "contractDocument",
        "The uploaded document",
        Auth::ApiKey,
        None,
        200,
        "application/octet-stream",
    ),
    op(
        "get",
        "/v1/loans/{id}",
        "getLoan",
        "An effective loan note's loan: status, balances, schedule, repayments (admin, member, regulator)",
        Auth::ApiKey,
        None,
        200,
        "Loan",
    ),
    op(
        "get",
        "/v1/loans/{id}/evidence",
        "loanEvidence",
        "The loan's events and rule actions (reminders, overdue notices, with their delivery results), each with its evidence record and receipt (admin, member, regulator)",
        Auth::ApiKey,
        None,
        200,
        "LoanEvidence",
    ),
    Operation {
        query: &[("wait", "integer")],
        ..op(
            "get",
            "/v1/loans/{id}/bundle",
            "loanBundle",
            "The litigation bundle v1: the note's evidence bundle, the signed rules, every loan event and rule action with receipts and delivery results (admin, member)",
            Auth::ApiKey,
            None,
            200,
            "Object",
        )
    },
    op(
        "post",
        "/v1/loans/{id}/extensions",
        "proposeExtension",
        "Propose an extension (展期): the addendum becomes a contract between the loan's parties; once both have signed it the loan takes the new schedule (admin, member)",
        Auth::ApiKey,
        Some("ExtensionIn"),
        201,
        "Contract",
    ),
    op(
        "post",
        "/v1/loans/{id}/repayments",
        "reportRepayment",
        "Report a repayment for the borrower, with an optional proof image (admin, member)",
        Auth::ApiKey,
        Some("RepaymentIn"),
        200,
        "Loan",
    ),
    op(
        "post",
        "/v1/loans/{id}/repayments/{n}/confirm",
        "confirmRepayment",
        "Confirm a reported repayment for the lender; the last one settles the loan (admin, member)",
        Auth::ApiKey,
        None,
        200,
        "Loan",
    ),
    op(
        "post",
        "/v1/loans/{id}/repayments/{n}/dispute",
        "disputeRepayment",
        "Dispute a reported repayment for the lender (admin, member)",
        Auth::ApiKey,
        None,
        200,
        "Loan",
    ),
    op(
        "post",
        "/v1/loans/{id}/repayments/{n}/receipt",
        "requestReceipt",
        "Ask the lender for a signed receipt (收条) of a reported repayment: the receipt becomes a contract whose only party is the lender; once signed, the repayment is confirmed (admin, member)",
        Auth::ApiKey,
        None,
        201,
        "Contract",
    ),
    op(
        "post",
        "/v1/webhooks",
        "createWebhook",
        "Register a webhook endpoint (admin): every contract event is POSTed, signed as Standard Webhooks specify; the whsec_ secret is returned once",
        Auth::ApiKey,
        Some("WebhookIn"),
        201,
        "Webhook",
    ),
    op(
        "get",
        "/v1/webhooks/{id}/deliveries",
        "webhookDeliveries",
        "The delivery log of a webhook: every attempt with its outcome and record digest",
        Auth::ApiKey,
        None,
        200,
        "Deliveries",
    ),
    op(
        "post",
        "/v1/vault/owners/{owner}/credentials",
        "vaultRegisterCredential",
        "Vault: register an owner's authenticator (first one at enrolment; later ones authorized by an existing one)",
        Auth::ApiKey,
        Some("VaultCredentialIn"),
        201,
        "Object",
    ),
    op(
        "post",
        "/v1/vault/keys",
        "vaultCreateKey",
        "Vault: create a key for an owner (Ed25519, ECDSA P-256, secp256k1, SM2)",
        Auth::ApiKey,
        Some("VaultKeyIn"),
        201,
        "Object",
    ),
    op(
        "get",
        "/v1/vault/keys/{id}",
        "vaultKey",
        "Vault: a key's public description",
        Auth::ApiKey,
        None,
        200,
        "Object",
    ),
    op(
        "post",
        "/v1/vault/keys/{id}/sign",
        "vaultSign",
        "Vault: sign a message or digest under the owner's fresh authorization; the use is recorded",
        Auth::ApiKey,
        Some("VaultSignIn"),
        200,
        "Object",
    ),
    op(
        "post",
        "/v1/vault/keys/{id}/disable",
        "vaultDisable",
        "Vault: disable a key (owner's authorization)",
        Auth::ApiKey,
        Some("VaultAuthorizationIn"),
        200,
        "Object",
    ),
    op(
        "post",
        "/v1/vault/keys/{id}/grants",
        "vaultGrant",
        "Vault: delegate signing under limits (owner's authorization)",
        Auth::ApiKey,
        Some("VaultGrantIn"),
        201,
        "Object",
    ),
    Operation {
        query: &[("from", "integer"), ("limit", "integer")],
        ..op(
            "get",
            "/v1/vault/keys/{id}/audit",
            "vaultAudit",
            "Vault: every use of a key, as evidence records",
            Auth::ApiKey,
            None,
            200,
            "Object",
        )
    },
    op(
        "get",
        "/v1/invite",
        "invite",
        "The contract as the invited party sees it",
        Auth::Invite,
        None,
        200,
        "InviteView",
    ),
    op(
        "post",
        "/v1/invite/identity/email",
        "startEmailCheck",
        "Send a one-time code to the party's e-mail address",
        Auth::Invite,
        None,
        200,
        "Object",
    ),
    op(
        "post",
        "/v1/invite/identity/email/verify",
        "finishEmailCheck",
        "Check the code; on first use enrol the signing device (Ed25519 public key)",
        Auth::Invite,
        Some("VerifyIn"),
        200,
        "Contract",
    ),
    op(
        "post",
        "/v1/invite/view",
        "view",
        "Record that the party viewed the content",
        Auth::Invite,
        Some("DigestIn"),
        200,
        "Contract",
    ),
    op(
        "post",
        "/v1/invite/consent",
        "consent",
        "Record the party's consent to sign electronically",
        Auth::Invite,
        Some("DigestIn"),
        200,
        "Contract",
    ),
    op(
        "put",
        "/v1/invite/signature-image",
        "signatureImage",
        "Upload the handwritten signature (PNG, at most 256 KiB)",
        Auth::Invite,
        Some("image/png"),
        200,
        "Object",
    ),
    op(
        "post",
        "/v1/invite/sign/prepare",
        "prepareSignature",
        "The vault authorization statement for the party's device to sign",
        Auth::Invite,
        None,
        200,
        "PreparedSignature",
    ),
    op(
        "post",
        "/v1/invite/sign",
        "sign",
        "Sign: device signature → vault → CMS → RFC 3161 time-stamp → signed event",
        Auth::Invite,
        Some("SignIn"),
        200,
        "Contract",
    ),
    op(
        "post",
        "/v1/invite/decline",
        "decline",
        "Decline to sign",
        Auth::Invite,
        None,
        200,
        "Contract",
    ),
];

fn schema_ref(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

fn string() -> Value {
    json!({"type": "string"})
}

fn integer() -> Value {
    json!({"type": "integer", "minimum": 0})
}

fn object(required: &[&str], props: &[(&str, Value)]) -> Value {
    let mut p = Map::new();
    for (k, v) in props {
        p.insert((*k).to_owned(), v.clone());
    }
    json!({"type": "object", "required": required, "properties": p, "additionalProperties": false})
}

fn schemas() -> Value {
    let contract = object(
        &[
            "id",
            "template",
            "title",
            "status",
            "content_digest",
            "signing_order",
            "parties",
            "events",
            "created_ms",
            "updated_ms",
            "expires_ms",
        ],
        &[
            ("id", string()),
            (
                "template",
                json!({"enum": ["generic_contract", "loan_note"]}),
            ),
            ("title", string()),
            (
                "status",
                json!({"enum": ["draft", "sent", "partially_signed", "effective", "declined", "revoked", "expired"]}),
            ),
            (
                "content_digest",
                json!({"type": "string", "pattern": "^[0-9a-f]{64}$"}),
            ),
            (
                "fields",
                json!({"type": "object", "additionalProperties": {"type": "string"}}),
            ),
            ("signing_order", json!({"enum": ["sequential", "parallel"]})),
            (
                "parties",
                json!({"type": "array", "items": schema_ref("Party")}),
            ),
            ("events", integer()),
            ("created_ms", integer()),
            ("updated_ms", integer()),
            ("expires_ms", integer()),
        ],
    );
    let event = object(
        &["seq", "kind", "at_ms", "hash", "event", "record"],
        &[
            ("seq", integer()),
            ("kind", string()),
            ("at_ms", integer()),
            ("party", json!({"type": ["string", "null"]})),
            ("hash", string()),
            ("event", string()),
            ("record", string()),
            ("leaf_hash", json!({"type": ["string", "null"]})),
            ("receipt", json!({"type": ["string", "null"]})),
        ],
    );
    json!({
        "Object": {"type": "object"},
        "Problem": object(&["type", "title", "status", "detail"], &[
            ("type", string()), ("title", string()), ("status", integer()), ("detail", string()),
            ("errors", json!({"type": "array", "items": {"type": "object"}})),
        ]),
        "CaCertificates": object(&["root", "issuing"], &[("root", string()), ("issuing", string())]),
        "TenantIn": object(&["name"], &[("name", json!({"type": "string", "minLength": 1, "maxLength": 128}))]),
        "TenantCreated": object(&["tenant_id", "admin_api_key"], &[("tenant_id", string()), ("admin_api_key", string())]),
        "ApiKeyIn": object(&["role", "label"], &[("role", json!({"enum": ["admin", "member", "regulator"]})), ("label", string())]),
        "ApiKeyCreated": object(&["id", "api_key", "role"], &[("id", string()), ("api_key", string()), ("role", string())]),
        "PersonIn": object(&["name", "email"], &[
            ("name", string()), ("email", string()),
            ("mobile", json!({"type": ["string", "null"]})),
            ("resident_id", json!({"type": ["string", "null"], "description": "PRC resident ID number (GB 11643); checked, never stored"})),
        ]),
        "Person": object(&["id", "name", "has_certificate", "created_ms"], &[
            ("id", string()), ("name", string()), ("email", string()), ("mobile", string()),
            ("has_certificate", json!({"type": "boolean"})), ("created_ms", integer()),
        ]),
        "ContractIn": object(&["template", "parties"], &[
            ("template", json!({"enum": ["generic_contract", "loan_note"]})),
            ("fields", json!({"type": "object", "additionalProperties": {"type": "string"}})),
            ("parties", json!({"type": "array", "minItems": 2, "description": "the first is the initiator; a person id, or {person, seal: true} for the seal holder signing with the organization's seal",
                "items": {"oneOf": [string(), object(&["person"], &[("person", string()), ("seal", json!({"type": "boolean"}))])]}})),
            ("signing_order", json!({"enum": ["sequential", "parallel", null]})),
            ("expires_in_days", json!({"type": ["integer", "null"], "minimum": 1, "maximum": 365})),
            ("document", json!({"type": ["string", "null"], "contentEncoding": "base64"})),
            ("document_name", json!({"type": ["string", "null"]})),
            ("rules", json!({"type": ["object", "null"], "description": "loan note only: automation rules (rule set JSON, format affix-loan-rules; default the standard rules), signed with the note through loan_terms_sha256"})),
        ]),
        "OrganizationIn": object(&["credit_code", "seal_holder"], &[
            ("credit_code", json!({"type": "string", "description": "unified social credit code (GB 32100, 18 characters)"})),
            ("seal_holder", json!({"type": "string", "description": "person id"})),
        ]),
        "Organization": object(&["id", "name"], &[
            ("id", string()), ("name", string()),
            ("credit_code", json!({"type": ["string", "null"]})),
            ("seal_holder", json!({"type": ["string", "null"]})),
            ("seal_certificate", json!({"type": ["string", "null"], "description": "PEM"})),
            ("seal_key", json!({"type": ["string", "null"]})),
        ]),
        "ExtensionIn": object(&["annual_rate_percent", "term_months", "repayment_method"], &[
            ("annual_rate_percent", string()),
            ("term_months", json!({"type": "integer", "minimum": 1, "maximum": 360})),
            ("repayment_method", json!({"enum": ["bullet", "equal_instalments", "equal_principal"]})),
        ]),
        "RepaymentIn": object(&["amount", "paid_on"], &[
            ("amount", json!({"type": "string", "description": "yuan, e.g. 1000.00"})),
            ("paid_on", json!({"type": "string", "description": "YYYY-MM-DD"})),
            ("proof", json!({"type": ["string", "null"], "contentEncoding": "base64", "description": "a transfer receipt image, at most 2 MiB; its SHA-256 goes into the event"})),
        ]),
        "Loan": object(&["contract_id", "status", "outstanding", "pending", "instalments", "repayments", "events", "actions", "head"], &[
            ("contract_id", string()),
            ("status", json!({"enum": ["active", "overdue", "settled"]})),
            ("outstanding", string()), ("pending", string()),
            ("instalments", json!({"type": "array", "items": object(&["number", "due_date", "interest", "principal", "unpaid"], &[
                ("number", integer()), ("due_date", string()), ("interest", string()), ("principal", string()), ("unpaid", string()),
            ])})),
            ("repayments", json!({"type": "array", "items": object(&["id", "amount", "paid_on", "reported_on", "status"], &[
                ("id", integer()), ("amount", string()), ("paid_on", string()), ("reported_on", string()),
                ("status", json!({"enum": ["pending", "confirmed", "disputed"]})),
                ("proof_sha256", json!({"type": ["string", "null"]})),
            ])})),
            ("next_due", json!({"type": ["string", "null"]})),
            ("events", integer()), ("actions", integer()), ("head", string()),
        ]),
        "LoanEvidence": object(&["events", "actions"], &[
            ("events", json!({"type": "array", "items": object(&["seq", "text", "record"], &[
                ("seq", integer()), ("text", string()), ("record", string()),
                ("receipt", json!({"type": ["string", "null"]})),
            ])})),
            ("actions", json!({"type": "array", "items": object(&["key", "day", "rule", "action", "state", "record"], &[
                ("key", string()), ("day", string()), ("rule", string()), ("action", string()),
                ("state", json!({"enum": ["pending", "done", "failed"]})),
                ("deliveries", json!({"type": ["array", "null"]})),
                ("record", string()),
                ("receipt", json!({"type": ["string", "null"]})),
            ])})),
        ]),
        "Party": object(&["id", "person_id", "name", "role", "status", "seal"], &[
            ("id", string()), ("person_id", string()), ("name", string()), ("seal", json!({"type": "boolean"})),
            ("role", json!({"enum": ["initiator", "signer"]})),
            ("status", json!({"enum": ["pending", "invited", "identity_verified", "viewed", "consented", "signed", "declined"]})),
        ]),
        "Contract": contract,
        "ContractPage": object(&["contracts"], &[
            ("contracts", json!({"type": "array", "items": schema_ref("Contract")})),
            ("next", json!({"type": ["string", "null"]})),
        ]),
        "Invites": object(&["invites"], &[("invites", json!({"type": "array", "items": object(
            &["party_id", "person_id", "token", "url", "expires_ms"],
            &[("party_id", string()), ("person_id", string()), ("token", string()), ("url", string()), ("expires_ms", integer())],
        )}))]),
        "Event": event,
        "Events": object(&["events"], &[("events", json!({"type": "array", "items": schema_ref("Event")}))]),
        "Bundle": {"type": "object", "description": "Evidence bundle v1 (see affix_platform::bundle)", "required": ["format", "contract_id", "content", "events", "signatures", "certificates", "ledger"]},
        "InviteView": object(&["contract", "party_id", "content"], &[
            ("contract", schema_ref("Contract")), ("party_id", string()), ("content", string()),
            ("document", json!({"type": ["string", "null"]})),
        ]),
        "VerifyIn": object(&["code"], &[("code", string()), ("device_public_key", json!({"type": ["string", "null"], "contentEncoding": "base64"}))]),
        "DigestIn": object(&["content_digest"], &[("content_digest", json!({"type": "string", "pattern": "^[0-9a-f]{64}$"}))]),
        "PreparedSignature": object(&["statement", "payload_digest", "key_id", "credential_id", "expires_ms", "content_digest"], &[
            ("statement", string()), ("payload_digest", string()), ("key_id", string()),
            ("credential_id", string()), ("expires_ms", integer()), ("content_digest", string()),
        ]),
        "WebhookIn": object(&["url"], &[("url", json!({"type": "string", "format": "uri"}))]),
        "Webhook": object(&["id", "url", "created_ms"], &[("id", string()), ("url", string()), ("secret", string()), ("created_ms", integer())]),
        "Deliveries": object(&["deliveries"], &[("deliveries", json!({"type": "array", "items": {"type": "object"}}))]),
        "VaultAuthorization": {"type": "object", "description": "An authorization: {tenant, action, key, payload_kind, digest, grant, nonce, expires_ms, credential, signature} (hex bytes); see docs/formats.md, Authorization statement v1"},
        "VaultCredentialIn": object(&["kind", "public_key"], &[("kind", json!({"enum": ["ed25519", "ecdsa-p256"]})), ("public_key", string()), ("authorization", schema_ref("VaultAuthorization"))]),
        "VaultKeyIn": object(&["owner", "algorithm"], &[("owner", string()), ("algorithm", json!({"enum": ["ed25519", "ecdsa-p256", "ecdsa-secp256k1", "sm2"]}))]),
        "VaultSignIn": object(&["authorization"], &[("message_b64", string()), ("prehash_hex", string()), ("authorization", schema_ref("VaultAuthorization"))]),
        "VaultAuthorizationIn": object(&["authorization"], &[("authorization", schema_ref("VaultAuthorization"))]),
        "VaultGrantIn": {"type": "object", "required": ["grantee", "not_after_ms", "max_uses", "purpose", "created_ms", "authorization"]},
        "SignIn": object(&["device_signature"], &[("device_signature", json!({"type": "string", "contentEncoding": "base64", "description": "Ed25519 signature of the statement bytes by the enrolled device"}))]),
    })
}

fn problem_response(description: &str) -> Value {
    json!({"description": description, "content": {"application/problem+json": {"schema": schema_ref("Problem")}}})
}

/// The OpenAPI 3.1 document.
pub fn document() -> Value {
    let mut paths = Map::new();
    for o in OPERATIONS {
        let mut operation = Map::new();
        operation.insert("operationId".into(), json!(o.id));
        operation.insert("summary".into(), json!(o.summary));
        let mut params: Vec<Value> = o
            .path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        for (name, ty) in o.query {
            params.push(
                json!({"name": name, "in": "query", "required": false, "schema": {"type": ty}}),
            );
        }
        if o.method == "post" {
            params.push(json!({"name": "Idempotency-Key", "in": "header", "required": false,
                "schema": {"type": "string", "maxLength": 255},
                "description": "Repeat a POST safely: the same key and body replay the first answer"}));
        }
        if !params.is_empty() {
            operation.insert("parameters".into(), Value::Array(params));
        }
        match o.auth {
            Auth::Public => {
                operation.insert("security".into(), json!([]));
            }
            Auth::Operator | Auth::ApiKey | Auth::Invite => {
                operation.insert("security".into(), json!([{"bearer": []}]));
            }
        }
        if let Some(body) = o.body {
            let content = if body.contains('/') {
                json!({body: {"schema": {"type": "string", "format": "binary"}}})
            } else {
                json!({"application/json": {"schema": schema_ref(body)}})
            };
            operation.insert(
                "requestBody".into(),
                json!({"required": true, "content": content}),
            );
        }
        let ok = if o.answer.contains('/') {
            json!({"description": "OK", "content": {o.answer: {"schema": {"type": "string"}}}})
        } else {
            json!({"description": "OK", "content": {"application/json": {"schema": schema_ref(o.answer)}}})
        };
        let mut responses = Map::new();
        responses.insert(o.ok.to_string(), ok);
        if o.auth != Auth::Public {
            // Every authenticated operation can meet every refusal of the API's
            // conventions; listing them all keeps clients (and schemathesis) honest.
            for (status, what) in [
                (
                    "400",
                    "Malformed request: JSON, query, path id or Idempotency-Key",
                ),
                ("401", "No or unknown token"),
                ("403", "The caller's role or party may not do this"),
                ("404", "No such object in the caller's tenant"),
                (
                    "409",
                    "Conflicts with the current state (or the idempotency key is in flight)",
                ),
                ("410", "Expired: invite, code or prepared signature"),
                ("413", "Body over its limit"),
                ("415", "Wrong content type"),
                (
                    "422",
                    "Well-formed but refused (invalid fields, ID number, code, reused idempotency key)",
                ),
                ("429", "Rate limited (Retry-After)"),
                ("502", "A notification could not be handed over"),
                (
                    "503",
                    "Busy, or the ledger is unreachable, or receipts pending (Retry-After)",
                ),
            ] {
                if status != o.ok.to_string() {
                    responses.insert(status.into(), problem_response(what));
                }
            }
        }
        operation.insert("responses".into(), Value::Object(responses));
        let entry = paths
            .entry(o.path.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        if let Some(map) = entry.as_object_mut() {
            map.insert(o.method.to_owned(), Value::Object(operation));
        }
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Affix signing platform",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Contracts signed with identity checks, vault keys, CMS signatures and RFC 3161 time-stamps; every step an evidence record with a ledger receipt. Errors are application/problem+json (RFC 9457)."
        },
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                "description": "Operator token (afo_…), tenant API key (afk_…) or a party's invite token (afi_…)"}},
            "schemas": schemas(),
        }
    })
}
