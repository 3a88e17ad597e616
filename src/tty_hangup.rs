//! Noticing that the terminal went away (the SSH link dropped, the tmux pane was killed)
//! without relying on the input stream or on SIGHUP.
//!
//! Seen here: virtsnap processes whose panes were killed kept running at 72-90% CPU, deaf to
//! SIGTERM. gdb showed why: crossterm's event stream, reading the dead tty, loops forever
//! inside a single poll (a read of 0 bytes or EIO never ends its inner read loop), on the one
//! thread the UI runtime runs on, so no signal or other branch is looked at again. A thread
//! blocked in `poll` on the tty with no events asked for is woken only by a hang-up, which the
//! kernel always reports: it tells the UI loop over a channel, and ends the process itself if
//! the loop does not return.

use std::fs::File;
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

/// What [`watch`] gives the UI loop.
pub struct Watch {
    /// Gets `()` once the terminal hangs up. If the thread cannot start, the sender is
    /// dropped and this only ever errs: treat an error as "no watcher", not as a hang-up.
    pub hung_up: tokio::sync::oneshot::Receiver<()>,
    /// Set by the UI side once its loop has returned, for whatever reason.
    pub loop_ended: Arc<AtomicBool>,
}

/// Watches `tty` on a thread of its own. On a hang-up it tells the UI loop, then waits
/// `grace`; if the loop has still not returned by then, it is stuck (crossterm reading the
/// dead tty spins forever inside one poll, holding the thread the runtime runs on), and the
/// watcher ends the process itself, after saying so in the log. Running libvirt jobs are left
/// to libvirt, as on SIGHUP.
pub fn watch(tty: File, grace: Duration) -> Watch {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let loop_ended = Arc::new(AtomicBool::new(false));
    let ended = loop_ended.clone();
    let _ = std::thread::Builder::new()
        .name("tty-hangup".into())
        .spawn(move || {
            if !wait_for_hangup(&tty) {
                return;
            }
            let _ = tx.send(());
            std::thread::sleep(grace);
            if !ended.load(Ordering::SeqCst) {
                tracing::error!(
                    "the terminal hung up and the UI loop did not return within {grace:?} \
                     (stuck reading the dead terminal): exiting; running libvirt jobs are left \
                     to libvirt"
                );
                // Time for the log writer's thread to write that line.
                std::thread::sleep(Duration::from_millis(200));
                std::process::exit(0);
            }
        });
    Watch {
        hung_up: rx,
        loop_ended,
    }
}

/// Blocks until `tty` reports a hang-up (true) or polling it fails (false).
fn wait_for_hangup(tty: &File) -> bool {
    loop {
        let mut fds = [PollFd::new(tty.as_fd(), PollFlags::empty())];
        match poll(&mut fds, PollTimeout::NONE) {
            Ok(_) => {
                let revents = fds[0].revents().unwrap_or(PollFlags::empty());
                if revents.intersects(PollFlags::POLLHUP | PollFlags::POLLERR) {
                    return true;
                }
                if revents.contains(PollFlags::POLLNVAL) {
                    return false;
                }
            }
            Err(Errno::EINTR) => {}
            Err(_) => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_closed_pty_master_is_reported_and_an_open_one_is_not() {
        let pty = nix::pty::openpty(None, None).expect("openpty");
        let slave = File::from(pty.slave);
        let mut rx = watch(slave, Duration::from_secs(3600)).hung_up;
        std::thread::sleep(Duration::from_millis(200));
        assert!(
            rx.try_recv().is_err(),
            "no hang-up while the master is open"
        );
        drop(pty.master);
        let waited = std::time::Instant::now();
        loop {
            match rx.try_recv() {
                Ok(()) => break,
                Err(tokio::sync::oneshot::error::TryRecvError::Empty)
                    if waited.elapsed() < Duration::from_secs(5) =>
                {
                    std::thread::sleep(Duration::from_millis(10))
                }
                other => panic!("no hang-up reported: {other:?}"),
            }
        }
        println!(
            "hang-up seen {:?} after the master closed",
            waited.elapsed()
        );
    }
}
