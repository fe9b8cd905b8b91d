//! Signed notes, checkpoints and receipts in the C2SP text formats.
//!
//! - [`Note`]: a `c2sp.org/signed-note` text with signature lines. Parsing never trusts
//!   the text; [`Note::verify`] applies a "k of these n keys" rule and returns a
//!   [`VerifiedNote`].
//! - [`VerifierKey`] / [`SignerKey`]: keys in the Go sumdb encoding
//!   (`name+hash+base64(type||key)`, `PRIVATE+KEY+name+hash+base64(type||secret)`) for
//!   Ed25519 (type `0x01`) and for SM2 with SM3 under an Affix-specific type that standard
//!   verifiers skip (see [`SignatureType::Sm2Sm3`]).
//! - [`Checkpoint`] (`c2sp.org/tlog-checkpoint`), verified against a [`TrustPolicy`] into a
//!   [`VerifiedCheckpoint`].
//! - [`Receipt`] (`c2sp.org/tlog-proof@v1`): index, inclusion proof, signed checkpoint and
//!   the entry's bytes in the `extra` line, verified into a [`VerifiedReceipt`].
//! - [`VerifierKeysFile`]: the verifier keys file, a relying party's trust anchor — the
//!   text form of a [`TrustPolicy`] (`# Affix consortium <origin>: receipts need <k> of
//!   these <n> keys`, then one key per line), written by
//!   [`TrustPolicy::verifier_keys_file`].
//!
//! The crate is pure: no I/O, no clock, no randomness. Signing goes through the
//! [`NoteSigner`] trait, implemented over any `signature::Signer` + `Keypair`, so keys can
//! live in a vault that never hands them out.
#![forbid(unsafe_code)]

mod checkpoint;
mod error;
mod key;
mod keys_file;
mod note;
mod receipt;

pub use checkpoint::{Checkpoint, Origin, SignedCheckpoint, TrustPolicy, VerifiedCheckpoint};
pub use error::Error;
pub use key::{
    Ed25519NoteSigner, KeyId, KeyName, NoteSigner, SM2_DEFAULT_DISTID, SM2_TYPE_IDENTIFIER,
    SignatureType, SignerKey, Sm2NoteSigner, VerifierKey,
};
pub use keys_file::{KEYS_FILE_BYTES_MAX, VerifierKeysFile};
pub use note::{NOTE_BYTES_MAX, Note, NoteSignature, SIGNATURES_MAX, VerifiedNote};
pub use receipt::{EXTRA_BYTES_MAX, RECEIPT_HEADER, Receipt, VerifiedReceipt};
