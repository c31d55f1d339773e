//! Plain-text rendering of a [`History`], for a terminal of 80 columns.
//!
//! Values from the output files are shown as written but for control and
//! bidirectional-override characters, which become U+FFFD so that a crafted
//! id or detail cannot move the cursor or reorder what the caseworker reads.
//! Widths count East Asian wide characters (Chinese) as two columns.

use super::{join, span, Finding, History};
use crate::output::csvw::money;
use std::fmt::Write as _;

const WIDTH: usize = 80;

/// The whole page.
pub fn render(h: &History) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "Contribution history of person {}", clean(&h.person_id));
    let mut run = String::from("Run");
    if let Some(a) = &h.as_of {
        let _ = write!(run, " as of {}", clean(a));
    }
    if let Some(t) = &h.through {
        let _ = write!(run, ", contributions due through {}", clean(t));
    }
    let _ = write!(run, " ({}).", clean(&h.out_dir.display().to_string()));
    wrap_into(&mut o, &run, 0, 0);
    for n in &h.notes {
        wrap_into(&mut o, &format!("Note: {n}"), 0, 6);
    }

    // Identity.
    heading(&mut o, "IDENTITY");
    let _ = writeln!(o, "  Person id   {}", clean(&h.person_id));
    if h.identity_findings.is_empty() {
        let _ = writeln!(o, "  ID number   no findings");
    } else {
        for (i, f) in h.identity_findings.iter().enumerate() {
            let label = if i == 0 {
                "  ID number   "
            } else {
                "              "
            };
            let _ = writeln!(o, "{label}{} {}", f.severity, clean(&f.kind));
            wrap_into(&mut o, &clean(&f.detail), 14, 14);
        }
    }

    // Spells.
    heading(&mut o, "SPELLS BY EMPLOYER (months covered)");
    if h.spells.is_empty() {
        let _ = writeln!(o, "  none: no month is covered by an enrolment");
    }
    let emp_w = h
        .spells
        .iter()
        .map(|s| width(&at(&s.employer_id)))
        .max()
        .unwrap_or(0);
    for s in &h.spells {
        let line = format!(
            "  {:<16} {:>4} mo  {}  {}",
            span(&s.from.to_string(), &s.to.to_string()),
            s.months,
            pad(&at(&s.employer_id), emp_w),
            join(&s.insurances)
        );
        wrap_into(&mut o, &line, 0, 27 + emp_w + 2);
    }

    // Months by status.
    heading(&mut o, "MONTHS BY STATUS");
    let _ = writeln!(
        o,
        "  (short: due but not paid; over: paid beyond due; held: paid, kept in suspense)"
    );
    if h.insurances.is_empty() {
        let _ = writeln!(o, "  no ledger months");
    }
    let emp_w = h
        .insurances
        .iter()
        .flat_map(|i| &i.runs)
        .map(|r| width(&run_payer(&r.status, &r.employer_id)))
        .max()
        .unwrap_or(0);
    for ins in &h.insurances {
        let mut head = format!("{}:", clean(&ins.insurance));
        if let Some(p) = &ins.summary {
            let _ = write!(
                head,
                " {}, {} covered, {} paid, {} short, {} gap, {} overlap; pooled {}; {}",
                span(&clean(&p.first_period), &clean(&p.last_period)),
                p.months_covered,
                p.months_paid,
                p.months_short,
                p.months_gap,
                p.months_overlap,
                money(p.pooled_total),
                clean(&p.state)
            );
        }
        wrap_into(&mut o, &format!("  {head}"), 0, 4);
        for r in &ins.runs {
            let base = r
                .base
                .map(|b| format!("base {}", money(b)))
                .unwrap_or_default();
            let extra = match r.status.as_str() {
                "arrears" | "underpaid" => format!("short {}", money(r.shortfall)),
                "overpaid" => format!("over {}", money(r.excess)),
                "unmatched" => format!("paid {}", money(r.paid_employer + r.paid_individual)),
                "overlap" => format!("held {}", money(r.paid_employer + r.paid_individual)),
                "unrated" => "no rate".to_string(),
                _ => String::new(),
            };
            let line = format!(
                "    {:<16} {:>3}  {:<9}  {}  {:<13}  {}",
                span(&r.from.to_string(), &r.to.to_string()),
                r.months,
                clean(&r.status),
                pad(&run_payer(&r.status, &r.employer_id), emp_w),
                base,
                extra
            );
            wrap_into(&mut o, line.trim_end(), 0, 36 + emp_w);
        }
    }

    // Findings.
    heading(&mut o, &format!("FINDINGS ({})", h.findings.len()));
    if h.findings.is_empty() {
        let _ = writeln!(o, "  none");
    }
    findings(&mut o, &h.findings);
    if !h.employer_findings.is_empty() {
        heading(&mut o, "ON THE EMPLOYERS");
        findings(&mut o, &h.employer_findings);
    }

    // Make-up cases.
    heading(&mut o, &format!("MAKE-UP CASES ({})", h.makeup_cases.len()));
    if h.makeup_cases.is_empty() {
        let _ = writeln!(o, "  none");
    } else {
        let mut emps: Vec<&str> = Vec::new();
        for c in &h.makeup_cases {
            if !emps.contains(&c.employer_id.as_str()) {
                emps.push(&c.employer_id);
            }
        }
        for emp in emps {
            let cases: Vec<_> = h
                .makeup_cases
                .iter()
                .filter(|c| c.employer_id == emp)
                .collect();
            let c0 = cases[0];
            let archive = match c0.archive_transferred.as_str() {
                "" => "not registered".to_string(),
                a => clean(a),
            };
            let head = format!(
                "Employer {}: {} on {}",
                clean(emp),
                clean(&c0.employer_status),
                clean(&c0.closed_on)
            );
            wrap_into(&mut o, &format!("  {head}"), 0, 4);
            let mut sub = format!("archive transferred: {archive}");
            if let Some(to) = c0.late_fee_to(h.as_of.as_deref()) {
                let _ = write!(sub, "; late fee accrued to {}", clean(to));
            }
            wrap_into(&mut o, &sub, 4, 4);
            let _ = writeln!(
                o,
                "  {:<12} {:<16} {:>3} {:>10} {:>10} {:>10} {:>10}",
                "insurance", "months", "n", "employer", "personal", "late fee", "total"
            );
            for c in cases {
                let _ = writeln!(
                    o,
                    "  {} {:<16} {:>3} {:>10} {:>10} {:>10} {:>10}",
                    pad(&clean(&c.insurance), 12),
                    span(&clean(&c.first_period), &clean(&c.last_period)),
                    c.months,
                    money(c.principal_employer),
                    money(c.principal_individual),
                    money(c.late_fee),
                    money(c.total)
                );
            }
        }
        let t = h.makeup_totals();
        let multi = h
            .makeup_cases
            .iter()
            .any(|c| c.employer_id != h.makeup_cases[0].employer_id);
        let _ = writeln!(
            o,
            "  {:<12} {:<16} {:>3} {:>10} {:>10} {:>10} {:>10}",
            if multi { "all cases" } else { "total" },
            "",
            "",
            money(t.principal_employer),
            money(t.principal_individual),
            money(t.late_fee),
            money(t.total)
        );
        wrap_into(
            &mut o,
            &format!(
                "  Principal {} = employer portion {} (pooling fund) + personal-account portion {}.",
                money(t.principal_employer + t.principal_individual),
                money(t.principal_employer),
                money(t.principal_individual)
            ),
            0,
            4,
        );
    }

    // Next steps.
    heading(&mut o, "WHAT TO DO NEXT");
    if h.actions.is_empty() {
        let _ = writeln!(o, "  Nothing: no open findings that need action.");
    }
    for (i, a) in h.actions.iter().enumerate() {
        let num = format!("  {}. ", i + 1);
        let indent = width(&num);
        wrap_into(&mut o, &format!("{num}{}", clean(&a.text)), 0, indent);
    }
    o
}

fn heading(o: &mut String, title: &str) {
    o.push('\n');
    o.push_str(title);
    o.push('\n');
}

/// Prints findings, the same finding for several insurances once (the
/// output has one row per insurance), in order of their first month.
fn findings(o: &mut String, list: &[Finding]) {
    let mut groups: Vec<Vec<&Finding>> = Vec::new();
    for f in list {
        let same = |g: &&mut Vec<&Finding>| {
            let h = g[0];
            h.kind == f.kind
                && h.severity == f.severity
                && h.employer_id == f.employer_id
                && h.from == f.from
                && h.to == f.to
                && h.months == f.months
        };
        match groups.iter_mut().find(|g| same(g)) {
            Some(g) => g.push(f),
            None => groups.push(vec![f]),
        }
    }
    groups.sort_by(|a, b| {
        (&a[0].from, &a[0].kind, &a[0].employer_id).cmp(&(
            &b[0].from,
            &b[0].kind,
            &b[0].employer_id,
        ))
    });
    for g in groups {
        let f = g[0];
        let _ = writeln!(o, "  {:<8} {}", clean(&f.severity), clean(&f.kind));
        let mut what: Vec<String> = Vec::new();
        let ins: Vec<String> = g
            .iter()
            .filter(|f| !f.insurance.is_empty())
            .map(|f| clean(&f.insurance))
            .collect();
        if !ins.is_empty() {
            what.push(join(&ins));
        }
        if !f.from.is_empty() {
            let mut p = span(&clean(&f.from), &clean(&f.to));
            if let Some(m) = f.months {
                let _ = write!(p, " ({m} mo)");
            }
            what.push(p);
        }
        if !f.employer_id.is_empty() {
            what.push(format!("at {}", clean(&f.employer_id)));
        }
        let amounts: Vec<_> = g.iter().filter_map(|f| f.amount).collect();
        if !amounts.is_empty() {
            what.push(format!("amount {}", money(amounts.iter().copied().sum())));
        }
        if !what.is_empty() {
            wrap_into(o, &what.join("  "), 11, 11);
        }
        if g.iter().all(|x| x.detail == f.detail) {
            wrap_into(o, &clean(&f.detail), 11, 11);
        } else {
            for x in &g {
                let d = if x.insurance.is_empty() {
                    clean(&x.detail)
                } else {
                    format!("{}: {}", clean(&x.insurance), clean(&x.detail))
                };
                wrap_into(o, &d, 11, 13);
            }
        }
    }
}

/// "at E" for an employer, "individual" for an individual enrolment.
fn at(employer: &str) -> String {
    if employer.is_empty() {
        "individual".to_string()
    } else {
        format!("at {}", clean(employer))
    }
}

/// Who a run's months belong to: the employer, "individual" when covered
/// individually or paid by the person, nothing for a gap.
fn run_payer(status: &str, employer: &str) -> String {
    match (status, employer.is_empty()) {
        ("gap", _) => String::new(),
        (_, true) => "individual".to_string(),
        (_, false) => format!("at {}", clean(employer)),
    }
}

/// Replaces characters that would disturb a terminal.
pub fn clean(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\n' | '\r' | '\t' => ' ',
            c if c.is_control() => '\u{FFFD}',
            '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' => {
                '\u{FFFD}'
            }
            c => c,
        })
        .collect()
}

/// Terminal columns of `c`: 2 for East Asian wide and full-width
/// characters, 0 for combining marks, else 1.
fn char_width(c: char) -> usize {
    let u = c as u32;
    if (0x300..=0x36F).contains(&u) || (0x200B..=0x200D).contains(&u) {
        return 0;
    }
    let wide = matches!(u,
        0x1100..=0x115F | 0x2E80..=0x303E | 0x3041..=0x33FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF
        | 0xA000..=0xA4CF | 0xAC00..=0xD7A3 | 0xF900..=0xFAFF | 0xFE30..=0xFE4F | 0xFF00..=0xFF60
        | 0xFFE0..=0xFFE6 | 0x1F300..=0x1F64F | 0x1F900..=0x1F9FF | 0x20000..=0x3FFFD);
    if wide {
        2
    } else {
        1
    }
}

pub fn width(s: &str) -> usize {
    s.chars().map(char_width).sum()
}

fn pad(s: &str, w: usize) -> String {
    let n = width(s);
    let mut out = s.to_string();
    out.extend(std::iter::repeat(' ').take(w.saturating_sub(n)));
    out
}

/// Appends `text` wrapped at [`WIDTH`] columns: the first line indented by
/// `first`, the others by `rest`. Breaks at spaces; a word too long for a
/// line is cut (Chinese text has no spaces).
fn wrap_into(o: &mut String, text: &str, first: usize, rest: usize) {
    let mut line = " ".repeat(first);
    let mut col = first;
    let mut line_has_word = false;
    // Keep runs of spaces inside the text (column alignment) but not at
    // the start of a continuation line.
    let mut pieces: Vec<&str> = Vec::new();
    let mut start = 0;
    for (i, ch) in text.char_indices() {
        if ch == ' ' {
            if start < i {
                pieces.push(&text[start..i]);
            }
            pieces.push(" ");
            start = i + 1;
        }
    }
    if start < text.len() {
        pieces.push(&text[start..]);
    }
    let mut pending_spaces = 0usize;
    for p in pieces {
        if p == " " {
            pending_spaces += 1;
            continue;
        }
        let w = width(p);
        if line_has_word && col + pending_spaces + w > WIDTH {
            o.push_str(line.trim_end());
            o.push('\n');
            line = " ".repeat(rest);
            col = rest;
            line_has_word = false;
            pending_spaces = 0;
        }
        if line_has_word || col == first {
            line.extend(std::iter::repeat(' ').take(pending_spaces));
            col += pending_spaces;
        }
        pending_spaces = 0;
        if col + w <= WIDTH || line_has_word {
            line.push_str(p);
            col += w;
        } else {
            // Cut an over-long word (or CJK text) at the line end.
            for ch in p.chars() {
                let cw = char_width(ch);
                if col + cw > WIDTH && col > rest {
                    o.push_str(line.trim_end());
                    o.push('\n');
                    line = " ".repeat(rest);
                    col = rest;
                }
                line.push(ch);
                col += cw;
            }
        }
        line_has_word = true;
    }
    o.push_str(line.trim_end());
    o.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wrapped(text: &str, first: usize, rest: usize) -> String {
        let mut o = String::new();
        wrap_into(&mut o, text, first, rest);
        o
    }

    #[test]
    fn wraps_at_80_columns_with_hanging_indent() {
        let text = "word ".repeat(40);
        let o = wrapped(text.trim(), 2, 6);
        for l in o.lines() {
            assert!(width(l) <= WIDTH, "{l:?}");
        }
        assert!(o.starts_with("  word"));
        assert!(o.lines().nth(1).unwrap().starts_with("      word"));
    }

    #[test]
    fn cuts_chinese_text_by_display_width() {
        let text = "员工档案未移交".repeat(20);
        let o = wrapped(&text, 4, 4);
        for l in o.lines() {
            assert!(width(l) <= WIDTH, "{l:?} {}", width(l));
        }
        assert_eq!(o.replace(['\n', ' '], ""), text);
    }

    #[test]
    fn keeps_inner_spacing() {
        assert_eq!(wrapped("a   b", 0, 0), "a   b\n");
    }

    #[test]
    fn cleans_control_and_bidi() {
        assert_eq!(clean("a\u{1b}[2Jb\nc\u{202E}d"), "a\u{FFFD}[2Jb c\u{FFFD}d");
    }
}
