//! Area codes as CBS writes them: GM0363 (municipality), WK036301 (district), BU03630101
//! (neighbourhood), NL01 (the Netherlands), region codes such as JZ12 or PV27, and the areas of
//! school partnerships (samenwerkingsverbanden passend onderwijs) as DUO writes them: PO2001 or
//! `PO 20-01` for primary, VO2001 for secondary education.

use std::fmt;

/// How far an area reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AreaLevel {
    /// The whole country (NL).
    National,
    /// A region: jeugdregio (JZ), province (PV), COROP (CR), part of the country (LD), GGD (GG),
    /// labour-market region (AM), safety region (VR) or a region of our own (RE).
    Region,
    /// A municipality (GM + 4 digits).
    Municipality,
    /// A district (WK + 6 digits: the municipality code and 2 more).
    District,
    /// A neighbourhood (BU + 8 digits: the district code and 2 more).
    Neighbourhood,
    /// The area of a school partnership (PO or VO + 4 digits); it does not nest in the others.
    Partnership,
}

impl AreaLevel {
    /// The Dutch word for the level.
    pub fn label(self) -> &'static str {
        match self {
            AreaLevel::National => "land",
            AreaLevel::Region => "regio",
            AreaLevel::Municipality => "gemeente",
            AreaLevel::District => "wijk",
            AreaLevel::Neighbourhood => "buurt",
            AreaLevel::Partnership => "samenwerkingsverband",
        }
    }
}

/// Region prefixes we accept, with 2 to 4 digits after them.
const REGION_PREFIXES: [&[u8; 2]; 8] = [b"JZ", b"PV", b"CR", b"LD", b"GG", b"AM", b"VR", b"RE"];

/// A checked, uppercase area code. Small and `Copy`: it is stored inline.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct AreaCode {
    bytes: [u8; 10],
    len: u8,
}

impl AreaCode {
    /// The code as one number that orders as the bytes and then the length do: the bytes after
    /// the code are zero, so comparing it is comparing the codes, in one step instead of a
    /// call to compare memory (protection sorts and searches cells by area).
    fn key(&self) -> u128 {
        let mut key = [0u8; 16];
        key[..10].copy_from_slice(&self.bytes);
        key[10] = self.len;
        u128::from_be_bytes(key)
    }
}

impl Ord for AreaCode {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.key().cmp(&other.key())
    }
}

impl PartialOrd for AreaCode {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// Why a text is not an area code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{0:?} is geen gebiedscode; gebruik GM + 4 cijfers (GM0363), WK + 6, BU + 8, NL01, een regiocode zoals JZ12 of een samenwerkingsverband zoals PO2001"
)]
pub struct AreaCodeError(pub String);

impl AreaCode {
    /// Parses a code, ignoring surrounding spaces (CBS pads codes) and letter case. A school
    /// partnership may be written the DUO way, `PO 20-01`.
    pub fn parse(raw: &str) -> Result<AreaCode, AreaCodeError> {
        let err = || AreaCodeError(super::excerpt::excerpt(raw));
        let trimmed = raw.trim();
        let joined: String;
        let partnership = trimmed
            .get(..2)
            .is_some_and(|p| p.eq_ignore_ascii_case("PO") || p.eq_ignore_ascii_case("VO"));
        let t = if partnership && trimmed.len() <= 10 {
            joined = trimmed
                .chars()
                .filter(|c| !matches!(c, ' ' | '-'))
                .collect();
            joined.as_bytes()
        } else {
            trimmed.as_bytes()
        };
        if !(4..=10).contains(&t.len()) {
            return Err(err());
        }
        let mut bytes = [0u8; 10];
        for (slot, b) in bytes.iter_mut().zip(t) {
            *slot = b.to_ascii_uppercase();
        }
        let (prefix, digits) = (&bytes[..2], &bytes[2..t.len()]);
        if !digits.iter().all(u8::is_ascii_digit) {
            return Err(err());
        }
        let ok = match prefix {
            b"GM" => digits.len() == 4,
            b"WK" => digits.len() == 6,
            b"BU" => digits.len() == 8,
            b"NL" => digits.len() == 2,
            b"PO" | b"VO" => digits.len() == 4,
            p => REGION_PREFIXES.iter().any(|r| r[..] == *p) && (2..=4).contains(&digits.len()),
        };
        if !ok {
            return Err(err());
        }
        Ok(AreaCode {
            bytes,
            len: t.len() as u8,
        })
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        // Only ASCII letters and digits are ever stored.
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or("")
    }

    /// What kind of area this is.
    pub fn level(&self) -> AreaLevel {
        match &self.bytes[..2] {
            b"GM" => AreaLevel::Municipality,
            b"WK" => AreaLevel::District,
            b"BU" => AreaLevel::Neighbourhood,
            b"NL" => AreaLevel::National,
            b"PO" | b"VO" => AreaLevel::Partnership,
            _ => AreaLevel::Region,
        }
    }

    /// The municipality a district or neighbourhood lies in (a municipality is its own).
    pub fn municipality(&self) -> Option<AreaCode> {
        match self.level() {
            AreaLevel::Municipality => Some(*self),
            AreaLevel::District | AreaLevel::Neighbourhood => self.with_prefix(b"GM", 4),
            _ => None,
        }
    }

    /// The area one level up by code alone: neighbourhood to district, district to municipality.
    pub fn parent(&self) -> Option<AreaCode> {
        match self.level() {
            AreaLevel::Neighbourhood => self.with_prefix(b"WK", 6),
            AreaLevel::District => self.with_prefix(b"GM", 4),
            _ => None,
        }
    }

    fn with_prefix(&self, prefix: &[u8; 2], digits: usize) -> Option<AreaCode> {
        let mut bytes = [0u8; 10];
        bytes[..2].copy_from_slice(prefix);
        bytes[2..2 + digits].copy_from_slice(self.bytes.get(2..2 + digits)?);
        Some(AreaCode {
            bytes,
            len: (2 + digits) as u8,
        })
    }
}

impl fmt::Display for AreaCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for AreaCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AreaCode({})", self.as_str())
    }
}

impl serde::Serialize for AreaCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn codes_are_trimmed_uppercased_and_levelled() {
        let gm = AreaCode::parse(" gm0363  ").unwrap();
        assert_eq!(gm.as_str(), "GM0363");
        assert_eq!(gm.level(), AreaLevel::Municipality);
        let bu = AreaCode::parse("BU03630101").unwrap();
        assert_eq!(bu.level(), AreaLevel::Neighbourhood);
        assert_eq!(bu.parent().unwrap().as_str(), "WK036301");
        assert_eq!(bu.municipality().unwrap(), gm);
        assert_eq!(
            AreaCode::parse("NL01").unwrap().level(),
            AreaLevel::National
        );
        assert_eq!(AreaCode::parse("JZ12").unwrap().level(), AreaLevel::Region);
        for written in ["PO2001", "po 20-01", "PO20-01"] {
            let swv = AreaCode::parse(written).unwrap();
            assert_eq!(
                (swv.as_str(), swv.level()),
                ("PO2001", AreaLevel::Partnership)
            );
        }
        assert_eq!(AreaCode::parse("VO 27-04").unwrap().as_str(), "VO2704");
    }

    #[test]
    fn bad_codes_are_refused() {
        for bad in [
            "",
            "GM363",
            "GM03633",
            "WK0363",
            "XX0363",
            "GM03a3",
            "Amsterdam",
            "NL1",
            "PO201",
            "PO 2001 1",
        ] {
            assert!(AreaCode::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    proptest! {
        #[test]
        fn districts_and_neighbourhoods_lie_in_their_municipality(gm in 0u32..10_000, wk in 0u32..100, bu in 0u32..100) {
            let m = AreaCode::parse(&format!("GM{gm:04}")).unwrap();
            let w = AreaCode::parse(&format!("WK{gm:04}{wk:02}")).unwrap();
            let b = AreaCode::parse(&format!("  bu{gm:04}{wk:02}{bu:02} ")).unwrap();
            prop_assert_eq!(b.parent(), Some(w));
            prop_assert_eq!(w.parent(), Some(m));
            prop_assert_eq!(b.municipality(), Some(m));
            prop_assert_eq!(AreaCode::parse(b.as_str()).unwrap(), b);
        }

        #[test]
        fn codes_compare_as_their_texts(
            a in "(GM[0-9]{4}|WK[0-9]{6}|BU[0-9]{8}|NL0[0-9]|JZ[0-9]{2,4}|PO[0-9]{4})",
            b in "(GM[0-9]{4}|WK[0-9]{6}|BU[0-9]{8}|NL0[0-9]|JZ[0-9]{2,4}|PO[0-9]{4})",
        ) {
            let (x, y) = (AreaCode::parse(&a).unwrap(), AreaCode::parse(&b).unwrap());
            prop_assert_eq!(x.cmp(&y), a.cmp(&b));
            prop_assert_eq!(x == y, a == b);
        }
    }
}
