//! What a member may do in a workspace.

use std::fmt;
use std::str::FromStr;

/// A member's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Runs the workspace: invites, removes and rotates keys.
    Coordinator,
    /// Takes part: reads and writes documents.
    Partner,
}

impl Role {
    /// The role's name as typed and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Coordinator => "coordinator",
            Role::Partner => "partner",
        }
    }

    /// The role's byte on the wire.
    pub fn to_byte(self) -> u8 {
        match self {
            Role::Coordinator => 1,
            Role::Partner => 2,
        }
    }

    /// The role for a wire byte.
    pub fn from_byte(b: u8) -> Option<Role> {
        match b {
            1 => Some(Role::Coordinator),
            2 => Some(Role::Partner),
            _ => None,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A role name kompas does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("onbekende rol {0:?}; kies coordinator of partner")]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;
    fn from_str(s: &str) -> Result<Role, UnknownRole> {
        match s {
            "coordinator" => Ok(Role::Coordinator),
            "partner" => Ok(Role::Partner),
            _ => Err(UnknownRole(s.to_string())),
        }
    }
}
