//! One module per command, each owning its command-line arguments and running it.

pub(crate) mod ca;
pub(crate) mod demo;
pub(crate) mod device;
pub(crate) mod devnet;
pub(crate) mod keygen;
pub(crate) mod log;
pub(crate) mod mirror;
pub(crate) mod node;
pub(crate) mod serve;
pub(crate) mod sign;
pub(crate) mod submit;
pub(crate) mod timestamp;
pub(crate) mod tsa;
pub(crate) mod vault;
pub(crate) mod verify;
pub(crate) mod verify_bundle;
pub(crate) mod verify_receipt;
