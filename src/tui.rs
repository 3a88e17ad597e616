//! Terminal set-up and restore, and the main loop: terminal keys, worker events and signals
//! in; draws only when something changed.

use std::time::Duration;

use crossterm::event::{Event as TermEvent, EventStream};
use futures::StreamExt;
use tokio::signal::unix::{signal, SignalKind};

use crate::app::{App, Command, HostId, Msg};
use crate::libvirt::worker::{self, Request, WorkerHandle, WorkerOptions};
use crate::ui::{self, Theme};

/// One host of the TUI: the name its rows show and how its worker connects.
pub struct TuiHost {
    pub name: String,
    pub worker: WorkerOptions,
}

pub struct TuiOptions {
    /// In `HostId` order; each gets its own worker thread and connection.
    pub hosts: Vec<TuiHost>,
    pub theme: Theme,
    /// Seconds `D` waits for a guest before asking to force it off.
    pub shutdown_timeout: u64,
    /// Shown in a message box at start (a config file that could not be used).
    pub notice: Option<String>,
    /// Each view's keys, with the config file's remaps.
    pub keys: crate::app::KeyMap,
    /// Snapshots older than this many days are marked stale in the list.
    pub stale_after_days: u32,
}

/// What the loop needs besides the terminal and the workers.
struct LoopSettings {
    /// (name, URI label) per host.
    hosts: Vec<(String, String)>,
    theme: Theme,
    shutdown_timeout: u64,
    notice: Option<String>,
    keys: crate::app::KeyMap,
    stale_after_days: u32,
}

/// Runs the TUI until the user quits or a signal ends it. The terminal is restored on every
/// path out of here, and on panic by ratatui's hook.
pub fn run(opts: TuiOptions) -> color_eyre::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<(HostId, worker::Event)>();
    let demo = opts.hosts.iter().any(|h| h.worker.demo);
    let mut labels = Vec::with_capacity(opts.hosts.len());
    let mut workers = Vec::with_capacity(opts.hosts.len());
    for (i, host) in opts.hosts.into_iter().enumerate() {
        let label = if host.worker.demo {
            "demo host".to_string()
        } else {
            host.worker
                .connect
                .uri
                .clone()
                .unwrap_or_else(|| "libvirt's default URI".into())
        };
        labels.push((host.name, label));
        let tx = tx.clone();
        // Events come back tagged with their host: one channel, one loop, many workers.
        let sink: worker::EventSink = std::sync::Arc::new(move |e| {
            let _ = tx.send((HostId(i), e));
        });
        workers.push(worker::spawn_to(host.worker, sink));
    }
    drop(tx);
    let mut terminal = ratatui::try_init()?;
    let _stderr = StderrToLog::redirect();
    // The hang-up seen on the tty itself, in case SIGHUP never arrives (see tty_hangup).
    let watch = std::fs::File::open("/dev/tty")
        .ok()
        .map(|tty| crate::tty_hangup::watch(tty, HANGUP_GRACE));
    let loop_ended = watch.as_ref().map(|w| w.loop_ended.clone());
    let result = runtime.block_on(main_loop(
        &mut terminal,
        rx,
        &workers,
        LoopSettings {
            hosts: labels,
            theme: opts.theme,
            shutdown_timeout: opts.shutdown_timeout,
            notice: opts.notice,
            keys: opts.keys,
            stale_after_days: opts.stale_after_days,
        },
        watch.map(|w| w.hung_up),
    ));
    if let Some(ended) = loop_ended {
        ended.store(true, std::sync::atomic::Ordering::SeqCst);
    }
    ratatui::restore();
    if let Some(stopping) = result.as_ref().ok().and_then(|s| s.clone()) {
        tracing::info!("{stopping}");
    }
    // The demo destroys its VMs on the way out: give it time for that.
    worker::stop_all(workers, Duration::from_secs(if demo { 30 } else { 5 }));
    result.map(|_| ())
}

/// How long the tty watcher waits for the UI loop to return after a hang-up before it ends
/// the process itself.
const HANGUP_GRACE: Duration = Duration::from_secs(3);

async fn main_loop(
    terminal: &mut ratatui::DefaultTerminal,
    mut worker_events: tokio::sync::mpsc::UnboundedReceiver<(HostId, worker::Event)>,
    workers: &[WorkerHandle],
    settings: LoopSettings,
    mut hangup: Option<tokio::sync::oneshot::Receiver<()>>,
) -> color_eyre::Result<Option<String>> {
    let size = terminal.size()?;
    let LoopSettings {
        hosts,
        theme,
        shutdown_timeout,
        notice,
        keys,
        stale_after_days,
    } = settings;
    let mut app = App::with_hosts(hosts, size.width, size.height);
    app.lifecycle.shutdown_timeout = shutdown_timeout;
    app.space.stale_after_days = stale_after_days;
    app.keys = keys;
    if let Some(text) = notice {
        app.overlay = Some(crate::app::Overlay::Message {
            title: "Config file not used".into(),
            text: format!("{text}\n\nvirtsnap runs with the default settings. Esc closes this."),
            scroll: 0,
        });
    }
    app.update(Msg::Tick { now: unix_now() });
    let mut keys = EventStream::new();
    let mut sigterm = signal(SignalKind::terminate())?;
    let mut sighup = signal(SignalKind::hangup())?;
    let mut sigint = signal(SignalKind::interrupt())?;
    if std::env::var_os("VIRTSNAP_DEBUG_IGNORE_HANGUP").is_some() {
        // A hidden switch for testing the watcher's own exit: the loop acts as if stuck.
        hangup = None;
    }
    let mut dirty = true;
    let mut shadow = ShadowScreen::default();
    loop {
        if dirty {
            shadow.draw(terminal, &app, &theme)?;
            dirty = false;
        }
        // The clock only ticks while something runs: idle, nothing is written to the terminal.
        let ticking = !app.jobs.running.is_empty();
        let msg = tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(250)), if ticking => Msg::Tick { now: unix_now() },
            ev = keys.next() => match ev {
                Some(Ok(TermEvent::Key(k))) if is_suspend(&k) => {
                    suspend(terminal)?;
                    shadow.forget();
                    dirty = true;
                    continue;
                }
                Some(Ok(TermEvent::Key(k)))
                    if k.code == crossterm::event::KeyCode::Char('P')
                        && std::env::var_os("VIRTSNAP_DEBUG_PANIC").is_some() =>
                {
                    // A hidden switch for testing that a panic restores the terminal.
                    panic!("VIRTSNAP_DEBUG_PANIC is set and P was pressed: panicking on purpose");
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
                Some((host, ev)) => Msg::Worker(host, ev),
                None => return Ok(Some("worker ended".into())),
            },
            _ = sigterm.recv() => return Ok(Some("SIGTERM".into())),
            _ = sighup.recv() => return Ok(Some(hung_up(&app, "SIGHUP"))),
            seen = hangup_or_never(&mut hangup) => match seen {
                Ok(()) => return Ok(Some(hung_up(&app, "the tty reported a hang-up"))),
                // No watcher after all: carry on without it.
                Err(_) => {
                    hangup = None;
                    continue;
                }
            },
            _ = sigint.recv() => return Ok(Some("SIGINT".into())),
        };
        // Coalesce bursts (a refresh of many domains) into one draw.
        let mut msgs = vec![msg];
        while let Ok((host, ev)) = worker_events.try_recv() {
            msgs.push(Msg::Worker(host, ev));
        }
        for msg in msgs {
            for cmd in app.update(msg) {
                match cmd {
                    Command::Quit => return Ok(None),
                    Command::Refresh => workers.iter().for_each(|w| w.send(Request::Refresh)),
                    Command::RefreshDomain { host, name } => {
                        send(workers, host, Request::RefreshDomain { name })
                    }
                    Command::LoadSnapshots { host, domain } => {
                        send(workers, host, Request::LoadSnapshots { domain })
                    }
                    Command::InspectGuest { host, domain } => {
                        send(workers, host, Request::InspectGuest { domain })
                    }
                    Command::LoadSpace {
                        host,
                        domains,
                        stale_after_days,
                    } => send(
                        workers,
                        host,
                        Request::LoadSpace {
                            domains,
                            stale_after_days,
                        },
                    ),
                    Command::StartJob { host, id, job } => {
                        send(workers, host, Request::StartJob { id, job })
                    }
                    Command::Control { host, id, control } => {
                        send(workers, host, Request::Control { id, control })
                    }
                    Command::OpenConsole {
                        host,
                        domain,
                        force,
                    } => send(workers, host, Request::OpenConsole { domain, force }),
                    Command::AttachConsole { host, handle } => {
                        // crossterm's EventStream reads the terminal on a thread of its own
                        // (holding its reader lock): drop it first so the console gets every
                        // byte, and only then make the fresh one used after detaching.
                        drop(keys);
                        let end = attach_console(terminal, &handle);
                        keys = EventStream::new();
                        shadow.forget();
                        let (width, height) = crossterm::terminal::size()?;
                        app.update(Msg::Resize { width, height });
                        app.update(Msg::ConsoleEnded {
                            host,
                            domain: handle.domain.clone(),
                            end,
                        });
                    }
                }
            }
        }
        dirty = true;
    }
}

/// Routes a request to the worker of `host`: the host of the row it is about.
fn send(workers: &[WorkerHandle], host: HostId, request: Request) {
    match workers.get(host.0) {
        Some(w) => w.send(request),
        None => tracing::warn!("no worker for host {}: {request:?} dropped", host.0),
    }
}

/// The SSH session (or the pane) went away. Running jobs are libvirt calls in flight: a daemon
/// completes them server-side; nothing here waits for them.
fn hung_up(app: &App, how: &str) -> String {
    for job in &app.jobs.running {
        tracing::warn!(
            "terminal hung up while '{}' ran ({}): left to libvirt to complete",
            job.title,
            job.step
        );
    }
    format!("{how}: the terminal hung up")
}

/// Resolves when the tty watcher reports; never, when there is none.
async fn hangup_or_never(
    rx: &mut Option<tokio::sync::oneshot::Receiver<()>>,
) -> Result<(), tokio::sync::oneshot::error::RecvError> {
    match rx {
        Some(rx) => rx.await,
        None => std::future::pending().await,
    }
}

/// The terminal's own stderr, saved while stderr goes to the log (-1: not redirected).
static SAVED_STDERR: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(-1);

/// While the TUI owns the terminal, anything written to stderr (warnings of libvirt's forked
/// helpers, QEMU) would land in the middle of the screen: it goes to `stderr.log` in the
/// state dir instead. Restored on drop, and first thing on panic so the report is seen.
struct StderrToLog;

impl StderrToLog {
    fn redirect() -> Option<StderrToLog> {
        use std::os::fd::AsRawFd;
        let path = crate::libvirt::connection::state_dir().join("stderr.log");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .ok()?;
        let saved = nix::unistd::dup(2).ok()?;
        if nix::unistd::dup2(file.as_raw_fd(), 2).is_err() {
            let _ = nix::unistd::close(saved);
            return None;
        }
        SAVED_STDERR.store(saved, std::sync::atomic::Ordering::SeqCst);
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore_stderr();
            previous(info);
        }));
        Some(StderrToLog)
    }
}

fn restore_stderr() {
    let saved = SAVED_STDERR.swap(-1, std::sync::atomic::Ordering::SeqCst);
    if saved >= 0 {
        let _ = nix::unistd::dup2(saved, 2);
        let _ = nix::unistd::close(saved);
    }
}

impl Drop for StderrToLog {
    fn drop(&mut self) {
        restore_stderr();
    }
}

/// Draws into an off-screen buffer first and touches the terminal only when the picture
/// changed. ratatui's diff already skips unchanged cells, but every draw still writes style
/// resets and cursor hiding; an idle screen (a periodic refresh that found nothing new)
/// must write nothing at all, which matters on serial consoles and slow links.
#[derive(Default)]
struct ShadowScreen {
    /// The off-screen terminal, kept while the size stays the same.
    off: Option<ratatui::Terminal<ratatui::backend::TestBackend>>,
    last: Option<ratatui::buffer::Buffer>,
}

impl ShadowScreen {
    fn draw(
        &mut self,
        terminal: &mut ratatui::DefaultTerminal,
        app: &App,
        theme: &Theme,
    ) -> color_eyre::Result<()> {
        let size = terminal.size()?;
        let area = ratatui::layout::Rect::new(0, 0, size.width, size.height);
        let off = match &mut self.off {
            Some(off) if off.backend().buffer().area == area => off,
            slot => slot.insert(ratatui::Terminal::new(ratatui::backend::TestBackend::new(
                size.width,
                size.height,
            ))?),
        };
        let picture = off.draw(|f| ui::draw(f, app, theme))?.buffer.clone();
        if self.last.as_ref() == Some(&picture) {
            return Ok(());
        }
        terminal.draw(|f| ui::draw(f, app, theme))?;
        self.last = Some(picture);
        Ok(())
    }

    /// After the terminal was given away (suspend, console), the next draw must happen.
    fn forget(&mut self) {
        self.last = None;
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
    crossterm::execute!(
        std::io::stdout(),
        crossterm::terminal::EnterAlternateScreen,
        crossterm::terminal::Clear(crossterm::terminal::ClearType::All),
        crossterm::cursor::Hide
    )?;
    forget_screen(terminal);
    Ok(())
}

/// After the screen was cleared behind ratatui's back, makes the next draw complete.
/// Not `terminal.clear()`: it asks the terminal for the cursor position and fails when the
/// answer is slow (a loaded host, a long SSH link), leaving ratatui to draw only its diff
/// onto a blank screen.
fn forget_screen(terminal: &mut ratatui::DefaultTerminal) {
    terminal.swap_buffers();
}

/// `c`: the console takes the terminal. Leaving the alternate screen shows the guest on the
/// normal one; raw mode stays, so bytes pass through untouched. Coming back redraws the TUI
/// from scratch and writes nothing else.
fn attach_console(
    terminal: &mut ratatui::DefaultTerminal,
    handle: &crate::libvirt::console::ConsoleHandle,
) -> Result<crate::libvirt::console::ConsoleEnd, String> {
    use std::io::Write;

    use crossterm::{cursor, execute, terminal as term};
    let mut out = std::io::stdout();
    let _ = execute!(out, term::LeaveAlternateScreen, cursor::Show);
    let _ = out.write_all(crate::libvirt::console::banner(&handle.domain).as_bytes());
    let _ = out.flush();
    let end = crate::libvirt::console::attach_stdio(handle);
    // A guest may switch autowrap off or leave colours set: undo that invisibly, for the
    // shell the user returns to when virtsnap exits.
    let back = out.write_all(b"\x1b[0m\x1b[?7h").and_then(|()| {
        execute!(
            out,
            term::EnterAlternateScreen,
            term::Clear(term::ClearType::All),
            cursor::Hide
        )
    });
    if let Err(e) = back {
        tracing::warn!("restoring the screen after the console: {e}");
    }
    forget_screen(terminal);
    end
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
