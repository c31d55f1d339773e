//! The caseworker's next steps, derived from a person's [`History`].

use super::assemble::add_opt;
use super::{join, money, span, Action, Finding, History, MakeupCase, Ym};
use rust_decimal::Decimal;
use std::collections::BTreeSet;

/// What to do next, most urgent first.
pub(super) fn actions(h: &History) -> Vec<Action> {
    let mut out = Vec::new();
    let closed_on = |emp: &str| {
        h.makeup_cases
            .iter()
            .find(|c| c.employer_id == emp && !c.closed_on.is_empty())
            .map(|c| (c.employer_status.as_str(), c.closed_on.as_str()))
    };
    let emp_label = |e: &str| {
        if e.is_empty() {
            "individual enrolment".to_string()
        } else {
            format!("employer {e}")
        }
    };

    // 1. Stranded enrolments: the decrease must be filed.
    for (f, ins, _) in grouped(&h.findings, "stranded_enrolment") {
        let mut text = format!(
            "File the decrease (减员) at employer {} for {} effective {}, the month after the employer closed",
            f.employer_id,
            join(&ins),
            f.from
        );
        if let Some((status, date)) = closed_on(&f.employer_id) {
            text.push_str(&format!(" ({status} {date})"));
        }
        text.push_str(". Until it is filed the person cannot be enrolled elsewhere or contribute individually.");
        let later = Ym::parse(&f.to).map(Ym::next);
        let horizon = h.through.as_deref().and_then(Ym::parse);
        if let (Some(later), Some(horizon)) = (later, horizon) {
            if later <= horizon {
                text.push_str(&format!(
                    " The decrease on file, effective {later}, is too late: correct it."
                ));
            }
        }
        out.push(Action {
            action: "file_decrease",
            employer_id: f.employer_id.clone(),
            insurances: ins,
            from: f.from.clone(),
            to: f.to.clone(),
            amount: None,
            text,
        });
    }

    // 2. Make-up cases, per employer.
    let mut by_emp: Vec<(&str, Vec<&MakeupCase>)> = Vec::new();
    for c in &h.makeup_cases {
        match by_emp.iter_mut().find(|(e, _)| *e == c.employer_id) {
            Some((_, v)) => v.push(c),
            None => by_emp.push((&c.employer_id, vec![c])),
        }
    }
    for (emp, cases) in &by_emp {
        let pe: Decimal = cases.iter().map(|c| c.principal_employer).sum();
        let pi: Decimal = cases.iter().map(|c| c.principal_individual).sum();
        let fee: Decimal = cases.iter().map(|c| c.late_fee).sum();
        let total: Decimal = cases.iter().map(|c| c.total).sum();
        let ins: Vec<String> = cases.iter().map(|c| c.insurance.clone()).collect();
        let from = cases
            .iter()
            .map(|c| c.first_period.as_str())
            .min()
            .unwrap_or_default();
        let to = cases
            .iter()
            .map(|c| c.last_period.as_str())
            .max()
            .unwrap_or_default();
        let status = cases[0].employer_status.as_str();
        let mut text = format!(
            "Make up (补缴) {} for {} {} at {} employer {emp}: principal {} employer portion + {} personal account, late fee {}. Record it as payments with kind=makeup (补缴) for each month; the months then become paid and the case closes on the next run.",
            money(total),
            join(&ins),
            span(from, to),
            status,
            money(pe),
            money(pi),
            money(fee),
        );
        match status {
            "bankrupt" => text.push_str(&format!(
                " Claim it from the bankruptcy administrator (破产管理人): the personal-account part ({}) ranks with wages, the employer part with taxes (Enterprise Bankruptcy Law art. 113); the late fee stopped at the bankruptcy date.",
                money(pi)
            )),
            "dissolved" => text.push_str(" Claim it from the liquidation group (清算组)."),
            "cancelled" => text.push_str(" Claim it from the former shareholders or the authority that handled the deregistration."),
            _ => {}
        }
        out.push(Action {
            action: "pay_makeup",
            employer_id: emp.to_string(),
            insurances: ins,
            from: from.to_string(),
            to: to.to_string(),
            amount: Some(total),
            text,
        });
    }

    // 3. Personnel archives not transferred.
    let mut archive_emps: Vec<(&str, Vec<String>, &str, &str)> = Vec::new();
    for f in h
        .findings
        .iter()
        .filter(|f| f.kind == "archive_not_transferred")
    {
        match archive_emps.iter_mut().find(|(e, ..)| *e == f.employer_id) {
            Some((_, ins, _, _)) => {
                if !ins.contains(&f.insurance) {
                    ins.push(f.insurance.clone())
                }
            }
            None => archive_emps.push((&f.employer_id, vec![f.insurance.clone()], &f.from, &f.to)),
        }
    }
    for (emp, ins, from, to) in archive_emps {
        let holder = match closed_on(emp).map(|(s, _)| s) {
            Some("bankrupt") => "its bankruptcy administrator (破产管理人)",
            Some("dissolved") => "its liquidation group (清算组)",
            Some("cancelled") => "the authority that handled its deregistration",
            _ => "its liquidator or the competent authority",
        };
        out.push(Action {
            action: "retrieve_archive",
            employer_id: emp.to_string(),
            insurances: ins,
            from: from.to_string(),
            to: to.to_string(),
            amount: None,
            text: format!(
                "Retrieve the person's personnel archive (人事档案) of employer {emp} from {holder} and have it transferred to the archive centre: the employer did not transfer it."
            ),
        });
    }

    // 4. Enrolment conflicts.
    for (f, ins, _) in grouped(&h.findings, "individual_enrolment_blocked") {
        out.push(Action {
            action: "employer_decrease",
            employer_id: f.employer_id.clone(),
            insurances: ins.clone(),
            from: f.from.clone(),
            to: f.to.clone(),
            amount: None,
            text: format!(
                "Ask employer {} to file the decrease for {} so that the individual contributions for {} can be accepted.",
                f.employer_id,
                join(&ins),
                span(&f.from, &f.to)
            ),
        });
    }
    for (f, ins, _) in grouped(&h.findings, "overlapping_enrolment") {
        out.push(Action {
            action: "resolve_overlap",
            employer_id: f.employer_id.clone(),
            insurances: ins.clone(),
            from: f.from.clone(),
            to: f.to.clone(),
            amount: None,
            text: format!(
                "Two employers enrolled the person for {} in {}; employer {} is primary. Find out where the person worked and have the other employer file a decrease; money paid in those months is held in suspense.",
                join(&ins),
                span(&f.from, &f.to),
                f.employer_id
            ),
        });
    }

    // 5. Arrears at active employers or in individual spells.
    for (f, ins, amt) in grouped(&h.findings, "arrears") {
        let who = if f.employer_id.is_empty() {
            "The person (individual enrolment) owes".to_string()
        } else {
            format!("Employer {} owes", f.employer_id)
        };
        out.push(Action {
            action: "collect_arrears",
            employer_id: f.employer_id.clone(),
            insurances: ins.clone(),
            from: f.from.clone(),
            to: f.to.clone(),
            amount: amt,
            text: format!(
                "{who} {} for {} {}: collect it as normal contributions (late fees accrue daily).",
                amt.map(money).unwrap_or_default(),
                join(&ins),
                span(&f.from, &f.to)
            ),
        });
    }

    // 6. Money in suspense.
    for kind in ["unmatched_payment", "overpayment"] {
        for (f, ins, amt) in grouped(&h.findings, kind) {
            let what = if kind == "unmatched_payment" {
                "was paid with no enrolment covering it"
            } else {
                "was paid beyond what was due"
            };
            out.push(Action {
                action: "resolve_suspense",
                employer_id: f.employer_id.clone(),
                insurances: ins.clone(),
                from: f.from.clone(),
                to: f.to.clone(),
                amount: amt,
                text: format!(
                    "{} for {} {} ({}) {what} and is held in suspense: check with the payer whether an enrolment is missing or the money is to be refunded.",
                    amt.map(money).unwrap_or_default(),
                    join(&ins),
                    span(&f.from, &f.to),
                    emp_label(&f.employer_id)
                ),
            });
        }
    }

    // 7. No rate.
    for (f, ins, _) in grouped(&h.findings, "no_rate") {
        out.push(Action {
            action: "add_rate",
            employer_id: f.employer_id.clone(),
            insurances: ins.clone(),
            from: f.from.clone(),
            to: f.to.clone(),
            amount: None,
            text: format!(
                "No contribution rate applies to {} {} ({}): report it to the rates administrator; nothing can be reconciled for those months until a rate row is added.",
                join(&ins),
                span(&f.from, &f.to),
                emp_label(&f.employer_id)
            ),
        });
    }

    // 8. Identity.
    if !h.identity_findings.is_empty() {
        let kinds: BTreeSet<&str> = h
            .identity_findings
            .iter()
            .map(|f| f.kind.as_str())
            .collect();
        let mut text = String::from("Check the person's ID card against the registered ID number");
        if kinds.contains("duplicate_person") {
            text.push_str(
                " and merge the duplicate registrations (same ID number under several person ids)",
            );
        }
        text.push('.');
        out.push(Action {
            action: "verify_identity",
            employer_id: String::new(),
            insurances: Vec::new(),
            from: String::new(),
            to: String::new(),
            amount: None,
            text,
        });
    }
    out
}

/// Findings of `kind`, grouped by (employer, from, to) with their
/// insurances and summed amounts, in first-seen order.
fn grouped<'a>(
    findings: &'a [Finding],
    kind: &str,
) -> Vec<(&'a Finding, Vec<String>, Option<Decimal>)> {
    let mut out: Vec<(&Finding, Vec<String>, Option<Decimal>)> = Vec::new();
    for f in findings.iter().filter(|f| f.kind == kind) {
        match out
            .iter_mut()
            .find(|(g, _, _)| g.employer_id == f.employer_id && g.from == f.from && g.to == f.to)
        {
            Some((_, ins, amt)) => {
                if !ins.contains(&f.insurance) {
                    ins.push(f.insurance.clone());
                }
                *amt = add_opt(*amt, f.amount);
            }
            None => out.push((f, vec![f.insurance.clone()], f.amount)),
        }
    }
    out
}
