//! The elfproef (eleven test) for citizen service numbers, and finding such numbers in free text.

/// Characters that may separate groups of digits inside one written number: `123 456 782`,
/// `1234.56.782`, `123-456-782`.
const SEPARATORS: [char; 4] = [' ', '.', '-', '\u{a0}'];

/// Whether `digits` (8 or 9 ASCII digits; 8 are read with a leading 0) pass the elfproef:
/// 9*d1 + 8*d2 + ... + 2*d8 - 1*d9 is divisible by 11. All zeros is not a valid number.
pub fn is_valid_bsn(digits: &str) -> bool {
    let bytes = digits.as_bytes();
    if !(8..=9).contains(&bytes.len()) || !bytes.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let mut padded = [0i64; 9];
    let offset = 9 - bytes.len();
    for (i, b) in bytes.iter().enumerate() {
        padded[offset + i] = i64::from(b - b'0');
    }
    if padded.iter().all(|d| *d == 0) {
        return false;
    }
    let sum: i64 = padded[..8]
        .iter()
        .zip((2..=9).rev())
        .map(|(d, w)| d * w)
        .sum::<i64>()
        - padded[8];
    sum % 11 == 0
}

/// The character offset of the first number in `text` that could be a BSN, if any.
///
/// A written number is a run of digit groups joined by single separators (space, dot, dash).
/// Every stretch of whole, consecutive groups with 9 digits in total is tested, so
/// `BSN 123 456 782` and `nr. 1234.56.782` are found, while a 10-digit number is not a BSN.
/// Numbers with another known shape are left alone: a stretch that reads as a calendar date
/// (`12-03-2011`), an amount (after `€` or `EUR`, or before `euro`), a phone number (10 digits
/// starting with 0, or an international number after `+`), and 8 digits (the shape of
/// registration numbers such as those of the Chamber of Commerce) unless a word such as `BSN`
/// or `burgerservicenummer` announces them.
pub fn find_bsn(text: &str) -> Option<usize> {
    let chars: Vec<char> = text.chars().collect();
    for run in digit_runs(text) {
        let Some(first) = run.first() else { continue };
        let last = &run[run.len() - 1];
        let end = last.offset + last.digits.len();
        if is_amount(&chars, first.offset, end) || is_phone(&chars, &run) {
            continue;
        }
        let announced = is_announced(&chars, first.offset);
        for start in 0..run.len() {
            let mut digits = String::new();
            for end in start..run.len() {
                digits.push_str(run[end].digits);
                if digits.len() > 9 {
                    break;
                }
                let long_enough = digits.len() == 9 || (digits.len() == 8 && announced);
                if long_enough && !is_date_groups(&run[start..=end]) && is_valid_bsn(&digits) {
                    return Some(run[start].offset);
                }
            }
        }
    }
    None
}

/// The lowercase letters (and `€`, `+`) just before character `at`, up to `n` of them,
/// skipping spaces and punctuation other than those.
fn before(chars: &[char], at: usize, n: usize) -> String {
    let mut out: Vec<char> = Vec::new();
    for c in chars[..at].iter().rev() {
        if out.len() >= n {
            break;
        }
        if c.is_alphabetic() || matches!(c, '€' | '+') {
            out.push(c.to_lowercase().next().unwrap_or(*c));
        } else if c.is_ascii_digit() {
            break;
        } else if !out.is_empty() && c.is_whitespace() {
            out.push(' ');
        }
    }
    out.into_iter().rev().collect()
}

/// Whether the number from `start` to `end` (character offsets) is an amount of money.
fn is_amount(chars: &[char], start: usize, end: usize) -> bool {
    let prefix = before(chars, start, 4);
    if prefix.ends_with('€') || prefix.ends_with("eur") {
        return true;
    }
    let after: String = chars[end.min(chars.len())..]
        .iter()
        .skip_while(|c| matches!(c, ' ' | '\u{a0}'))
        .take(4)
        .flat_map(|c| c.to_lowercase())
        .collect();
    after.starts_with("euro") || after.starts_with("eur") || after.starts_with('€')
}

/// Whether a run of digit groups is a phone number: international (after `+`, or starting
/// with 00), or 10 digits starting with 0 (`06-12345678`, `020 123 4567`).
fn is_phone(chars: &[char], run: &[Group<'_>]) -> bool {
    let digits: usize = run.iter().map(|g| g.digits.len()).sum();
    let first = run[0].digits;
    let previous = |n: usize| {
        run[0]
            .offset
            .checked_sub(n)
            .and_then(|i| chars.get(i).copied())
    };
    let plus = previous(1) == Some('+');
    // `+31 (0)20 123 4567`: the part after the trunk prefix in brackets.
    let after_trunk =
        previous(1) == Some(')') || (previous(1) == Some(' ') && previous(2) == Some(')'));
    plus || after_trunk
        || (first.starts_with("00") && digits >= 11)
        || (first.starts_with('0') && digits == 10)
}

/// Whether a word that names a BSN stands shortly before character `at`.
fn is_announced(chars: &[char], at: usize) -> bool {
    let prefix = before(chars, at, 24);
    ["bsn", "burgerservicenummer", "sofinummer", "sofi"]
        .iter()
        .any(|w| prefix.contains(w))
}

/// One group of consecutive digits and the character offset where it starts.
struct Group<'t> {
    digits: &'t str,
    offset: usize,
}

/// Splits `text` into runs of digit groups joined by exactly one separator character.
fn digit_runs(text: &str) -> Vec<Vec<Group<'_>>> {
    let mut runs: Vec<Vec<Group<'_>>> = Vec::new();
    let mut current: Vec<Group<'_>> = Vec::new();
    let mut chars = text.char_indices().enumerate().peekable();
    // Whether the last character closed a group and was followed by one separator.
    let mut after_separator = false;
    while let Some((pos, (byte, c))) = chars.next() {
        if c.is_ascii_digit() {
            let mut end = byte + 1;
            while let Some((_, (b, d))) = chars.peek() {
                if d.is_ascii_digit() {
                    end = b + 1;
                    chars.next();
                } else {
                    break;
                }
            }
            if !after_separator && !current.is_empty() {
                runs.push(std::mem::take(&mut current));
            }
            current.push(Group {
                digits: &text[byte..end],
                offset: pos,
            });
            after_separator = false;
            if let Some((_, (_, s))) = chars.peek()
                && SEPARATORS.contains(s)
            {
                chars.next();
                after_separator = matches!(chars.peek(), Some((_, (_, d))) if d.is_ascii_digit());
            }
        } else {
            after_separator = false;
            if !current.is_empty() {
                runs.push(std::mem::take(&mut current));
            }
        }
    }
    if !current.is_empty() {
        runs.push(current);
    }
    runs
}

/// Whether three groups read as a date: day-month-year or year-month-day.
fn is_date_groups(groups: &[Group<'_>]) -> bool {
    let [a, b, c] = groups else { return false };
    let n = |g: &Group<'_>| g.digits.parse::<i16>().ok();
    let (day, month, year) = match (a.digits.len(), b.digits.len(), c.digits.len()) {
        (1..=2, 1..=2, 4) => (n(a), n(b), n(c)),
        (4, 1..=2, 1..=2) => (n(c), n(b), n(a)),
        _ => return false,
    };
    match (day, month, year) {
        (Some(d), Some(m), Some(y)) => i8::try_from(d)
            .is_ok_and(|d| i8::try_from(m).is_ok_and(|m| jiff::civil::Date::new(y, m, d).is_ok())),
        _ => false,
    }
}
