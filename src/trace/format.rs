//! The trace file: a magic and a version, then length-prefixed postcard frames (a header,
//! batches of events with delta-encoded times, an end frame). `docs/trace-format.md`
//! describes it byte by byte.

use std::fmt;
use std::io::{self, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{Event, Header};

/// The first eight bytes of every trace.
pub const MAGIC: [u8; 8] = *b"OCCAMYTR";
/// The format version this occamy writes and reads (two bytes, little-endian, after the
/// magic).
pub const VERSION: u16 = 1;

/// A frame as read.
#[derive(Deserialize)]
enum Frame {
    Header(Header),
    Events {
        base: u64,
        events: Vec<(u64, Event)>,
    },
    End {
        at: u64,
    },
}

/// A frame as written (the same encoding as [`Frame`], borrowing).
#[derive(Serialize)]
enum FrameRef<'a> {
    Header(&'a Header),
    Events {
        base: u64,
        events: Vec<(u64, &'a Event)>,
    },
    End {
        at: u64,
    },
}

/// Writes a trace: the header at once, then batches of events, then the end.
///
/// # Examples
/// See [the module](crate::trace).
#[derive(Debug)]
pub struct TraceWriter<W: Write> {
    w: W,
    events: u64,
    /// The frame being encoded (kept, so that frames reuse its room).
    scratch: Vec<u8>,
}

impl<W: Write> TraceWriter<W> {
    /// Writes the magic, the version and `header` to `w`.
    ///
    /// # Errors
    /// What writing to `w` gives.
    pub fn new(mut w: W, header: &Header) -> io::Result<TraceWriter<W>> {
        w.write_all(&MAGIC)?;
        w.write_all(&VERSION.to_le_bytes())?;
        let mut t = TraceWriter {
            w,
            events: 0,
            scratch: Vec::new(),
        };
        t.frame(&FrameRef::Header(header))?;
        Ok(t)
    }

    fn frame(&mut self, f: &impl Serialize) -> io::Result<()> {
        let mut body = std::mem::take(&mut self.scratch);
        body.clear();
        let body = postcard::to_extend(f, body).map_err(io::Error::other)?;
        let mut len = [0u8; 10];
        let n = varint(body.len() as u64, &mut len);
        let written = self
            .w
            .write_all(&len[..n])
            .and_then(|()| self.w.write_all(&body));
        self.scratch = body;
        written
    }

    /// Writes one thread's batch of the recorder's events, encoded as they are.
    pub(crate) fn write_raw(
        &mut self,
        batch: &[crate::runtime::recorder::Stamped],
    ) -> io::Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        self.events += batch.len() as u64;
        self.frame(&super::raw::Events(batch))
    }

    /// Writes one batch of events, each with its time (nanoseconds since the recording
    /// started), in time order. An empty batch writes nothing.
    ///
    /// # Errors
    /// `InvalidInput` if the times go backwards; what writing gives.
    pub fn write_events(&mut self, events: &[(u64, Event)]) -> io::Result<()> {
        let Some(&(base, _)) = events.first() else {
            return Ok(());
        };
        let mut prev = base;
        let mut deltas = Vec::with_capacity(events.len());
        for (t, e) in events {
            let dt = t.checked_sub(prev).ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("event times go backwards ({t} after {prev})"),
                )
            })?;
            deltas.push((dt, e));
            prev = *t;
        }
        self.events += events.len() as u64;
        self.frame(&FrameRef::Events {
            base,
            events: deltas,
        })
    }

    /// How many events were written.
    pub fn events(&self) -> u64 {
        self.events
    }

    /// Writes the end frame (the recording stopped at `at`, nanoseconds since it started)
    /// and returns the writer, flushed.
    ///
    /// # Errors
    /// What writing gives.
    pub fn finish(mut self, at: u64) -> io::Result<W> {
        self.frame(&FrameRef::End { at })?;
        self.w.flush()?;
        Ok(self.w)
    }
}

/// LEB128, as postcard writes its integers.
fn varint(mut v: u64, out: &mut [u8; 10]) -> usize {
    let mut n = 0;
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out[n] = b;
            return n + 1;
        }
        out[n] = b | 0x80;
        n += 1;
    }
}

/// A varint at `at`; `None` if the bytes end inside it, `Err` if it is too long.
fn read_varint(b: &[u8], at: usize) -> Option<Result<(u64, usize), ()>> {
    let mut v: u64 = 0;
    for i in 0..10 {
        let byte = *b.get(at + i)?;
        v |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Some(Ok((v, i + 1)));
        }
    }
    Some(Err(()))
}

/// A trace read back: its header, every event in time order (batches of different
/// threads merged), and when the recording stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trace {
    /// The header.
    pub header: Header,
    /// Every event with its time (nanoseconds since the recording started), in time
    /// order (events of equal time in the order written).
    pub events: Vec<(u64, Event)>,
    /// When the recording stopped (nanoseconds since it started).
    pub end: u64,
}

/// Why a trace could not be read: where (the byte offset, when the bytes are at fault)
/// and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceError {
    /// The offset of the frame (or field) at fault, if the bytes are.
    pub offset: Option<u64>,
    /// What is wrong, in lower case.
    pub message: String,
}

impl fmt::Display for TraceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.offset {
            Some(o) => write!(f, "at byte {o}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for TraceError {}

fn at(offset: usize, message: String) -> TraceError {
    TraceError {
        offset: Some(offset as u64),
        message,
    }
}

/// Reads a whole trace from its bytes.
///
/// # Errors
/// A [`TraceError`] naming the offset: not a trace (the magic), another version, a frame
/// cut short (a truncated file), a frame that does not decode, no end frame (a
/// recording that did not finish).
///
/// # Examples
/// ```
/// let e = occamy::trace::read(b"not a trace").unwrap_err();
/// assert_eq!(e.offset, Some(0));
/// assert!(e.to_string().contains("not an occamy trace"), "{e}");
/// ```
pub fn read(b: &[u8]) -> Result<Trace, TraceError> {
    if b.len() < MAGIC.len() || b[..MAGIC.len()] != MAGIC {
        return Err(at(
            0,
            "not an occamy trace (it does not start with `OCCAMYTR`)".into(),
        ));
    }
    let Some(v) = b.get(8..10) else {
        return Err(at(8, "truncated: the file ends inside its version".into()));
    };
    let version = u16::from_le_bytes([v[0], v[1]]);
    if version != VERSION {
        return Err(at(
            8,
            format!("trace format version {version}; this occamy reads version {VERSION}"),
        ));
    }
    let mut o = 10;
    let mut header = None;
    let mut batches: Vec<Vec<(u64, Event)>> = Vec::new();
    loop {
        if o == b.len() {
            return Err(at(
                o,
                "truncated: the trace ends without its end frame (the recording did not finish)"
                    .into(),
            ));
        }
        let (len, n) = match read_varint(b, o) {
            None => {
                return Err(at(
                    o,
                    "truncated: the file ends inside a frame's length".into(),
                ))
            }
            Some(Err(())) => return Err(at(o, "corrupt: a frame length over 10 bytes".into())),
            Some(Ok(x)) => x,
        };
        let start = o + n;
        let left = (b.len() - start) as u64;
        if len > left {
            return Err(at(
                o,
                format!("truncated: a frame of {len} bytes, but only {left} remain"),
            ));
        }
        let end = start + len as usize;
        let frame: Frame = postcard::from_bytes(&b[start..end])
            .map_err(|e| at(o, format!("corrupt frame: {e}")))?;
        match (frame, header.is_some()) {
            (Frame::Header(h), false) => header = Some(h),
            (_, false) => return Err(at(o, "corrupt: the first frame is not the header".into())),
            (Frame::Header(_), true) => return Err(at(o, "corrupt: a second header".into())),
            (Frame::Events { base, events }, true) => {
                let mut t = base;
                let mut batch = Vec::with_capacity(events.len());
                for (dt, e) in events {
                    t = t
                        .checked_add(dt)
                        .ok_or_else(|| at(o, "corrupt: an event time overflows".into()))?;
                    batch.push((t, e));
                }
                batches.push(batch);
            }
            (Frame::End { at: stopped }, true) => {
                if end != b.len() {
                    return Err(at(
                        end,
                        format!("corrupt: {} bytes after the end frame", b.len() - end),
                    ));
                }
                let mut events: Vec<(u64, Event)> = batches.into_iter().flatten().collect();
                // Stable: events of one time keep the order they were written in.
                events.sort_by_key(|(t, _)| *t);
                return Ok(Trace {
                    header: header.expect("matched above"),
                    events,
                    end: stopped,
                });
            }
        }
        o = end;
    }
}

/// Reads the trace file at `path`.
///
/// # Errors
/// The file cannot be read, or [`read`]'s errors.
pub fn open(path: &Path) -> Result<Trace, TraceError> {
    let b = std::fs::read(path).map_err(|e| TraceError {
        offset: None,
        message: format!("cannot read {}: {e}", path.display()),
    })?;
    read(&b)
}
