//! How a command fails, and the exit code each kind of failure gets.

use std::process::ExitCode;

/// An error that maps to an exit code: verification failures are told apart from the
/// rest, and so is evidence that verified only against anchors it carried itself.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The evidence did not verify (exit 3).
    Verification(anyhow::Error),
    /// The evidence verified, but only against the trust anchors inside it
    /// (`--dangerous-trust-bundle-anchors`): that proves nothing about who made it
    /// (exit 4).
    UntrustedAnchors(anyhow::Error),
    /// The device refused to sign what it was shown: an action the user did not allow,
    /// or signed attributes that are not what the statement authorizes (exit 5).
    Refused(anyhow::Error),
    /// Anything else (exit 1).
    Error(anyhow::Error),
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        Failure::Error(e)
    }
}

/// Exit code of an error (bad input, I/O, refused operation).
const EXIT_ERROR: u8 = 1;
/// Exit code of evidence that does not verify.
const EXIT_VERIFICATION_FAILED: u8 = 3;
/// Exit code of evidence verified only against the anchors it carries itself.
const EXIT_UNTRUSTED_ANCHORS: u8 = 4;
/// Exit code of a statement the device refused to sign.
const EXIT_REFUSED: u8 = 5;

impl Failure {
    /// Reports the failure on stderr and returns its exit code.
    pub(crate) fn report(self) -> ExitCode {
        match self {
            Failure::Verification(e) => {
                eprintln!("affix: verification FAILED: {e:#}");
                ExitCode::from(EXIT_VERIFICATION_FAILED)
            }
            Failure::UntrustedAnchors(e) => {
                eprintln!("affix: NOT VERIFIED against independent trust anchors: {e:#}");
                ExitCode::from(EXIT_UNTRUSTED_ANCHORS)
            }
            Failure::Refused(e) => {
                eprintln!("affix: REFUSED to sign: {e:#}");
                ExitCode::from(EXIT_REFUSED)
            }
            Failure::Error(e) => {
                eprintln!("affix: error: {e:#}");
                ExitCode::from(EXIT_ERROR)
            }
        }
    }
}
