//! `c2sp.org/signed-note`: text, a blank line, and signature lines
//! `— <name> base64(key ID || signature)`.

use std::collections::BTreeSet;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::{Error, KeyId, KeyName, NoteSigner, VerifierKey};

/// Largest note accepted, in bytes: room for 64 post-quantum-sized signatures.
pub const NOTE_BYTES_MAX: usize = 256 * 1024;

/// Most signature lines accepted in one note (the spec requires at least 16; Go allows 100).
pub const SIGNATURES_MAX: usize = 100;

/// Longest decoded signature accepted (key ID included), in bytes.
const SIGNATURE_BYTES_MAX: usize = 8 * 1024;

/// Every signature line starts with an em dash and a space.
const SIGNATURE_PREFIX: &str = "\u{2014} ";

/// One signature line of a note. Unverified until [`Note::verify`] has checked it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteSignature {
    /// Name of the signing key.
    pub name: KeyName,
    /// ID of the signing key.
    pub id: KeyId,
    /// Signature bytes (after the 4-byte key ID).
    pub signature: Vec<u8>,
}

impl NoteSignature {
    fn line(&self) -> String {
        let mut bytes = Vec::with_capacity(4 + self.signature.len());
        bytes.extend_from_slice(&self.id.0.to_be_bytes());
        bytes.extend_from_slice(&self.signature);
        format!(
            "{SIGNATURE_PREFIX}{} {}\n",
            self.name,
            STANDARD.encode(bytes)
        )
    }
}

/// A signed note as parsed: its text and signature lines, none of them trusted yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    text: String,
    signatures: Vec<NoteSignature>,
}

/// Checks the rules every note text obeys: non-empty, ends in a newline, no control
/// characters but newlines (UTF-8 validity is guaranteed by `&str`).
fn check_text(text: &str) -> Result<(), Error> {
    if !text.ends_with('\n') {
        return Err(Error::MalformedNote("text must end with a newline"));
    }
    if text.chars().any(|c| c < ' ' && c != '\n') {
        return Err(Error::MalformedNote("text contains a control character"));
    }
    Ok(())
}

impl Note {
    /// Signs `text` with each signer, in order.
    pub fn sign(text: &str, signers: &[&dyn NoteSigner]) -> Result<Self, Error> {
        check_text(text).map_err(|_| Error::Signing("not a valid note text"))?;
        if text.ends_with("\n\n") || text == "\n" {
            return Err(Error::Signing("note text must not end with a blank line"));
        }
        let mut note = Self {
            text: text.to_owned(),
            signatures: Vec::new(),
        };
        for signer in signers {
            note.add_signature(*signer)?;
        }
        Ok(note)
    }

    /// Adds a signature by `signer`, replacing an earlier one by the same key.
    pub fn add_signature(&mut self, signer: &dyn NoteSigner) -> Result<(), Error> {
        let vk = signer.verifier_key();
        let signature = signer.sign_text(self.text.as_bytes())?;
        self.signatures
            .retain(|s| !(s.name == *vk.name() && s.id == vk.id()));
        if self.signatures.len() >= SIGNATURES_MAX {
            return Err(Error::Signing(
                "note already has the maximum number of signatures",
            ));
        }
        self.signatures.push(NoteSignature {
            name: vk.name().clone(),
            id: vk.id(),
            signature,
        });
        Ok(())
    }

    /// Adds a signature line received from elsewhere (e.g. a cosigner's), replacing an
    /// earlier one by the same key. Not verified here: [`Note::verify`] checks it.
    pub fn push_signature(&mut self, signature: NoteSignature) -> Result<(), Error> {
        self.signatures
            .retain(|s| !(s.name == signature.name && s.id == signature.id));
        if self.signatures.len() >= SIGNATURES_MAX {
            return Err(Error::Signing(
                "note already has the maximum number of signatures",
            ));
        }
        self.signatures.push(signature);
        Ok(())
    }

    /// Parses a signed note. Checks the grammar only; trusts nothing.
    pub fn parse(bytes: &[u8]) -> Result<Self, Error> {
        if bytes.len() > NOTE_BYTES_MAX {
            return Err(Error::TooLarge {
                what: "note",
                actual: bytes.len(),
                limit: NOTE_BYTES_MAX,
            });
        }
        let all = std::str::from_utf8(bytes).map_err(|_| Error::MalformedNote("not UTF-8"))?;
        check_text(all)?;
        // The text ends at the last blank line; everything after is signature lines.
        let split = all
            .rfind("\n\n")
            .ok_or(Error::MalformedNote("no blank line before signatures"))?;
        let (text, sig_block) = (&all[..=split], &all[split + 2..]);
        if sig_block.is_empty() {
            return Err(Error::MalformedNote("no signatures"));
        }
        let mut signatures = Vec::new();
        // `check_text` ensured the block ends with a newline.
        for line in sig_block[..sig_block.len() - 1].split('\n') {
            if signatures.len() == SIGNATURES_MAX {
                return Err(Error::MalformedNote("too many signatures"));
            }
            let rest = line
                .strip_prefix(SIGNATURE_PREFIX)
                .ok_or(Error::MalformedNote(
                    "signature line must start with an em dash",
                ))?;
            let (name, b64) = rest.split_once(' ').ok_or(Error::MalformedNote(
                "signature line must be name and signature",
            ))?;
            let name = KeyName::new(name)
                .map_err(|_| Error::MalformedNote("invalid key name in signature line"))?;
            if b64.len() > SIGNATURE_BYTES_MAX * 4 / 3 + 4 {
                return Err(Error::MalformedNote("signature too long"));
            }
            let raw = STANDARD
                .decode(b64)
                .map_err(|_| Error::MalformedNote("signature is not valid base64"))?;
            if raw.len() < 5 {
                return Err(Error::MalformedNote("signature too short"));
            }
            signatures.push(NoteSignature {
                name,
                id: KeyId(u32::from_be_bytes([raw[0], raw[1], raw[2], raw[3]])),
                signature: raw[4..].to_vec(),
            });
        }
        Ok(Self {
            text: text.to_owned(),
            signatures,
        })
    }

    /// The note's text, including its final newline. Untrusted until verified.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The signature lines.
    pub fn signatures(&self) -> &[NoteSignature] {
        &self.signatures
    }

    /// The encoded note: text, blank line, signature lines.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = self.text.clone();
        out.push('\n');
        for s in &self.signatures {
            out.push_str(&s.line());
        }
        out.into_bytes()
    }

    /// Verifies the note under the rule "at least `quorum` of these `verifiers`".
    ///
    /// As the signed-note spec requires: signatures whose (name, ID) matches no verifier
    /// are ignored; a signature by a known key that fails rejects the whole note; repeated
    /// signatures by one key count once (later repeats are ignored, as Go's `note.Open`
    /// does).
    pub fn verify(&self, verifiers: &[VerifierKey], quorum: usize) -> Result<VerifiedNote, Error> {
        check_policy(verifiers, quorum)?;
        let mut seen = BTreeSet::new();
        let mut signers = Vec::new();
        for sig in &self.signatures {
            let Some(key) = verifiers
                .iter()
                .find(|v| *v.name() == sig.name && v.id() == sig.id)
            else {
                continue;
            };
            if !seen.insert((sig.name.clone(), sig.id)) {
                continue;
            }
            if !key.verify(self.text.as_bytes(), &sig.signature) {
                return Err(Error::InvalidSignature {
                    name: sig.name.clone(),
                    id: sig.id.0,
                });
            }
            signers.push(key.clone());
        }
        if signers.len() < quorum {
            return Err(Error::QuorumNotMet {
                required: quorum,
                valid: signers.len(),
            });
        }
        Ok(VerifiedNote {
            text: self.text.clone(),
            signers,
        })
    }
}

/// Rejects policies that could never be met or that would count one key twice.
pub(crate) fn check_policy(verifiers: &[VerifierKey], quorum: usize) -> Result<(), Error> {
    if quorum == 0 {
        return Err(Error::InvalidPolicy("quorum must be at least 1"));
    }
    if quorum > verifiers.len() {
        return Err(Error::InvalidPolicy(
            "quorum is larger than the number of keys",
        ));
    }
    let mut names = BTreeSet::new();
    let mut keys = BTreeSet::new();
    for v in verifiers {
        if !names.insert((v.name().clone(), v.id())) {
            return Err(Error::InvalidPolicy("two keys share a name and ID"));
        }
        if !keys.insert(v.key_bytes()) {
            return Err(Error::InvalidPolicy("the same public key is listed twice"));
        }
    }
    Ok(())
}

/// A note whose signatures met a policy. Holds the text and the keys that signed it.
#[derive(Debug, Clone)]
pub struct VerifiedNote {
    text: String,
    signers: Vec<VerifierKey>,
}

impl VerifiedNote {
    /// The verified text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The trusted keys whose signatures verified, in signature order.
    pub fn signers(&self) -> &[VerifierKey] {
        &self.signers
    }
}

#[cfg(test)]
#[allow(clippy::cast_possible_truncation)]
mod tests {
    use super::*;
    use crate::SignerKey;

    const GO_EXAMPLE: &str = "If you think cryptography is the answer to your problem,\n\
        then you don't know what your problem is.\n\
        \n\
        \u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
    const GO_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    const SPEC_EXAMPLE: &str = "This is an example message.\n\n\u{2014} example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";
    const SPEC_VKEY: &str = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";

    fn key(name: &str, seed: u8) -> SignerKey {
        SignerKey::ed25519_from_seed(KeyName::new(name).unwrap(), &[seed; 32])
    }

    #[test]
    fn go_and_spec_examples_verify_and_reencode() {
        for (msg, vkey) in [(GO_EXAMPLE, GO_VKEY), (SPEC_EXAMPLE, SPEC_VKEY)] {
            let note = Note::parse(msg.as_bytes()).unwrap();
            let vk = VerifierKey::parse(vkey).unwrap();
            let verified = note.verify(&[vk], 1).unwrap();
            assert_eq!(verified.signers().len(), 1);
            assert_eq!(note.to_bytes(), msg.as_bytes());
        }
    }

    #[test]
    fn go_example_signature_is_reproduced() {
        // Ed25519 is deterministic: signing the same text with the same key must give
        // Go's bytes exactly.
        let skey = SignerKey::parse(
            "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",
        )
        .unwrap();
        let text = GO_EXAMPLE.split("\n\n").next().unwrap().to_owned() + "\n";
        let note = Note::sign(&text, &[&skey]).unwrap();
        assert_eq!(note.to_bytes(), GO_EXAMPLE.as_bytes());
    }

    #[test]
    fn k_of_n_policy() {
        let (a, b, c) = (
            key("a.example", 1),
            key("b.example", 2),
            key("c.example", 3),
        );
        let keys = [
            a.verifier_key().clone(),
            b.verifier_key().clone(),
            c.verifier_key().clone(),
        ];
        let note = Note::sign("hello\n", &[&a, &c]).unwrap();
        assert_eq!(note.verify(&keys, 2).unwrap().signers().len(), 2);
        assert_eq!(
            note.verify(&keys, 3).unwrap_err(),
            Error::QuorumNotMet {
                required: 3,
                valid: 2
            }
        );
        // Unknown signers are ignored; one trusted signature suffices for quorum 1.
        assert!(note.verify(&keys[..1], 1).is_ok());
        assert!(matches!(
            note.verify(&keys[1..2], 1),
            Err(Error::QuorumNotMet { .. })
        ));
        // Duplicated signature lines count once.
        let mut dup = note.clone();
        dup.signatures.push(dup.signatures[0].clone());
        assert!(matches!(
            dup.verify(&keys, 3),
            Err(Error::QuorumNotMet { valid: 2, .. })
        ));
        // A bad signature by a trusted key rejects the note.
        let mut bad = note.clone();
        bad.signatures[1].signature[0] ^= 1;
        assert!(matches!(
            bad.verify(&keys, 1),
            Err(Error::InvalidSignature { .. })
        ));
        // Impossible or double-counting policies are refused.
        assert!(matches!(
            note.verify(&keys, 0),
            Err(Error::InvalidPolicy(_))
        ));
        assert!(matches!(
            note.verify(&keys, 4),
            Err(Error::InvalidPolicy(_))
        ));
        let twice = [keys[0].clone(), keys[0].clone()];
        assert!(matches!(
            note.verify(&twice, 2),
            Err(Error::InvalidPolicy(_))
        ));
    }

    #[test]
    fn sm2_signatures_are_verified_alongside_ed25519() {
        let ed = key("log.example", 9);
        let sm = SignerKey::sm2_from_bytes(KeyName::new("log.example").unwrap(), &[5; 32]).unwrap();
        let note = Note::sign("body\n", &[&ed, &sm]).unwrap();
        let parsed = Note::parse(&note.to_bytes()).unwrap();
        let both = [ed.verifier_key().clone(), sm.verifier_key().clone()];
        assert_eq!(parsed.verify(&both, 2).unwrap().signers().len(), 2);
        assert_eq!(parsed.verify(&both[..1], 1).unwrap().signers().len(), 1);
    }

    #[test]
    fn malformed_notes_get_specific_errors() {
        let ok = Note::sign("hello\n", &[&key("a", 1)]).unwrap().to_bytes();
        let ok = String::from_utf8(ok).unwrap();
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (b"hello\n".to_vec(), "no blank line"),
            (b"hello\n\n".to_vec(), "no signatures"),
            (ok.replace('\u{2014}', "-").into_bytes(), "em dash"),
            (ok.replace("hello", "he\tllo").into_bytes(), "control"),
            (ok.trim_end().as_bytes().to_vec(), "newline"),
            (vec![0xff, b'\n', b'\n'], "UTF-8"),
            (ok.replace(" a ", " a+b ").into_bytes(), "key name"),
            (format!("{ok}\u{2014} a !!!!\n").into_bytes(), "base64"),
            (format!("{ok}\u{2014} a AAAA\n").into_bytes(), "too short"),
            (
                format!("{ok}\u{2014} a\n").into_bytes(),
                "name and signature",
            ),
        ];
        for (bytes, want) in cases {
            let err = Note::parse(&bytes).unwrap_err().to_string();
            assert!(err.contains(want), "{err:?} should mention {want:?}");
        }
        let huge = vec![b'a'; NOTE_BYTES_MAX + 1];
        assert!(matches!(Note::parse(&huge), Err(Error::TooLarge { .. })));
        let mut many = ok.clone();
        for _ in 0..SIGNATURES_MAX {
            many.push_str(ok.lines().last().unwrap());
            many.push('\n');
        }
        assert!(
            Note::parse(many.as_bytes())
                .unwrap_err()
                .to_string()
                .contains("too many")
        );
    }

    #[test]
    fn text_may_contain_blank_lines() {
        let k = key("a", 1);
        let note = Note::sign("para one\n\npara two\n", &[&k]).unwrap();
        let parsed = Note::parse(&note.to_bytes()).unwrap();
        assert_eq!(parsed.text(), "para one\n\npara two\n");
        parsed.verify(&[k.verifier_key().clone()], 1).unwrap();
    }
}
