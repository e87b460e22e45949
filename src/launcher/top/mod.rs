//! `occamy run FILE --top`: a live full-screen table of the run's processes and channels
//! in the terminal, for where a browser is not at hand (docs/viewer.md, "In a terminal").
//!
//! It reads the run only through the observation layer ([`Watch`] snapshots, the
//! deadlock marks the web view derives from them), so it is the same under both
//! schedulers. The launcher's supervising loop drives it ([`Top::tick`]); `q` or Ctrl-C
//! asks that loop to stop the run as the launcher's Ctrl-C does.

mod capture;
mod detail;
mod draw;
#[cfg(test)]
mod golden;
mod table;

use std::collections::{HashSet, VecDeque};
use std::io::{BufWriter, IsTerminal, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::sync::mpsc::Receiver;
use std::sync::{Mutex, Once};
use std::thread::ThreadId;
use std::time::{Duration, Instant};

use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::event::{self, Event, KeyCode, KeyEvent, KeyModifiers};
use ratatui::crossterm::{cursor, execute, terminal};
use ratatui::Terminal;

use self::capture::Capture;
use self::table::{Row, RowId, Rows, Sample, SortKey};
use super::EXIT_INVALID;
use crate::observe::{Snapshot, Watch};
use crate::runtime::Scheduler;

/// How often the table is refreshed without a key press.
const REFRESH: Duration = Duration::from_millis(250);
/// The window rates are measured over (at least; up to one refresh more).
const RATE_WINDOW: Duration = Duration::from_secs(1);

/// The `--top` arguments of `occamy run`.
#[derive(clap::Args, Debug)]
pub(super) struct TopArgs {
    /// Show a live table of the run's processes and channels in this terminal (stdout
    /// must be one): state, what each waits on, messages and rates, replicated groups
    /// collapsed. Keys: q or Ctrl-C poisons the network and quits (exit status 130),
    /// Tab switches between processes and channels, s/r change the sort, Enter/+/-
    /// expand and collapse a group, / filters by name. When the network ends, its final
    /// state stays until q. What the network prints meanwhile is shown in a pane and
    /// written out after. With --viz, both views show the run, and q ends both. See
    /// docs/top.md.
    #[arg(long)]
    top: bool,
    /// With --top: exit when the network ends instead of keeping the final table until q.
    #[arg(long, requires = "top")]
    top_exit: bool,
}

impl TopArgs {
    /// Whether `--top` was given.
    pub(super) fn on(&self) -> bool {
        self.top
    }
}

/// Refuses `--top` where it cannot draw: stdout must be a terminal.
///
/// # Errors
/// The exit status (2, usage) when it is not.
pub(super) fn check(a: &TopArgs) -> Result<(), u8> {
    if a.top && !std::io::stdout().is_terminal() {
        eprintln!(
            "error: --top draws a full-screen table and needs a terminal on stdout, but stdout is redirected\n  help: run it in a terminal (or under tmux), or use --viz for a view in a browser, or --stats for a report at the end"
        );
        return Err(EXIT_INVALID);
    }
    Ok(())
}

/// What the header says about the run that the snapshots do not.
pub(super) struct Info {
    pub(super) name: String,
    pub(super) declared: usize,
    pub(super) scheduler: String,
    /// The web view's address, with `--viz`.
    pub(super) viz: Option<String>,
}

/// The scheduler as the header names it.
pub(super) fn scheduler_text(s: Scheduler) -> String {
    match s {
        Scheduler::Threads => "threads".into(),
        Scheduler::Green { workers } => {
            let n = if workers == 0 {
                std::thread::available_parallelism().map_or(1, |n| n.get())
            } else {
                workers
            };
            format!("green, {n} worker{}", if n == 1 { "" } else { "s" })
        }
    }
}

/// Which table is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tab {
    Processes,
    Channels,
}

/// What the user chose: the tab, the order, the open groups, the cursor.
struct View {
    tab: Tab,
    sort: SortKey,
    reverse: bool,
    /// Expanded groups, per tab.
    expanded: [HashSet<String>; 2],
    /// The row under the cursor, per tab.
    selected: [Option<RowId>; 2],
    /// The first row on screen, per tab.
    offset: [usize; 2],
    /// Rows of the table on screen at the last draw (for PgUp/PgDn).
    page: usize,
    show_output: bool,
    /// Only rows whose names contain this (both tables).
    filter: String,
    /// Whether keys are typing the filter (after `/`).
    typing: bool,
    /// Whether the details of the row under the cursor are shown over the table.
    detail: bool,
}

impl View {
    fn at(&self) -> usize {
        self.tab as usize
    }
}

/// The live table, from start to [`Top::close`].
pub(super) struct Top {
    terminal: Terminal<CrosstermBackend<BufWriter<std::fs::File>>>,
    capture: Option<Capture>,
    watch: Watch,
    info: Info,
    view: View,
    /// Recent snapshots' channels, to measure rates against.
    history: VecDeque<Snapshot>,
    sample: Sample,
    rows: Rows,
    last: Option<Instant>,
    /// What the last refresh took: a huge network is refreshed less often (every three
    /// times that), so that its snapshots take a third of the time at most and keys
    /// stay quick.
    cost: Duration,
    exit_at_end: bool,
    /// Whether the network has ended (the watch says so only once the launcher has
    /// collected the run, after the table is gone).
    ended: bool,
    closed: bool,
}

/// What the panic hook needs to give the terminal back: the thread the table runs on,
/// the terminal's descriptor and the caught descriptors' saved copies.
struct Restore {
    thread: ThreadId,
    screen: RawFd,
    fds: Vec<(RawFd, RawFd)>,
}

static RESTORE: Mutex<Option<Restore>> = Mutex::new(None);

/// A panic on the table's thread gives the terminal back before the message is printed
/// (panics in the network's processes are theirs to report, and leave the table up).
fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            // try_lock: a panic while the lock is held must not wait on itself.
            if let Ok(mut r) = RESTORE.try_lock() {
                if r.as_ref()
                    .is_some_and(|r| r.thread == std::thread::current().id())
                {
                    let r = r.take().expect("checked");
                    let _ = terminal::disable_raw_mode();
                    // SAFETY: `screen` stays open while RESTORE holds it (close clears
                    // RESTORE first); ManuallyDrop keeps this borrow from closing it.
                    let mut f = std::mem::ManuallyDrop::new(unsafe {
                        <std::fs::File as std::os::fd::FromRawFd>::from_raw_fd(r.screen)
                    });
                    let _ = execute!(&mut *f, terminal::LeaveAlternateScreen, cursor::Show);
                    Capture::restore_fds(&r.fds);
                }
            }
            previous(info);
        }));
    });
}

impl Top {
    /// Takes over the terminal: raw mode, the alternate screen, stdout and stderr caught.
    ///
    /// # Errors
    /// The exit status (2) when the terminal cannot be set up.
    pub(super) fn start(a: &TopArgs, watch: &Watch, info: Info) -> Result<Top, u8> {
        let fail = |e: std::io::Error| {
            eprintln!("error: --top: cannot set up the terminal: {e}");
            EXIT_INVALID
        };
        let capture = Capture::start().map_err(fail)?;
        let screen = capture.screen.try_clone().map_err(fail)?;
        install_panic_hook();
        *RESTORE.lock().unwrap_or_else(|e| e.into_inner()) = Some(Restore {
            thread: std::thread::current().id(),
            screen: capture.screen.as_raw_fd(),
            fds: capture.saved(),
        });
        let mut top_capture = Some(capture);
        let setup = (|| {
            terminal::enable_raw_mode()?;
            let mut w = BufWriter::new(screen);
            execute!(w, terminal::EnterAlternateScreen, cursor::Hide)?;
            Terminal::new(CrosstermBackend::new(w))
        })();
        let terminal = match setup {
            Ok(t) => t,
            Err(e) => {
                restore_terminal(None, top_capture.take());
                return Err(fail(e));
            }
        };
        let snap = watch.snapshot();
        let rates = vec![0.0; snap.channels.len()];
        Ok(Top {
            terminal,
            capture: top_capture,
            watch: watch.clone(),
            info,
            view: View {
                tab: Tab::Processes,
                sort: SortKey::Order,
                reverse: false,
                expanded: Default::default(),
                selected: Default::default(),
                offset: [0; 2],
                page: 10,
                show_output: true,
                filter: String::new(),
                typing: false,
                detail: false,
            },
            history: VecDeque::new(),
            sample: Sample::new(snap, rates),
            rows: Rows::default(),
            last: None,
            cost: Duration::ZERO,
            exit_at_end: a.top_exit,
            ended: false,
            closed: false,
        })
    }

    /// Handles the keys pressed and redraws when due (every [`REFRESH`], and at once after
    /// a key). Returns within about 50 ms; returns whether the user asked to quit.
    pub(super) fn tick(&mut self) -> bool {
        let every = REFRESH.max(self.cost * 3);
        let due = self.last.is_none_or(|t| t.elapsed() >= every);
        let mut dirty = due;
        let mut wait = if due {
            Duration::ZERO
        } else {
            Duration::from_millis(40)
        };
        while event::poll(wait).unwrap_or(false) {
            wait = Duration::ZERO;
            match event::read() {
                Ok(Event::Key(k)) => {
                    if self.key(k) {
                        return true;
                    }
                    dirty = true;
                }
                Ok(Event::Resize(..)) => dirty = true,
                _ => {}
            }
        }
        if due {
            self.refresh();
        }
        if dirty {
            self.rebuild();
            self.draw();
        }
        false
    }

    /// After the network ended on its own: keeps the final state on screen until `q`
    /// (or a Ctrl-C signal), unless `--top-exit`.
    pub(super) fn linger(&mut self, interrupted: &Receiver<()>) {
        // One last sample, so that the screen shows the end.
        self.ended = true;
        self.last = None;
        self.tick();
        if self.exit_at_end {
            return;
        }
        while !self.tick() {
            if interrupted.try_recv().is_ok() {
                break;
            }
        }
    }

    /// Gives the terminal back and writes out what the network printed meanwhile.
    pub(super) fn close(mut self) {
        self.give_back();
    }

    fn give_back(&mut self) {
        if std::mem::replace(&mut self.closed, true) {
            return;
        }
        restore_terminal(Some(&mut self.terminal), self.capture.take());
    }

    /// A new snapshot, with rates against the latest one at least [`RATE_WINDOW`] old.
    fn refresh(&mut self) {
        let start = Instant::now();
        let snap = self.watch.snapshot();
        while self.history.len() >= 2 && snap.at.saturating_sub(self.history[1].at) >= RATE_WINDOW {
            self.history.pop_front();
        }
        let rates = match self.history.front() {
            Some(base) => snap.rates_since(base),
            None => vec![0.0; snap.channels.len()],
        };
        self.history.push_back(Snapshot {
            at: snap.at,
            channels: snap.channels.clone(),
            ..Snapshot::default()
        });
        self.sample = Sample::new(snap, rates);
        self.sample.snap.finished |= self.ended;
        self.last = Some(Instant::now());
        self.cost = start.elapsed();
    }

    fn rebuild(&mut self) {
        let v = &self.view;
        let keys = match v.tab {
            Tab::Processes => self.sample.proc_keys(),
            Tab::Channels => self.sample.chan_keys(),
        };
        self.rows = Rows::build(&keys, &v.filter, &v.expanded[v.at()], v.sort, v.reverse);
    }

    fn draw(&mut self) {
        let tail: Vec<String> = match (&self.capture, self.view.show_output) {
            (Some(c), true) => {
                let t = c.tail.lock().unwrap_or_else(|e| e.into_inner());
                t.lines.iter().rev().take(8).rev().cloned().collect()
            }
            _ => Vec::new(),
        };
        let cursor = self.cursor();
        let (sample, rows, info, view) = (&self.sample, &self.rows, &self.info, &mut self.view);
        let _ = self
            .terminal
            .draw(|f| draw::draw(f, view, sample, rows, cursor, info, &tail));
    }

    /// The id of row `i` of the current table.
    fn row_id(&self, i: usize) -> Option<RowId> {
        let row = *self.rows.rows.get(i)?;
        Some(match row {
            Row::Item(k) | Row::Member(_, k) => RowId::Item(match self.view.tab {
                Tab::Processes => self.sample.snap.processes[k].id,
                Tab::Channels => self.sample.snap.channels[k].id,
            }),
            Row::Group(g) => RowId::Group(self.rows.groups[g].decl.clone()),
        })
    }

    /// The index of the row under the cursor (0 when it is gone).
    fn cursor(&self) -> usize {
        let Some(sel) = &self.view.selected[self.view.at()] else {
            return 0;
        };
        (0..self.rows.rows.len())
            .find(|&i| self.row_id(i).as_ref() == Some(sel))
            .unwrap_or(0)
    }

    fn move_cursor(&mut self, to: usize) {
        let n = self.rows.rows.len();
        let to = to.min(n.saturating_sub(1));
        let at = self.view.at();
        self.view.selected[at] = self.row_id(to);
    }

    /// Whether row `i` is a group's summary.
    fn on_group(&self, i: usize) -> bool {
        matches!(self.rows.rows.get(i), Some(Row::Group(_)))
    }

    /// Handles a key; returns whether it asks to quit.
    fn key(&mut self, k: KeyEvent) -> bool {
        if k.kind != event::KeyEventKind::Press {
            return false;
        }
        let ctrl = k.modifiers.contains(KeyModifiers::CONTROL);
        if ctrl && k.code == KeyCode::Char('c') {
            // Raw mode turns Ctrl-C into a key: it means what it means outside.
            return true;
        }
        if self.view.typing {
            match k.code {
                KeyCode::Enter => self.view.typing = false,
                KeyCode::Esc => {
                    self.view.typing = false;
                    self.view.filter.clear();
                }
                KeyCode::Backspace => {
                    self.view.filter.pop();
                }
                KeyCode::Char(c) if !ctrl => self.view.filter.push(c),
                _ => return false,
            }
            return false;
        }
        let at = self.view.at();
        let cur = self.cursor();
        let page = self.view.page.max(1);
        match k.code {
            // Not Esc: a key pressed by habit must not poison the network.
            KeyCode::Char('q') => return true,
            KeyCode::Char('/') => self.view.typing = true,
            KeyCode::Esc if self.view.detail => self.view.detail = false,
            KeyCode::Esc => self.view.filter.clear(),
            KeyCode::Tab | KeyCode::BackTab => {
                self.view.tab = match self.view.tab {
                    Tab::Processes => Tab::Channels,
                    Tab::Channels => Tab::Processes,
                }
            }
            KeyCode::Char('p') => self.view.tab = Tab::Processes,
            KeyCode::Char('c') => self.view.tab = Tab::Channels,
            KeyCode::Char('s') => self.view.sort = self.view.sort.next(),
            KeyCode::Char('r') => self.view.reverse = !self.view.reverse,
            KeyCode::Char('o') => self.view.show_output = !self.view.show_output,
            KeyCode::Up | KeyCode::Char('k') => self.move_cursor(cur.saturating_sub(1)),
            KeyCode::Down | KeyCode::Char('j') => self.move_cursor(cur + 1),
            KeyCode::PageUp => self.move_cursor(cur.saturating_sub(page)),
            KeyCode::PageDown => self.move_cursor(cur + page),
            KeyCode::Home | KeyCode::Char('g') => self.move_cursor(0),
            KeyCode::End | KeyCode::Char('G') => self.move_cursor(usize::MAX),
            KeyCode::Enter | KeyCode::Char('i') if !self.on_group(cur) => {
                self.view.detail = !self.view.detail;
            }
            KeyCode::Enter | KeyCode::Char('+') | KeyCode::Char('-') | KeyCode::Char(' ') => {
                let Some(&row) = self.rows.rows.get(cur) else {
                    return false;
                };
                let Some(g) = self.rows.group_of(row) else {
                    return false;
                };
                let decl = g.decl.clone();
                let open = match k.code {
                    KeyCode::Char('+') => true,
                    KeyCode::Char('-') => false,
                    _ => !g.expanded,
                };
                if open {
                    self.view.expanded[at].insert(decl.clone());
                } else {
                    self.view.expanded[at].remove(&decl);
                    // The cursor stays on the group when its members fold away.
                    self.view.selected[at] = Some(RowId::Group(decl));
                }
            }
            KeyCode::Char('e') => {
                let all = self.rows.groups.iter().map(|g| g.decl.clone());
                self.view.expanded[at].extend(all);
            }
            KeyCode::Char('E') => {
                if let Some(Row::Member(g, _)) = self.rows.rows.get(cur) {
                    self.view.selected[at] = Some(RowId::Group(self.rows.groups[*g].decl.clone()));
                }
                self.view.expanded[at].clear();
            }
            _ => return false,
        }
        false
    }
}

impl Drop for Top {
    fn drop(&mut self) {
        self.give_back();
    }
}

/// Leaves raw mode and the alternate screen, then puts stdout and stderr back and
/// writes out what they caught.
fn restore_terminal(
    term: Option<&mut Terminal<CrosstermBackend<BufWriter<std::fs::File>>>>,
    capture: Option<Capture>,
) {
    // The panic hook must not use the descriptors once they are closed; if it has
    // already given the terminal back, leaving the alternate screen a second time would
    // move the cursor back to where it was when the table started, over the message.
    let still_up = RESTORE
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take()
        .is_some();
    if still_up {
        let _ = terminal::disable_raw_mode();
        match (term, &capture) {
            (Some(t), _) => {
                let w = t.backend_mut();
                let _ = execute!(w, terminal::LeaveAlternateScreen, cursor::Show);
                let _ = w.flush();
            }
            (None, Some(c)) => {
                let mut s = &c.screen;
                let _ = execute!(s, terminal::LeaveAlternateScreen, cursor::Show);
            }
            (None, None) => {}
        }
    }
    if let Some(c) = capture {
        c.finish();
    }
}
