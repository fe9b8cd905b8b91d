//! The consortium as configuration: who the authorities are and how to reach them.
//!
//! ```toml
//! origin = "ledger.affix.example/v1"   # the log's origin (…/sm3 for an SM3 ledger)
//!
//! [[authority]]
//! name = "notary"                      # [a-z0-9-], unique
//! role = "notary"                      # operator | notary | arbitration | appraisal | other
//! consensus_key = "<64 hex digits>"    # Ed25519 public key signing consensus votes
//! note_key = "notary.example+1a2b3c4d+AU…"   # C2SP verifier key signing checkpoints
//! p2p = "127.0.0.1:7001"               # consensus address
//! http = "http://127.0.0.1:8001"       # node API
//! ```
//!
//! The quorum is always `n − f` with `f = ⌊(n − 1) / 3⌋` (2f + 1 for n = 3f + 1): the
//! most faulty authorities BFT consensus tolerates.

use std::net::SocketAddr;

use affix_note::{Origin, TrustPolicy, VerifierKey};
use serde::Deserialize;
use sha2::{Digest as _, Sha256};

use crate::Error;
use crate::block::BlockDigest;

/// Most authorities in a consortium.
const AUTHORITIES_MAX: usize = 64;

/// Largest genesis file read.
const GENESIS_BYTES_MAX: usize = 256 * 1024;

/// Most faulty authorities BFT consensus tolerates among `n` (n ≥ 1): `⌊(n − 1) / 3⌋`.
fn max_faulty_of(n: usize) -> usize {
    n.saturating_sub(1) / 3
}

/// What an authority is in the consortium (informative; all have equal votes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The platform operator.
    Operator,
    /// A notary office.
    Notary,
    /// An arbitration commission.
    Arbitration,
    /// A judicial appraisal centre.
    Appraisal,
    /// Any other independent authority.
    Other,
}

impl Role {
    fn name(self) -> &'static str {
        match self {
            Role::Operator => "operator",
            Role::Notary => "notary",
            Role::Arbitration => "arbitration",
            Role::Appraisal => "appraisal",
            Role::Other => "other",
        }
    }
}

/// One authority of the consortium.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authority {
    /// Short unique name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// Ed25519 public key of its consensus identity.
    pub consensus_key: [u8; 32],
    /// Verifier key of its checkpoint signatures.
    pub note_key: VerifierKey,
    /// Consensus (p2p) address.
    pub p2p: SocketAddr,
    /// Base URL of its node API.
    pub http: String,
}

/// The consortium.
#[derive(Debug, Clone)]
pub struct Genesis {
    origin: Origin,
    authorities: Vec<Authority>,
    digest: BlockDigest,
    policy: TrustPolicy,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GenesisFile {
    origin: String,
    #[serde(rename = "authority")]
    authorities: Vec<AuthorityFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AuthorityFile {
    name: String,
    role: Role,
    consensus_key: String,
    note_key: String,
    p2p: SocketAddr,
    http: String,
}

impl Genesis {
    /// Parses and validates a genesis file.
    pub fn parse(text: &str) -> Result<Self, Error> {
        if text.len() > GENESIS_BYTES_MAX {
            return Err(Error::Genesis("file too large".into()));
        }
        let file: GenesisFile = toml::from_str(text).map_err(|e| Error::Genesis(e.to_string()))?;
        let origin =
            Origin::new(&file.origin).map_err(|e| Error::Genesis(format!("origin: {e}")))?;
        if file.authorities.is_empty() || file.authorities.len() > AUTHORITIES_MAX {
            return Err(Error::Genesis(format!(
                "1 to {AUTHORITIES_MAX} authorities required"
            )));
        }
        let mut authorities = Vec::with_capacity(file.authorities.len());
        for a in file.authorities {
            if a.name.is_empty()
                || a.name.len() > 64
                || !a
                    .name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            {
                return Err(Error::Genesis(format!(
                    "authority name {:?} must be [a-z0-9-]{{1,64}}",
                    a.name
                )));
            }
            let key = hex::decode(&a.consensus_key)
                .ok()
                .and_then(|k| <[u8; 32]>::try_from(k).ok())
                .ok_or_else(|| {
                    Error::Genesis(format!("{}: consensus_key must be 64 hex digits", a.name))
                })?;
            let note_key = VerifierKey::parse(&a.note_key)
                .map_err(|e| Error::Genesis(format!("{}: note_key: {e}", a.name)))?;
            if !(a.http.starts_with("http://") || a.http.starts_with("https://"))
                || a.http.len() > 256
            {
                return Err(Error::Genesis(format!(
                    "{}: http must be an http(s) URL",
                    a.name
                )));
            }
            authorities.push(Authority {
                name: a.name,
                role: a.role,
                consensus_key: key,
                note_key,
                p2p: a.p2p,
                http: a.http.trim_end_matches('/').to_owned(),
            });
        }
        for (i, a) in authorities.iter().enumerate() {
            for b in &authorities[i + 1..] {
                if a.name == b.name {
                    return Err(Error::Genesis(format!(
                        "authority {} is listed twice",
                        a.name
                    )));
                }
                if a.consensus_key == b.consensus_key {
                    return Err(Error::Genesis(format!(
                        "{} and {} share a consensus key",
                        a.name, b.name
                    )));
                }
                if a.note_key.key_bytes() == b.note_key.key_bytes() {
                    return Err(Error::Genesis(format!(
                        "{} and {} share a note key",
                        a.name, b.name
                    )));
                }
                if a.p2p == b.p2p {
                    return Err(Error::Genesis(format!(
                        "{} and {} share a p2p address",
                        a.name, b.name
                    )));
                }
            }
        }
        // Build the policy once here so that an unusable consortium fails at load time.
        let quorum = authorities.len() - max_faulty_of(authorities.len());
        let policy = TrustPolicy::new(
            origin.clone(),
            authorities.iter().map(|a| a.note_key.clone()).collect(),
            quorum,
        )?;
        let mut genesis = Self {
            origin,
            authorities,
            digest: BlockDigest::default(),
            policy,
        };
        genesis.digest = BlockDigest(Sha256::digest(genesis.canonical_text()).into());
        Ok(genesis)
    }

    /// A canonical rendering, independent of TOML formatting: what the genesis digest
    /// (the parent of block 0) commits to.
    fn canonical_text(&self) -> String {
        let mut s = format!(
            "affix-genesis v1\norigin {}\nquorum {}\n",
            self.origin,
            self.quorum()
        );
        for a in &self.authorities {
            s.push_str(&format!(
                "authority {} {} {} {} {} {}\n",
                a.name,
                a.role.name(),
                hex::encode(a.consensus_key),
                a.note_key,
                a.p2p,
                a.http
            ));
        }
        s
    }

    /// The log's origin.
    pub fn origin(&self) -> &Origin {
        &self.origin
    }

    /// The authorities, in file order.
    pub fn authorities(&self) -> &[Authority] {
        &self.authorities
    }

    /// Authority by name.
    pub fn authority(&self, name: &str) -> Option<&Authority> {
        self.authorities.iter().find(|a| a.name == name)
    }

    /// Most faulty authorities tolerated: `⌊(n − 1) / 3⌋`.
    pub fn max_faulty(&self) -> usize {
        max_faulty_of(self.authorities.len())
    }

    /// Signatures a checkpoint needs: `n − f`.
    pub fn quorum(&self) -> usize {
        self.authorities.len() - self.max_faulty()
    }

    /// Digest of the consortium definition; the parent digest of block 0.
    pub fn digest(&self) -> BlockDigest {
        self.digest
    }

    /// The policy receipts are verified with: this origin, `quorum` of the note keys.
    /// Built when the file is parsed, so it cannot fail here; the `Result` stays for
    /// callers that propagate it.
    pub fn trust_policy(&self) -> Result<TrustPolicy, Error> {
        Ok(self.policy.clone())
    }

    /// The verifier keys file ([`affix_note::VerifierKeysFile`]): one note verifier key
    /// per line, with a comment header giving origin and quorum.
    pub fn verifier_keys_file(&self) -> String {
        self.policy.verifier_keys_file()
    }
}

#[cfg(test)]
#[allow(clippy::cast_possible_truncation)]
mod tests {
    use super::*;
    use affix_note::{KeyName, NoteSigner, SignerKey};

    fn file(n: u8) -> String {
        let mut s = String::from("origin = \"ledger.test/v1\"\n");
        for i in 0..n {
            let key = SignerKey::ed25519_from_seed(
                KeyName::new(&format!("a{i}.test")).unwrap(),
                &[i; 32],
            );
            s.push_str(&format!(
                "[[authority]]\nname = \"a{i}\"\nrole = \"notary\"\nconsensus_key = \"{}\"\nnote_key = \"{}\"\np2p = \"127.0.0.1:{}\"\nhttp = \"http://127.0.0.1:{}/\"\n",
                hex::encode([i + 100; 32]),
                key.verifier_key(),
                7000 + u16::from(i),
                8000 + u16::from(i)
            ));
        }
        s
    }

    #[test]
    fn quorum_is_n_minus_f() {
        for (n, q) in [
            (1u8, 1usize),
            (2, 2),
            (3, 3),
            (4, 3),
            (5, 4),
            (7, 5),
            (10, 7),
        ] {
            let g = Genesis::parse(&file(n)).unwrap();
            assert_eq!(g.quorum(), q, "n = {n}");
            assert_eq!(g.trust_policy().unwrap().quorum(), q);
        }
        let g = Genesis::parse(&file(4)).unwrap();
        assert_eq!(g.authorities()[0].http, "http://127.0.0.1:8000");
        assert!(g.verifier_keys_file().contains("3 of these 4"));
        // The digest ignores formatting but not content.
        let reformatted = file(4).replace(" = ", "=");
        assert_eq!(Genesis::parse(&reformatted).unwrap().digest(), g.digest());
        let other = file(4).replace("ledger.test/v1", "ledger.test/v2");
        assert_ne!(Genesis::parse(&other).unwrap().digest(), g.digest());
    }

    #[test]
    fn bad_genesis_files_are_explained() {
        let good = file(4);
        for (text, want) in [
            (
                good.replace("role = \"notary\"", "role = \"king\""),
                "unknown variant",
            ),
            (
                good.replacen(&hex::encode([100u8; 32]), "abcd", 1),
                "64 hex",
            ),
            (
                good.replacen(&hex::encode([101u8; 32]), &hex::encode([100u8; 32]), 1),
                "share a consensus key",
            ),
            (
                good.replacen("name = \"a1\"", "name = \"a0\"", 1),
                "listed twice",
            ),
            (
                good.replacen("name = \"a1\"", "name = \"A 1\"", 1),
                "[a-z0-9-]",
            ),
            (
                good.replacen("127.0.0.1:7001", "127.0.0.1:7000", 1),
                "share a p2p",
            ),
            (
                good.replacen("http://127.0.0.1:8001/", "ftp://x", 1),
                "http(s)",
            ),
            (
                good.replace("origin = \"ledger.test/v1\"", "origin = \"bad origin\""),
                "origin",
            ),
            (good.replace("origin", "orgin"), "unknown field"),
            (
                "origin = \"x.test\"\nauthority = []\n".to_owned(),
                "authorities required",
            ),
        ] {
            let err = Genesis::parse(&text).unwrap_err().to_string();
            assert!(err.contains(want), "{err} should mention {want}");
        }
    }
}
