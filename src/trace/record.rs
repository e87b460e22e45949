//! The recorder: turns the runtime's hooks on, and a writer thread that drains the
//! threads' buffers and encodes them into the file.

use std::fs::File;
use std::io::{self, BufWriter};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::Duration;

use super::{Header, TraceWriter};
use crate::runtime::record::lock_std;
use crate::runtime::recorder::{self, Stamped};

/// How often the writer drains the buffers: often enough that they stay small, seldom
/// enough that a frame holds many events (the header of a frame costs a few bytes).
const EVERY: Duration = Duration::from_millis(20);

/// The events' clock: nanoseconds from the time-stamp counter, scaled by `quanta` (which
/// falls back to the OS's monotonic clock where the counter is not invariant). Made on
/// the first recording: its calibration takes about a millisecond.
fn now() -> u64 {
    static CLOCK: OnceLock<quanta::Clock> = OnceLock::new();
    let c = CLOCK.get_or_init(quanta::Clock::new);
    c.delta_as_nanos(0, c.raw())
}

/// Records every run of this program, from [`start`](Recorder::start) until
/// [`finish`](Recorder::finish), into a trace file. One recording at a time per program.
///
/// # Examples
/// ```
/// use occamy::trace::{Header, Recorder, Event};
/// use occamy::{Process, Runtime};
/// let path = std::env::temp_dir().join(format!("occamy-doc-{}.trace", std::process::id()));
/// let rec = Recorder::start(&path, Header::default()).unwrap();
/// let (tx, rx) = occamy::channel::<u32>();
/// let out = Runtime::new().run([
///     Process::with("source", tx, |tx| tx.send(7)),
///     Process::with("sink", rx, |rx| rx.recv().map(drop)),
/// ]);
/// assert!(out.result.is_ok());
/// rec.finish().unwrap();
/// let t = occamy::trace::open(&path).unwrap();
/// assert_eq!(t.events.iter().filter(|(_, e)| matches!(e, Event::Comm { .. })).count(), 1);
/// # std::fs::remove_file(&path).unwrap();
/// ```
#[derive(Debug)]
pub struct Recorder {
    shared: Arc<Shared>,
    writer: Option<JoinHandle<io::Result<()>>>,
}

#[derive(Debug)]
struct Shared {
    stop: AtomicBool,
    lock: Mutex<()>,
    cv: Condvar,
}

impl Recorder {
    /// Creates the file at `path`, writes `header` to it and starts recording.
    ///
    /// # Errors
    /// The file cannot be created or written, or a recording is already on in this
    /// program.
    pub fn start(path: &Path, header: Header) -> io::Result<Recorder> {
        Recorder::begin(path, header, false)
    }

    /// As [`start`](Recorder::start), and records each value sent on the channels of
    /// declared networks too, as their `print` would show it, cut to 40 characters
    /// ([`Event::Value`](super::Event::Value)). It costs: every value is formatted.
    ///
    /// # Errors
    /// As for [`start`](Recorder::start).
    pub fn start_with_values(path: &Path, header: Header) -> io::Result<Recorder> {
        Recorder::begin(path, header, true)
    }

    fn begin(path: &Path, header: Header, values: bool) -> io::Result<Recorder> {
        let file = File::create(path).map_err(|e| {
            io::Error::new(e.kind(), format!("cannot create {}: {e}", path.display()))
        })?;
        let mut w = TraceWriter::new(BufWriter::with_capacity(1 << 16, file), &header)?;
        let origin = now();
        if !recorder::start(values, now, origin) {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                "a recording is already on in this program",
            ));
        }
        let shared = Arc::new(Shared {
            stop: AtomicBool::new(false),
            lock: Mutex::new(()),
            cv: Condvar::new(),
        });
        let s = shared.clone();
        let writer = std::thread::Builder::new()
            .name("occamy-trace".into())
            .spawn(move || {
                let mut failed: io::Result<()> = Ok(());
                loop {
                    {
                        let g = lock_std(&s.lock);
                        let _ =
                            s.cv.wait_timeout_while(g, EVERY, |_| !s.stop.load(Ordering::Acquire));
                    }
                    let last = s.stop.load(Ordering::Acquire);
                    let batches = if last {
                        recorder::stop()
                    } else {
                        recorder::drain()
                    };
                    // After a write error the buffers are still drained (they would grow
                    // without bound), and the error is reported at the end.
                    if failed.is_ok() {
                        failed = write_batches(&mut w, batches);
                    }
                    if last {
                        break;
                    }
                }
                failed?;
                let at = now().saturating_sub(origin);
                w.finish(at)?.into_inner().map_err(|e| e.into_error())?;
                Ok(())
            });
        let writer = match writer {
            Ok(w) => w,
            Err(e) => {
                recorder::stop();
                return Err(e);
            }
        };
        Ok(Recorder {
            shared,
            writer: Some(writer),
        })
    }

    /// Stops recording, writes what is left and the end frame, and closes the file.
    ///
    /// # Errors
    /// A write to the file failed (during the recording or now).
    ///
    /// # Blocking
    /// Until the writer thread has written everything.
    pub fn finish(mut self) -> io::Result<()> {
        self.stop()
    }

    fn stop(&mut self) -> io::Result<()> {
        let Some(w) = self.writer.take() else {
            return Ok(());
        };
        {
            let _g = lock_std(&self.shared.lock);
            self.shared.stop.store(true, Ordering::Release);
            self.shared.cv.notify_all();
        }
        w.join()
            .unwrap_or_else(|_| Err(io::Error::other("the trace writer panicked")))
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

fn write_batches(
    w: &mut TraceWriter<BufWriter<File>>,
    batches: Vec<Vec<Stamped>>,
) -> io::Result<()> {
    for b in batches {
        w.write_raw(&b)?;
    }
    Ok(())
}
