//! Header matching: which file column holds which SPEC column.
//!
//! Each kind has a fixed column table (canonical name, Chinese labels,
//! indicator codes). Header cells are trimmed, stripped of a BOM and matched
//! case-insensitively; the first cell that maps to a column wins; unknown
//! cells are ignored. A missing required column is fatal.

use crate::config::InputKind;
use crate::error::{Error, Result};
use crate::parse::trim;

/// One SPEC column: canonical name, aliases, required.
pub struct ColumnDef {
    pub name: &'static str,
    pub aliases: &'static [&'static str],
    pub required: bool,
}

const fn col(name: &'static str, aliases: &'static [&'static str], required: bool) -> ColumnDef {
    ColumnDef {
        name,
        aliases,
        required,
    }
}

pub mod employers {
    pub const ID: usize = 0;
    pub const NAME: usize = 1;
    pub const CREDIT_CODE: usize = 2;
    pub const STATUS: usize = 3;
    pub const STATUS_DATE: usize = 4;
    pub const REGION: usize = 5;
    pub const ARCHIVE: usize = 6;
}
pub mod events {
    pub const ID: usize = 0;
    pub const PERSON: usize = 1;
    pub const ID_NUMBER: usize = 2;
    pub const NAME: usize = 3;
    pub const EMPLOYER: usize = 4;
    pub const INSURANCE: usize = 5;
    pub const ACTION: usize = 6;
    pub const PERIOD: usize = 7;
    pub const BASE: usize = 8;
    pub const REASON: usize = 9;
}
pub mod payments {
    pub const ID: usize = 0;
    pub const PERSON: usize = 1;
    pub const EMPLOYER: usize = 2;
    pub const INSURANCE: usize = 3;
    pub const PERIOD: usize = 4;
    pub const BASE: usize = 5;
    pub const EMPLOYER_AMOUNT: usize = 6;
    pub const INDIVIDUAL_AMOUNT: usize = 7;
    pub const PAID_ON: usize = 8;
    pub const KIND: usize = 9;
}
pub mod rates {
    pub const REGION: usize = 0;
    pub const INSURANCE: usize = 1;
    pub const FROM: usize = 2;
    pub const TO: usize = 3;
    pub const EMPLOYER_RATE: usize = 4;
    pub const INDIVIDUAL_RATE: usize = 5;
    pub const FLOOR: usize = 6;
    pub const CEILING: usize = 7;
}

static EMPLOYERS: [ColumnDef; 7] = [
    col("employer_id", &["单位编号", "AAB001"], true),
    col("name", &["单位名称", "AAB004"], false),
    col("credit_code", &["统一社会信用代码", "AAB998"], false),
    col("status", &["单位状态", "单位参保状态"], true),
    col("status_date", &["状态日期", "变更日期"], false),
    col("region", &["行政区划", "AAB301"], false),
    col("archive_transferred", &["档案移交", "档案是否移交"], false),
];

static EVENTS: [ColumnDef; 10] = [
    col("event_id", &["业务流水号"], false),
    col("person_id", &["个人编号", "AAC001"], true),
    col("id_number", &["公民身份号码", "身份证号", "AAC002"], false),
    col("name", &["姓名", "AAC003"], false),
    col("employer_id", &["单位编号", "AAB001"], false),
    col("insurance", &["险种", "险种类型", "AAE140"], true),
    col("action", &["变动类型", "增减员类型"], true),
    col("period", &["变动年月", "生效年月", "开始年月"], true),
    col("base", &["缴费基数", "AAE180"], false),
    col("reason", &["变动原因", "AAE160"], false),
];

static PAYMENTS: [ColumnDef; 10] = [
    col("payment_id", &["缴费流水号", "流水号"], false),
    col("person_id", &["个人编号", "AAC001"], true),
    col("employer_id", &["单位编号", "AAB001"], false),
    col("insurance", &["险种", "AAE140"], true),
    col("period", &["费款所属期", "对应费款所属期", "AAE003"], true),
    col("base", &["缴费基数", "AAE180"], false),
    col("employer_amount", &["单位缴费", "单位缴纳金额"], true),
    col("individual_amount", &["个人缴费", "个人缴纳金额"], true),
    col("paid_on", &["到账日期", "缴费日期"], false),
    col("kind", &["缴费类型", "AAA115"], false),
];

static RATES: [ColumnDef; 8] = [
    col("region", &[], true),
    col("insurance", &[], true),
    col("from", &[], true),
    col("to", &[], false),
    col("employer_rate", &[], true),
    col("individual_rate", &[], true),
    col("base_floor", &[], false),
    col("base_ceiling", &[], false),
];

/// The column table of a kind.
pub fn columns(kind: InputKind) -> &'static [ColumnDef] {
    match kind {
        InputKind::Employers => &EMPLOYERS,
        InputKind::Events => &EVENTS,
        InputKind::Payments => &PAYMENTS,
        InputKind::Rates => &RATES,
    }
}

/// Where each SPEC column sits in one file's records.
#[derive(Debug, Clone)]
pub struct ColumnMap {
    /// Indexed like [`columns`]: the file field index, if present.
    pub idx: Vec<Option<usize>>,
    /// Number of header cells (every record must have as many fields).
    pub width: usize,
}

impl ColumnMap {
    /// The trimmed value of column `c` in `fields` ("" when absent).
    #[inline]
    pub fn get<'a>(&self, fields: &[&'a str], c: usize) -> &'a str {
        match self.idx[c] {
            Some(i) => trim(fields[i]),
            None => "",
        }
    }
}

/// Maps header cells to the kind's columns.
pub fn map_header(kind: InputKind, cells: &[&str], file: &str) -> Result<ColumnMap> {
    let defs = columns(kind);
    let mut idx = vec![None; defs.len()];
    for (i, cell) in cells.iter().enumerate() {
        let cell = trim(cell).to_lowercase();
        let hit = defs
            .iter()
            .position(|d| d.name == cell || d.aliases.iter().any(|a| a.to_lowercase() == cell));
        if let Some(c) = hit {
            if idx[c].is_none() {
                idx[c] = Some(i);
            }
        }
    }
    for (c, d) in defs.iter().enumerate() {
        if d.required && idx[c].is_none() {
            return Err(Error::MissingColumn {
                file: file.to_string(),
                line: 1,
                column: d.name,
            });
        }
    }
    Ok(ColumnMap {
        idx,
        width: cells.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_names_labels_codes_case_insensitively() {
        let cells = [
            "\u{feff}流水号",
            " AAC001 ",
            "aab001",
            "险种",
            "AAE002",
            "aae003",
            "单位缴纳金额",
            "个人缴费",
            "备注",
        ];
        let m = map_header(InputKind::Payments, &cells, "p.csv").unwrap();
        assert_eq!(m.idx[payments::ID], Some(0));
        assert_eq!(m.idx[payments::PERSON], Some(1));
        assert_eq!(m.idx[payments::EMPLOYER], Some(2));
        assert_eq!(
            m.idx[payments::PERIOD],
            Some(5),
            "AAE002 is the posting period, not the period"
        );
        assert_eq!(m.idx[payments::KIND], None);
        assert_eq!(m.width, 9);
    }

    #[test]
    fn first_cell_wins_and_missing_required_is_fatal() {
        let m = map_header(
            InputKind::Employers,
            &["employer_id", "AAB001", "status"],
            "e.csv",
        )
        .unwrap();
        assert_eq!(m.idx[employers::ID], Some(0));
        let e = map_header(InputKind::Employers, &["employer_id", "name"], "e.csv").unwrap_err();
        assert_eq!(
            e.to_string(),
            "e.csv: line 1: required column 'status' is missing from the header"
        );
    }

    #[test]
    fn rates_take_canonical_names_only() {
        assert!(map_header(
            InputKind::Rates,
            &[
                "REGION",
                "insurance",
                "from",
                "employer_rate",
                "individual_rate"
            ],
            "r.csv"
        )
        .is_ok());
        assert!(map_header(
            InputKind::Rates,
            &["region", "险种", "from", "employer_rate", "individual_rate"],
            "r.csv"
        )
        .is_err());
    }
}
