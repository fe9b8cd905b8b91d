//! Progress of long-running commands (`vault create --count`, `vault rotate`, a mirror's
//! catch-up): an `indicatif` bar on stderr when it is a terminal, nothing in a pipe or a
//! log file, so scripts see only the output.
//!
//! `AFFIX_PROGRESS` overrides the choice: `lines` prints one plain line per step to
//! stderr (`<what>: <done>/<total> <unit> (<percent>%)`), for logs of long operations and
//! for tests that must act in the middle of one; `off` prints nothing; `auto` (the
//! default) is the bar on a terminal and nothing otherwise.

use std::io::{IsTerminal as _, Write as _};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// The environment variable that chooses how progress is shown.
pub(crate) const PROGRESS_ENV: &str = "AFFIX_PROGRESS";

/// A progress display over a known number of items.
pub(crate) struct Progress {
    display: Display,
    done: u64,
    total: u64,
}

enum Display {
    Bar(ProgressBar),
    Lines { what: String, unit: &'static str },
    Off,
}

impl Progress {
    /// Progress of `what` over `total` items counted in `unit` (`keys`, `entries`, …).
    pub(crate) fn new(what: &str, total: u64, unit: &'static str) -> Self {
        let mode = std::env::var(PROGRESS_ENV).unwrap_or_default();
        let display = match mode.as_str() {
            "lines" => Display::Lines {
                what: what.to_owned(),
                unit,
            },
            "off" => Display::Off,
            _ if std::io::stderr().is_terminal() => Display::Bar(bar(what, total, unit)),
            _ => Display::Off,
        };
        Self {
            display,
            done: 0,
            total,
        }
    }

    /// Sets the number of items (it may grow while the work goes on).
    pub(crate) fn set_total(&mut self, total: u64) {
        self.total = total;
        if let Display::Bar(bar) = &self.display {
            bar.set_length(total);
        }
    }

    /// Sets the number of items done.
    pub(crate) fn set(&mut self, done: u64) {
        if done == self.done {
            return;
        }
        self.done = done;
        match &self.display {
            Display::Bar(bar) => bar.set_position(done),
            Display::Lines { what, unit } => {
                let percent = done
                    .saturating_mul(100)
                    .checked_div(self.total)
                    .unwrap_or(100);
                // A failed write to stderr must not stop the work it reports on.
                let _ = writeln!(
                    std::io::stderr(),
                    "{what}: {done}/{} {unit} ({percent}%)",
                    self.total
                );
            }
            Display::Off => {}
        }
    }

    /// Adds `n` items done.
    pub(crate) fn inc(&mut self, n: u64) {
        self.set(self.done.saturating_add(n));
    }

    /// Removes the bar (the lines stay).
    pub(crate) fn finish(self) {
        if let Display::Bar(bar) = &self.display {
            bar.finish_and_clear();
        }
    }
}

fn bar(what: &str, total: u64, unit: &str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    // A template that does not parse would be a programming error; the default style is
    // an acceptable fallback then.
    if let Ok(style) = ProgressStyle::with_template(&format!(
        "{what} [{{elapsed_precise}}] [{{bar:30}}] {{percent:>3}}% {{human_pos}}/{{human_len}} {unit} ({{eta}} left)"
    )) {
        bar.set_style(style.progress_chars("#>."));
    }
    bar
}
