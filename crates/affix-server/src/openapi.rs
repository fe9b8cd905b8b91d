//! The OpenAPI 3.1 document, served at `/openapi.json`: generated from the routes'
//! declarations ([`crate::routes`]); this module adds only what every operation shares —
//! the document's header and security schemes, the `Idempotency-Key` header of every
//! POST, and the problems every authenticated operation can answer.

use serde_json::{Value, json};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ComponentsBuilder, InfoBuilder, OpenApi, OpenApiBuilder};

use crate::gate::CallerKind;
use crate::problem::{FieldProblem, ProblemBody};

/// The document's header, security schemes and shared schemas, before the routes.
pub(crate) fn base() -> OpenApi {
    let bearer = |what: &str| {
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some(what))
                .build(),
        )
    };
    let components = [
        (CallerKind::Operator, "The operator token (afo_…)"),
        (CallerKind::ApiKey, "A tenant API key (afk_…), of any role"),
        (CallerKind::Invite, "A party's invite token (afi_…)"),
        (
            CallerKind::VaultKey,
            "A tenant API key (afk_…) of the admin or member role",
        ),
    ]
    .into_iter()
    .filter_map(|(kind, what)| kind.scheme().map(|name| (name, bearer(what))))
    .fold(ComponentsBuilder::new(), |c, (name, scheme)| {
        c.security_scheme(name, scheme)
    })
    .schema_from::<ProblemBody>()
    .schema_from::<FieldProblem>()
    .build();
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("Affix signing platform")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "Contracts signed with identity checks, vault keys, CMS signatures and \
                     RFC 3161 time-stamps; every step an evidence record with a ledger \
                     receipt. Errors are application/problem+json (RFC 9457).",
                ))
                .build(),
        )
        .components(Some(components))
        .build()
}

/// The refusals every authenticated operation can meet; listing them all keeps clients
/// (and schemathesis) honest.
const PROBLEMS: [(&str, &str); 12] = [
    (
        "400",
        "Malformed request: JSON, query, path id or Idempotency-Key",
    ),
    ("401", "No or unknown token"),
    ("403", "The caller's kind, role or party may not do this"),
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
        "Busy, the ledger unreachable, or receipts pending (Retry-After)",
    ),
];

/// Adds what every operation shares to the generated document.
pub(crate) fn complete(document: &mut Value) {
    document["openapi"] = json!("3.1.0");
    let Some(paths) = document.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for (method, operation) in paths
        .values_mut()
        .filter_map(Value::as_object_mut)
        .flat_map(|item| item.iter_mut())
    {
        let Some(operation) = operation.as_object_mut() else {
            continue;
        };
        if method == "post" {
            let parameters = operation.entry("parameters").or_insert_with(|| json!([]));
            if let Some(list) = parameters.as_array_mut() {
                list.push(json!({
                    "name": "Idempotency-Key", "in": "header", "required": false,
                    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
                    "description": "Repeat a POST safely: the same key and body replay the first answer"
                }));
            }
        }
        // OpenAPI requires a description of every answer; a declaration's success answer
        // is described by its schema.
        for answer in operation
            .get_mut("responses")
            .and_then(Value::as_object_mut)
            .into_iter()
            .flat_map(|r| r.values_mut())
            .filter_map(Value::as_object_mut)
        {
            answer.entry("description").or_insert_with(|| json!("Done"));
        }
        let public = operation
            .get("security")
            .and_then(Value::as_array)
            .is_some_and(|s| {
                s.iter()
                    .all(|r| r.as_object().is_some_and(|m| m.is_empty()))
            });
        if public {
            // Anyone may call it: an empty requirement list says so in OpenAPI.
            operation.insert("security".into(), json!([]));
            continue;
        }
        if let Some(responses) = operation
            .get_mut("responses")
            .and_then(Value::as_object_mut)
        {
            for (status, what) in PROBLEMS {
                responses.entry(status).or_insert_with(|| {
                    json!({"description": what, "content": {"application/problem+json":
                        {"schema": {"$ref": "#/components/schemas/Problem"}}}})
                });
            }
        }
    }
}
