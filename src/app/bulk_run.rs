//! A bulk run: the jobs one bulk dialog started (one per VM, each on its own host) and the VMs
//! it did not start for, kept until the last job has ended; then one results table in a
//! message box, so a failure in one VM is read beside the others' outcomes rather than lost in
//! the status line. A failed job does not stop the others: each is its own job.

use super::{App, Command, HostId, Overlay};
use crate::libvirt::jobs::{Job, JobId};

#[derive(Debug, Clone, Default, PartialEq)]
pub struct BulkRuns {
    pub running: Vec<BulkRun>,
    /// Finished runs whose table waits for the screen to be free of other boxes.
    pub ready: Vec<BulkRun>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct BulkRun {
    /// "Snapshot 3 VMs", the results box's title.
    pub title: String,
    pub entries: Vec<RunEntry>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RunEntry {
    /// The VM, with its host when marks span several.
    pub label: String,
    /// The job started for it; None when it was not started.
    pub job: Option<JobId>,
    /// Its outcome; None while its job runs.
    pub result: Option<RunResult>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunResult {
    Done(String),
    Failed(String),
    /// Not started: virtsnap (or the VM's state) said no first.
    Refused(String),
    /// Not started: nothing to do for this VM.
    Skipped(String),
}

impl RunResult {
    fn word(&self) -> &'static str {
        match self {
            Self::Done(_) => "ok",
            Self::Failed(_) => "FAILED",
            Self::Refused(_) => "refused",
            Self::Skipped(_) => "skipped",
        }
    }

    fn text(&self) -> &str {
        match self {
            Self::Done(t) | Self::Failed(t) | Self::Refused(t) | Self::Skipped(t) => t,
        }
    }
}

impl BulkRun {
    /// "3 VMs: 2 ok, 1 FAILED" and one entry per VM, the failures first.
    pub fn table(&self) -> String {
        let count = |w: &str| {
            self.entries
                .iter()
                .filter(|e| e.result.as_ref().is_some_and(|r| r.word() == w))
                .count()
        };
        let parts: Vec<String> = ["ok", "FAILED", "refused", "skipped"]
            .iter()
            .map(|w| (w, count(w)))
            .filter(|(_, n)| *n > 0)
            .map(|(w, n)| format!("{n} {w}"))
            .collect();
        let n = self.entries.len();
        let mut text = format!(
            "{n} VM{}: {}\n",
            if n == 1 { "" } else { "s" },
            parts.join(", ")
        );
        let mut entries: Vec<&RunEntry> = self.entries.iter().collect();
        entries.sort_by_key(|e| match e.result {
            Some(RunResult::Failed(_)) => 0,
            Some(RunResult::Refused(_)) => 1,
            Some(RunResult::Skipped(_)) => 3,
            _ => 2,
        });
        for e in entries {
            let Some(r) = &e.result else { continue };
            text.push_str(&format!("\n{:<8}{}: {}", r.word(), e.label, r.text()));
        }
        text
    }
}

/// Starts one job per VM, each on its host, as one run; `skipped` are the VMs it does not
/// start for, with why (they are in the results table too).
pub fn start(
    app: &mut App,
    title: String,
    jobs: Vec<(HostId, String, Job)>,
    skipped: Vec<(String, RunResult)>,
) -> Vec<Command> {
    let mut entries = Vec::with_capacity(jobs.len() + skipped.len());
    let mut commands = Vec::with_capacity(jobs.len());
    for (host, label, job) in jobs {
        let command = app.start_job(host, job);
        if let Command::StartJob { id, .. } = &command {
            entries.push(RunEntry {
                label,
                job: Some(*id),
                result: None,
            });
        }
        commands.push(command);
    }
    entries.extend(skipped.into_iter().map(|(label, r)| RunEntry {
        label,
        job: None,
        result: Some(r),
    }));
    app.bulk.running.push(BulkRun { title, entries });
    commands
}

/// A job ended: when it belongs to a run, its outcome is kept for the table (and the status
/// line counts), and true is returned so the caller shows no box of its own for it.
pub fn on_job_finished(app: &mut App, id: JobId, result: &Result<String, String>) -> bool {
    let Some(at) = app
        .bulk
        .running
        .iter()
        .position(|r| r.entries.iter().any(|e| e.job == Some(id)))
    else {
        return false;
    };
    let run = &mut app.bulk.running[at];
    if let Some(e) = run.entries.iter_mut().find(|e| e.job == Some(id)) {
        e.result = Some(match result {
            Ok(t) => RunResult::Done(t.clone()),
            Err(t) => RunResult::Failed(t.clone()),
        });
    }
    let started: Vec<&RunEntry> = run.entries.iter().filter(|e| e.job.is_some()).collect();
    let ended = started.iter().filter(|e| e.result.is_some()).count();
    app.status = Some(format!("{}: {ended} of {} ended", run.title, started.len()));
    if ended == started.len() {
        let run = app.bulk.running.remove(at);
        app.bulk.ready.push(run);
    }
    true
}

/// Shows the first finished run's table when no other box is open (a box the user has open
/// is never replaced; the table waits for it to close).
pub fn show_ready(app: &mut App) {
    if app.overlay.is_some() || app.jobs.pending_question().is_some() || app.bulk.ready.is_empty() {
        return;
    }
    let run = app.bulk.ready.remove(0);
    app.status = Some(format!("{}: done", run.title));
    app.overlay = Some(Overlay::Message {
        title: run.title.clone(),
        text: run.table(),
        scroll: 0,
    });
}
