//! Progress of a benchmark's phases on stderr: an `indicatif` bar when stderr is a
//! terminal, nothing in a pipe or a log (the scripts keep only the results on stdout).

use std::io::IsTerminal as _;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A bar over `total` items counted in `unit`, labelled `what`; hidden unless stderr is
/// a terminal.
pub(crate) fn bar(what: &str, total: u64, unit: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    // A template that does not parse would be a programming error; the default style is
    // an acceptable fallback then.
    if let Ok(style) = ProgressStyle::with_template(&format!(
        "{what} [{{elapsed_precise}}] [{{bar:30}}] {{percent:>3}}% {{human_pos}}/{{human_len}} {unit} ({{per_sec}})"
    )) {
        bar.set_style(style.progress_chars("#>."));
    }
    bar
}
