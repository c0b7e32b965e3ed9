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

/// Small words inside Dutch surnames: `Sanne de Vries`, `Jan van der Berg`.
const NAME_PARTICLES: [&str; 12] = [
    "de", "van", "der", "den", "het", "ten", "ter", "te", "'t", "la", "le", "el",
];

/// Capitalised words that start many phrases before a date but never a person's name.
const NOT_NAMES: [&str; 40] = [
    "gemeente",
    "stichting",
    "school",
    "overleg",
    "vergadering",
    "bijeenkomst",
    "jeugdregio",
    "samenwerkingsverband",
    "cyclus",
    "evaluatie",
    "peildatum",
    "datum",
    "op",
    "per",
    "vanaf",
    "tot",
    "sinds",
    "na",
    "voor",
    "van",
    "maandag",
    "dinsdag",
    "woensdag",
    "donderdag",
    "vrijdag",
    "zaterdag",
    "zondag",
    "week",
    "ronde",
    "versie",
    "besluit",
    "brief",
    "rapport",
    "afspraak",
    "start",
    "einde",
    "deadline",
    "gesprek",
    "sessie",
    "werksessie",
];

/// The character offset of a person's name written right before a date, the way a date of
/// birth is written beside a name without the word `geboren`: `Sanne de Vries (12-03-2011)`,
/// `Noor Bakker, 3 mei 2010`. A name is two or more words, capitalised but for particles such as
/// `de` or `van`; phrases such as `Gemeente Havenstad` or `Overleg Jeugd` are not names.
pub fn find_name_with_date(text: &str) -> Option<usize> {
    for (at, c) in text.char_indices() {
        if !c.is_ascii_digit() || text[..at].ends_with(|p: char| p.is_ascii_digit()) {
            continue;
        }
        let Some(len) = date_at_start(&text[at..]) else {
            continue;
        };
        // Nobody is born in the future: a name beside a date after this year is a deadline,
        // a meeting or a target (`Jeugdhulp De Brug 2027-03-31`), not a date of birth.
        if year_of(&text[at..at + len]).is_some_and(|year| year > this_year()) {
            continue;
        }
        let before = text[..at].trim_end_matches([' ', '(', ',', ':', '-', '\u{a0}']);
        if before.len() == text[..at].len() {
            continue;
        }
        let mut start = None;
        let mut words = 0;
        let mut rest = before;
        while words < 4 {
            let word_start = rest
                .rfind(|c: char| !(c.is_alphabetic() || c == '\'' || c == '-'))
                .map_or(0, |i| {
                    i + rest[i..].chars().next().map_or(1, char::len_utf8)
                });
            let word = &rest[word_start..];
            if word.is_empty() {
                break;
            }
            let lower = word.to_lowercase();
            let capitalised = word.chars().next().is_some_and(char::is_uppercase)
                && word.chars().skip(1).all(|c| !c.is_uppercase() || c == '-');
            if NOT_NAMES.contains(&lower.as_str()) && capitalised {
                start = None;
                break;
            }
            if capitalised {
                words += 1;
                start = Some(word_start);
            } else if !(NAME_PARTICLES.contains(&lower.as_str()) && words > 0) {
                break;
            }
            match rest[..word_start].strip_suffix(' ') {
                Some(r) => rest = r,
                None => break,
            }
        }
        if words >= 2
            && let Some(s) = start
        {
            return Some(text[..s].chars().count());
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

/// The four-digit year in a date that [`date_at_start`] matched.
fn year_of(date: &str) -> Option<i16> {
    date.split(|c: char| !c.is_ascii_digit())
        .find(|run| run.len() == 4)?
        .parse()
        .ok()
}

/// The current calendar year, by the system clock.
fn this_year() -> i16 {
    crate::time::Timestamp::from_system(std::time::SystemTime::now())
        .year()
        .unwrap_or(i16::MAX)
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
