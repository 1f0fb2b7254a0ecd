//! Progress of long work on stderr (`cvdw load`, `cvdw replay`): an indicatif bar when
//! stderr is a terminal, and otherwise, in a log file or a CI job, a plain line now and then
//! instead of one per page.

use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::time::{Duration, Instant};

/// How often a terminal-less progress line may be printed.
const PLAIN_EVERY: Duration = Duration::from_secs(10);

/// Progress of a long load or replay, on stderr: a bar on a terminal; elsewhere (a log file, a
/// CI job) a plain line at most every [`PLAIN_EVERY`], so a log gets a heartbeat rather than a
/// line per page. The caller prints the final summary either way.
pub struct LoadProgress {
    bar: Option<ProgressBar>,
    last_line: std::sync::Mutex<Option<Instant>>,
}

impl LoadProgress {
    pub fn new(total: u64) -> LoadProgress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(total);
            bar.set_style(
                ProgressStyle::with_template("[{pos}/{len}] {wide_bar} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar
        });
        LoadProgress {
            bar,
            last_line: std::sync::Mutex::new(None),
        }
    }

    /// `done` of `total` items, with a short status (counts, elapsed time).
    pub fn update(&self, done: u64, total: u64, status: String) {
        match &self.bar {
            Some(bar) => {
                bar.set_length(total);
                bar.set_position(done);
                bar.set_message(status);
            }
            None => {
                let mut last = self.last_line.lock().unwrap_or_else(|p| p.into_inner());
                let now = Instant::now();
                if last.is_none_or(|at| now.duration_since(at) >= PLAIN_EVERY) {
                    *last = Some(now);
                    eprintln!("[{done}/{total}] {status}");
                }
            }
        }
    }

    /// A line of its own (a failed page) that the bar must not overwrite.
    pub fn note(&self, line: &str) {
        match &self.bar {
            Some(bar) => bar.println(line),
            None => eprintln!("{line}"),
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
