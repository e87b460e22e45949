//! The screen drawn from a made-up snapshot, against golden files in tests/golden/
//! (`OCCAMY_BLESS=1 cargo test --lib launcher::top` rewrites them).

use std::collections::HashSet;
use std::time::Duration;

use ratatui::backend::TestBackend;
use ratatui::Terminal;

use super::table::{RowId, Rows, Sample, SortKey};
use super::{draw, Info, Tab, View};
use crate::deadlock::{BlockedOp, BlockedProcess, DeadlockReport};
use crate::observe::{ChannelState, Op, ProcessState, Snapshot, State, Waiting};
use crate::runtime::ProcessEnd;
use crate::wait::{Direction, WaitOn};

fn recv(chan: u64, label: &str, from: u64) -> State {
    State::Blocked {
        op: Op::Recv,
        timeout: false,
        on: vec![Waiting {
            on: WaitOn::Channel {
                id: chan,
                dir: Direction::Recv,
            },
            label: label.into(),
            peers: vec![from],
        }],
    }
}

fn process(id: u64, name: &str, state: State) -> ProcessState {
    let ran = matches!(state, State::Ended(_)).then(|| Duration::from_millis(1500));
    ProcessState {
        id,
        name: name.into(),
        state,
        ran,
    }
}

fn channel(id: u64, label: &str, carried: u64, writers: &[u64], readers: &[u64]) -> ChannelState {
    ChannelState {
        id,
        name: Some(label.into()),
        label: label.into(),
        ty: "alloc::string::String",
        carried,
        writers: writers.to_vec(),
        readers: readers.to_vec(),
    }
}

/// `a` and `b` deadlocked on each other beside a farm of three workers.
fn snapshot() -> Snapshot {
    let blocked = |name: &str, label: &str, id: u64, peer: &str| BlockedProcess {
        name: name.into(),
        alt: false,
        ops: vec![BlockedOp {
            on: WaitOn::Channel {
                id,
                dir: Direction::Recv,
            },
            label: label.into(),
            peers: vec![peer.into()],
        }],
    };
    Snapshot {
        at: Duration::from_secs(75),
        processes: vec![
            process(1, "a", recv(11, "c2", 2)),
            process(2, "b", recv(10, "c1", 1)),
            process(3, "deal", State::Running),
            process(4, "w[0]", recv(12, "jobs", 3)),
            process(5, "w[1]", State::Ended(ProcessEnd::Ok)),
            process(6, "w[2]", State::Ended(ProcessEnd::Failed)),
        ],
        channels: vec![
            channel(10, "c1", 0, &[1], &[2]),
            channel(11, "c2", 0, &[2], &[1]),
            channel(12, "jobs", 1234, &[3], &[4, 5, 6]),
        ],
        deadlocks: vec![DeadlockReport {
            blocked: vec![blocked("a", "c2", 11, "b"), blocked("b", "c1", 10, "a")],
            cycle: vec!["a".into(), "b".into()],
            partial: true,
        }],
        finished: false,
    }
}

fn view(tab: Tab, expanded: &[&str]) -> View {
    let open: HashSet<String> = expanded.iter().map(|s| s.to_string()).collect();
    View {
        tab,
        sort: SortKey::Order,
        reverse: false,
        expanded: [open.clone(), open],
        selected: [Some(RowId::Item(3)), None],
        offset: [0; 2],
        page: 10,
        show_output: true,
        filter: String::new(),
        typing: false,
        detail: false,
    }
}

/// The screen as text, one line per row, trailing blanks cut.
fn render(view: &mut View, tail: &[String]) -> String {
    let rates = vec![0.0, 0.0, 617.25];
    let sample = Sample::new(snapshot(), rates);
    let keys = match view.tab {
        Tab::Processes => sample.proc_keys(),
        Tab::Channels => sample.chan_keys(),
    };
    let rows = Rows::build(&keys, "", &view.expanded[0], view.sort, view.reverse);
    let info = Info {
        name: "demo".into(),
        declared: 6,
        scheduler: "green, 2 workers".into(),
        viz: None,
    };
    let mut term = Terminal::new(TestBackend::new(110, 22)).expect("a test terminal");
    term.draw(|f| draw::draw(f, view, &sample, &rows, 2, &info, tail))
        .expect("drawn");
    let buf = term.backend().buffer();
    let mut out = String::new();
    for y in 0..buf.area.height {
        let line: String = (0..buf.area.width)
            .map(|x| buf[(x, y)].symbol().to_string())
            .collect();
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn golden(name: &str, actual: &str) {
    let path = format!("{}/tests/golden/{name}", env!("CARGO_MANIFEST_DIR"));
    if std::env::var_os("OCCAMY_BLESS").is_some() {
        std::fs::write(&path, actual).expect("writing a golden file");
        return;
    }
    let want = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!("cannot read {path}: {e}\n  help: `OCCAMY_BLESS=1 cargo test --lib launcher::top` writes it")
    });
    assert!(
        want == actual,
        "the screen differs from {path}:\n{actual}\n  help: if the change is meant, `OCCAMY_BLESS=1 cargo test --lib launcher::top` rewrites it"
    );
}

#[test]
fn processes_with_a_deadlock_and_a_collapsed_group() {
    golden(
        "top_processes.txt",
        &render(&mut view(Tab::Processes, &[]), &[]),
    );
}

#[test]
fn an_expanded_group_and_the_output_pane() {
    let tail = [
        "sum: 1".to_string(),
        "warning: \u{1b}[1mloud\u{1b}[0m".to_string(),
    ];
    golden(
        "top_expanded.txt",
        &render(&mut view(Tab::Processes, &["w"]), &tail),
    );
}

#[test]
fn channels() {
    golden(
        "top_channels.txt",
        &render(&mut view(Tab::Channels, &[]), &[]),
    );
}

#[test]
fn the_details_of_a_process() {
    let mut v = view(Tab::Processes, &[]);
    v.detail = true;
    golden("top_detail.txt", &render(&mut v, &[]));
}
