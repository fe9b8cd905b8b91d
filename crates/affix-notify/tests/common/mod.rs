//! Helpers shared by the integration tests.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)] // Test code: a panic is the failure report.

use std::path::PathBuf;
use std::process::Stdio;

use affix_notify::{EmailAddress, EventType, Notification, NotificationId, Recipient};

/// The venv Python that `scripts/test` installs (`target/pyenv`), with aiosmtpd and
/// standardwebhooks. Fails the test if it is missing: these interop checks never skip.
pub fn python() -> PathBuf {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/pyenv/bin/python");
    assert!(
        path.exists(),
        "{} is missing: run scripts/test once (or `python3 -m venv target/pyenv && \
         target/pyenv/bin/pip install aiosmtpd==1.4.6 standardwebhooks==1.1.0`)",
        path.display()
    );
    path
}

/// A script under `tests/tools/`.
pub fn tool(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/tools")
        .join(name)
}

/// Runs `python <args>` with `stdin`, returns stdout; fails the test on a non-zero exit.
pub fn run_python(args: &[&std::ffi::OsStr], stdin: &[u8]) -> String {
    use std::io::Write as _;
    let mut child = std::process::Command::new(python())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "python failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A free TCP port on 127.0.0.1 (bound, then released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A repayment reminder e-mail in Chinese.
pub fn reminder(id: &str, to: &str) -> Notification {
    Notification::new(
        NotificationId::parse(id).unwrap(),
        Recipient::Email(EmailAddress::parse(to).unwrap()),
        EventType::parse("loan.repayment_due").unwrap(),
        "还款提醒：借条 #42 将于 7 月 1 日到期",
        "尊敬的借款人：\n\n您签署的借条（金额 ¥5,000.00）将于 2026 年 7 月 1 日到期，请按时还款。\n\nAffix",
        1_782_000_000_000,
    )
    .unwrap()
}
