//! Long-running libvirt work (snapshots, reverts, deletes, shutdowns): each job runs on its own
//! thread sharing the worker's connection (libvirt connections are thread-safe), reports its
//! steps as events, can ask the user a question and wait for the answer, and can be cancelled.
//! Each kind of job lives in its own module; `Job` only names them.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::Duration;

use virt::connect::Connect;

use super::worker::Event;

pub mod delete;
pub mod describe;
pub mod lifecycle;
pub mod prune;
pub mod quiesce;
pub mod remedy;
pub mod revert;
pub mod snapshot_create;

pub type JobId = u64;

/// A unit of work the UI or the CLI asks for. Variants are added per feature.
#[derive(Debug, Clone, PartialEq)]
pub enum Job {
    /// Waits `seconds`, reporting each second; answers a question half-way. Exercises the job
    /// machinery in tests without touching any VM.
    #[doc(hidden)]
    Probe {
        seconds: u64,
    },
    /// Start, shut down, force off, reboot, pause or resume one domain.
    Lifecycle {
        domain: String,
        action: lifecycle::LifecycleAction,
    },
    RevertSnapshot(revert::RevertJob),
    DeleteSnapshot(delete::DeleteJob),
    DescribeSnapshot(describe::DescribeJob),
    CreateSnapshot(snapshot_create::CreateJob),
    StopSnapshotStart(remedy::StopSnapshotStartJob),
    EditDefinition(remedy::EditDefinitionJob),
}

impl Job {
    /// One line for the jobs bar, e.g. "snapshot web-01".
    pub fn title(&self) -> String {
        match self {
            Job::Probe { seconds } => format!("probe {seconds}s"),
            Job::Lifecycle { domain, action } => format!("{} {domain}", action.verb()),
            Job::RevertSnapshot(j) => format!("revert {}", j.domain),
            Job::DeleteSnapshot(j) => format!("delete snapshot {}", j.domain),
            Job::DescribeSnapshot(j) => format!("describe snapshot {}", j.domain),
            Job::CreateSnapshot(j) => format!("snapshot {}", j.domain),
            Job::StopSnapshotStart(j) => format!("stop, snapshot, start {}", j.snapshot.domain),
            Job::EditDefinition(j) => format!("edit {}", j.domain),
        }
    }

    /// The domain the job changes: its row and snapshots are re-read when the job ends.
    pub fn domain(&self) -> Option<&str> {
        match self {
            Job::Probe { .. } => None,
            Job::Lifecycle { domain, .. } => Some(domain),
            Job::RevertSnapshot(j) => Some(&j.domain),
            Job::DeleteSnapshot(j) => Some(&j.domain),
            Job::DescribeSnapshot(j) => Some(&j.domain),
            Job::CreateSnapshot(j) => Some(&j.domain),
            Job::StopSnapshotStart(j) => Some(&j.snapshot.domain),
            Job::EditDefinition(j) => Some(&j.domain),
        }
    }
}

/// What a job tells the UI while it runs and when it ends.
#[derive(Debug, Clone, PartialEq)]
pub enum JobUpdate {
    /// The step now running, e.g. "waiting for web-01 to shut down (37 s left)".
    Step(String),
    /// Bytes processed of a total (memory snapshot, block commit), for a gauge.
    Bytes { done: u64, total: u64 },
    /// The job waits for a yes/no from the user.
    Question(JobQuestion),
    /// Done: a short confirmation, or the explained error.
    Finished(Result<String, String>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobQuestion {
    /// The question, saying what a yes costs, e.g. "web-01 is still running: force it off?
    /// (data not flushed by the guest is lost)".
    pub text: String,
    pub yes: String,
    pub no: String,
}

/// Messages from the UI to one running job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobControl {
    Answer(bool),
    Cancel,
}

/// What a running job can use: the shared connection, a way to report, and its controls.
pub struct JobContext<'a> {
    pub conn: &'a Connect,
    pub id: JobId,
    pub emit: &'a (dyn Fn(Event) + Sync),
    pub controls: Receiver<JobControl>,
    pub cancelled: Arc<AtomicBool>,
}

impl JobContext<'_> {
    pub fn step(&self, text: impl Into<String>) {
        (self.emit)(Event::Job {
            id: self.id,
            update: JobUpdate::Step(text.into()),
        });
    }

    pub fn bytes(&self, done: u64, total: u64) {
        (self.emit)(Event::Job {
            id: self.id,
            update: JobUpdate::Bytes { done, total },
        });
    }

    pub fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Relaxed)
    }

    /// Asks the user and waits for the answer. A cancel, or the UI going away, is a "no".
    pub fn ask(&self, question: JobQuestion) -> bool {
        (self.emit)(Event::Job {
            id: self.id,
            update: JobUpdate::Question(question),
        });
        loop {
            match self.controls.recv_timeout(Duration::from_millis(500)) {
                Ok(JobControl::Answer(yes)) => return yes,
                Ok(JobControl::Cancel) | Err(RecvTimeoutError::Disconnected) => {
                    self.cancelled.store(true, Ordering::Relaxed);
                    return false;
                }
                Err(RecvTimeoutError::Timeout) => {}
            }
        }
    }

    /// Sleeps up to `d`, waking early on cancel. Returns false when cancelled.
    pub fn sleep(&self, d: Duration) -> bool {
        match self.controls.recv_timeout(d) {
            Ok(JobControl::Cancel) | Err(RecvTimeoutError::Disconnected) => {
                self.cancelled.store(true, Ordering::Relaxed);
                false
            }
            Ok(JobControl::Answer(_)) | Err(RecvTimeoutError::Timeout) => !self.is_cancelled(),
        }
    }
}

/// Runs a job to its end on the calling thread.
pub fn run(ctx: &JobContext, job: Job) -> Result<String, String> {
    match job {
        Job::Probe { seconds } => probe(ctx, seconds),
        Job::Lifecycle { domain, action } => lifecycle::run(ctx, &domain, action),
        Job::RevertSnapshot(j) => revert::run(ctx, &j),
        Job::DeleteSnapshot(j) => delete::run(ctx, &j),
        Job::DescribeSnapshot(j) => describe::run(ctx, &j),
        Job::CreateSnapshot(j) => snapshot_create::run(ctx, &j),
        Job::StopSnapshotStart(j) => remedy::stop_snapshot_start(ctx, &j),
        Job::EditDefinition(j) => remedy::edit_definition(ctx, &j),
    }
}

fn probe(ctx: &JobContext, seconds: u64) -> Result<String, String> {
    for s in 0..seconds {
        ctx.step(format!("second {}", s + 1));
        if !ctx.sleep(Duration::from_secs(1)) {
            return Err("cancelled".into());
        }
    }
    let yes = ctx.ask(JobQuestion {
        text: "finish the probe?".into(),
        yes: "finish".into(),
        no: "fail".into(),
    });
    if yes {
        Ok("probe done".into())
    } else {
        Err("probe refused".into())
    }
}
