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
use super::events::HostEvent;
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
    /// From libvirt's callbacks (domain events, connection closed), not from the UI.
    Host(HostEvent),
    /// Read one domain's snapshots for the snapshot view.
    LoadSnapshots { domain: String },
    /// Open a domain's serial console (`force` takes it over from another client).
    OpenConsole { domain: String, force: bool },
    /// Ask a running domain's guest agent whether it answers and what it would freeze.
    InspectGuest { domain: String },
    /// Read these domains' snapshot space and age (the list's SPACE, OLDEST, CHAIN).
    LoadSpace {
        domains: Vec<String>,
        stale_after_days: u32,
    },
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
    /// Not connected (lost, or never made): the next attempt is `retry_in` seconds away.
    Disconnected {
        reason: String,
        retry_in: u64,
    },
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
    /// A console is open and ready to attach, or why it is not.
    ConsoleOpened(super::console::ConsoleHandle),
    ConsoleFailed {
        domain: String,
        error: super::console::ConsoleError,
    },
    /// A domain's snapshots, for the snapshot view.
    Snapshots {
        domain: String,
        result: Result<Box<super::snapshots::DomainSnapshots>, String>,
    },
    /// A domain's snapshot space and age, for the list.
    Space {
        domain: String,
        result: Result<Box<crate::model::space::VmSpace>, String>,
    },
    /// What the guest agent answered, for the create-snapshot dialog.
    GuestInspected {
        domain: String,
        agent: crate::model::guest::AgentState,
        /// What a quiesce would freeze; Err when the agent could not say.
        file_systems: Result<Vec<crate::model::guest::GuestFileSystem>, String>,
    },
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
    /// Waits at most `patience` (a call stuck on a dead link must not keep the terminal);
    /// a job still running is left to libvirt.
    pub fn stop(self, patience: Duration) {
        stop_all(vec![self], patience);
    }
}

/// Asks every worker to stop at once, then waits for them together, at most `patience` in
/// all: a host stuck on a dead link costs its own patience, not one per host.
pub fn stop_all(workers: Vec<WorkerHandle>, patience: Duration) {
    for w in &workers {
        w.send(Request::Stop);
    }
    let deadline = Instant::now() + patience;
    for mut w in workers {
        let Some(t) = w.thread.take() else {
            continue;
        };
        while !t.is_finished() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        if t.is_finished() {
            let _ = t.join();
        } else {
            tracing::warn!("libvirt worker still busy after {patience:?}; exiting without it");
        }
    }
}

/// Where a worker's events go: called on the worker's (and its jobs') threads.
pub type EventSink = Arc<dyn Fn(Event) + Send + Sync>;

/// Starts a worker that sends its events into `events`.
pub fn spawn(opts: WorkerOptions, events: UnboundedSender<Event>) -> WorkerHandle {
    spawn_to(
        opts,
        Arc::new(move |e| {
            // A closed channel means the UI has gone; the worker notices at its next request.
            let _ = events.send(e);
        }),
    )
}

/// Starts a worker thread with its own connection, reporting to `sink`. Each host gets one:
/// a host that is slow to answer, or whose link is dead, holds up only its own worker.
pub fn spawn_to(opts: WorkerOptions, sink: EventSink) -> WorkerHandle {
    let (tx, rx) = std::sync::mpsc::channel();
    let self_tx = tx.clone();
    let thread = std::thread::Builder::new()
        .name("libvirt-worker".into())
        .spawn(move || run(opts, rx, self_tx, sink))
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

/// How long to wait before reconnect attempt `n` (1, 2, 4 ... 30 s).
fn backoff(attempt: u32) -> u64 {
    1u64.checked_shl(attempt).unwrap_or(u64::MAX).min(30)
}

fn run(
    opts: WorkerOptions,
    requests: Receiver<Request>,
    self_tx: Sender<Request>,
    sink: EventSink,
) {
    let emit_shared: Arc<dyn Fn(Event) + Send + Sync> = sink;
    let emit = |e: Event| emit_shared(e);
    let mut running: HashMap<JobId, Sender<JobControl>> = HashMap::new();
    let mut demo = None;
    let mut attempt = 0u32;
    let mut ever_connected = false;
    'reconnect: loop {
        let conn = match open_session(&opts, &emit) {
            Ok(session) => {
                if session.demo.is_some() {
                    demo = session.demo;
                }
                session.conn
            }
            Err(e) => {
                if !ever_connected && attempt == 0 {
                    emit(Event::ConnectFailed(e.clone()));
                }
                let wait = backoff(attempt);
                attempt += 1;
                match wait_to_retry(&requests, wait, &e.to_string(), &emit, &mut running) {
                    true => continue 'reconnect,
                    false => break 'reconnect,
                }
            }
        };
        ever_connected = true;
        let registrations = super::events::register(&conn, self_tx.clone(), Request::Host);
        // Keepalive makes a silently dead link (an SSH tunnel gone) close within ~20 s.
        if let Err(e) = conn.set_keep_alive(5, 3) {
            tracing::debug!("keepalive not available: {}", e.message());
        }
        let mut lost: Option<String> = refresh(&conn, &emit).err();
        let mut next_refresh = Instant::now() + opts.refresh_every;
        while lost.is_none() {
            let wait = next_refresh.saturating_duration_since(Instant::now());
            match requests.recv_timeout(wait) {
                Ok(Request::Refresh) | Err(RecvTimeoutError::Timeout) => {
                    lost = refresh(&conn, &emit).err();
                    next_refresh = Instant::now() + opts.refresh_every;
                }
                Ok(Request::RefreshDomain { name }) => refresh_one(&conn, &name, &emit),
                Ok(Request::LoadSnapshots { domain }) => {
                    let result = super::space::load_view(&conn, &domain)
                        .map(Box::new)
                        .map_err(|e| e.to_string());
                    emit(Event::Snapshots { domain, result });
                }
                Ok(Request::Host(HostEvent::DomainChanged { name, what })) => {
                    tracing::debug!("event: {name} {what}");
                    refresh_one(&conn, &name, &emit);
                }
                Ok(Request::Host(HostEvent::ConnectionClosed { reason })) => {
                    lost = Some(reason.to_string());
                }
                Ok(Request::StartJob { id, job }) => {
                    let tx = spawn_job(conn.clone(), id, job, emit_shared.clone());
                    running.insert(id, tx);
                }
                Ok(Request::Control { id, control }) => control_job(&mut running, id, control),
                // A ping may wait for its timeout: never on the worker's own thread.
                Ok(Request::InspectGuest { domain }) => {
                    let (conn, emit) = (conn.clone(), emit_shared.clone());
                    let spawned = std::thread::Builder::new()
                        .name("inspect-guest".into())
                        .spawn(move || emit(super::guest::inspect(&conn, &domain)));
                    if let Err(e) = spawned {
                        tracing::error!("cannot start a thread to ask the guest agent: {e}");
                    }
                }
                // Each domain reads its snapshots' XML and image headers: never on the worker's
                // own thread, so listings and dialogs are not held up behind a page of them.
                Ok(Request::LoadSpace {
                    domains,
                    stale_after_days,
                }) => {
                    let (conn, emit) = (conn.clone(), emit_shared.clone());
                    let spawned =
                        std::thread::Builder::new()
                            .name("read-space".into())
                            .spawn(move || {
                                for domain in domains {
                                    let result = super::space::read_vm_space(
                                        &conn,
                                        &domain,
                                        stale_after_days,
                                        crate::model::space::DEEP_CHAIN_OVERLAYS,
                                    )
                                    .map(Box::new)
                                    .map_err(|e| e.to_string());
                                    emit(Event::Space { domain, result });
                                }
                            });
                    if let Err(e) = spawned {
                        tracing::error!("cannot start a thread to read snapshot space: {e}");
                    }
                }
                Ok(Request::OpenConsole { domain, force }) => {
                    emit(match super::console::open(&conn, &domain, force) {
                        Ok(handle) => Event::ConsoleOpened(handle),
                        Err(error) => Event::ConsoleFailed { domain, error },
                    })
                }
                Ok(Request::Stop) | Err(RecvTimeoutError::Disconnected) => {
                    drop(registrations);
                    if let Some(demo) = demo.take() {
                        demo.shutdown(&conn);
                    }
                    break 'reconnect;
                }
            }
        }
        drop(registrations);
        let reason = lost.unwrap_or_default();
        tracing::warn!("connection lost: {reason}");
        if !wait_to_retry(&requests, backoff(0), &reason, &emit, &mut running) {
            break 'reconnect;
        }
        attempt = 1;
    }
    emit(Event::Stopped);
}

fn control_job(running: &mut HashMap<JobId, Sender<JobControl>>, id: JobId, control: JobControl) {
    if let Some(tx) = running.get(&id) {
        if tx.send(control).is_err() {
            running.remove(&id);
        }
    }
}

/// Counts down to the next connection attempt, telling the UI each second. Jobs cannot start
/// meanwhile: they are refused with the reason, never queued. Returns false on Stop.
fn wait_to_retry(
    requests: &Receiver<Request>,
    seconds: u64,
    reason: &str,
    emit: &dyn Fn(Event),
    running: &mut HashMap<JobId, Sender<JobControl>>,
) -> bool {
    let until = Instant::now() + Duration::from_secs(seconds);
    loop {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return true;
        }
        emit(Event::Disconnected {
            reason: reason.to_string(),
            retry_in: left.as_secs_f64().ceil() as u64,
        });
        match requests.recv_timeout(left.min(Duration::from_secs(1))) {
            Ok(Request::Stop) | Err(RecvTimeoutError::Disconnected) => return false,
            Ok(Request::StartJob { id, .. }) => emit(Event::Job {
                id,
                update: JobUpdate::Finished(Err(format!(
                    "not started: virtsnap is not connected to libvirt ({reason})"
                ))),
            }),
            Ok(Request::Control { id, control }) => control_job(running, id, control),
            Ok(Request::OpenConsole { domain, .. }) => emit(Event::ConsoleFailed {
                domain,
                error: super::console::ConsoleError::Failed(format!(
                    "no console: virtsnap is not connected to libvirt ({reason})"
                )),
            }),
            Ok(_) | Err(RecvTimeoutError::Timeout) => {}
        }
    }
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

/// Names first (one call), then details in parallel batches. Err when the connection is
/// gone (the caller reconnects); other failures are shown and the loop goes on.
pub fn refresh(conn: &Connect, emit: &(dyn Fn(Event) + Sync)) -> Result<(), String> {
    let started = Instant::now();
    let rows = match inventory::list_domains(conn) {
        Ok(rows) => rows,
        Err(e) => {
            if !conn.is_alive().unwrap_or(false) {
                return Err(e.to_string());
            }
            emit(Event::Notice(e.to_string()));
            return Ok(());
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
    Ok(())
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
        Err(_) => {
            // Gone (undefined) or unreachable: a full listing settles which.
            let _ = refresh(conn, emit);
        }
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
            let result = jobs::run(&ctx, job).map_err(|e| {
                if conn.is_alive().unwrap_or(false) {
                    e
                } else {
                    format!(
                        "the connection to libvirt was lost while this ran, so its outcome is \
                     unknown; the list and snapshots are re-read after reconnecting ({e})"
                    )
                }
            });
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
