//! The details of one process or channel, over the table (`Enter` or `i` on its row):
//! everything it waits on with every peer, and the channels it holds.

use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use ratatui::Frame;

use super::draw::{rate, short_type};
use super::table::{Row, Sample};
use super::Tab;
use crate::observe::State;
use crate::wait::{Direction, WaitOn};

/// Names listed in full up to this many, then counted.
const LISTED: usize = 12;

/// Draws the details of `row` (a process or channel, not a group) over `area`.
pub(super) fn draw(f: &mut Frame<'_>, tab: Tab, s: &Sample, row: Option<Row>, area: Rect) {
    let Some(Row::Item(i) | Row::Member(_, i)) = row else {
        return;
    };
    let lines = match tab {
        Tab::Processes => process(s, i),
        Tab::Channels => channel(s, i),
    };
    let width = area.width.saturating_sub(4).max(10);
    let height = (lines.len() as u16 + 2).min(area.height);
    let at = Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y,
        width,
        height,
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .title(" details (Enter or Esc closes; ↑↓ moves) ");
    f.render_widget(Clear, at);
    f.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false }),
        at,
    );
}

fn names(s: &Sample, ids: &[u64]) -> String {
    if ids.is_empty() {
        return "nobody".into();
    }
    let shown: Vec<&str> = ids
        .iter()
        .take(LISTED)
        .map(|&id| s.name_of(id).unwrap_or("?"))
        .collect();
    match ids.len().saturating_sub(LISTED) {
        0 => shown.join(", "),
        more => format!("{} and {more} more", shown.join(", ")),
    }
}

fn title(text: String) -> Line<'static> {
    Line::styled(text, Style::default().add_modifier(Modifier::BOLD))
}

fn process(s: &Sample, i: usize) -> Vec<Line<'static>> {
    let p = &s.snap.processes[i];
    let mut out = vec![title(format!("process {} (id {})", p.name, p.id))];
    let mut state = format!("state: {}", p.state.name());
    if let Some(ran) = p.ran {
        state.push_str(&format!(", after {:.3}s", ran.as_secs_f64()));
    }
    if s.deadlocked.contains(&p.name) {
        state.push_str(" · deadlocked");
    }
    out.push(Line::raw(state));
    if let State::Blocked { on, timeout, .. } = &p.state {
        out.push(Line::raw(if on.len() > 1 {
            "waits for the first of:"
        } else {
            "waits to:"
        }));
        for w in on {
            let peers = names(s, &w.peers);
            out.push(Line::raw(match w.on {
                WaitOn::Channel {
                    dir: Direction::Send,
                    ..
                } => format!("  send on {} to {peers}", w.label),
                WaitOn::Channel {
                    dir: Direction::Recv,
                    ..
                } => format!("  receive on {} from {peers}", w.label),
                WaitOn::Barrier { .. } => format!("  sync on barrier {} with {peers}", w.label),
                WaitOn::Timer => "  a timer".into(),
            }));
        }
        if *timeout {
            out.push(Line::raw("  a timeout"));
        }
    }
    for (reads, what) in [(true, "reads"), (false, "writes")] {
        let held: Vec<usize> = (0..s.snap.channels.len())
            .filter(|&c| {
                let c = &s.snap.channels[c];
                if reads { &c.readers } else { &c.writers }.contains(&p.id)
            })
            .collect();
        if held.is_empty() {
            continue;
        }
        out.push(Line::raw(format!("{what}:")));
        for c in held {
            let ch = &s.snap.channels[c];
            let (dir, others) = if reads {
                ("from", &ch.writers)
            } else {
                ("to", &ch.readers)
            };
            out.push(Line::raw(format!(
                "  {} ({}): {} messages, {}/s, {dir} {}",
                ch.label,
                short_type(ch.ty),
                ch.carried,
                rate(s.rates[c]),
                names(s, others)
            )));
        }
    }
    out
}

fn channel(s: &Sample, i: usize) -> Vec<Line<'static>> {
    let c = &s.snap.channels[i];
    let mut out = vec![title(format!(
        "channel {} (id {}) of {}",
        c.label,
        c.id,
        short_type(c.ty)
    ))];
    out.push(Line::raw(format!(
        "{} messages, {}/s",
        c.carried,
        rate(s.rates[i])
    )));
    out.push(Line::raw(format!("writers: {}", names(s, &c.writers))));
    out.push(Line::raw(format!("readers: {}", names(s, &c.readers))));
    for (dir, what) in [(Direction::Send, "send"), (Direction::Recv, "receive")] {
        let waiting: Vec<u64> = s
            .snap
            .processes
            .iter()
            .filter(|p| match &p.state {
                State::Blocked { on, .. } => {
                    on.iter().any(|w| w.on == WaitOn::Channel { id: c.id, dir })
                }
                _ => false,
            })
            .map(|p| p.id)
            .collect();
        if !waiting.is_empty() {
            out.push(Line::raw(format!(
                "waiting to {what}: {}",
                names(s, &waiting)
            )));
        }
    }
    if s.cycle_channels.contains(&c.id) {
        out.push(Line::raw("on the deadlock's waits-for cycle"));
    }
    out
}
