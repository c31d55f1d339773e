//! Coded values: English code words case-insensitively, Chinese labels and
//! numeric codes exactly (SPEC §2, §7).

use crate::model::{Action, EmployerStatus, Insurance, PayKind};

/// Looks `s` up in `table`: ASCII letters case-insensitively, everything
/// else (Chinese labels, numeric codes) exactly — the labels and codes hold
/// no ASCII letters, so one comparison serves both. No allocation.
fn lookup<T: Copy>(s: &str, table: &[(&str, T)]) -> Option<T> {
    // Exact spellings first (a length check and a `memcmp` each): exports
    // are almost always in one canonical spelling.
    table
        .iter()
        .find(|(w, _)| *w == s)
        .or_else(|| table.iter().find(|(w, _)| w.eq_ignore_ascii_case(s)))
        .map(|&(_, v)| v)
}

pub fn parse_insurance(s: &str) -> Option<Insurance> {
    use Insurance::*;
    lookup(
        s,
        &[
            ("pension", Pension),
            ("medical", Medical),
            ("unemployment", Unemployment),
            ("injury", Injury),
            ("maternity", Maternity),
            ("110", Pension),
            ("养老", Pension),
            ("企业职工基本养老保险", Pension),
            ("210", Unemployment),
            ("失业", Unemployment),
            ("310", Medical),
            ("医疗", Medical),
            ("基本医疗保险", Medical),
            ("410", Injury),
            ("工伤", Injury),
            ("510", Maternity),
            ("生育", Maternity),
        ],
    )
}

pub fn parse_action(s: &str) -> Option<Action> {
    use Action::*;
    lookup(
        s,
        &[
            ("increase", Increase),
            ("decrease", Decrease),
            ("adjust", Adjust),
            ("增员", Increase),
            ("减员", Decrease),
            ("基数调整", Adjust),
        ],
    )
}

pub fn parse_status(s: &str) -> Option<EmployerStatus> {
    use EmployerStatus::*;
    lookup(
        s,
        &[
            ("active", Active),
            ("suspended", Suspended),
            ("bankrupt", Bankrupt),
            ("dissolved", Dissolved),
            ("cancelled", Cancelled),
            ("正常", Active),
            ("暂停", Suspended),
            ("破产", Bankrupt),
            ("解散", Dissolved),
            ("注销", Cancelled),
        ],
    )
}

/// Payment kind; AAA115 codes 10 (normal), 20 (refund), 31–35 (make-up).
pub fn parse_kind(s: &str) -> Option<PayKind> {
    use PayKind::*;
    lookup(
        s,
        &[
            ("normal", Normal),
            ("makeup", Makeup),
            ("refund", Refund),
            ("正常", Normal),
            ("10", Normal),
            ("补缴", Makeup),
            ("31", Makeup),
            ("32", Makeup),
            ("33", Makeup),
            ("34", Makeup),
            ("35", Makeup),
            ("退费", Refund),
            ("退收", Refund),
            ("20", Refund),
        ],
    )
}

/// `yes`/`no` (是/否).
pub fn parse_yes_no(s: &str) -> Option<bool> {
    lookup(
        s,
        &[("yes", true), ("no", false), ("是", true), ("否", false)],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insurance_by_name_label_and_code() {
        for s in [
            "pension",
            "PENSION",
            "Pension",
            "110",
            "养老",
            "企业职工基本养老保险",
        ] {
            assert_eq!(parse_insurance(s), Some(Insurance::Pension), "{s}");
        }
        for s in ["medical", "310", "医疗", "基本医疗保险"] {
            assert_eq!(parse_insurance(s), Some(Insurance::Medical), "{s}");
        }
        assert_eq!(parse_insurance("510"), Some(Insurance::Maternity));
        assert_eq!(parse_insurance("工伤"), Some(Insurance::Injury));
        assert_eq!(parse_insurance("失业"), Some(Insurance::Unemployment));
        for s in ["", "111", "health", "养老保险", "０110"] {
            assert_eq!(parse_insurance(s), None, "{s}");
        }
    }

    #[test]
    fn actions_statuses_kinds() {
        assert_eq!(parse_action("减员"), Some(Action::Decrease));
        assert_eq!(parse_action("INCREASE"), Some(Action::Increase));
        assert_eq!(parse_action("基数调整"), Some(Action::Adjust));
        assert_eq!(parse_action("resume"), None);
        assert_eq!(parse_status("破产"), Some(EmployerStatus::Bankrupt));
        assert_eq!(parse_status("Cancelled"), Some(EmployerStatus::Cancelled));
        assert_eq!(parse_status("closed"), None);
        for c in ["31", "32", "33", "34", "35", "补缴", "makeup"] {
            assert_eq!(parse_kind(c), Some(PayKind::Makeup), "{c}");
        }
        assert_eq!(parse_kind("30"), None);
        assert_eq!(parse_kind("36"), None);
        assert_eq!(parse_kind("退收"), Some(PayKind::Refund));
        assert_eq!(parse_kind("20"), Some(PayKind::Refund));
        assert_eq!(parse_kind("10"), Some(PayKind::Normal));
        assert_eq!(parse_yes_no("是"), Some(true));
        assert_eq!(parse_yes_no("NO"), Some(false));
        assert_eq!(parse_yes_no("y"), None);
    }
}
