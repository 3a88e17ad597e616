//! What a one-shot command shows while its job runs: each step, and on a terminal a status
//! line with the elapsed time and the bytes written, redrawn every second, which says so when
//! libvirt's job has made no progress for a while (QEMU stopped, a hung disk). Without a
//! terminal (a script, a log), steps are plain lines and a stall is one line every 30 s.

use std::io::{IsTerminal, Write};
use std::sync::atomic::AtomicBool;

use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use virt::connect::Connect;

use crate::libvirt::jobs::snapshot_create::human_bytes;
use crate::libvirt::jobs::{JobContext, JobControl, JobUpdate};
use crate::libvirt::worker::Event;

/// A job that reports bytes and has not moved for this long is called stalled.
pub const STALL_AFTER: Duration = Duration::from_secs(10);

struct State {
    step: String,
    step_started: Instant,
    bytes: Option<(u64, u64)>,
    last_change: Instant,
    last_stall_line: Option<Instant>,
}

/// Draws a running job's progress on stderr until dropped.
pub struct Progress {
    state: Arc<Mutex<State>>,
    tty: bool,
    /// Dropped to stop the ticker at once (it waits on this channel between ticks).
    stop: Option<std::sync::mpsc::Sender<()>>,
    ticker: Option<JoinHandle<()>>,
}

/// "12 s", "3 min 05 s".
pub fn elapsed_words(d: Duration) -> String {
    let s = d.as_secs();
    if s < 60 {
        format!("{s} s")
    } else {
        format!("{} min {:02} s", s / 60, s % 60)
    }
}

impl State {
    /// Only a step that reports bytes can be seen to stall; other steps just take time.
    fn stalled(&self, now: Instant) -> bool {
        self.bytes.is_some() && now - self.last_change >= STALL_AFTER
    }

    fn line(&self, now: Instant) -> String {
        let mut line = format!("[{}] {}", elapsed_words(now - self.step_started), self.step);
        if let Some((done, total)) = self.bytes {
            let pct = (done * 100).checked_div(total).unwrap_or(0);
            line.push_str(&format!(
                ": {pct}% ({} of {})",
                human_bytes(done),
                human_bytes(total)
            ));
        }
        let still = now - self.last_change;
        if self.stalled(now) {
            line.push_str(&format!(
                " - no progress for {} (QEMU may be stopped or its disk hung)",
                elapsed_words(still)
            ));
        }
        line
    }
}

impl Progress {
    pub fn start() -> Progress {
        let now = Instant::now();
        let state = Arc::new(Mutex::new(State {
            step: "starting".into(),
            step_started: now,
            bytes: None,
            last_change: now,
            last_stall_line: None,
        }));
        let tty = std::io::stderr().is_terminal();
        // The ticker waits on a channel rather than sleeping, so a job that ends between ticks
        // is not held up to 250 ms by the join in drop (a prune of 100 VMs paid 25 s for it).
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let ticker = {
            let state = Arc::clone(&state);
            std::thread::spawn(move || {
                while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                    stopped.recv_timeout(Duration::from_millis(250))
                {
                    let Ok(mut s) = state.lock() else { return };
                    let now = Instant::now();
                    if tty {
                        let _ = write!(std::io::stderr(), "\r\x1b[K{}", s.line(now));
                        let _ = std::io::stderr().flush();
                    } else if s.stalled(now)
                        && s.last_stall_line
                            .is_none_or(|t| now - t >= Duration::from_secs(30))
                    {
                        s.last_stall_line = Some(now);
                        let _ = writeln!(std::io::stderr(), "{}", s.line(now));
                    }
                }
            })
        };
        Progress {
            state,
            tty,
            stop: Some(stop),
            ticker: Some(ticker),
        }
    }

    /// Takes one update from the job.
    pub fn update(&self, update: &JobUpdate) {
        let Ok(mut s) = self.state.lock() else { return };
        let now = Instant::now();
        match update {
            JobUpdate::Step(step) => {
                if self.tty {
                    let _ = write!(std::io::stderr(), "\r\x1b[K");
                }
                let _ = writeln!(std::io::stderr(), "{step}...");
                s.step = step.clone();
                s.step_started = now;
                s.bytes = None;
                s.last_change = now;
            }
            JobUpdate::Bytes { done, total } => {
                if s.bytes != Some((*done, *total)) {
                    s.bytes = Some((*done, *total));
                    s.last_change = now;
                }
            }
            JobUpdate::Question(_) | JobUpdate::Finished(_) => {}
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.ticker.take() {
            let _ = t.join();
        }
        if self.tty {
            let _ = write!(std::io::stderr(), "\r\x1b[K");
        }
    }
}

/// Runs a job on this thread, its steps on stderr. The CLI decides everything up front
/// through its flags: a question a job asks (force it off?) is answered "no", and said.
pub fn run_job<T, E>(conn: &Connect, f: impl FnOnce(&JobContext) -> Result<T, E>) -> Result<T, E> {
    let (controls_tx, controls) = std::sync::mpsc::channel();
    let progress = Progress::start();
    let emit = move |e: Event| {
        if let Event::Job { update, .. } = e {
            if let JobUpdate::Question(q) = &update {
                let _ = writeln!(std::io::stderr(), "{} -> {}", q.text, q.no);
                let _ = controls_tx.send(JobControl::Answer(false));
            }
            progress.update(&update);
        }
    };
    let ctx = JobContext {
        conn,
        id: 0,
        emit: &emit,
        controls,
        cancelled: Arc::new(AtomicBool::new(false)),
    };
    f(&ctx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_says_elapsed_bytes_and_a_stall() {
        let t0 = Instant::now();
        let mut s = State {
            step: "creating external snapshot with memory".into(),
            step_started: t0,
            bytes: Some((512 << 20, 1 << 30)),
            last_change: t0,
            last_stall_line: None,
        };
        let line = s.line(t0 + Duration::from_secs(3));
        assert_eq!(
            line,
            "[3 s] creating external snapshot with memory: 50% (512.0 MiB of 1.0 GiB)"
        );
        s.last_change = t0;
        let line = s.line(t0 + Duration::from_secs(75));
        assert!(line.starts_with("[1 min 15 s]"), "{line}");
        assert!(line.contains("no progress for 1 min 15 s"), "{line}");
    }
}
