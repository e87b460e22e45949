//! Keeps what the network writes to stdout and stderr (a `print` process, the launcher's
//! own messages, logs) off the table while it is on screen: file descriptors 1 and 2 go to
//! pipes while the view is up, the view draws on a copy of the terminal's descriptor, and
//! what was caught is written to the real stdout and stderr once the terminal is back.
//!
//! Only descriptors that are terminals are caught: `occamy run F --top 2>log` leaves the
//! log alone.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{IsTerminal, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// What is kept of each stream for writing out at the end: its last bytes.
const KEEP: usize = 4 << 20;
/// Lines kept for the view's output pane.
const TAIL: usize = 200;
/// The longest line the pane keeps whole.
const LINE: usize = 512;

/// The last lines caught, for the output pane (stdout and stderr mixed, in the order read).
#[derive(Debug, Default)]
pub(super) struct Tail {
    pub(super) lines: VecDeque<String>,
    /// Bytes of a line not yet ended, per stream.
    partial: [Vec<u8>; 2],
}

impl Tail {
    fn push(&mut self, stream: usize, bytes: &[u8]) {
        for chunk in bytes.split_inclusive(|&b| b == b'\n') {
            self.partial[stream].extend_from_slice(chunk);
            let part = &self.partial[stream];
            if part.ends_with(b"\n") {
                let line = String::from_utf8_lossy(&part[..part.len() - 1]).into_owned();
                self.partial[stream].clear();
                self.line(line);
            }
            // A stream that never ends its line still shows, a piece at a time.
            while self.partial[stream].len() >= LINE {
                let rest = self.partial[stream].split_off(LINE);
                let piece = std::mem::replace(&mut self.partial[stream], rest);
                self.line(String::from_utf8_lossy(&piece).into_owned());
            }
        }
    }

    fn line(&mut self, line: String) {
        if self.lines.len() == TAIL {
            self.lines.pop_front();
        }
        self.lines.push_back(line);
    }
}

/// How long the end waits for a pipe to drain: a program the network started may hold
/// a copy of its write end (it inherited descriptor 1), and then the end never comes.
const DRAIN: Duration = Duration::from_secs(2);

/// What one stream kept: its last bytes and how many before them were let go.
type Kept = Arc<Mutex<(Vec<u8>, u64)>>;

/// One caught stream: the real descriptor, saved, and what the thread draining its pipe
/// kept (it says on `done` when the pipe has ended).
struct Stream {
    fd: RawFd,
    saved: OwnedFd,
    kept: Kept,
    done: Receiver<()>,
}

/// Descriptors 1 and 2 redirected while the view is up.
pub(super) struct Capture {
    streams: Vec<Stream>,
    /// A copy of the terminal's descriptor, for the view to draw on.
    pub(super) screen: File,
    pub(super) tail: Arc<Mutex<Tail>>,
}

fn dup(fd: RawFd) -> std::io::Result<OwnedFd> {
    // SAFETY: dup has no memory effects; a valid result is a new descriptor we own.
    let d = unsafe { libc::dup(fd) };
    if d < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: `d` was just returned by dup and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(d) })
}

fn dup2(from: &OwnedFd, to: RawFd) -> std::io::Result<()> {
    // SAFETY: dup2 only changes the descriptor table; `to` is 1 or 2, which this process
    // keeps open for its whole life (we replace them, never close them).
    if unsafe { libc::dup2(from.as_raw_fd(), to) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

fn pipe() -> std::io::Result<(File, OwnedFd)> {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: `fds` has room for the two descriptors pipe writes.
    if unsafe { libc::pipe(fds.as_mut_ptr()) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: both were just made by pipe and are owned by nobody else.
    Ok(unsafe { (File::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Sends descriptor `fd` (stream `k` of the tail) into a pipe drained by a thread of its
/// own; `fd` is left as it was if this fails.
fn catch(fd: RawFd, k: usize, tail: &Arc<Mutex<Tail>>) -> std::io::Result<Stream> {
    let saved = dup(fd)?;
    let (mut read, write) = pipe()?;
    let tail = tail.clone();
    let kept: Kept = Arc::default();
    let (done_tx, done) = mpsc::channel();
    let keep = kept.clone();
    std::thread::Builder::new()
        .name(format!("occamy top: fd {fd}"))
        .spawn(move || {
            let mut buf = [0u8; 16 << 10];
            loop {
                match read.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => {
                        lock(&tail).push(k, &buf[..n]);
                        let (kept, dropped) = &mut *lock(&keep);
                        kept.extend_from_slice(&buf[..n]);
                        if kept.len() > 2 * KEEP {
                            let cut = kept.len() - KEEP;
                            *dropped += cut as u64;
                            kept.drain(..cut);
                        }
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(_) => break,
                }
            }
            let _ = done_tx.send(());
        })?;
    dup2(&write, fd)?;
    // The pipe's write end is now only `fd`: putting the saved descriptor back closes
    // it, and the reader sees the end of the stream.
    drop(write);
    Ok(Stream {
        fd,
        saved,
        kept,
        done,
    })
}

impl Capture {
    /// Redirects stdout (always: the view needs it to be a terminal) and stderr (if it
    /// is a terminal) into pipes.
    pub(super) fn start() -> std::io::Result<Capture> {
        let _ = std::io::stdout().flush();
        let screen = File::from(dup(1)?);
        let tail = Arc::new(Mutex::new(Tail::default()));
        let mut cap = Capture {
            streams: Vec::new(),
            screen,
            tail,
        };
        let mut fds = vec![1];
        if std::io::stderr().is_terminal() {
            fds.push(2);
        }
        for (k, fd) in fds.into_iter().enumerate() {
            match catch(fd, k, &cap.tail) {
                Ok(s) => cap.streams.push(s),
                Err(e) => {
                    cap.finish();
                    return Err(e);
                }
            }
        }
        Ok(cap)
    }

    /// Puts the real descriptors back, then writes what was caught to them.
    pub(super) fn finish(self) {
        let _ = std::io::stdout().flush();
        let _ = std::io::stderr().flush();
        for s in &self.streams {
            let _ = dup2(&s.saved, s.fd);
        }
        for s in self.streams {
            let _ = s.done.recv_timeout(DRAIN);
            let (kept, dropped) = std::mem::take(&mut *lock(&s.kept));
            let mut out: Box<dyn Write> = if s.fd == 1 {
                Box::new(std::io::stdout().lock())
            } else {
                Box::new(std::io::stderr().lock())
            };
            if dropped > 0 {
                let what = if s.fd == 1 { "stdout" } else { "stderr" };
                let _ = writeln!(
                    out,
                    "[occamy top: the first {dropped} bytes the network wrote to {what} while the view was up are left out]"
                );
            }
            let _ = out.write_all(&kept).and_then(|()| out.flush());
        }
    }

    /// Puts the real descriptors back at once, from a panic hook: no joins, no locks.
    pub(super) fn restore_fds(saved: &[(RawFd, RawFd)]) {
        for &(fd, copy) in saved {
            // SAFETY: as in `dup2`; `copy` is a saved descriptor kept open by the
            // capture for as long as the hook can run.
            unsafe { libc::dup2(copy, fd) };
        }
    }

    /// The (descriptor, saved copy) pairs, for [`Capture::restore_fds`].
    pub(super) fn saved(&self) -> Vec<(RawFd, RawFd)> {
        self.streams
            .iter()
            .map(|s| (s.fd, s.saved.as_raw_fd()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::Tail;

    #[test]
    fn the_tail_keeps_whole_lines_of_each_stream() {
        let mut t = Tail::default();
        t.push(0, b"sum: 1\nsum: ");
        t.push(1, b"warning: x\n");
        t.push(0, b"3\n");
        let lines: Vec<&str> = t.lines.iter().map(String::as_str).collect();
        assert_eq!(lines, ["sum: 1", "warning: x", "sum: 3"]);
        // Without a newline, a line is cut where it gets too long.
        t.push(0, &[b'x'; 3 * super::LINE / 2]);
        assert_eq!(t.lines.back().map(String::len), Some(super::LINE));
        assert_eq!(t.partial[0].len(), super::LINE / 2);
    }
}
