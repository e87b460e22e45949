//! Drawing `occamy run --top`'s screen: the header, the deadlock's status, the tabs, the
//! table (only the rows on screen become text), the network's output and the keys.

use std::collections::BTreeMap;

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row as TRow, Table, Wrap};
use ratatui::Frame;

use super::table::{Group, Row, Rows, Sample, SortKey};
use super::{Info, Tab, View};
use crate::observe::State;
use crate::runtime::ProcessEnd;

/// The whole screen. `cursor` is the index of the row under the cursor.
pub(super) fn draw(
    f: &mut Frame<'_>,
    view: &mut View,
    s: &Sample,
    rows: &Rows,
    cursor: usize,
    info: &Info,
    tail: &[String],
) {
    let deadlock_h = if s.marks.texts.is_empty() { 0 } else { 4 };
    let output_h = if tail.is_empty() {
        0
    } else {
        tail.len() as u16 + 2
    };
    let [head, dl, tabs, body, out, foot] = Layout::vertical([
        Constraint::Length(3),
        Constraint::Length(deadlock_h),
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(output_h),
        Constraint::Length(1),
    ])
    .areas(f.area());
    f.render_widget(header(s, rows, info, view.tab), head);
    if deadlock_h > 0 {
        f.render_widget(deadlock(s), dl);
    }
    f.render_widget(tab_line(s, view, rows), tabs);
    table(f, view, s, rows, cursor, body);
    if output_h > 0 {
        let lines: Vec<Line<'_>> = tail.iter().map(|l| Line::raw(printable(l))).collect();
        let block = Block::default()
            .borders(Borders::TOP)
            .title(" the network's output (written out again on exit; o hides) ");
        f.render_widget(Paragraph::new(lines).block(block), out);
    }
    f.render_widget(footer(view), foot);
    if view.detail {
        super::detail::draw(f, view.tab, s, rows.rows.get(cursor).copied(), body);
    }
}

/// `text` without control characters (a program's escapes would move the cursor).
fn printable(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { '·' } else { c })
        .collect()
}

fn header<'a>(s: &Sample, rows: &Rows, info: &Info, tab: Tab) -> Paragraph<'a> {
    let bold = Style::default().add_modifier(Modifier::BOLD);
    let status = if s.snap.finished {
        Span::styled(
            " ended: the final state stays until q ",
            Style::default().fg(Color::Black).bg(Color::Cyan),
        )
    } else {
        Span::styled(
            " running ",
            Style::default().fg(Color::Black).bg(Color::Green),
        )
    };
    let first = Line::from(vec![
        Span::styled("occamy top", bold),
        Span::raw(" · network "),
        Span::styled(info.name.clone(), bold),
        Span::raw(format!(
            " · scheduler {} · elapsed {} · ",
            info.scheduler,
            elapsed(s.snap.at.as_secs())
        )),
        status,
    ]);
    let mut first = first;
    if let Some(url) = &info.viz {
        first.push_span(Span::raw(format!(" · web view {url}")));
    }
    // Counts by state, most common first.
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for p in &s.snap.processes {
        let name = match &p.state {
            State::Ended(e) => format!("ended {e}"),
            st => st.name(),
        };
        *counts.entry(name).or_default() += 1;
    }
    let mut counts: Vec<(String, usize)> = counts.into_iter().collect();
    counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut second = vec![Span::raw(format!(
        "processes {} of {}: ",
        s.snap.processes.len(),
        info.declared
    ))];
    for (i, (name, n)) in counts.iter().enumerate() {
        if i > 0 {
            second.push(Span::raw(" · "));
        }
        second.push(Span::styled(format!("{name} {n}"), state_style_name(name)));
    }
    let total_rate: f64 = s.rates.iter().sum();
    let mut third = format!(
        "channels {}: {} messages, {}/s",
        s.snap.channels.len(),
        s.snap.channels.iter().map(|c| c.carried).sum::<u64>(),
        rate(total_rate)
    );
    let (groups, hidden) = rows.collapsed();
    if groups > 0 {
        let what = match tab {
            Tab::Processes => "processes",
            Tab::Channels => "channels",
        };
        third.push_str(&format!(
            " · aggregated: {groups} group{} ({hidden} {what}) in one row each; Enter expands",
            if groups == 1 { "" } else { "s" }
        ));
    }
    Paragraph::new(vec![first, Line::from(second), Line::raw(third)])
}

fn elapsed(secs: u64) -> String {
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

fn deadlock<'a>(s: &Sample) -> Paragraph<'a> {
    let red = Style::default()
        .fg(Color::White)
        .bg(Color::Red)
        .add_modifier(Modifier::BOLD);
    let mut cycle = s.marks.cycle.clone();
    if let Some(first) = cycle.first().cloned() {
        cycle.push(first);
    }
    let lines = vec![
        Line::from(vec![
            Span::styled(" DEADLOCK found by the monitor ", red),
            Span::raw(format!(" cycle: {}", cycle.join(" → "))),
        ]),
        Line::raw(shortened(&s.marks.texts.join(" | "), MAX_REPORT)),
    ];
    Paragraph::new(lines)
        .wrap(Wrap { trim: true })
        .block(Block::default().borders(Borders::BOTTOM))
}

/// The most of a deadlock's report the band shows (a deadlock of 10,000 processes has a
/// report of megabytes; the whole of it is printed after the table is gone).
const MAX_REPORT: usize = 1000;

fn shortened(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

fn tab_line<'a>(s: &Sample, view: &View, rows: &Rows) -> Line<'a> {
    let tab = view.tab;
    let on = Style::default()
        .fg(Color::Black)
        .bg(Color::White)
        .add_modifier(Modifier::BOLD);
    let off = Style::default();
    let (p, c) = match tab {
        Tab::Processes => (on, off),
        Tab::Channels => (off, on),
    };
    Line::from(vec![
        Span::styled(format!(" Processes ({}) ", s.snap.processes.len()), p),
        Span::raw(" "),
        Span::styled(format!(" Channels ({}) ", s.snap.channels.len()), c),
        Span::raw(if view.filter.is_empty() {
            "  (Tab switches)".to_string()
        } else {
            let n: usize = rows
                .rows
                .iter()
                .map(|&r| match r {
                    Row::Group(g) if !rows.groups[g].expanded => rows.groups[g].members.len(),
                    Row::Group(_) => 0,
                    Row::Item(_) | Row::Member(..) => 1,
                })
                .sum();
            format!("  (Tab switches) · {n} matching “{}”", view.filter)
        }),
    ])
}

fn footer<'a>(view: &View) -> Line<'a> {
    let key = Style::default().fg(Color::Black).bg(Color::Cyan);
    if view.typing {
        return Line::from(vec![
            Span::styled("filter:", key),
            Span::raw(format!(" {}▏  ", view.filter)),
            Span::styled("Enter", key),
            Span::raw(" keep "),
            Span::styled("Esc", key),
            Span::raw(" clear"),
        ]);
    }
    let mut spans = vec![
        Span::styled("q", key),
        Span::raw(" quit "),
        Span::styled("Tab", key),
        Span::raw(" "),
        Span::styled("s", key),
        Span::raw(" sort:"),
    ];
    for k in SortKey::ALL {
        let label = if k == view.sort {
            let arrow = if view.reverse { "▲" } else { "▼" };
            Span::styled(
                format!(" {}{arrow}", k.label()),
                Style::default().add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
            )
        } else {
            Span::raw(format!(" {}", k.label()))
        };
        spans.push(label);
    }
    spans.extend([
        Span::raw(" "),
        Span::styled("r", key),
        Span::raw(" reverse "),
        Span::styled("Enter", key),
        Span::raw(" group "),
        Span::styled("↑↓ PgUp PgDn", key),
        Span::raw(" "),
        Span::styled("/", key),
        Span::raw(if view.filter.is_empty() {
            " filter ".to_string()
        } else {
            format!(" filter “{}” ", view.filter)
        }),
        Span::styled("o", key),
        Span::raw(" output"),
    ]);
    Line::from(spans)
}

pub(super) fn rate(r: f64) -> String {
    if r >= 1e6 {
        format!("{:.2}M", r / 1e6)
    } else if r >= 1e4 {
        format!("{:.1}k", r / 1e3)
    } else if r >= 100.0 {
        format!("{r:.0}")
    } else {
        format!("{r:.1}")
    }
}

fn state_style(st: &State) -> Style {
    match st {
        State::Running => Style::default().fg(Color::Green),
        State::Blocked { .. } => Style::default().fg(Color::Yellow),
        State::Elsewhere => Style::default().fg(Color::Magenta),
        State::Ended(ProcessEnd::Failed | ProcessEnd::Panicked) => {
            Style::default().fg(Color::Red).add_modifier(Modifier::BOLD)
        }
        State::Ended(_) => Style::default().fg(Color::DarkGray),
    }
}

fn state_style_name(name: &str) -> Style {
    match name {
        "running" => Style::default().fg(Color::Green),
        "elsewhere" => Style::default().fg(Color::Magenta),
        "ended failed" | "ended panicked" => Style::default().fg(Color::Red),
        n if n.starts_with("ended") => Style::default().fg(Color::DarkGray),
        _ => Style::default().fg(Color::Yellow),
    }
}

fn deadlocked_style() -> Style {
    Style::default().fg(Color::White).bg(Color::Red)
}

/// The table in `area`: the cursor's row kept on screen, only the rows shown made.
fn table(f: &mut Frame<'_>, view: &mut View, s: &Sample, rows: &Rows, cursor: usize, area: Rect) {
    let at = view.at();
    let height = area.height.saturating_sub(1) as usize; // less the column titles
    view.page = height;
    let off = &mut view.offset[at];
    if cursor < *off {
        *off = cursor;
    } else if height > 0 && cursor >= *off + height {
        *off = cursor + 1 - height;
    }
    *off = (*off).min(rows.rows.len().saturating_sub(height));
    let shown: Vec<(usize, Row)> = rows
        .rows
        .iter()
        .copied()
        .enumerate()
        .skip(*off)
        .take(height)
        .collect();
    // The name column fits the names on screen (within bounds).
    let name_w = shown
        .iter()
        .map(|&(_, row)| row_name(s, rows, row, view.tab).chars().count())
        .max()
        .unwrap_or(0)
        .clamp(16, 48) as u16;
    let (titles, widths): (Vec<&str>, Vec<Constraint>) = match view.tab {
        Tab::Processes => (
            vec![
                "NAME",
                "STATE",
                "IN",
                "OUT",
                "MSG/S",
                "WAITING ON (← from, → to) / ENDED",
            ],
            vec![
                Constraint::Length(name_w),
                Constraint::Length(10),
                Constraint::Length(11),
                Constraint::Length(11),
                Constraint::Length(8),
                Constraint::Min(20),
            ],
        ),
        Tab::Channels => (
            vec![
                "NAME",
                "TYPE",
                "MESSAGES",
                "MSG/S",
                "WAITING",
                "WRITERS → READERS",
            ],
            vec![
                Constraint::Length(name_w),
                Constraint::Length(10),
                Constraint::Length(12),
                Constraint::Length(8),
                Constraint::Length(16),
                Constraint::Min(20),
            ],
        ),
    };
    let made: Vec<TRow<'_>> = shown
        .into_iter()
        .map(|(i, row)| {
            let (cells, style) = match view.tab {
                Tab::Processes => process_row(s, rows, row),
                Tab::Channels => channel_row(s, rows, row),
            };
            let style = if i == cursor {
                style.add_modifier(Modifier::REVERSED)
            } else {
                style
            };
            TRow::new(cells).style(style)
        })
        .collect();
    let head = TRow::new(titles)
        .style(Style::default().add_modifier(Modifier::BOLD | Modifier::UNDERLINED));
    f.render_widget(
        Table::new(made, widths).header(head).column_spacing(1),
        area,
    );
}

/// The text of a row's name cell.
fn row_name(s: &Sample, rows: &Rows, row: Row, tab: Tab) -> String {
    let name = |i: usize| match tab {
        Tab::Processes => s.snap.processes[i].name.as_str(),
        Tab::Channels => s.snap.channels[i].label.as_str(),
    };
    match row {
        Row::Item(i) | Row::Member(_, i) => name_cell(rows, row, name(i)),
        Row::Group(_) => name_cell(rows, row, ""),
    }
}

fn name_cell(rows: &Rows, row: Row, name: &str) -> String {
    match row {
        Row::Item(_) => name.to_string(),
        Row::Member(..) => format!("  {name}"),
        Row::Group(g) => group_name(&rows.groups[g]),
    }
}

fn group_name(g: &Group) -> String {
    let mark = if g.expanded { '▾' } else { '▸' };
    format!("{mark} {} ×{}", g.label, g.members.len())
}

/// A row's cells and style.
type Made<'a> = (Vec<Cell<'a>>, Style);

fn process_row<'a>(s: &Sample, rows: &Rows, row: Row) -> Made<'a> {
    match row {
        Row::Item(i) | Row::Member(_, i) => {
            let p = &s.snap.processes[i];
            let st = &s.procs[i];
            let dead = s.deadlocked.contains(&p.name);
            let cells = vec![
                Cell::from(name_cell(rows, row, &p.name)),
                Cell::from(p.state.name()).style(state_style(&p.state)),
                Cell::from(st.msgs_in.to_string()),
                Cell::from(st.msgs_out.to_string()),
                Cell::from(rate(st.rate)),
                Cell::from(s.waiting_text(i)),
            ];
            let style = if dead {
                deadlocked_style()
            } else {
                Style::default()
            };
            (cells, style)
        }
        Row::Group(g) => {
            let grp = &rows.groups[g];
            let mut counts: BTreeMap<String, usize> = BTreeMap::new();
            let mut dead = 0;
            for &i in &grp.members {
                let p = &s.snap.processes[i];
                *counts.entry(p.state.name()).or_default() += 1;
                dead += usize::from(s.deadlocked.contains(&p.name));
            }
            let (msgs_in, msgs_out, r) = s.group_traffic(&grp.members);
            let mut counts: Vec<(String, usize)> = counts.into_iter().collect();
            counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            let mut detail: Vec<String> = counts.iter().map(|(k, n)| format!("{k} {n}")).collect();
            if dead > 0 {
                detail.insert(0, format!("DEADLOCKED {dead}"));
            }
            let most = counts.first().map(|c| c.0.clone()).unwrap_or_default();
            let cells = vec![
                Cell::from(group_name(grp)),
                Cell::from(most),
                Cell::from(msgs_in.to_string()),
                Cell::from(msgs_out.to_string()),
                Cell::from(rate(r)),
                Cell::from(detail.join(" · ")),
            ];
            let style = if dead > 0 {
                deadlocked_style()
            } else {
                Style::default()
            };
            (cells, style.add_modifier(Modifier::BOLD))
        }
    }
}

fn names(s: &Sample, ids: &[u64]) -> String {
    const SHOWN: usize = 3;
    let mut out: Vec<&str> = ids
        .iter()
        .take(SHOWN)
        .map(|&id| s.name_of(id).unwrap_or("?"))
        .collect();
    if ids.len() > SHOWN {
        return format!("{} +{}", out.join(", "), ids.len() - SHOWN);
    }
    if out.is_empty() {
        out.push("-");
    }
    out.join(", ")
}

fn waiting(senders: usize, receivers: usize) -> String {
    match (senders, receivers) {
        (0, 0) => String::new(),
        (n, 0) => format!("{n} to send"),
        (0, n) => format!("{n} to receive"),
        (n, m) => format!("{n} send · {m} recv"),
    }
}

fn channel_row<'a>(s: &Sample, rows: &Rows, row: Row) -> Made<'a> {
    match row {
        Row::Item(i) | Row::Member(_, i) => {
            let c = &s.snap.channels[i];
            let w = &s.chans[i];
            let cells = vec![
                Cell::from(name_cell(rows, row, &c.label)),
                Cell::from(short_type(c.ty)),
                Cell::from(c.carried.to_string()),
                Cell::from(rate(s.rates[i])),
                Cell::from(waiting(w.senders_waiting, w.receivers_waiting)),
                Cell::from(format!(
                    "{} → {}",
                    names(s, &c.writers),
                    names(s, &c.readers)
                )),
            ];
            let style = if s.cycle_channels.contains(&c.id) {
                deadlocked_style()
            } else {
                Style::default()
            };
            (cells, style)
        }
        Row::Group(g) => {
            let grp = &rows.groups[g];
            let (mut msgs, mut r, mut sw, mut rw, mut cyc) = (0u64, 0.0, 0, 0, false);
            for &i in &grp.members {
                msgs += s.snap.channels[i].carried;
                r += s.rates[i];
                sw += s.chans[i].senders_waiting;
                rw += s.chans[i].receivers_waiting;
                cyc |= s.cycle_channels.contains(&s.snap.channels[i].id);
            }
            let ty = short_type(s.snap.channels[grp.members[0]].ty);
            let cells = vec![
                Cell::from(group_name(grp)),
                Cell::from(ty),
                Cell::from(msgs.to_string()),
                Cell::from(rate(r)),
                Cell::from(waiting(sw, rw)),
                Cell::from(if cyc { "on the deadlock's cycle" } else { "" }),
            ];
            let style = if cyc {
                deadlocked_style()
            } else {
                Style::default()
            };
            (cells, style.add_modifier(Modifier::BOLD))
        }
    }
}

/// `alloc::string::String` as `String`: the last path segment of each part.
pub(super) fn short_type(ty: &str) -> String {
    let mut out = String::new();
    let mut word = String::new();
    for c in ty.chars() {
        if c.is_alphanumeric() || c == '_' || c == ':' {
            word.push(c);
        } else {
            out.push_str(word.rsplit("::").next().unwrap_or(""));
            word.clear();
            out.push(c);
        }
    }
    out.push_str(word.rsplit("::").next().unwrap_or(""));
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn types_lose_their_paths() {
        assert_eq!(super::short_type("alloc::string::String"), "String");
        assert_eq!(
            super::short_type("alloc::vec::Vec<(u64, alloc::string::String)>"),
            "Vec<(u64, String)>"
        );
    }

    #[test]
    fn rates_stay_short() {
        assert_eq!(super::rate(2.71), "2.7");
        assert_eq!(super::rate(250.4), "250");
        assert_eq!(super::rate(12_345.0), "12.3k");
        assert_eq!(super::rate(2_500_000.0), "2.50M");
    }

    #[test]
    fn long_reports_are_cut() {
        assert_eq!(super::shortened("abcdef", 3), "abc…");
        assert_eq!(super::shortened("→→", 3), "→→");
    }
}
