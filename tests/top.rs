//! `occamy run FILE --top`, the live terminal table, driven for real inside tmux: the
//! processes of a running network, counters that move, sorting, replicated groups that
//! expand, a deadlock's cycle, `q` ending the run with the Ctrl-C report and status 130,
//! the final state kept (or not, with --top-exit) and what the network printed written out
//! afterwards. Each test has its own tmux server, and skips with a printed reason where
//! tmux is missing (CI installs it).
#![cfg(all(feature = "launcher", unix))]

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{occamy, watchdog, LIMIT};

/// One tmux server with one 120×40 pane running `occamy ARGS --top`.
struct Tmux {
    socket: String,
    dir: PathBuf,
}

fn tmux_missing() -> bool {
    let ok = Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        // CI installs it (.ci/run): there a missing tmux is a failure, not a skip.
        assert!(
            std::env::var_os("CI").is_none(),
            "tmux is missing under CI; .ci/run installs it"
        );
        eprintln!("skipped: tmux is not installed here (CI installs it; apt-get install tmux)");
    }
    !ok
}

/// Quotes `s` for the pane's shell.
fn sh(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

impl Tmux {
    /// Starts `occamy ARGS` in a pane; `stderr_to_file` sends its stderr to a file (read
    /// by [`Tmux::stderr`]) instead of the pane. The pane stays after occamy exits, with
    /// its status in a file.
    fn start(test: &str, args: &[&str], stderr_to_file: bool) -> Tmux {
        let dir = std::env::temp_dir().join(format!("occamy-top-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("a temp dir");
        let bin = env!("CARGO_BIN_EXE_occamy");
        let mut cmd = format!("cd {} && {}", sh(env!("CARGO_MANIFEST_DIR")), sh(bin));
        for a in args {
            cmd.push(' ');
            cmd.push_str(&sh(a));
        }
        if stderr_to_file {
            cmd.push_str(&format!(" 2>{}", sh(dir.join("stderr").to_str().unwrap())));
        }
        let exit = dir.join("exit");
        let exit = sh(exit.to_str().unwrap());
        // The status goes to a file by rename, so a reader never sees half of it; `cat`
        // keeps the pane (and what occamy wrote out on exit) until the server is killed.
        cmd.push_str(&format!(
            "; echo $? > {exit}.part; mv {exit}.part {exit}; exec cat"
        ));
        let t = Tmux {
            socket: format!("occamy-top-{test}-{}", std::process::id()),
            dir,
        };
        let st = t
            .tmux()
            .args([
                "-f",
                "/dev/null",
                "new-session",
                "-d",
                "-x",
                "120",
                "-y",
                "40",
            ])
            .args(["-s", "top", &cmd])
            .env_remove("RUST_LOG")
            .env_remove("NO_COLOR")
            .status()
            .expect("cannot run tmux");
        assert!(st.success(), "tmux new-session failed");
        t
    }

    fn tmux(&self) -> Command {
        let mut c = Command::new("tmux");
        c.args(["-L", &self.socket]);
        c
    }

    fn screen(&self) -> String {
        let out = self
            .tmux()
            .args(["capture-pane", "-p", "-t", "top"])
            .output()
            .expect("capture-pane");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn keys(&self, keys: &[&str]) {
        let st = self
            .tmux()
            .args(["send-keys", "-t", "top"])
            .args(keys)
            .status()
            .expect("send-keys");
        assert!(st.success());
    }

    /// Captures the pane until `ok` says yes; fails with the last capture after
    /// [`LIMIT`] seconds.
    fn until(&self, what: &str, ok: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let s = self.screen();
            if ok(&s) {
                return s;
            }
            assert!(
                start.elapsed() < Duration::from_secs(LIMIT),
                "watchdog: the pane never showed {what} within {LIMIT}s; it shows:\n{s}"
            );
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// Waits for occamy's exit status.
    fn exit(&self) -> i32 {
        let path = self.dir.join("exit");
        let start = Instant::now();
        loop {
            if let Ok(s) = std::fs::read_to_string(&path) {
                return s.trim().parse().expect("a status");
            }
            assert!(
                start.elapsed() < Duration::from_secs(LIMIT),
                "watchdog: occamy did not exit within {LIMIT}s; the pane shows:\n{}",
                self.screen()
            );
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(self.dir.join("stderr")).unwrap_or_default()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.tmux().arg("kill-server").status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The names of the table's rows, top to bottom: the first word of each line after the
/// column titles, up to the first blank line.
fn row_names(screen: &str) -> Vec<String> {
    screen
        .lines()
        .skip_while(|l| !l.starts_with("NAME"))
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .map(|l| l.split_whitespace().next().unwrap_or("").to_string())
        .collect()
}

/// The number of messages the header counts: `channels 3: 1234 messages, ...`.
fn messages(screen: &str) -> Option<u64> {
    let line = screen.lines().find(|l| l.starts_with("channels "))?;
    let (_, rest) = line.split_once(": ")?;
    rest.split_whitespace().next()?.parse().ok()
}

const ENDLESS: [&str; 5] = [
    "run",
    "networks/pipeline.ron",
    "--set",
    "count=1000000000000",
    "--top",
];

#[test]
fn the_table_shows_the_processes_and_their_counters_move() {
    if tmux_missing() {
        return;
    }
    watchdog(LIMIT * 3, "--top on the pipeline", || {
        let t = Tmux::start("pipeline", &ENDLESS, false);
        let first = t.until("the pipeline's four processes", |s| {
            row_names(s) == ["numbers", "succ", "integrate", "print"] && messages(s).is_some()
        });
        assert!(first.contains("network pipeline"), "{first}");
        // CI runs the tests again under OCCAMY_SCHEDULER=threads: the pane gets it too.
        let want = match std::env::var("OCCAMY_SCHEDULER").as_deref() {
            Ok("threads") => "scheduler threads",
            _ => "scheduler green",
        };
        assert!(first.contains(want), "{first}");
        assert!(first.contains("processes 4 of 4"), "{first}");
        let before = messages(&first).unwrap();
        t.until("the message counter move", |s| {
            messages(s).is_some_and(|n| n > before)
        });
        // What `print` writes goes to the output pane, not over the table.
        let s = t.until("the output pane", |s| s.contains("the network's output"));
        assert_eq!(
            row_names(&s),
            ["numbers", "succ", "integrate", "print"],
            "{s}"
        );
        // The channels, in their own table.
        t.keys(&["Tab"]);
        let s = t.until("the channels", |s| {
            row_names(s) == ["nums", "plus1", "sums"]
        });
        assert!(s.contains("numbers → succ"), "{s}");
        t.keys(&["q"]);
        assert_eq!(t.exit(), 130, "q ends the run as Ctrl-C does");
        // The terminal is back, and the launcher's Ctrl-C report follows what the
        // network printed while the table was up.
        let s = t.until("the report", |s| s.contains("4 of 4 processes ended"));
        assert!(s.contains("interrupted: poisoning the network"), "{s}");
        assert!(
            s.contains("sum: "),
            "the network's output is written out: {s}"
        );
        assert!(!s.contains("occamy top ·"), "the table is gone: {s}");
    });
}

#[test]
fn sorting_changes_the_order() {
    if tmux_missing() {
        return;
    }
    watchdog(LIMIT * 3, "--top sorting", || {
        let t = Tmux::start("sort", &ENDLESS, true);
        let s = t.until("the table", |s| row_names(s).len() == 4);
        assert_eq!(row_names(&s), ["numbers", "succ", "integrate", "print"]);
        assert!(s.contains("order▼"), "the footer shows the sort key: {s}");
        t.keys(&["s"]);
        let s = t.until("the rows by name", |s| s.contains("name▼"));
        assert_eq!(
            row_names(&s),
            ["integrate", "numbers", "print", "succ"],
            "{s}"
        );
        t.keys(&["r"]);
        let s = t.until("the rows by name, reversed", |s| s.contains("name▲"));
        assert_eq!(
            row_names(&s),
            ["succ", "print", "numbers", "integrate"],
            "{s}"
        );
        // Enter on a process shows its details over the table: here the first row, by
        // name reversed, `succ`.
        t.keys(&["Enter"]);
        let s = t.until("the details", |s| s.contains("process succ (id"));
        assert!(s.contains("nums (i64):"), "{s}");
        assert!(s.contains("from numbers"), "{s}");
        assert!(s.contains("to integrate"), "{s}");
        t.keys(&["Escape"]);
        t.until("the details closed", |s| !s.contains("process succ (id"));
        t.keys(&["C-c"]);
        assert_eq!(t.exit(), 130, "Ctrl-C inside the table is q");
        assert!(t.stderr().contains("interrupted: poisoning the network"));
    });
}

#[test]
fn replicated_groups_collapse_and_expand() {
    if tmux_missing() {
        return;
    }
    watchdog(LIMIT * 3, "--top groups", || {
        let args = [
            "run",
            "networks/ring.ron",
            "--set",
            "n=50",
            "--set",
            "laps=1000000000",
            "--top",
        ];
        let t = Tmux::start("groups", &args, true);
        // Every process has started (under threads they start one by one, and the table
        // may be drawn before the last one has): then the group and the rest are rows.
        let s = t.until("the ring's group and its other processes", |s| {
            s.contains("▸ node[0..47] ×48") && row_names(s) == ["start", "▸", "tap", "watch"]
        });
        assert!(s.contains("aggregated: 1 group"), "the header says so: {s}");
        t.keys(&["Down", "Enter"]);
        let s = t.until("the group's members", |s| s.contains("▾ node[0..47] ×48"));
        let names = row_names(&s);
        assert_eq!(names[..4], ["start", "▾", "node[0]", "node[1]"], "{s}");
        t.keys(&["-"]);
        t.until("the group folded again", |s| {
            s.contains("▸ node[0..47] ×48")
        });
        t.keys(&["q"]);
        assert_eq!(t.exit(), 130);
    });
}

#[test]
fn a_deadlock_shows_its_cycle_and_stays_until_q() {
    if tmux_missing() {
        return;
    }
    watchdog(LIMIT * 3, "--top on a deadlock", || {
        let args = ["run", "tests/networks/deadlock_two.ron", "--top"];
        let t = Tmux::start("deadlock", &args, true);
        let s = t.until("the deadlock", |s| s.contains("DEADLOCK"));
        assert!(
            s.contains("cycle: a → b → a") || s.contains("cycle: b → a → b"),
            "{s}"
        );
        assert!(s.contains("a waits to receive on c2 from b"), "{s}");
        // The network is poisoned and ends; its final state stays on screen.
        t.until("the end", |s| {
            s.contains("ended: the final state stays until q")
        });
        t.keys(&["q"]);
        assert_eq!(t.exit(), 3, "a deadlock's status");
        assert!(t.stderr().contains("error: deadlock"), "{}", t.stderr());
    });
}

#[test]
fn top_exit_ends_with_the_network_and_writes_out_its_output() {
    if tmux_missing() {
        return;
    }
    watchdog(LIMIT * 3, "--top --top-exit", || {
        let args = ["run", "networks/pipeline.ron", "--top", "--top-exit"];
        let t = Tmux::start("exit", &args, false);
        assert_eq!(t.exit(), 0);
        // count 10: the sums 1, 3, ..., 55, printed after the terminal is back.
        let s = t.until("the output", |s| s.contains("sum: 55"));
        assert!(s.contains("sum: 1\n"), "{s}");
    });
}

#[test]
fn top_needs_a_terminal() {
    let r = occamy(&["run", "tests/networks/forever.ron", "--top"]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(r.stderr.contains("--top"), "{}", r.stderr);
    assert!(
        r.stderr.contains("needs a terminal on stdout"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("help:"), "{}", r.stderr);
}

#[test]
fn with_viz_both_views_show_the_run_and_q_ends_both() {
    if tmux_missing() {
        return;
    }
    watchdog(LIMIT * 3, "--top --viz", || {
        let args = ["run", "tests/networks/forever.ron", "--viz", "--top"];
        let t = Tmux::start("viz", &args, true);
        let s = t.until("the table", |s| row_names(s) == ["gen", "sink"]);
        assert!(s.contains("web view http://127.0.0.1:"), "{s}");
        t.keys(&["q"]);
        assert_eq!(t.exit(), 130, "q does not leave the web view lingering");
        assert!(t.stderr().contains("viewing at http://127.0.0.1:"));
    });
}

#[test]
fn a_process_at_a_barrier_shows_the_barrier_and_whom_it_waits_for() {
    if tmux_missing() {
        return;
    }
    watchdog(LIMIT * 3, "--top on a barrier", || {
        // Warned, not poisoned: the deadlocked processes stay blocked, on screen.
        let args = [
            "run",
            "tests/networks/deadlock_barrier.ron",
            "--on-deadlock",
            "warn",
            "--top",
        ];
        let t = Tmux::start("barrier", &args, true);
        let s = t.until("the deadlock", |s| s.contains("cycle: "));
        let clock = s.lines().find(|l| l.starts_with("clock ")).unwrap_or("");
        assert!(clock.contains("barrier phase with gate"), "{s}");
        assert!(s.contains("c ← clock"), "{s}");
        t.keys(&["q"]);
        assert_eq!(t.exit(), 3, "a deadlock was found");
    });
}
