//! Terminal set-up and restore, and the main loop: terminal keys, worker events and signals
//! in; draws only when something changed.

use std::time::Duration;

use crossterm::event::{Event as TermEvent, EventStream};
use futures::StreamExt;
use tokio::signal::unix::{signal, SignalKind};

use crate::app::{App, Command, Msg};
use crate::libvirt::worker::{self, Request, WorkerOptions};
use crate::ui::{self, Theme};

pub struct TuiOptions {
    pub worker: WorkerOptions,
    pub theme: Theme,
}

/// Runs the TUI until the user quits or a signal ends it. The terminal is restored on every
/// path out of here, and on panic by ratatui's hook.
pub fn run(opts: TuiOptions) -> color_eyre::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let label = if opts.worker.demo {
        "demo host".to_string()
    } else {
        opts.worker
            .connect
            .uri
            .clone()
            .unwrap_or_else(|| "libvirt's default URI".into())
    };
    let demo = opts.worker.demo;
    let worker = worker::spawn(opts.worker, tx);
    let mut terminal = ratatui::try_init()?;
    let result = runtime.block_on(main_loop(&mut terminal, rx, &worker, label, opts.theme));
    ratatui::restore();
    if let Some(stopping) = result.as_ref().ok().and_then(|s| s.clone()) {
        tracing::info!("{stopping}");
    }
    // The demo destroys its VMs on the way out: give it time for that.
    worker.stop(Duration::from_secs(if demo { 30 } else { 5 }));
    result.map(|_| ())
}

async fn main_loop(
    terminal: &mut ratatui::DefaultTerminal,
    mut worker_events: tokio::sync::mpsc::UnboundedReceiver<worker::Event>,
    worker: &worker::WorkerHandle,
    label: String,
    theme: Theme,
) -> color_eyre::Result<Option<String>> {
    let size = terminal.size()?;
    let mut app = App::new(label, size.width, size.height);
    app.update(Msg::Tick { now: unix_now() });
    let mut keys = EventStream::new();
    let mut sigterm = signal(SignalKind::terminate())?;
    let mut sighup = signal(SignalKind::hangup())?;
    let mut sigint = signal(SignalKind::interrupt())?;
    let mut dirty = true;
    loop {
        if dirty {
            terminal.draw(|f| ui::draw(f, &app, &theme))?;
            dirty = false;
            // A hidden switch for testing that a panic restores the terminal.
            if std::env::var_os("VIRTSNAP_DEBUG_PANIC").is_some() {
                panic!("VIRTSNAP_DEBUG_PANIC is set: panicking on purpose");
            }
        }
        // The clock only ticks while something runs: idle, nothing is written to the terminal.
        let ticking = !app.jobs.running.is_empty();
        let msg = tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(250)), if ticking => Msg::Tick { now: unix_now() },
            ev = keys.next() => match ev {
                Some(Ok(TermEvent::Key(k))) if is_suspend(&k) => {
                    suspend(terminal)?;
                    dirty = true;
                    continue;
                }
                Some(Ok(TermEvent::Key(k))) => {
                    // Keys may start jobs or prefill names with the time: make it current.
                    app.update(Msg::Tick { now: unix_now() });
                    Msg::Key(k)
                }
                Some(Ok(TermEvent::Resize(width, height))) => Msg::Resize { width, height },
                Some(Ok(_)) => continue,
                // The terminal went away (SSH dropped): nothing left to draw on.
                Some(Err(_)) | None => return Ok(Some("terminal closed".into())),
            },
            ev = worker_events.recv() => match ev {
                Some(ev) => Msg::Worker(ev),
                None => return Ok(Some("worker ended".into())),
            },
            _ = sigterm.recv() => return Ok(Some("SIGTERM".into())),
            _ = sighup.recv() => {
                // The SSH session went away. Running jobs are libvirt calls in flight: a
                // daemon completes them server-side; nothing here waits for them.
                for job in &app.jobs.running {
                    tracing::warn!(
                        "terminal hung up while '{}' ran ({}): left to libvirt to complete",
                        job.title, job.step
                    );
                }
                return Ok(Some("SIGHUP: the terminal hung up".into()));
            }
            _ = sigint.recv() => return Ok(Some("SIGINT".into())),
        };
        // Coalesce bursts (a refresh of many domains) into one draw.
        let mut msgs = vec![msg];
        while let Ok(ev) = worker_events.try_recv() {
            msgs.push(Msg::Worker(ev));
        }
        for msg in msgs {
            for cmd in app.update(msg) {
                match cmd {
                    Command::Quit => return Ok(None),
                    Command::Refresh => worker.send(Request::Refresh),
                    Command::RefreshDomain { name } => worker.send(Request::RefreshDomain { name }),
                    Command::LoadSnapshots { domain } => {
                        worker.send(Request::LoadSnapshots { domain })
                    }
                    Command::StartJob { id, job } => worker.send(Request::StartJob { id, job }),
                    Command::Control { id, control } => {
                        worker.send(Request::Control { id, control })
                    }
                }
            }
        }
        dirty = true;
    }
}

fn is_suspend(k: &crossterm::event::KeyEvent) -> bool {
    k.code == crossterm::event::KeyCode::Char('z')
        && k.modifiers
            .contains(crossterm::event::KeyModifiers::CONTROL)
}

/// Ctrl-Z: raw mode swallows the terminal's own suspend, so give the terminal back, stop the
/// process as the shell expects, and take the screen again when the shell resumes us.
fn suspend(terminal: &mut ratatui::DefaultTerminal) -> color_eyre::Result<()> {
    ratatui::restore();
    nix::sys::signal::raise(nix::sys::signal::Signal::SIGTSTP)?;
    crossterm::terminal::enable_raw_mode()?;
    crossterm::execute!(std::io::stdout(), crossterm::terminal::EnterAlternateScreen)?;
    terminal.clear()?;
    Ok(())
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
