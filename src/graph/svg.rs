//! SVG from a [`Layout`]: what `occamy dot --svg` writes where Graphviz is missing. The
//! colours follow the DOT output's: fill by how processes ended, red for a deadlock.

use std::fmt::Write;

use super::layout::{Layout, PlacedEdge, PlacedNode, Shape};
use super::Graph;
use crate::runtime::ProcessEnd;

/// Escapes text for SVG.
pub(crate) fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            c => o.push(c),
        }
    }
    o
}

/// A smooth path through `pts`: cubic pieces leaving and entering each point
/// horizontally (the drawing runs left to right).
pub(crate) fn path_d(pts: &[(f64, f64)]) -> String {
    let mut d = String::new();
    let Some(&(x0, y0)) = pts.first() else {
        return d;
    };
    let _ = write!(d, "M{x0:.1},{y0:.1}");
    if pts.len() == 3 && (pts[0].1 - pts[2].1).abs() < 1e-9 && pts[1].1 < pts[0].1 {
        // A loop over a node.
        let (a, m, b) = (pts[0], pts[1], pts[2]);
        let _ = write!(
            d,
            " C{:.1},{:.1} {:.1},{:.1} {:.1},{:.1} C{:.1},{:.1} {:.1},{:.1} {:.1},{:.1}",
            a.0, m.1, a.0, m.1, m.0, m.1, b.0, m.1, b.0, m.1, b.0, b.1
        );
        return d;
    }
    for w in pts.windows(2) {
        let ((ax, ay), (bx, by)) = (w[0], w[1]);
        let dx = ((bx - ax) / 2.0).abs().max(20.0);
        let (c1, c2) = if bx >= ax {
            ((ax + dx, ay), (bx - dx, by))
        } else {
            ((ax - dx, ay), (bx + dx, by))
        };
        let _ = write!(
            d,
            " C{:.1},{:.1} {:.1},{:.1} {bx:.1},{by:.1}",
            c1.0, c1.1, c2.0, c2.1
        );
    }
    d
}

fn fill_of(graph: &Graph, n: &PlacedNode) -> (&'static str, &'static str) {
    let worst = n
        .members
        .iter()
        .filter_map(|id| graph.nodes().find(|x| &x.id == id).and_then(|x| x.end))
        .max_by_key(|e| match e {
            ProcessEnd::Ok | ProcessEnd::Retired => 0,
            ProcessEnd::Poisoned => 1,
            ProcessEnd::Failed | ProcessEnd::Panicked => 2,
        });
    let fill = match worst {
        Some(ProcessEnd::Ok | ProcessEnd::Retired) => "#e6f4ea",
        Some(ProcessEnd::Poisoned) => "#fff4d6",
        Some(_) => "#ffd6d6",
        None => rank_fill_of(graph, n).unwrap_or("#ffffff"),
    };
    let stroke = if n.deadlocked || matches!(worst, Some(ProcessEnd::Failed | ProcessEnd::Panicked))
    {
        "#d62728"
    } else {
        "#444444"
    };
    (fill, stroke)
}

/// The fill of a node's rank, when the network is placed on several ranks and all its
/// members are on one (as in DOT).
fn rank_fill_of(graph: &Graph, n: &PlacedNode) -> Option<&'static str> {
    if graph.ranks() < 2 {
        return None;
    }
    let mut ranks = n
        .members
        .iter()
        .map(|id| graph.nodes().find(|x| &x.id == id).and_then(|x| x.rank));
    let first = ranks.next()??;
    ranks
        .all(|r| r == Some(first))
        .then(|| super::dot::RANK_FILLS[first as usize % super::dot::RANK_FILLS.len()])
}

/// The band of a node's rank once the run has ended (the fill then says how).
fn rank_band_of(graph: &Graph, n: &PlacedNode) -> Option<&'static str> {
    if !matches!(n.shape, Shape::Process | Shape::Group | Shape::Rest) {
        return None;
    }
    let ended = n
        .members
        .iter()
        .any(|id| graph.nodes().any(|x| &x.id == id && x.end.is_some()));
    ended.then(|| rank_fill_of(graph, n)).flatten()
}

fn node_svg(graph: &Graph, n: &PlacedNode, out: &mut String) {
    let (x, y, w, h) = (n.x - n.w / 2.0, n.y - n.h / 2.0, n.w, n.h);
    let (fill, stroke) = fill_of(graph, n);
    let sw = if n.in_cycle {
        3.0
    } else if n.deadlocked {
        2.0
    } else {
        1.0
    };
    let _ = write!(out, "<g class=\"node\" id=\"{}\">", esc(&n.id));
    match n.shape {
        Shape::Junction => {
            let _ = write!(
                out,
                "<ellipse cx=\"{:.1}\" cy=\"{:.1}\" rx=\"{:.1}\" ry=\"{:.1}\" fill=\"#e0e0e0\" stroke=\"#737373\"/>",
                n.x,
                n.y,
                w / 2.0,
                h / 2.0
            );
        }
        Shape::Unknown => {
            let _ = write!(
                out,
                "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"{:.1}\" fill=\"#fff\" stroke=\"#444\" stroke-dasharray=\"3,2\"><title>an end no known process holds</title></circle>",
                n.x,
                n.y,
                w / 2.0
            );
        }
        Shape::Barrier => {
            let c = 8.0_f64.min(h / 3.0);
            let _ = write!(
                out,
                "<polygon points=\"{:.1},{:.1} {:.1},{:.1} {:.1},{:.1} {:.1},{:.1} {:.1},{:.1} {:.1},{:.1} {:.1},{:.1} {:.1},{:.1}\" fill=\"#e5e5e5\" stroke=\"{stroke}\" stroke-width=\"{sw}\"/>",
                x + c, y, x + w - c, y, x + w, y + c, x + w, y + h - c,
                x + w - c, y + h, x + c, y + h, x, y + h - c, x, y + c
            );
        }
        Shape::Group | Shape::Rest => {
            // Two shadows behind: a stack of processes.
            for k in [6.0, 3.0] {
                let _ = write!(
                    out,
                    "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{w:.1}\" height=\"{h:.1}\" rx=\"6\" fill=\"{fill}\" stroke=\"{stroke}\" stroke-opacity=\"0.5\"/>",
                    x + k,
                    y - k
                );
            }
            let _ = write!(
                out,
                "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{h:.1}\" rx=\"6\" fill=\"{fill}\" stroke=\"{stroke}\" stroke-width=\"{sw}\"/>"
            );
        }
        Shape::Process => {
            let _ = write!(
                out,
                "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{h:.1}\" rx=\"6\" fill=\"{fill}\" stroke=\"{stroke}\" stroke-width=\"{sw}\"/>"
            );
        }
    }
    let lines = &n.lines;
    let top = n.y - (lines.len() as f64 - 1.0) * 15.0 / 2.0 + 4.0;
    if let Some(band) = rank_band_of(graph, n) {
        // As in DOT: after a run the fill says how it ended, the rank keeps a band of its
        // colour behind the last line (`rank N`), bottom corners rounded as the box's.
        let by = top + (lines.len() as f64 - 1.0) * 15.0 - 11.5;
        let (r, b) = (6.0, y + h);
        let _ = write!(
            out,
            "<path d=\"M{x:.1},{by:.1} H{:.1} V{:.1} Q{:.1},{b:.1} {:.1},{b:.1} H{:.1} Q{x:.1},{b:.1} {x:.1},{:.1} Z\" fill=\"{band}\"/>\
             <rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{h:.1}\" rx=\"6\" fill=\"none\" stroke=\"{stroke}\" stroke-width=\"{sw}\"/>",
            x + w,
            b - r,
            x + w,
            x + w - r,
            x + r,
            b - r
        );
    }
    let color = if n.deadlocked { "#d62728" } else { "#111" };
    for (i, l) in lines.iter().enumerate() {
        let size = if i == 0 && n.shape != Shape::Junction {
            12
        } else {
            10
        };
        let _ = write!(
            out,
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"{size}\" text-anchor=\"middle\" fill=\"{color}\">{}</text>",
            n.x,
            top + i as f64 * 15.0,
            esc(l)
        );
    }
    out.push_str("</g>\n");
}

fn edge_svg(e: &PlacedEdge, out: &mut String) {
    let (color, width) = if e.in_cycle {
        ("#d62728", 3.5)
    } else if e.waited {
        ("#d62728", 2.0)
    } else if e.channels.len() > 1 {
        ("#555", 2.0)
    } else {
        ("#555", 1.2)
    };
    let dash = if e.role == "barrier" {
        " stroke-dasharray=\"5,4\""
    } else {
        ""
    };
    let head = if e.role == "barrier" || e.into_junction {
        String::new()
    } else if e.in_cycle || e.waited {
        " marker-end=\"url(#arrow-red)\"".to_string()
    } else {
        " marker-end=\"url(#arrow)\"".to_string()
    };
    let _ = write!(
        out,
        "<g class=\"edge\" id=\"{}\"><path d=\"{}\" fill=\"none\" stroke=\"{color}\" stroke-width=\"{width}\"{dash}{head}/>",
        esc(&e.id),
        path_d(&e.points)
    );
    let (lx, ly) = e.label_at;
    let n = e.lines.len() as f64;
    for (i, l) in e.lines.iter().enumerate() {
        let _ = write!(
            out,
            "<text x=\"{lx:.1}\" y=\"{:.1}\" font-size=\"10\" text-anchor=\"middle\" fill=\"{}\" class=\"halo\">{}</text>",
            ly - (n - 1.0 - i as f64) * 12.0,
            if e.in_cycle || e.waited { "#d62728" } else { "#333" },
            esc(l)
        );
    }
    out.push_str("</g>\n");
}

/// The layout of `graph` as a standalone SVG document, titled with its name and notes.
pub(super) fn to_svg(graph: &Graph, layout: &Layout) -> String {
    let notes = graph.notes();
    let head = 26.0 + 14.0 * notes.len() as f64;
    let (w, h) = (layout.width.max(200.0), layout.height + head);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w:.0}\" height=\"{h:.0}\" viewBox=\"0 0 {w:.1} {h:.1}\" font-family=\"Helvetica, Arial, sans-serif\">"
    );
    out.push_str(
        "<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"9\" markerHeight=\"9\" markerUnits=\"userSpaceOnUse\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#555\"/></marker>\
         <marker id=\"arrow-red\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"11\" markerHeight=\"11\" markerUnits=\"userSpaceOnUse\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#d62728\"/></marker>\
         <style>.halo{paint-order:stroke;stroke:#fff;stroke-width:3px;stroke-linejoin:round}</style></defs>\n",
    );
    let _ = writeln!(
        out,
        "<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/><text x=\"{:.1}\" y=\"18\" font-size=\"14\" font-weight=\"bold\" text-anchor=\"middle\">{}</text>",
        w / 2.0,
        esc(graph.name())
    );
    for (i, n) in notes.iter().enumerate() {
        let _ = writeln!(
            out,
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"middle\" fill=\"#333\">{}</text>",
            w / 2.0,
            34.0 + 14.0 * i as f64,
            esc(n)
        );
    }
    let _ = writeln!(out, "<g transform=\"translate(0,{head:.1})\">");
    for c in &layout.clusters {
        let _ = writeln!(
            out,
            "<g class=\"cluster\" id=\"{}\"><rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" rx=\"8\" fill=\"#fafafa\" stroke=\"#808080\" stroke-dasharray=\"6,4\"/><text x=\"{:.1}\" y=\"{:.1}\" font-size=\"12\" fill=\"#4d4d4d\" text-anchor=\"middle\">{}</text></g>",
            c.id,
            c.x,
            c.y,
            c.w,
            c.h,
            c.x + c.w / 2.0,
            c.y + 15.0,
            esc(&c.label)
        );
    }
    for e in &layout.edges {
        edge_svg(e, &mut out);
    }
    for n in &layout.nodes {
        node_svg(graph, n, &mut out);
    }
    out.push_str("</g>\n</svg>\n");
    out
}
