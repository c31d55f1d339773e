//! Byte-level formatting for the generator: money from integer cents,
//! rates from integer units of 1/10000, months and dates, plus the
//! identity material (citizen ID numbers, credit codes, names).
//!
//! Nothing here goes through floating point or `fmt`: rows are appended to
//! a `Vec<u8>` with `itoa` and hand-written digit code.

use super::rng::Rng;

/// Appends `v` in decimal.
#[inline]
pub fn push_u64(b: &mut Vec<u8>, v: u64) {
    let mut ib = itoa::Buffer::new();
    b.extend_from_slice(ib.format(v).as_bytes());
}

/// Appends an amount of cents as yuan with exactly two decimals.
#[inline]
pub fn push_cents(b: &mut Vec<u8>, cents: i64) {
    if cents < 0 {
        b.push(b'-');
    }
    let v = cents.unsigned_abs();
    push_u64(b, v / 100);
    let f = (v % 100) as u8;
    b.extend_from_slice(&[b'.', b'0' + f / 10, b'0' + f % 10]);
}

/// Appends a rate held in units of 1/10000 as a short decimal: `0`, `0.2`,
/// `0.068`, `0.0075`.
pub fn push_rate(b: &mut Vec<u8>, r: u32) {
    push_u64(b, u64::from(r / 10_000));
    let mut frac = r % 10_000;
    if frac == 0 {
        return;
    }
    b.push(b'.');
    let mut digits = [0u8; 4];
    for d in digits.iter_mut().rev() {
        *d = b'0' + (frac % 10) as u8;
        frac /= 10;
    }
    let len = 4 - digits.iter().rev().take_while(|&&d| d == b'0').count();
    b.extend_from_slice(&digits[..len]);
}

#[inline]
fn push_2(b: &mut Vec<u8>, v: u32) {
    b.extend_from_slice(&[b'0' + (v / 10 % 10) as u8, b'0' + (v % 10) as u8]);
}

#[inline]
fn push_4(b: &mut Vec<u8>, v: u32) {
    b.extend_from_slice(&[
        b'0' + (v / 1000 % 10) as u8,
        b'0' + (v / 100 % 10) as u8,
        b'0' + (v / 10 % 10) as u8,
        b'0' + (v % 10) as u8,
    ]);
}

/// Appends the month index `m` (`year*12 + month-1`) as `YYYY-MM`.
#[inline]
pub fn push_period(b: &mut Vec<u8>, m: u32) {
    push_4(b, m / 12);
    b.push(b'-');
    push_2(b, m % 12 + 1);
}

/// Appends day `day` (1..=28) of month index `m` as `YYYY-MM-DD`.
#[inline]
pub fn push_date(b: &mut Vec<u8>, m: u32, day: u32) {
    push_period(b, m);
    b.push(b'-');
    push_2(b, day);
}

const ID_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const ID_CHECK: [u8; 11] = *b"10X98765432";

/// The GB 11643 (ISO 7064 MOD 11-2) check character of 17 digits.
pub fn id_check_char(first17: &[u8]) -> u8 {
    let sum: u32 = first17
        .iter()
        .zip(ID_WEIGHTS)
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    ID_CHECK[(sum % 11) as usize]
}

/// GB 32100 code characters (no I, O, S, V, Z) and weights.
pub const CC_CHARS: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
const CC_WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

fn cc_value(c: u8) -> u32 {
    CC_CHARS.iter().position(|&x| x == c).unwrap_or(0) as u32
}

/// The GB 32100 check character of the first 17 characters.
pub fn credit_check_char(first17: &[u8]) -> u8 {
    let sum: u32 = first17
        .iter()
        .zip(CC_WEIGHTS)
        .map(|(&c, w)| cc_value(c) * w)
        .sum();
    CC_CHARS[((31 - sum % 31) % 31) as usize]
}

/// A valid 18-character unified social credit code for an enterprise
/// (`91`) registered in `region`, with a GB 11714 organisation code inside.
pub fn credit_code(rng: &mut Rng, region: &[u8; 6]) -> [u8; 18] {
    let mut c = [0u8; 18];
    c[0] = b'9';
    c[1] = b'1';
    c[2..8].copy_from_slice(region);
    // Organisation code body: 8 characters (digits mostly, some letters).
    const ORG_WEIGHTS: [u32; 8] = [3, 7, 9, 10, 5, 8, 4, 2];
    let mut sum = 0u32;
    for (k, w) in ORG_WEIGHTS.iter().enumerate() {
        let ch = if rng.ppm(800_000) {
            b'0' + rng.below(10) as u8
        } else {
            CC_CHARS[10 + rng.below(21) as usize]
        };
        let v = if ch.is_ascii_digit() {
            u32::from(ch - b'0')
        } else {
            u32::from(ch - b'A') + 10
        };
        sum += v * w;
        c[8 + k] = ch;
    }
    c[16] = match 11 - sum % 11 {
        10 => b'X',
        11 => b'0',
        d => b'0' + d as u8,
    };
    c[17] = credit_check_char(&c[..17]);
    c
}

/// The calendar date `day_offset` days after January 1st of `base_year`.
pub fn birth_date(base_year: u32, day_offset: u32) -> (u32, u32, u32) {
    use chrono::Datelike;
    let base =
        chrono::NaiveDate::from_ymd_opt(base_year as i32, 1, 1).unwrap_or(chrono::NaiveDate::MIN);
    let d = base + chrono::Days::new(u64::from(day_offset));
    (d.year() as u32, d.month(), d.day())
}

/// The 18-character citizen ID number for an area code, birth date and
/// 3-digit sequence number.
pub fn id_number_18(area: &[u8; 6], (y, m, d): (u32, u32, u32), seq: u32) -> [u8; 18] {
    let mut n = [0u8; 18];
    n[..6].copy_from_slice(area);
    let mut tmp = Vec::with_capacity(11);
    push_4(&mut tmp, y);
    push_2(&mut tmp, m);
    push_2(&mut tmp, d);
    tmp.extend_from_slice(&[
        b'0' + (seq / 100 % 10) as u8,
        b'0' + (seq / 10 % 10) as u8,
        b'0' + (seq % 10) as u8,
    ]);
    n[6..17].copy_from_slice(&tmp);
    n[17] = id_check_char(&n[..17]);
    n
}

/// The legacy 15-digit form of an 18-character number of someone born in
/// the 1900s: the century digits and the check character dropped.
pub fn id_number_15(n18: &[u8; 18]) -> [u8; 15] {
    let mut n = [0u8; 15];
    n[..6].copy_from_slice(&n18[..6]);
    n[6..15].copy_from_slice(&n18[8..17]);
    n
}

/// Regions employers and persons are registered in: 6-digit area code and
/// city name. Index 1 and 2 have their own rate rows (see `rates`).
pub const REGIONS: [(&[u8; 6], &str); 15] = [
    (b"110105", "北京"),
    (b"440305", "深圳"),
    (b"310101", "上海"),
    (b"110101", "北京"),
    (b"310115", "上海"),
    (b"440106", "广州"),
    (b"330106", "杭州"),
    (b"320102", "南京"),
    (b"510107", "成都"),
    (b"420106", "武汉"),
    (b"350102", "福州"),
    (b"230103", "哈尔滨"),
    (b"610113", "西安"),
    (b"370102", "济南"),
    (b"500103", "重庆"),
];

/// Birthplace area codes of persons (county level, all over China).
pub const BIRTH_AREAS: [&[u8; 6]; 24] = [
    b"110105", b"110101", b"310101", b"310115", b"440305", b"440106", b"330106", b"320102",
    b"510107", b"420106", b"350102", b"230103", b"610113", b"370102", b"500103", b"411302",
    b"430102", b"450103", b"520102", b"130104", b"140105", b"210102", b"360102", b"341602",
];

const SURNAMES: [&str; 60] = [
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "高", "林", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹", "彭", "曾",
    "肖", "田", "董", "袁", "潘", "于", "蒋", "蔡", "余", "杜", "叶", "程", "苏", "魏", "吕", "丁",
    "任", "沈", "姚", "卢", "姜", "崔", "钟", "谭", "陆", "汪", "范", "欧阳",
];

const GIVEN: [&str; 64] = [
    "伟", "芳", "娜", "秀", "英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟",
    "涛", "明", "超", "兰", "霞", "平", "刚", "桂", "华", "建", "国", "玉", "文", "辉", "鑫", "宇",
    "浩", "然", "轩", "欣", "怡", "涵", "诺", "桐", "思", "远", "博", "俊", "晓", "东", "海", "燕",
    "丹", "红", "梅", "志", "立", "新", "佳", "琪", "子", "晨", "雪", "凯", "鹏", "飞", "婷", "阳",
];

/// A Chinese personal name: surname and one or two given characters.
pub fn person_name(rng: &mut Rng, out: &mut String) {
    out.clear();
    out.push_str(rng.pick(&SURNAMES));
    out.push_str(rng.pick(&GIVEN));
    if rng.ppm(700_000) {
        out.push_str(rng.pick(&GIVEN));
    }
}

const BRANDS: [&str; 32] = [
    "华信", "宏达", "润达", "瑞丰", "天诚", "星河", "恒通", "鼎盛", "永安", "金桥", "博远", "中科",
    "新华", "东方", "海川", "远航", "嘉禾", "锦程", "安泰", "同创", "汇丰", "万达", "长城", "银河",
    "德信", "广源", "盛世", "九州", "创新", "联合", "蓝海", "明珠",
];

const TRADES: [&str; 16] = [
    "科技", "制造", "物流", "传媒", "商贸", "建设", "餐饮", "医药", "电子", "纺织", "建材", "咨询",
    "软件", "机械", "食品", "物业",
];

const FORMS: [&str; 4] = ["有限公司", "有限公司", "股份有限公司", "有限责任公司"];

/// An employer name such as `深圳润达传媒有限公司`.
pub fn employer_name(rng: &mut Rng, city: &str) -> String {
    let mut s = String::with_capacity(32);
    s.push_str(city);
    s.push_str(rng.pick(&BRANDS));
    s.push_str(rng.pick(&TRADES));
    s.push_str(rng.pick(&FORMS));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(b: &[u8]) -> &str {
        std::str::from_utf8(b).unwrap()
    }

    #[test]
    fn money_and_rates() {
        let mut b = Vec::new();
        for (c, want) in [
            (0, "0.00"),
            (5, "0.05"),
            (123456, "1234.56"),
            (-250, "-2.50"),
            (100, "1.00"),
        ] {
            b.clear();
            push_cents(&mut b, c);
            assert_eq!(s(&b), want);
        }
        for (r, want) in [
            (0, "0"),
            (2000, "0.2"),
            (680, "0.068"),
            (50, "0.005"),
            (75, "0.0075"),
            (10_000, "1"),
        ] {
            b.clear();
            push_rate(&mut b, r);
            assert_eq!(s(&b), want);
        }
    }

    #[test]
    fn months_and_dates() {
        let mut b = Vec::new();
        push_period(&mut b, 2026 * 12 + 9);
        b.push(b' ');
        push_date(&mut b, 2019 * 12, 5);
        assert_eq!(s(&b), "2026-10 2019-01-05");
    }

    #[test]
    fn id_numbers_pass_the_engine_checks() {
        let n = id_number_18(b"110105", (1949, 12, 31), 2);
        assert_eq!(s(&n), "11010519491231002X");
        assert!(crate::parse::normalize_id_number(s(&n)).valid);
        let old = id_number_15(&n);
        assert_eq!(s(&old), "110105491231002");
        let c = crate::parse::normalize_id_number(s(&old));
        assert!(c.valid);
        assert_eq!(c.normalized, s(&n));
        for off in [0, 59, 365 * 20 + 5, 16_000] {
            let d = birth_date(1960, off);
            let n = id_number_18(b"440305", d, 417);
            assert!(crate::parse::normalize_id_number(s(&n)).valid, "{}", s(&n));
        }
    }

    #[test]
    fn credit_codes_pass_the_engine_check() {
        let mut rng = Rng::new(3);
        for _ in 0..1000 {
            let c = credit_code(&mut rng, b"440305");
            assert!(crate::parse::credit_code_valid(s(&c)), "{}", s(&c));
        }
        assert_eq!(credit_check_char(b"91350100M000100Y4"), b'3');
    }
}
