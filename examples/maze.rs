//! Maze: a seeded maze generator and a parallel breadth-first solver.
//!
//! The maze is a recursive backtracker's (with a tiny xorshift RNG, so a seed always gives
//! the same maze), plus `loops` percent extra openings, so that there are many paths and
//! the shortest one matters. The solver deals the grid's rows out in stripes to K
//! workers. Each worker searches its own stripes breadth-first. A distance that crosses
//! into another worker's stripe goes to the exchange, which forwards it to that worker in
//! its next reply. Workers search only up to a horizon, `window` steps past the nearest
//! square not yet expanded. This keeps them from running far ahead on distances that
//! another worker will correct. When every worker is idle with no mail, the exchange
//! moves the horizon on, or ends the search and traces the path back.
//!
//! ```text
//! generate --maze[w]--> worker[w] --reports (shared)--> exchange --solved--> draw
//!          --maze[K]--------------------------------->  exchange --replies[w]--> worker[w]
//! ```
//!
//! ```sh
//! cargo run --release --example maze                      # networks/maze.ron vs serial BFS
//! cargo run --release --example maze -- --code --size 3000 --workers 2
//! cargo run --release --example maze -- run networks/maze.ron --set seed=7
//! cargo run --example maze -- dot networks/maze.ron
//! ```

use std::collections::VecDeque;
use std::process::ExitCode;
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use occamy::network::{Kind, ParamType, Registry};
use occamy::{buffered, channel, par, Process, Receiver, Sender};
use serde::Deserialize;

/// The network file this example serves.
pub const NETWORK: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/networks/maze.ron");
/// How many squares a worker expands between reports to the exchange.
const CHUNK: u64 = 1 << 15;
const UNSEEN: u32 = u32::MAX;

/// A maze on a grid of `cols` x `rows` squares, row-major: cells at odd (x, y), the
/// border closed. `open[i]`: square `i` is not a wall.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Maze {
    pub cols: usize,
    pub rows: usize,
    pub open: Vec<bool>,
}

impl Maze {
    /// The top-left cell.
    pub fn start(&self) -> usize {
        self.cols + 1
    }
    /// The bottom-right cell.
    pub fn goal(&self) -> usize {
        self.open.len() - self.cols - 2
    }
    /// The open squares next to open square `i`.
    pub fn next_to(&self, i: usize) -> impl Iterator<Item = usize> + '_ {
        let c = self.cols;
        [i - c, i - 1, i + 1, i + c]
            .into_iter()
            .filter(|&n| self.open[n])
    }
}

/// A `width` x `height` cell maze from `seed`: a recursive backtracker's spanning tree,
/// plus `loops` percent of the cells opening one more wall.
pub fn generate(width: usize, height: usize, seed: u64, loops: u32) -> Maze {
    let (cols, rows) = (2 * width + 1, 2 * height + 1);
    let mut rng = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut below = move |n: usize| {
        rng ^= rng >> 12; // xorshift64*
        rng ^= rng << 25;
        rng ^= rng >> 27;
        (rng.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 33) as usize % n
    };
    let cell = |x: usize, y: usize| (2 * y + 1) * cols + 2 * x + 1;
    let (mut open, mut seen) = (vec![false; cols * rows], vec![false; width * height]);
    let mut stack: Vec<(usize, usize)> = vec![(0, 0)];
    let mut progress = Progress::new("generate", seen.len());
    (seen[0], open[cell(0, 0)]) = (true, true);
    while let Some(&(x, y)) = stack.last() {
        let (mut next, mut n) = ([(0, 0); 4], 0);
        for (dx, dy) in [(1, 0), (-1, 0), (0, 1), (0, -1)] {
            let (nx, ny) = (x.wrapping_add_signed(dx), y.wrapping_add_signed(dy));
            if nx < width && ny < height && !seen[ny * width + nx] {
                (next[n], n) = ((nx, ny), n + 1);
            }
        }
        if n == 0 {
            stack.pop();
            continue;
        }
        let (nx, ny) = next[below(n)];
        seen[ny * width + nx] = true;
        open[cell(nx, ny)] = true;
        open[(cell(x, y) + cell(nx, ny)) / 2] = true; // the wall between them
        stack.push((nx, ny));
        progress.add(1);
    }
    progress.finish();
    for _ in 0..width * height * loops as usize / 100 {
        let (x, y, right) = (below(width), below(height), below(2) == 0);
        let (nx, ny) = if right { (x + 1, y) } else { (x, y + 1) };
        if nx < width && ny < height {
            open[(cell(x, y) + cell(nx, ny)) / 2] = true;
        }
    }
    Maze { cols, rows, open }
}

/// A solved maze: a shortest path (square indices, start to goal), each square's distance
/// from the start, how many squares the search expanded (more than the open squares when
/// the parallel search had to correct distances), and how long it took. The distances
/// stay where the search left them: square `c` of row `r` is at `c - shift[r]` in part
/// `owner[r]` (one part for the serial search, one per worker for the parallel one).
#[derive(Clone, Debug, Deserialize)]
pub struct Solution {
    pub maze: Maze,
    pub path: Vec<usize>,
    pub expanded: u64,
    pub secs: f64,
    parts: Vec<Vec<u32>>,
    layout: Layout,
}

impl Solution {
    fn new(maze: Maze, (parts, layout): (Vec<Vec<u32>>, Layout), expanded: u64) -> Solution {
        let (path, secs) = (vec![], 0.0);
        Solution {
            maze,
            path,
            expanded,
            secs,
            parts,
            layout,
        }
    }

    /// Traces a shortest path back from the goal, each step to a square one nearer; the
    /// search took from `t` until now.
    fn trace(mut self, t: Instant) -> Solution {
        let mut at = self.maze.goal();
        while self.dist(at) != UNSEEN {
            self.path.push(at);
            let nearer = self.dist(at).checked_sub(1); // none at the start
            match self
                .maze
                .next_to(at)
                .find(|&n| Some(self.dist(n)) == nearer)
            {
                Some(n) => at = n,
                None => break,
            }
        }
        self.path.reverse();
        self.secs = t.elapsed().as_secs_f64();
        self
    }

    /// Square `c`'s distance from the start (`u32::MAX`: a wall).
    pub fn dist(&self, c: usize) -> u32 {
        let ((owner, shift), r) = (&self.layout, c / self.maze.cols);
        self.parts[owner[r]][c - shift[r]]
    }

    /// Every square's distance from the start, row-major.
    pub fn distances(&self) -> Vec<u32> {
        (0..self.maze.open.len()).map(|c| self.dist(c)).collect()
    }

    /// The path's length in steps.
    pub fn steps(&self) -> usize {
        self.path.len().saturating_sub(1)
    }
}

/// Whether `path` runs from start to goal through adjacent open squares.
pub fn check_path(maze: &Maze, path: &[usize]) -> Result<(), String> {
    if path.first() != Some(&maze.start()) || path.last() != Some(&maze.goal()) {
        return Err("the path does not run from start to goal".into());
    }
    let apart = |w: &&[usize]| !maze.next_to(w[0]).any(|n| n == w[1]);
    match path.windows(2).find(apart) {
        Some(w) => Err(format!("squares {} and {} are not neighbours", w[0], w[1])),
        None => Ok(()),
    }
}

/// The serial version: one breadth-first search from the start.
pub fn solve_serial(maze: &Maze) -> Solution {
    let t = Instant::now();
    let mut dist = vec![UNSEEN; maze.open.len()];
    let (mut queue, mut expanded) = (VecDeque::from([maze.start()]), 0);
    dist[maze.start()] = 0;
    while let Some(c) = queue.pop_front() {
        expanded += 1;
        for n in maze.next_to(c) {
            if dist[n] == UNSEEN {
                dist[n] = dist[c] + 1;
                queue.push_back(n);
            }
        }
    }
    let layout = layout(maze, maze.rows, 1); // one part
    Solution::new(maze.clone(), (vec![dist], layout), expanded).trace(t)
}

/// How many grid rows a stripe has, and how far past the nearest unexpanded square the
/// workers search: the defaults of networks/maze.ron.
pub const STRIPE: usize = 256;
pub const WINDOW: u32 = 256;

/// Per grid row: the worker that owns it, and how far its squares' indices are from their
/// places in the owner's array.
type Layout = (Vec<usize>, Vec<usize>);

/// Stripes of `stripe` rows go to `k` workers in turn; each worker keeps its own rows'
/// distances, one row after the other.
fn layout(maze: &Maze, stripe: usize, k: usize) -> Layout {
    let (mut owner, mut shift, mut filled) = (vec![], vec![], vec![0; k]);
    for r in 0..maze.rows {
        let w = r / stripe.max(1) % k;
        owner.push(w);
        shift.push((r - filled[w]) * maze.cols);
        filled[w] += 1;
    }
    (owner, shift)
}

/// What a worker tells the exchange. `Progress(id, expanded, out, idle, next)`: worker `id`
/// expanded `expanded` squares and found distances `out` (square, distance) for others'
/// squares; `idle`: it has nothing left below the horizon; `next`: its nearest square
/// beyond. Every `Progress` gets one reply, which an idle worker waits for and a busy one
/// collects after its next chunk. `Final(id, dist)`: its rows' distances at the end.
#[derive(Clone, Debug, Deserialize)]
pub enum Report {
    Progress(usize, u64, Vec<(usize, u32)>, bool, u32),
    Final(usize, Vec<u32>),
}

/// What the exchange answers. `Work(mail, horizon)`: distances that others found for the
/// worker's squares, and how far to search (exclusive). `Done`: the search is over. The
/// replies channels hold one reply, so the exchange never waits for a busy worker.
#[derive(Clone, Debug, Deserialize)]
pub enum Reply {
    Work(Vec<(usize, u32)>, u32),
    Done,
}

/// Worker `id` of `k`: breadth-first search in its stripes up to the horizon, reporting to
/// the exchange every [`CHUNK`] squares and whenever it runs out of work.
pub fn worker(
    id: usize,
    k: usize,
    stripe: usize,
    maze: &Maze,
    reports: Sender<Report>,
    replies: Receiver<Reply>,
) -> occamy::Result {
    let (cols, (owner, shift)) = (maze.cols, layout(maze, stripe, k));
    let mut dist = vec![UNSEEN; owner.iter().filter(|&&w| w == id).count() * cols];
    let (mut queue, mut later, mut horizon) = (VecDeque::new(), vec![], 0);
    let mut mail = vec![(maze.start(), 0)];
    mail.retain(|_| owner[1] == id); // the start's owner begins
    let mut owed = false; // whether the exchange owes us a reply
    loop {
        for (c, d) in mail.drain(..) {
            let r = c / cols;
            if d < dist[c - shift[r]] {
                dist[c - shift[r]] = d;
                queue.push_back((c, r)); // a square and its row
            }
        }
        let (mut expanded, mut out) = (0, vec![]);
        while expanded < CHUNK {
            let Some((c, r)) = queue.pop_front() else {
                break;
            };
            let d = dist[c - shift[r]] + 1;
            if d > horizon {
                later.push((c, r)); // for the next window
                continue;
            }
            for (n, nr) in [(c - cols, r - 1), (c - 1, r), (c + 1, r), (c + cols, r + 1)] {
                if maze.open[n] && owner[nr] != id {
                    out.push((n, d));
                } else if maze.open[n] && d < dist[n - shift[nr]] {
                    dist[n - shift[nr]] = d;
                    queue.push_back((n, nr));
                }
            }
            expanded += 1;
        }
        if owed {
            // The reply to the last report, most likely waiting in the buffer already. The
            // horizon has not moved: it moves only when every worker is idle.
            let Reply::Work(m, _) = replies.recv()? else {
                return Err("`Done` while busy".into());
            };
            (mail, owed) = (m, false);
        }
        let idle = queue.is_empty() && mail.is_empty();
        let next = later.iter().map(|&(c, r)| dist[c - shift[r]]).min();
        let report = Report::Progress(id, expanded, out, idle, next.unwrap_or(UNSEEN));
        reports.send(report)?;
        if !idle {
            owed = true; // work on, collect the reply later
            continue;
        }
        match replies.recv()? {
            Reply::Work(m, h) if h != horizon => {
                (mail, horizon) = (m, h);
                queue.extend(later.drain(..));
            }
            Reply::Work(m, _) => mail = m,
            Reply::Done => break,
        }
    }
    reports.send(Report::Final(id, dist))?;
    Ok(())
}

/// The exchange: forwards distances to the workers that own them and parks idle workers;
/// when all are parked with no mail, it moves the horizon on, or, if no worker has
/// anything left, ends the search and assembles the solution.
pub fn exchange(
    maze: Maze,
    stripe: usize,
    window: u32,
    reports: Receiver<Report>,
    replies: Vec<Sender<Reply>>,
) -> Result<Solution, occamy::Error> {
    let (t, k) = (Instant::now(), replies.len());
    if k == 0 {
        return Err("no workers".into());
    }
    let (owner, shift) = layout(&maze, stripe, k);
    let (mut mail, mut parked, mut next) = (vec![vec![]; k], vec![false; k], vec![UNSEEN; k]);
    let (mut horizon, mut expanded) = (0, 0);
    let mut progress = Progress::new("solve", maze.open.iter().filter(|&&o| o).count());
    loop {
        let Report::Progress(id, e, out, idle, nx) = reports.recv()? else {
            return Err("a final report before the end".into());
        };
        (expanded, parked[id], next[id]) = (expanded + e, true, nx);
        progress.add(e);
        for (c, d) in out {
            mail[owner[c / maze.cols]].push((c, d));
        }
        for w in 0..k {
            if parked[w] && (!mail[w].is_empty() || (w == id && !idle)) {
                parked[w] = false;
                replies[w].send(Reply::Work(std::mem::take(&mut mail[w]), horizon))?;
            }
        }
        if parked.iter().all(|&p| p) {
            match next.iter().min() {
                Some(&UNSEEN) | None => break,
                Some(&m) => horizon = m.saturating_add(window.max(1)),
            }
            for (w, r) in replies.iter().enumerate() {
                parked[w] = false;
                r.send(Reply::Work(vec![], horizon))?;
            }
        }
    }
    progress.finish();
    replies.iter().try_for_each(|r| r.send(Reply::Done))?;
    let mut parts = vec![vec![]; k];
    for _ in 0..k {
        let Report::Final(id, d) = reports.recv()? else {
            return Err("a progress report after the end".into());
        };
        parts[id] = d;
    }
    Ok(Solution::new(maze, (parts, (owner, shift)), expanded).trace(t))
}

/// The network built in code: the same workers and exchange as networks/maze.ron.
pub fn solve_parallel(
    maze: &Maze,
    k: usize,
    stripe: usize,
    window: u32,
) -> Result<Solution, String> {
    let (rep_tx, rep_rx) = channel::<Report>();
    let (sol_tx, sol_rx) = mpsc::channel();
    let (shared, mut procs, mut reply_txs) = (Arc::new(maze.clone()), vec![], vec![]);
    for w in 0..k {
        let (tx, rx) = buffered::<Reply>(1);
        reply_txs.push(tx);
        let (m, name) = (shared.clone(), format!("worker[{w}]"));
        let body = move |(rep, rx)| worker(w, k, stripe, &m, rep, rx);
        procs.push(Process::with(name, (rep_tx.clone(), rx), body));
    }
    drop(rep_tx); // or `reports` never retires
    let maze = maze.clone();
    let body = move |(rx, txs)| -> occamy::Result {
        let _ = sol_tx.send(exchange(maze, stripe, window, rx, txs)?);
        Ok(())
    };
    procs.push(Process::with("exchange", (rep_rx, reply_txs), body));
    par(procs).map_err(|e| e.to_string())?;
    let lost = |_| "the exchange sent no solution".to_string();
    sol_rx.recv().map_err(lost)
}

/// The maze as text: `#` walls, `.` the path, `S` start, `G` goal.
pub fn to_text(s: &Solution) -> String {
    let mut grid: Vec<u8> = s.maze.open.iter().map(|&o| b"# "[o as usize]).collect();
    s.path.iter().for_each(|&i| grid[i] = b'.');
    (grid[s.maze.start()], grid[s.maze.goal()]) = (b'S', b'G');
    let lines = grid.chunks(s.maze.cols).map(String::from_utf8_lossy);
    lines.map(|l| l + "\n").collect()
}

/// Prints the path length, and the maze to `out` (`-`: stdout, empty: nowhere).
pub fn report(s: &Solution, out: &str) -> Result<(), String> {
    let (w, h, secs) = (s.maze.cols / 2, s.maze.rows / 2, s.secs);
    println!(
        "maze {w}x{h}: shortest path {} steps, solved in {secs:.3}s",
        s.steps()
    );
    match out {
        "" => {}
        "-" => print!("{}", to_text(s)),
        _ => std::fs::write(out, to_text(s)).map_err(|e| format!("{out}: {e}"))?,
    }
    Ok(())
}

/// Prints "label: NN%" to stderr, but only once a run has taken more than two seconds.
pub struct Progress(&'static str, usize, usize, Instant, Instant);

impl Progress {
    /// A progress line for about `total` units of work.
    pub fn new(label: &'static str, total: usize) -> Progress {
        let now = Instant::now();
        Progress(label, total.max(1), 0, now, now)
    }
    /// `n` more units are done.
    pub fn add(&mut self, n: impl TryInto<usize>) {
        let before = self.2 * 1000 / self.1;
        self.2 += n.try_into().unwrap_or(0);
        if self.2 * 1000 / self.1 == before {
            return; // look at the clock only every 0.1%
        }
        let late = self.3.elapsed() > Duration::from_secs(2);
        if late && self.4.elapsed() > Duration::from_millis(500) {
            self.4 = Instant::now();
            eprint!("\r{}: {:3}%", self.0, (self.2 * 100 / self.1).min(99));
        }
    }
    /// Ends the progress line, if one was shown.
    pub fn finish(&self) {
        if self.4 != self.3 {
            let secs = self.3.elapsed().as_secs_f64();
            eprintln!("\r{}: 100% ({secs:.1}s)", self.0);
        }
    }
}

/// The built-in kinds plus `maze_gen`, `maze_worker`, `maze_exchange` and `maze_draw`.
/// `maze_draw` reports the solution and hands it back to a program running the file
/// (`BuildCtx::values_out`): [`solve_file`] takes it from the run's report.
pub fn registry() -> Registry {
    let mut reg = Registry::with_builtins();
    reg.register_debug_type::<Maze>("Maze");
    reg.register_debug_type::<Report>("Report");
    reg.register_debug_type::<Reply>("Reply");
    reg.register_debug_type::<Solution>("Solution");
    let int = ParamType::UInt;
    reg.register(
        Kind::new("maze_gen", "generates a maze, sends a copy on each `out`")
            .output_array("out", "Maze")
            .param("width", int, 40u32, "width in cells")
            .param("height", int, 20u32, "height in cells")
            .param("seed", int, 1u32, "the random seed")
            .param("loops", int, 5u32, "% of cells with one more opening")
            .build(|ctx| {
                let outs = ctx.outputs::<Maze>("out")?;
                let (w, h) = (ctx.param("width")?, ctx.param("height")?);
                let (seed, loops) = (ctx.param("seed")?, ctx.param("loops")?);
                Ok(ctx.process(move || -> occamy::Result {
                    let maze = generate(w, h, seed, loops);
                    Ok(outs.iter().try_for_each(|o| o.send(maze.clone()))?)
                }))
            }),
    );
    reg.register(
        Kind::new("maze_worker", "searches stripes id, id+K, ... of the maze")
            .input("maze", "Maze")
            .output("reports", "Report")
            .input("replies", "Reply")
            .required_param("id", int, "which worker: 0 has the top stripe")
            .required_param("workers", int, "how many workers (K)")
            .param("stripe", int, STRIPE as u32, "grid rows per stripe")
            .build(|ctx| {
                let (maze, rx) = (ctx.input::<Maze>("maze")?, ctx.input("replies")?);
                let (tx, id) = (ctx.output("reports")?, ctx.param("id")?);
                let (k, stripe) = (ctx.param("workers")?, ctx.param("stripe")?);
                Ok(ctx.process(move || worker(id, k, stripe, &maze.recv()?, tx, rx)))
            }),
    );
    reg.register(
        Kind::new(
            "maze_exchange",
            "forwards distances, moves the horizon, ends the search",
        )
        .input("maze", "Maze")
        .input("reports", "Report")
        .output_array("replies", "Reply")
        .output("solved", "Solution")
        .param("stripe", int, STRIPE as u32, "grid rows per stripe")
        .param("window", int, WINDOW, "steps searched per window")
        .build(|ctx| {
            let (maze, rx) = (ctx.input::<Maze>("maze")?, ctx.input("reports")?);
            let (txs, solved) = (ctx.outputs("replies")?, ctx.output("solved")?);
            let (stripe, window) = (ctx.param("stripe")?, ctx.param("window")?);
            Ok(ctx.process(move || -> occamy::Result {
                let s = exchange(maze.recv()?, stripe, window, rx, txs)?;
                Ok(solved.send(s)?)
            }))
        }),
    );
    reg.register(
        Kind::new(
            "maze_draw",
            "prints the path length, writes the maze as text",
        )
        .input("in", "Solution")
        .param(
            "out",
            ParamType::Str,
            "-",
            "file (`-`: stdout, empty: none)",
        )
        .build(|ctx| {
            let (rx, solution) = (ctx.input::<Solution>("in")?, ctx.values_out::<Solution>());
            let out: String = ctx.param("out")?;
            Ok(ctx.process(move || -> occamy::Result {
                let s = rx.recv()?;
                report(&s, &out)?;
                solution.push(s);
                Ok(())
            }))
        }),
    );
    reg
}

/// Runs networks/maze.ron with param overrides `sets` (its `draw` process reports the
/// solution, to the file param `out` names: `-` stdout, empty nowhere); returns the
/// solution, as `draw` hands it back.
pub fn solve_file(sets: &[(String, String)]) -> Result<Solution, String> {
    let mut run =
        occamy::network::run_file(NETWORK, sets, &registry()).map_err(|e| e.to_string())?;
    run.result.as_ref().map_err(|e| e.to_string())?;
    let s = run
        .take_values::<Solution>("draw")
        .map_err(|e| e.to_string())?
        .pop();
    s.ok_or_else(|| "the network handed back no solution".into())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let sub = args.get(1).map_or("", String::as_str);
    if ["run", "check", "kinds", "dot"].contains(&sub) {
        return occamy::launcher::main_from(registry(), args);
    }
    match demo(&args[1..]) {
        Ok(ok) => ExitCode::from(u8::from(!ok)),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

const USAGE: &str = "use run|check|kinds|dot FILE, or [--code] [--serial] [--size CELLS] \
                     [--seed S] [--loops PCT] [--workers K] [--stripe ROWS] [--window STEPS] \
                     [--out FILE|-]";

/// The demo: generate, solve serially, solve with the network (from the file, or
/// `--code`), compare; prints the speedup. Returns whether the two agree.
fn demo(args: &[String]) -> Result<bool, String> {
    let (mut size, mut seed, mut loops, mut k) = (3000, 1, 5, 2);
    let (mut stripe, mut window) = (STRIPE, WINDOW);
    let (mut code, mut serial_only, mut out) = (false, false, None);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut num = || -> Result<u64, String> {
            let v = it.next().ok_or(format!("{a} needs a value"))?;
            v.parse().map_err(|_| format!("{a}: `{v}` is not a number"))
        };
        match a.as_str() {
            "--code" => code = true,
            "--serial" => serial_only = true,
            "--size" => size = num()?.max(1) as usize,
            "--seed" => seed = num()?,
            "--loops" => loops = num()? as u32,
            "--workers" => k = num()?.max(1) as usize,
            "--stripe" => stripe = num()?.max(1) as usize,
            "--window" => window = num()?.max(1) as u32,
            "--out" => out = Some(it.next().cloned().ok_or("--out needs a file")?),
            _ => return Err(format!("unknown argument `{a}`; {USAGE}")),
        }
    }
    let out = out.unwrap_or(if size <= 300 { "maze.txt" } else { "" }.to_string());
    let t = Instant::now();
    let maze = generate(size, size, seed, loops);
    let secs = t.elapsed().as_secs_f64();
    println!("generated a {size}x{size} maze (seed {seed}, {loops}% loops) in {secs:.3}s");
    let serial = solve_serial(&maze);
    println!(
        "serial BFS: {:.3}s, path of {} steps",
        serial.secs,
        serial.steps()
    );
    if serial_only {
        report(&serial, &out)?;
        return Ok(check_path(&maze, &serial.path).is_ok());
    }
    let par = if code {
        solve_parallel(&maze, k, stripe, window)?
    } else {
        let sets = format!(
            "width={size} height={size} seed={seed} loops={loops} workers={k} \
             stripe={stripe} window={window}"
        );
        let sets = sets.split(' ').filter_map(|kv| kv.split_once('='));
        let mut sets: Vec<(String, String)> = sets.map(|(k, v)| (k.into(), v.into())).collect();
        sets.push(("out".into(), format!("{out:?}"))); // `draw` reports the solution
        solve_file(&sets)?
    };
    let how = if code {
        "built in code"
    } else {
        "networks/maze.ron"
    };
    println!("{how}, {k} workers, stripes of {stripe} rows, window {window} steps:");
    let extra = (par.expanded as f64 / serial.expanded as f64 - 1.0) * 100.0;
    let (secs, expanded) = (par.secs, par.expanded);
    println!("  {secs:.3}s, expanded {expanded} squares ({extra:.1}% more than serial)");
    let valid = check_path(&maze, &par.path);
    let same = par.maze == maze && par.distances() == serial.distances();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    match (&valid, same) {
        (Ok(()), true) => println!("same distances as serial BFS; path valid"),
        (Err(e), _) => println!("INVALID PATH: {e}"),
        (_, false) => println!("DIFFERENT FROM SERIAL BFS"),
    }
    println!(
        "speedup {:.2}x (serial / parallel search) on {cores} cores",
        serial.secs / secs
    );
    if code {
        report(&par, &out)?;
    }
    Ok(same && valid.is_ok())
}
