//! Freezes the v1 byte format: the records below must encode to the committed vectors,
//! byte for byte, forever. A failing test here means the format changed; regenerating the
//! vectors (`AFFIX_REGENERATE_VECTORS=1 cargo test -p affix-evidence --test vectors`) is
//! an explicit decision to break every receipt already issued, and needs a new version.

#![allow(clippy::unwrap_used, missing_docs)]

use affix_evidence::{Commitment, DigestAlgorithm, EvidenceRecord, Salt, UnixMillis};
use sha2::{Digest, Sha256};

fn minimal() -> EvidenceRecord {
    EvidenceRecord::builder(
        "document.notarized",
        "doc-1",
        UnixMillis(0),
        "notary.example/log",
    )
    .digest_of("document", DigestAlgorithm::Sha256, b"")
    .build()
    .unwrap()
}

fn full() -> EvidenceRecord {
    EvidenceRecord::builder(
        "contract.signed",
        "contract:0192f3a4-5b6c-7d8e-9f00-112233445566",
        UnixMillis(1_795_363_586_250),
        "tenant-7/party@2",
    )
    .digest_of(
        "document",
        DigestAlgorithm::Sha256,
        "借条：今借到人民币壹万元整。".as_bytes(),
    )
    .digest_of(
        "document",
        DigestAlgorithm::Sm3,
        "借条：今借到人民币壹万元整。".as_bytes(),
    )
    .digest_of(
        "signature-image",
        DigestAlgorithm::Sha256,
        b"\x89PNG\r\n\x1a\n",
    )
    .commitment(
        Commitment::compute(
            DigestAlgorithm::Sha256,
            "signer.name",
            &Salt([0x11; 32]),
            "张三".as_bytes(),
        )
        .unwrap(),
    )
    .commitment(
        Commitment::compute(
            DigestAlgorithm::Sm3,
            "signer.id-number",
            &Salt([0x22; 32]),
            b"11010519491231002X",
        )
        .unwrap(),
    )
    .metadata("step", "2/2")
    .metadata("ceremony", "sequential")
    .metadata("note", "签署完成 signed")
    .build()
    .unwrap()
}

fn check(name: &str, record: &EvidenceRecord) {
    let bytes = record.encode();
    let hex_now = hex::encode(&bytes);
    let mut leaf = vec![0u8];
    leaf.extend_from_slice(&bytes);
    let leaf_hash = hex::encode(Sha256::digest(&leaf));
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors");
    let path = dir.join(format!("{name}.hex"));
    let expected = format!("{hex_now}\n# sha256 leaf hash (RFC 9162, 0x00 prefix)\n{leaf_hash}\n");
    if std::env::var_os("AFFIX_REGENERATE_VECTORS").is_some() {
        std::fs::write(&path, &expected).unwrap();
    }
    let stored = std::fs::read_to_string(&path).unwrap();
    assert_eq!(stored, expected, "{name}: the v1 encoding changed");
    let stored_bytes = hex::decode(stored.lines().next().unwrap()).unwrap();
    assert_eq!(&EvidenceRecord::decode(&stored_bytes).unwrap(), record);
}

#[test]
fn minimal_record_v1_is_frozen() {
    check("record-v1-minimal", &minimal());
}

#[test]
fn full_record_v1_is_frozen() {
    check("record-v1-full", &full());
}
