//! Jobs as the UI sees them: what runs, its step, how long it has run, and a question waiting
//! for the user. Time comes in through `Msg::Tick`, so this stays plain data.

use crate::libvirt::jobs::{Job, JobId, JobQuestion, JobUpdate};
use crate::model::inventory::HostId;

#[derive(Debug, Clone, PartialEq)]
pub struct JobState {
    pub id: JobId,
    /// The host whose worker runs it (controls go there).
    pub host: HostId,
    pub title: String,
    pub domain: Option<String>,
    pub step: String,
    pub bytes: Option<(u64, u64)>,
    /// Unix seconds when the job was started.
    pub started: u64,
    pub question: Option<JobQuestion>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Jobs {
    pub running: Vec<JobState>,
    next_id: JobId,
}

impl Jobs {
    /// Registers a job about to be sent to the worker and returns its id.
    pub fn start(&mut self, host: HostId, job: &Job, now: u64) -> JobId {
        self.next_id += 1;
        let id = self.next_id;
        self.running.push(JobState {
            id,
            host,
            title: job.title(),
            domain: job.domain().map(str::to_string),
            step: "starting".into(),
            bytes: None,
            started: now,
            question: None,
        });
        id
    }

    /// A job runs on `domain` of `host`.
    pub fn is_busy(&self, host: HostId, domain: &str) -> bool {
        self.running
            .iter()
            .any(|j| j.host == host && j.domain.as_deref() == Some(domain))
    }

    pub fn get(&self, id: JobId) -> Option<&JobState> {
        self.running.iter().find(|j| j.id == id)
    }

    /// The first job waiting for an answer: the UI asks one question at a time.
    pub fn pending_question(&self) -> Option<&JobState> {
        self.running.iter().find(|j| j.question.is_some())
    }

    /// Applies an update; returns the job's final result and state when it finished.
    pub fn apply(
        &mut self,
        id: JobId,
        update: JobUpdate,
    ) -> Option<(JobState, Result<String, String>)> {
        let index = self.running.iter().position(|j| j.id == id)?;
        let job = &mut self.running[index];
        match update {
            JobUpdate::Step(step) => {
                job.step = step;
                job.question = None;
            }
            JobUpdate::Bytes { done, total } => job.bytes = Some((done, total)),
            JobUpdate::Question(q) => job.question = Some(q),
            JobUpdate::Finished(result) => {
                let job = self.running.remove(index);
                return Some((job, result));
            }
        }
        None
    }

    pub fn answered(&mut self, id: JobId) {
        if let Some(j) = self.running.iter_mut().find(|j| j.id == id) {
            j.question = None;
        }
    }
}
