//! The inline SVG charts of the report: due versus paid by month, and
//! paid minus due as bars (no JavaScript; tooltips are SVG `<title>`s).
//!
//! Takes the per-month ledger totals gathered into [`Data`]; guarantees a
//! bounded page whatever the span of months: at most `MAX_POINTS` points,
//! months summed into equal buckets when the span is longer.

use super::display::{count, money};
use crate::report::{Cents, Data, MonthTotals};
use std::collections::BTreeMap;
use std::fmt::Write as _;

pub(super) fn chart_section(o: &mut String, d: &Data) {
    let _ = writeln!(o, "<section><h2>Due versus paid by month</h2>");
    if d.months.is_empty() {
        let _ = writeln!(o, "<p>No ledger months.</p></section>");
        return;
    }
    let series = Series::new(&d.months);
    let per = if series.bucket == 1 {
        "per month".to_string()
    } else {
        format!("per {} months", series.bucket)
    };
    let _ = writeln!(
        o,
        "<p class=\"legend\"><span><i class=\"sw\" style=\"background:var(--due)\"></i>due (employer + individual)</span><span><i class=\"sw\" style=\"background:var(--paid)\"></i>paid (employer + individual)</span><span class=\"detail\">yuan {per}; hover for values</span></p>"
    );
    o.push_str(&due_paid_chart(&series));
    let _ = writeln!(
        o,
        "<p class=\"legend\" style=\"margin-top:14px\"><span><i class=\"sw\" style=\"background:var(--bad)\"></i>paid less than due (shortfall)</span><span><i class=\"sw\" style=\"background:var(--ok)\"></i>paid more than due (held in suspense)</span><span class=\"detail\">paid − due, yuan {per}</span></p>"
    );
    o.push_str(&difference_chart(&series));
    let _ = writeln!(
        o,
        "<p class=\"note\">Sums over every ledger month. Due counts as 0 where it is empty (gap, unmatched and unrated months), so payments in those months show as paid beyond due.</p></section>"
    );
}

/// A step of 1, 2 or 5 × 10^k near `raw`.
pub(super) fn nice_step(raw: f64) -> f64 {
    if raw.is_nan() || raw <= 0.0 {
        return 1.0;
    }
    let p = 10f64.powf(raw.log10().floor());
    let f = raw / p;
    p * if f <= 1.0 {
        1.0
    } else if f <= 2.0 {
        2.0
    } else if f <= 5.0 {
        5.0
    } else {
        10.0
    }
}

pub(super) fn short_money(v: f64) -> String {
    let a = v.abs();
    let (x, unit) = if a >= 1e9 {
        (v / 1e9, "B")
    } else if a >= 1e6 {
        (v / 1e6, "M")
    } else if a >= 1e3 {
        (v / 1e3, "K")
    } else {
        (v, "")
    };
    let s = format!("{x:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        return "0".into();
    }
    format!("{s}{unit}")
}

fn ym(m: u32) -> String {
    format!("{:04}-{:02}", m / 12, m % 12 + 1)
}

/// The ledger months as chart points: one per month, or per bucket of
/// months when the span is very long (keeps the page bounded).
pub(super) struct Series {
    pts: Vec<MonthTotals>,
    first: u32,
    last: u32,
    pub(super) bucket: u32,
}

const MAX_POINTS: u32 = 1200;
const W: f64 = 1160.0;
const L: f64 = 78.0;
const R: f64 = 14.0;
const T: f64 = 14.0;
const B: f64 = 34.0;

impl Series {
    pub(super) fn new(months: &BTreeMap<u32, MonthTotals>) -> Series {
        let first = months.keys().next().copied().unwrap_or(0);
        let last = months.keys().next_back().copied().unwrap_or(0);
        let span = last - first + 1;
        let bucket = span.div_ceil(MAX_POINTS).max(1);
        let n = span.div_ceil(bucket) as usize;
        let mut pts = vec![MonthTotals::default(); n];
        for (&m, t) in months {
            let p = &mut pts[((m - first) / bucket) as usize];
            p.due += t.due;
            p.paid += t.paid;
            p.rows += t.rows;
        }
        Series {
            pts,
            first,
            last,
            bucket,
        }
    }

    fn n(&self) -> usize {
        self.pts.len()
    }

    /// Width of one point's slot.
    fn slot(&self) -> f64 {
        (W - L - R) / self.n() as f64
    }

    fn x(&self, i: usize) -> f64 {
        L + (i as f64 + 0.5) * self.slot()
    }

    fn label(&self, i: usize) -> String {
        let from = self.first + i as u32 * self.bucket;
        if self.bucket == 1 {
            ym(from)
        } else {
            format!(
                "{}..{}",
                ym(from),
                ym((from + self.bucket - 1).min(self.last))
            )
        }
    }
}

fn yuan(c: Cents) -> f64 {
    c as f64 / 100.0
}

/// A y scale from `lo` to `hi` (0 always inside) in about `ticks` steps.
struct YScale {
    bot: f64,
    top: f64,
    step: f64,
    y0: f64,
    h: f64,
}

impl YScale {
    fn new(lo: f64, hi: f64, ticks: f64, height: f64) -> YScale {
        let lo = lo.min(0.0);
        let hi = hi.max(0.0);
        let step = nice_step((hi - lo) / ticks);
        let top = if hi > 0.0 {
            (hi / step).ceil() * step
        } else {
            step
        };
        let bot = if lo < 0.0 {
            (lo / step).floor() * step
        } else {
            0.0
        };
        YScale {
            bot,
            top,
            step,
            y0: T,
            h: height - T - B,
        }
    }
    fn y(&self, v: f64) -> f64 {
        self.y0 + (self.top - v) / (self.top - self.bot) * self.h
    }
}

/// The frame shared by both charts: opening tag, grid, y labels, year
/// ticks.
fn frame(s: &mut String, series: &Series, ys: &YScale, height: f64, title: &str) {
    let _ = writeln!(
        s,
        "<svg viewBox=\"0 0 {W} {height}\" width=\"100%\" role=\"img\" aria-label=\"{title}\" xmlns=\"http://www.w3.org/2000/svg\">\n<title>{title}</title>"
    );
    let mut v = ys.bot;
    let mut guard = 0;
    while v <= ys.top + ys.step / 2.0 && guard < 50 {
        let yy = ys.y(v);
        let _ = writeln!(
            s,
            "<line x1=\"{L}\" x2=\"{:.1}\" y1=\"{yy:.1}\" y2=\"{yy:.1}\" stroke=\"{}\"/><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            W - R,
            if v.abs() < ys.step / 1e6 { "#9aa3b2" } else { "#e6e9ef" },
            L - 8.0,
            yy + 4.0,
            short_money(v)
        );
        v += ys.step;
        guard += 1;
    }
    // January of every k-th year, at most ~16 labels.
    let (first, last) = (series.first, series.last);
    let years = (last / 12) - (first / 12) + 1;
    let k = [1u32, 2, 5, 10, 20, 50, 100]
        .into_iter()
        .find(|k| years / k <= 16)
        .unwrap_or(200);
    let mut yr = (first / 12).div_ceil(k) * k;
    while yr * 12 <= last {
        let m = yr * 12;
        let i = ((m - first) / series.bucket) as usize;
        let xx = series.x(i) - 0.5 * series.slot();
        let _ = writeln!(
            s,
            "<line x1=\"{xx:.1}\" x2=\"{xx:.1}\" y1=\"{T}\" y2=\"{:.1}\" stroke=\"#eef0f4\"/><text x=\"{xx:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{yr}</text>",
            height - B,
            height - B + 18.0
        );
        yr += k;
    }
    let _ = writeln!(
        s,
        "<line x1=\"{L}\" x2=\"{L}\" y1=\"{T}\" y2=\"{:.1}\" stroke=\"#9aa3b2\"/>",
        height - B
    );
}

/// Due and paid as two lines, with native tooltips (no script).
pub(super) fn due_paid_chart(series: &Series) -> String {
    const H: f64 = 340.0;
    let pts = &series.pts;
    let hi = pts
        .iter()
        .map(|p| yuan(p.due.max(p.paid)))
        .fold(0.0, f64::max);
    let lo = pts
        .iter()
        .map(|p| yuan(p.due.min(p.paid)))
        .fold(0.0, f64::min);
    let ys = YScale::new(lo, hi, 5.0, H);
    let mut s = String::with_capacity(64 * 1024);
    let title = format!(
        "Due versus paid by month, {} to {}",
        ym(series.first),
        ym(series.last)
    );
    frame(&mut s, series, &ys, H, &title);
    let poly = |f: &dyn Fn(&MonthTotals) -> Cents| {
        let mut p = String::with_capacity(pts.len() * 14);
        for (i, t) in pts.iter().enumerate() {
            let _ = write!(p, "{:.1},{:.1} ", series.x(i), ys.y(yuan(f(t))));
        }
        p.trim_end().to_string()
    };
    let due = poly(&|t| t.due);
    let paid = poly(&|t| t.paid);
    let _ = writeln!(
        s,
        "<polygon points=\"{:.1},{:.1} {due} {:.1},{:.1}\" fill=\"#1f5fa8\" fill-opacity=\"0.08\" stroke=\"none\"/>",
        series.x(0),
        ys.y(0.0),
        series.x(pts.len() - 1),
        ys.y(0.0)
    );
    let _ = writeln!(s, "<polyline points=\"{due}\" fill=\"none\" stroke=\"#1f5fa8\" stroke-width=\"2\" stroke-linejoin=\"round\"/>");
    let _ = writeln!(
        s,
        "<polyline points=\"{paid}\" fill=\"none\" stroke=\"#d9822b\" stroke-width=\"1.6\" stroke-dasharray=\"5 3\" stroke-linejoin=\"round\"/>"
    );
    let bw = series.slot();
    for (i, t) in pts.iter().enumerate() {
        let _ = writeln!(
            s,
            "<rect x=\"{:.1}\" y=\"{T}\" width=\"{bw:.2}\" height=\"{:.1}\" fill=\"transparent\"><title>{}: due {}, paid {}, paid − due {} ({} ledger rows)</title></rect>",
            L + i as f64 * bw,
            ys.h,
            series.label(i),
            money(t.due),
            money(t.paid),
            money(t.paid - t.due),
            count(t.rows)
        );
    }
    s.push_str("</svg>\n");
    s
}

/// paid − due as bars around zero: red below (shortfall), green above.
pub(super) fn difference_chart(series: &Series) -> String {
    const H: f64 = 200.0;
    let pts = &series.pts;
    let diff = |t: &MonthTotals| yuan(t.paid - t.due);
    let hi = pts.iter().map(diff).fold(0.0, f64::max);
    let lo = pts.iter().map(diff).fold(0.0, f64::min);
    let ys = YScale::new(lo, hi, 4.0, H);
    let mut s = String::with_capacity(32 * 1024);
    let title = format!(
        "Paid minus due by month, {} to {}",
        ym(series.first),
        ym(series.last)
    );
    frame(&mut s, series, &ys, H, &title);
    let bw = (series.slot() * 0.8).max(0.6);
    let y0 = ys.y(0.0);
    for (i, t) in pts.iter().enumerate() {
        let d = t.paid - t.due;
        if d == 0 {
            continue;
        }
        let yv = ys.y(yuan(d));
        let (top, h) = if d > 0 { (yv, y0 - yv) } else { (y0, yv - y0) };
        let _ = writeln!(
            s,
            "<rect x=\"{:.2}\" y=\"{top:.1}\" width=\"{bw:.2}\" height=\"{:.1}\" fill=\"{}\"><title>{}: paid − due {}</title></rect>",
            series.x(i) - bw / 2.0,
            h.max(0.5),
            if d > 0 { "#23824f" } else { "#b42318" },
            series.label(i),
            money(d)
        );
    }
    s.push_str("</svg>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nice_steps() {
        assert_eq!(nice_step(0.0), 1.0);
        assert_eq!(nice_step(1.3e6), 2e6);
        assert_eq!(nice_step(4.0), 5.0);
        assert_eq!(short_money(1_500_000.0), "1.5M");
        assert_eq!(short_money(0.0), "0");
    }

    #[test]
    fn chart_is_bounded_on_a_long_span() {
        let mut m = BTreeMap::new();
        for i in (1950 * 12..2101 * 12).step_by(7) {
            m.insert(
                i,
                MonthTotals {
                    due: 10_000,
                    paid: 9_000,
                    rows: 1,
                },
            );
        }
        let series = Series::new(&m);
        assert_eq!(series.bucket, 2);
        let svg = due_paid_chart(&series) + &difference_chart(&series);
        assert!(svg.len() < 400_000, "{}", svg.len());
        assert!(svg.contains("<polyline"));
    }
}
