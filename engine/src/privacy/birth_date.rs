//! Dates of birth: column titles and words that announce them, and dates written the Dutch way.

/// Words that announce a date of birth in free text (compared in lowercase).
const BIRTH_WORDS: [&str; 6] = [
    "geboren",
    "geb.",
    "geboortedatum",
    "geb.datum",
    "date of birth",
    "born",
];

/// Dutch month names and their usual abbreviations, January first.
const MONTHS: [&[&str]; 12] = [
    &["januari", "jan"],
    &["februari", "feb"],
    &["maart", "mrt"],
    &["april", "apr"],
    &["mei"],
    &["juni", "jun"],
    &["juli", "jul"],
    &["augustus", "aug"],
    &["september", "sep", "sept"],
    &["oktober", "okt"],
    &["november", "nov"],
    &["december", "dec"],
];

/// How far after an announcing word a date may start (in characters).
const NEAR: usize = 24;

/// Whether a column title names a person: `naam`, `voornaam`, `achternaam`, `name`, ...
pub fn is_name_title(title: &str) -> bool {
    let t = normalise(title);
    [
        "naam",
        "voornaam",
        "achternaam",
        "roepnaam",
        "name",
        "firstname",
        "lastname",
        "volledigenaam",
        "naamjongere",
        "naamkind",
    ]
    .contains(&t.as_str())
}

/// Whether a column title announces a date of birth.
pub fn is_birth_date_title(title: &str) -> bool {
    let t = normalise(title);
    [
        "geboortedatum",
        "gebdatum",
        "geboren",
        "dateofbirth",
        "dob",
        "birthdate",
    ]
    .contains(&t.as_str())
}

/// Whether `s` as a whole is a calendar date: `12-03-2011`, `12/3/2011`, `12.03.2011`,
/// `2011-03-12` or `12 maart 2011`.
pub fn looks_like_date(s: &str) -> bool {
    date_at_start(s.trim()).is_some_and(|len| len == s.trim().len())
}

/// The character offset of a date of birth in free text: a date shortly after a word such as
/// `geboren` or `geb.`.
pub fn find_birth_date(text: &str) -> Option<usize> {
    let lower = text.to_lowercase();
    for word in BIRTH_WORDS {
        for (at, _) in lower.match_indices(word) {
            let after = at + word.len();
            let window: Vec<(usize, char)> = lower[after..].char_indices().take(NEAR).collect();
            for (offset, c) in window {
                if c.is_ascii_digit() && date_at_start(&lower[after + offset..]).is_some() {
                    return Some(lower[..at].chars().count());
                }
            }
        }
    }
    None
}

/// The byte length of a date at the start of `s`, if one starts there.
fn date_at_start(s: &str) -> Option<usize> {
    let (first, rest) = split_digits(s)?;
    // 2011-03-12
    if first.len() == 4 {
        let sep = rest
            .chars()
            .next()
            .filter(|c| matches!(c, '-' | '/' | '.'))?;
        let (month, rest2) = split_digits(&rest[1..])?;
        let rest2 = rest2.strip_prefix(sep)?;
        let (day, _) = split_digits(rest2)?;
        valid(first, month, day)?;
        return Some(4 + 1 + month.len() + 1 + day.len());
    }
    if first.len() > 2 {
        return None;
    }
    // 12-03-2011, 12/3/2011, 12.03.2011
    if let Some(sep) = rest.chars().next().filter(|c| matches!(c, '-' | '/' | '.'))
        && let Some((month, rest2)) = split_digits(&rest[1..])
        && let Some(rest2) = rest2.strip_prefix(sep)
        && let Some((year, _)) = split_digits(rest2)
        && year.len() == 4
    {
        valid(year, month, first)?;
        return Some(first.len() + 1 + month.len() + 1 + 4);
    }
    // 12 maart 2011
    let words = rest.strip_prefix(' ')?;
    let name_len = words
        .find(|c: char| !c.is_alphabetic() && c != '.')
        .unwrap_or(words.len());
    let name = words[..name_len].trim_end_matches('.').to_lowercase();
    let month = MONTHS
        .iter()
        .position(|names| names.contains(&name.as_str()))?
        + 1;
    let year_part = words[name_len..].strip_prefix(' ')?;
    let (year, _) = split_digits(year_part)?;
    if year.len() != 4 {
        return None;
    }
    valid(year, &month.to_string(), first)?;
    Some(first.len() + 1 + name_len + 1 + 4)
}

fn split_digits(s: &str) -> Option<(&str, &str)> {
    let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    (end > 0).then(|| s.split_at(end))
}

fn valid(year: &str, month: &str, day: &str) -> Option<()> {
    let date = jiff::civil::Date::new(year.parse().ok()?, month.parse().ok()?, day.parse().ok()?);
    date.ok().map(|_| ())
}

/// Lowercase, without spaces, dots, dashes and underscores: `Geb. datum` becomes `gebdatum`.
fn normalise(title: &str) -> String {
    title
        .chars()
        .filter(|c| !matches!(c, ' ' | '.' | '-' | '_'))
        .flat_map(char::to_lowercase)
        .collect()
}
