//! The layered layout of one flat graph (see `layout`'s module docs): cycles broken,
//! layers by longest path, dummy points on long edges, barycentre ordering, positions fitted
//! to the neighbours'.

/// A layered layout of a flat graph: `sizes` (width, height) per node, `edges` between
/// them, `gaps` the width wanted between layers for each edge's label. Returns node
/// centres, each edge's route (through its dummy points) and the bounding size.
pub(super) struct Flat {
    pub(super) pos: Vec<(f64, f64)>,
    pub(super) routes: Vec<Vec<(f64, f64)>>,
    pub(super) size: (f64, f64),
}

const NODE_GAP: f64 = 22.0;

pub(super) fn flat_layout(sizes: &[(f64, f64)], edges: &[(usize, usize)], label_w: &[f64]) -> Flat {
    let n = sizes.len();
    if n == 0 {
        return Flat {
            pos: Vec::new(),
            routes: vec![Vec::new(); edges.len()],
            size: (0.0, 0.0),
        };
    }
    // 1. Break cycles: a DFS in declaration order; an edge to a node on the stack goes back.
    let mut out: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (k, &(a, b)) in edges.iter().enumerate() {
        if a != b {
            out[a].push(k);
        }
    }
    let mut reversed = vec![false; edges.len()];
    let mut state = vec![0u8; n]; // 0 new, 1 on stack, 2 done
    for root in 0..n {
        if state[root] != 0 {
            continue;
        }
        let mut stack: Vec<(usize, usize)> = vec![(root, 0)];
        state[root] = 1;
        while let Some(&mut (v, ref mut i)) = stack.last_mut() {
            if *i < out[v].len() {
                let k = out[v][*i];
                *i += 1;
                let w = edges[k].1;
                match state[w] {
                    0 => {
                        state[w] = 1;
                        stack.push((w, 0));
                    }
                    1 => reversed[k] = true,
                    _ => {}
                }
            } else {
                state[v] = 2;
                stack.pop();
            }
        }
    }
    let dag: Vec<(usize, usize)> = edges
        .iter()
        .zip(&reversed)
        .map(|(&(a, b), &r)| if r { (b, a) } else { (a, b) })
        .collect();
    // 2. Layers by longest path (Kahn's order).
    let mut indeg = vec![0usize; n];
    let mut succ: Vec<Vec<usize>> = vec![Vec::new(); n];
    for &(a, b) in &dag {
        if a != b {
            indeg[b] += 1;
            succ[a].push(b);
        }
    }
    let mut layer = vec![0usize; n];
    let mut queue: std::collections::VecDeque<usize> = (0..n).filter(|&v| indeg[v] == 0).collect();
    while let Some(v) = queue.pop_front() {
        for &w in &succ[v] {
            layer[w] = layer[w].max(layer[v] + 1);
            indeg[w] -= 1;
            if indeg[w] == 0 {
                queue.push_back(w);
            }
        }
    }
    // Sources that feed only later layers move up next to their first successor.
    for v in 0..n {
        if !dag.iter().any(|&(_, b)| b == v) {
            if let Some(m) = succ[v].iter().map(|&w| layer[w]).min() {
                layer[v] = m.saturating_sub(1).max(layer[v]);
            }
        }
    }
    let layers = layer.iter().max().map_or(1, |m| m + 1);
    // 3. Dummy points for edges across several layers.
    let mut sz: Vec<(f64, f64)> = sizes.to_vec();
    let mut lay = layer.clone();
    let mut chains: Vec<Vec<usize>> = Vec::with_capacity(edges.len());
    for &(a, b) in &dag {
        let mut chain = vec![a];
        if a != b {
            for l in layer[a] + 1..layer[b] {
                sz.push((0.0, 12.0));
                lay.push(l);
                chain.push(sz.len() - 1);
            }
        }
        chain.push(b);
        chains.push(chain);
    }
    let total = sz.len();
    let mut up: Vec<Vec<usize>> = vec![Vec::new(); total];
    let mut down: Vec<Vec<usize>> = vec![Vec::new(); total];
    for c in &chains {
        for w in c.windows(2) {
            if w[0] != w[1] && lay[w[0]] + 1 == lay[w[1]] {
                down[w[0]].push(w[1]);
                up[w[1]].push(w[0]);
            }
        }
    }
    // 4. Order within layers: first seen in a DFS, then barycentre sweeps.
    let mut rows: Vec<Vec<usize>> = vec![Vec::new(); layers];
    let mut placed = vec![false; total];
    for v in 0..total {
        if v < n && !placed[v] {
            let mut stack = vec![v];
            while let Some(x) = stack.pop() {
                if placed[x] {
                    continue;
                }
                placed[x] = true;
                rows[lay[x]].push(x);
                for &y in down[x].iter().rev() {
                    stack.push(y);
                }
            }
        }
    }
    for v in 0..total {
        if !placed[v] {
            rows[lay[v]].push(v);
        }
    }
    let mut rank = vec![0f64; total];
    let set_rank = |rows: &Vec<Vec<usize>>, rank: &mut Vec<f64>| {
        for r in rows {
            for (i, &v) in r.iter().enumerate() {
                rank[v] = i as f64;
            }
        }
    };
    set_rank(&rows, &mut rank);
    for sweep in 0..8 {
        let forward = sweep % 2 == 0;
        let order: Vec<usize> = if forward {
            (1..layers).collect()
        } else {
            (0..layers.saturating_sub(1)).rev().collect()
        };
        for l in order {
            let nb = if forward { &up } else { &down };
            let mut keyed: Vec<(f64, usize)> = rows[l]
                .iter()
                .map(|&v| {
                    let ns = &nb[v];
                    let b = if ns.is_empty() {
                        rank[v]
                    } else {
                        ns.iter().map(|&u| rank[u]).sum::<f64>() / ns.len() as f64
                    };
                    (b, v)
                })
                .collect();
            keyed.sort_by(|a, b| a.0.total_cmp(&b.0).then(rank[a.1].total_cmp(&rank[b.1])));
            rows[l] = keyed.into_iter().map(|(_, v)| v).collect();
            for (i, &v) in rows[l].iter().enumerate() {
                rank[v] = i as f64;
            }
        }
    }
    // 5. Positions within layers: stacked, then pulled towards their neighbours.
    let mut y = vec![0f64; total];
    for r in &rows {
        let mut at = 0.0;
        for &v in r {
            y[v] = at + sz[v].1 / 2.0;
            at += sz[v].1 + NODE_GAP;
        }
    }
    for round in 0..12 {
        let ls: Vec<usize> = if round % 2 == 0 {
            (0..layers).collect()
        } else {
            (0..layers).rev().collect()
        };
        for l in ls {
            let r = &rows[l];
            if r.is_empty() {
                continue;
            }
            let want: Vec<f64> = r
                .iter()
                .map(|&v| {
                    let ns: Vec<usize> = up[v].iter().chain(&down[v]).copied().collect();
                    if ns.is_empty() {
                        y[v]
                    } else {
                        ns.iter().map(|&u| y[u]).sum::<f64>() / ns.len() as f64
                    }
                })
                .collect();
            let seps: Vec<f64> = r
                .windows(2)
                .map(|w| (sz[w[0]].1 + sz[w[1]].1) / 2.0 + NODE_GAP)
                .collect();
            let ys = fit_in_order(&want, &seps);
            for (&v, yy) in r.iter().zip(ys) {
                y[v] = yy;
            }
        }
    }
    // 6. Layers left to right, each as wide as its widest node, with room for labels.
    let mut lw = vec![0f64; layers];
    for v in 0..total {
        lw[lay[v]] = lw[lay[v]].max(sz[v].0);
    }
    let mut gap = vec![70f64; layers];
    let (mut outs, mut ins) = (vec![0usize; n], vec![0usize; n]);
    for &(a, b) in dag.iter().filter(|(a, b)| a != b) {
        outs[a] += 1;
        ins[b] += 1;
    }
    for (k, &(a, b)) in dag.iter().enumerate() {
        if a != b {
            let l = layer[a].min(layer[b]);
            // Labels of edges that fan out or in sit off centre (see `layout`): wider.
            let fan = if outs[a] > 1 || ins[b] > 1 { 1.5 } else { 1.0 };
            gap[l] = gap[l].max(label_w[k] * fan + 36.0);
        }
    }
    let mut xs = vec![0f64; layers];
    let mut at = 0.0;
    for l in 0..layers {
        xs[l] = at + lw[l] / 2.0;
        at += lw[l] + gap[l];
    }
    let width = at - gap[layers - 1];
    let ymin = (0..total)
        .map(|v| y[v] - sz[v].1 / 2.0)
        .fold(f64::INFINITY, f64::min);
    let ymax = (0..total)
        .map(|v| y[v] + sz[v].1 / 2.0)
        .fold(f64::NEG_INFINITY, f64::max);
    let pos: Vec<(f64, f64)> = (0..total).map(|v| (xs[lay[v]], y[v] - ymin)).collect();
    // 7. Routes: out of the right side, through the dummies, into the left side; an edge
    // that goes back is drawn from its own source, below its nodes when it has no dummies.
    let routes = chains
        .iter()
        .zip(edges)
        .zip(&reversed)
        .map(|((chain, &(a, b)), &rev)| {
            if a == b {
                let (x, y) = pos[a];
                let (w, h) = (sz[a].0, sz[a].1 - 64.0);
                return vec![
                    (x + w / 4.0, y - h / 2.0),
                    (x, y - h / 2.0 - 26.0),
                    (x - w / 4.0, y - h / 2.0),
                ];
            }
            let mut pts: Vec<(f64, f64)> = Vec::new();
            let (s, t) = (chain[0], chain[chain.len() - 1]);
            pts.push((pos[s].0 + sz[s].0 / 2.0, pos[s].1));
            for &d in &chain[1..chain.len() - 1] {
                pts.push(pos[d]);
            }
            pts.push((pos[t].0 - sz[t].0 / 2.0, pos[t].1));
            if rev {
                pts.reverse();
                if chain.len() == 2 {
                    let (p, q) = (pts[0], pts[1]);
                    let below = sz[s].1.max(sz[t].1) / 2.0 + 18.0;
                    pts.insert(1, ((p.0 + q.0) / 2.0, p.1.max(q.1) + below));
                }
            }
            pts
        })
        .collect();
    Flat {
        pos: pos[..n].to_vec(),
        routes,
        size: (width, (ymax - ymin).max(0.0)),
    }
}

/// The positions closest (least squares) to `want` that keep their order with at least
/// `seps[i]` between position i and i+1: pool adjacent violators on the shifted problem.
fn fit_in_order(want: &[f64], seps: &[f64]) -> Vec<f64> {
    let mut off = vec![0.0; want.len()];
    for i in 1..want.len() {
        off[i] = off[i - 1] + seps[i - 1];
    }
    // Blocks of (sum, count), each at its mean.
    let mut blocks: Vec<(f64, usize)> = Vec::new();
    for (w, o) in want.iter().zip(&off) {
        blocks.push((w - o, 1));
        while blocks.len() > 1 {
            let (s2, c2) = blocks[blocks.len() - 1];
            let (s1, c1) = blocks[blocks.len() - 2];
            if s1 / c1 as f64 > s2 / c2 as f64 {
                blocks.pop();
                let last = blocks.len() - 1;
                blocks[last] = (s1 + s2, c1 + c2);
            } else {
                break;
            }
        }
    }
    let mut out = Vec::with_capacity(want.len());
    for (s, c) in blocks {
        for _ in 0..c {
            out.push(s / c as f64);
        }
    }
    out.iter().zip(&off).map(|(v, o)| v + o).collect()
}

#[cfg(test)]
mod tests {
    use super::fit_in_order;

    #[test]
    fn positions_keep_order_and_spacing() {
        let ys = fit_in_order(&[10.0, 10.0, 10.0], &[20.0, 20.0]);
        assert_eq!(ys, vec![-10.0, 10.0, 30.0]);
        let ys = fit_in_order(&[0.0, 100.0], &[20.0]);
        assert_eq!(ys, vec![0.0, 100.0]);
        let ys = fit_in_order(&[50.0, 0.0], &[10.0]);
        assert_eq!(ys, vec![20.0, 30.0]);
    }
}
