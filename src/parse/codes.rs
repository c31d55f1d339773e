//! Coded values: English code words case-insensitively, Chinese labels and
//! numeric codes exactly (SPEC §2, §7).

use crate::model::{Action, EmployerStatus, Insurance, PayKind};

pub fn parse_insurance(s: &str) -> Option<Insurance> {
    Some(match s {
        "110" | "养老" | "企业职工基本养老保险" => Insurance::Pension,
        "210" | "失业" => Insurance::Unemployment,
        "310" | "医疗" | "基本医疗保险" => Insurance::Medical,
        "410" | "工伤" => Insurance::Injury,
        "510" | "生育" => Insurance::Maternity,
        _ => match s.to_ascii_lowercase().as_str() {
            "pension" => Insurance::Pension,
            "unemployment" => Insurance::Unemployment,
            "medical" => Insurance::Medical,
            "injury" => Insurance::Injury,
            "maternity" => Insurance::Maternity,
            _ => return None,
        },
    })
}

pub fn parse_action(s: &str) -> Option<Action> {
    Some(match s {
        "增员" => Action::Increase,
        "减员" => Action::Decrease,
        "基数调整" => Action::Adjust,
        _ => match s.to_ascii_lowercase().as_str() {
            "increase" => Action::Increase,
            "decrease" => Action::Decrease,
            "adjust" => Action::Adjust,
            _ => return None,
        },
    })
}

pub fn parse_status(s: &str) -> Option<EmployerStatus> {
    Some(match s {
        "正常" => EmployerStatus::Active,
        "暂停" => EmployerStatus::Suspended,
        "破产" => EmployerStatus::Bankrupt,
        "解散" => EmployerStatus::Dissolved,
        "注销" => EmployerStatus::Cancelled,
        _ => match s.to_ascii_lowercase().as_str() {
            "active" => EmployerStatus::Active,
            "suspended" => EmployerStatus::Suspended,
            "bankrupt" => EmployerStatus::Bankrupt,
            "dissolved" => EmployerStatus::Dissolved,
            "cancelled" => EmployerStatus::Cancelled,
            _ => return None,
        },
    })
}

/// Payment kind; AAA115 codes 10 (normal), 20 (refund), 31–35 (make-up).
pub fn parse_kind(s: &str) -> Option<PayKind> {
    Some(match s {
        "正常" | "10" => PayKind::Normal,
        "补缴" | "31" | "32" | "33" | "34" | "35" => PayKind::Makeup,
        "退费" | "退收" | "20" => PayKind::Refund,
        _ => match s.to_ascii_lowercase().as_str() {
            "normal" => PayKind::Normal,
            "makeup" => PayKind::Makeup,
            "refund" => PayKind::Refund,
            _ => return None,
        },
    })
}

/// `yes`/`no` (是/否).
pub fn parse_yes_no(s: &str) -> Option<bool> {
    match s {
        "是" => Some(true),
        "否" => Some(false),
        _ => match s.to_ascii_lowercase().as_str() {
            "yes" => Some(true),
            "no" => Some(false),
            _ => None,
        },
    }
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
