//! The worker thread that owns the libvirt connection. The UI sends `Request`s and receives
//! `Event`s; nothing here ever runs on the UI's thread.

use std::collections::HashMap;
use std::sync::atomic::AtomicBool;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::sync::mpsc::UnboundedSender;
use virt::connect::Connect;

use super::connection::{self, ConnectOptions};
use super::error::VirtError;
use super::inventory;
use super::jobs::{self, Job, JobContext, JobControl, JobId, JobUpdate};
use crate::model::inventory::{DemoKind, DomainInfo, HostInfo};

#[derive(Debug, Clone)]
pub struct WorkerOptions {
    pub connect: ConnectOptions,
    /// Open the demo host instead of `connect.uri`.
    pub demo: bool,
    /// The safety-net full refresh.
    pub refresh_every: Duration,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    /// Re-read every domain.
    Refresh,
    /// Re-read one domain's row (after a job changed it).
    RefreshDomain { name: String },
    /// Start a long job on its own thread.
    StartJob { id: JobId, job: Job },
    /// Answer a running job's question, or cancel it.
    Control { id: JobId, control: JobControl },
    /// Stop: the demo's VMs are destroyed first.
    Stop,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Connecting {
        uri: String,
    },
    Connected(Box<HostInfo>),
    ConnectFailed(VirtError),
    /// The full set of domains, identities only (details follow). Rows not listed are gone.
    DomainList(Vec<DomainInfo>),
    /// Rows with their details filled in.
    DomainDetails(Vec<DomainInfo>),
    /// A full refresh finished: how long listing and filling took.
    RefreshDone {
        names_after: Duration,
        filled_after: Duration,
    },
    /// Progress or the end of a job.
    Job {
        id: JobId,
        update: JobUpdate,
    },
    /// Something the user should read once (e.g. which demo VMs were left off).
    Notice(String),
    Stopped,
}

pub struct WorkerHandle {
    requests: Sender<Request>,
    thread: Option<JoinHandle<()>>,
}

impl WorkerHandle {
    pub fn send(&self, req: Request) {
        // A worker that has gone away has already reported why; nothing to add here.
        let _ = self.requests.send(req);
    }

    /// Asks the worker to stop and waits for it (the demo's VMs are destroyed on the way).
    pub fn stop(mut self) {
        self.send(Request::Stop);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

pub fn spawn(opts: WorkerOptions, events: UnboundedSender<Event>) -> WorkerHandle {
    let (tx, rx) = std::sync::mpsc::channel();
    let thread = std::thread::Builder::new()
        .name("libvirt-worker".into())
        .spawn(move || run(opts, rx, events))
        .ok();
    WorkerHandle {
        requests: tx,
        thread,
    }
}

struct Session {
    conn: Connect,
    demo: Option<super::demo_session::DemoSession>,
}

fn run(opts: WorkerOptions, requests: Receiver<Request>, events: UnboundedSender<Event>) {
    let emit = |e: Event| {
        let _ = events.send(e);
    };
    let session = match open_session(&opts, &emit) {
        Ok(s) => s,
        Err(e) => {
            emit(Event::ConnectFailed(e));
            // Stay until asked to stop so the UI can show the failure.
            while let Ok(req) = requests.recv() {
                if req == Request::Stop {
                    break;
                }
            }
            emit(Event::Stopped);
            return;
        }
    };
    let emit_shared: Arc<dyn Fn(Event) + Send + Sync> = {
        let events = events.clone();
        Arc::new(move |e| {
            let _ = events.send(e);
        })
    };
    refresh(&session.conn, &emit);
    let mut running: HashMap<JobId, Sender<JobControl>> = HashMap::new();
    let mut next_refresh = Instant::now() + opts.refresh_every;
    loop {
        let wait = next_refresh.saturating_duration_since(Instant::now());
        match requests.recv_timeout(wait) {
            Ok(Request::Refresh) => {
                refresh(&session.conn, &emit);
                next_refresh = Instant::now() + opts.refresh_every;
            }
            Ok(Request::RefreshDomain { name }) => refresh_one(&session.conn, &name, &emit),
            Ok(Request::StartJob { id, job }) => {
                let tx = spawn_job(session.conn.clone(), id, job, emit_shared.clone());
                running.insert(id, tx);
            }
            Ok(Request::Control { id, control }) => {
                if let Some(tx) = running.get(&id) {
                    if tx.send(control).is_err() {
                        running.remove(&id);
                    }
                }
            }
            Ok(Request::Stop) | Err(RecvTimeoutError::Disconnected) => break,
            Err(RecvTimeoutError::Timeout) => {
                refresh(&session.conn, &emit);
                next_refresh = Instant::now() + opts.refresh_every;
            }
        }
    }
    if let Some(demo) = session.demo {
        demo.shutdown(&session.conn);
    }
    emit(Event::Stopped);
}

fn open_session(opts: &WorkerOptions, emit: &dyn Fn(Event)) -> Result<Session, VirtError> {
    if opts.demo {
        let (conn, demo) = super::demo_session::DemoSession::open(&|msg| emit(Event::Notice(msg)))?;
        let kind = demo.kind();
        let host = inventory::host_info(&conn, false, Some(kind))?;
        emit(Event::Connected(Box::new(host)));
        for line in demo.report_lines() {
            emit(Event::Notice(line));
        }
        return Ok(Session {
            conn,
            demo: Some(demo),
        });
    }
    emit(Event::Connecting {
        uri: opts
            .connect
            .uri
            .clone()
            .unwrap_or_else(|| "libvirt's default URI".into()),
    });
    let conn = connection::open(&opts.connect)?;
    let host = inventory::host_info(&conn, opts.connect.readonly, None::<DemoKind>)?;
    emit(Event::Connected(Box::new(host)));
    Ok(Session { conn, demo: None })
}

/// Names first (one call), then details in parallel batches.
pub fn refresh(conn: &Connect, emit: &(dyn Fn(Event) + Sync)) {
    let started = Instant::now();
    let rows = match inventory::list_domains(conn) {
        Ok(rows) => rows,
        Err(e) => {
            emit(Event::Notice(e.to_string()));
            return;
        }
    };
    emit(Event::DomainList(
        rows.iter().map(|(_, r)| r.clone()).collect(),
    ));
    let names_after = started.elapsed();
    inventory::fetch_all(rows, inventory::FETCH_THREADS, 64, &|batch| {
        emit(Event::DomainDetails(batch))
    });
    emit(Event::RefreshDone {
        names_after,
        filled_after: started.elapsed(),
    });
}

/// Re-reads one domain's row; a domain that vanished triggers a full listing instead.
fn refresh_one(conn: &Connect, name: &str, emit: &(dyn Fn(Event) + Sync)) {
    match inventory::lookup(conn, name) {
        Ok(domain) => {
            let mut row =
                DomainInfo::named(name.to_string(), domain.uuid_string().unwrap_or_default());
            inventory::fetch_details(&domain, &mut row);
            emit(Event::DomainDetails(vec![row]));
        }
        Err(_) => refresh(conn, emit),
    }
}

/// Runs a job on its own thread; the returned sender reaches its controls.
fn spawn_job(
    conn: Connect,
    id: JobId,
    job: Job,
    emit: Arc<dyn Fn(Event) + Send + Sync>,
) -> Sender<JobControl> {
    let (tx, rx) = std::sync::mpsc::channel();
    let domain = job.domain().map(str::to_string);
    let emit_failure = emit.clone();
    let spawned = std::thread::Builder::new()
        .name(format!("job-{id}"))
        .spawn(move || {
            let ctx = JobContext {
                conn: &conn,
                id,
                emit: &*emit,
                controls: rx,
                cancelled: Arc::new(AtomicBool::new(false)),
            };
            let result = jobs::run(&ctx, job);
            tracing::info!("job {id} finished: {result:?}");
            if let Some(name) = domain {
                refresh_one(&conn, &name, &*emit);
            }
            emit(Event::Job {
                id,
                update: JobUpdate::Finished(result),
            });
        });
    if let Err(e) = spawned {
        let update = JobUpdate::Finished(Err(format!("cannot start a thread for the job: {e}")));
        emit_failure(Event::Job { id, update });
    }
    tx
}
