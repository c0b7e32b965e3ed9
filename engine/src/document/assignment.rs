//! `FIELD=VALUE` assignments as typed on the command line.

/// One `FIELD=VALUE` assignment, split but not yet checked against a kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    /// The field name.
    pub field: String,
    /// The raw value; an empty value clears the field.
    pub value: String,
}

/// Why an assignment could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{input:?} is geen toewijzing; schrijf VELD=WAARDE, bijvoorbeeld titel=\"Meer kinderen sporten\""
)]
pub struct AssignmentError {
    /// What was given.
    pub input: String,
}

impl Assignment {
    /// Splits `field=value` at the first `=`; the field must be a plain name.
    pub fn parse(input: &str) -> Result<Assignment, AssignmentError> {
        let err = || AssignmentError {
            input: input.to_string(),
        };
        let (field, value) = input.split_once('=').ok_or_else(err)?;
        let field = field.trim();
        let plain = !field.is_empty()
            && field
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !plain {
            return Err(err());
        }
        Ok(Assignment {
            field: field.to_string(),
            value: value.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_at_the_first_equals_sign() {
        let a = Assignment::parse("titel=a=b").unwrap();
        assert_eq!((a.field.as_str(), a.value.as_str()), ("titel", "a=b"));
        assert_eq!(Assignment::parse("titel=").unwrap().value, "");
    }

    #[test]
    fn refuses_missing_equals_or_odd_names() {
        for bad in ["titel", "=x", "ti tel=x", "a.b=c"] {
            assert!(Assignment::parse(bad).is_err(), "{bad:?} accepted");
        }
    }
}
