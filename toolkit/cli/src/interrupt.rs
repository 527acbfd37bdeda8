//! Ctrl-C (and on Windows a closed console window or Ctrl-Break, on Unix SIGTERM) during a
//! replay: the first one asks the replay to stop after the actions in flight, which ends it
//! as resumable (exit 4) with the command that resumes it; a second one ends the process at
//! once — the journal is written before and after every request, so even that loses nothing.

use dirsnap_replay::Interrupt;

/// Waits for the signals and raises `interrupt`; exits on the second.
pub async fn stop_on_signal(interrupt: Interrupt) {
    loop {
        let Some(what) = next_signal().await else {
            // No signal can be received here (no console): nothing to listen for.
            return;
        };
        if interrupt.is_raised() {
            eprintln!("{what} again: stopping now; run the same command to resume");
            std::process::exit(EXIT_STOPPED);
        }
        eprintln!(
            "{what}: stopping after the requests in flight (press Ctrl-C again to stop at once)"
        );
        interrupt.raise();
    }
}

/// The exit code of a replay stopped early and resumable (SPEC: 4).
const EXIT_STOPPED: i32 = 4;

#[cfg(unix)]
async fn next_signal() -> Option<&'static str> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).ok()?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r.ok().map(|()| "Ctrl-C"),
        r = term.recv() => r.map(|()| "SIGTERM"),
    }
}

#[cfg(windows)]
async fn next_signal() -> Option<&'static str> {
    use tokio::signal::windows::{ctrl_break, ctrl_close};
    let mut close = ctrl_close().ok()?;
    let mut brk = ctrl_break().ok()?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r.ok().map(|()| "Ctrl-C"),
        r = close.recv() => r.map(|()| "console window closed"),
        r = brk.recv() => r.map(|()| "Ctrl-Break"),
    }
}
