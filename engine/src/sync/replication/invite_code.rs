//! The one-line invite code a coordinator hands to a new member.
//!
//! It carries where to go (every relay, each with the sequence number from which the joiner has
//! to read because the coordinator published snapshots of every document after it), which
//! workspace, the one-time token the joiner redeems, and the workspace keys (none when the
//! invite asks for a coordinator's confirmation: the joiner gets them once confirmed), followed
//! by the key of every relay the coordinator has pinned, so the joiner pins them too. Codes from
//! before relay keys end after the workspace keys; the joiner then learns each key on first
//! contact. Whoever holds the code can join once, before it expires; treat it like a password.

use std::collections::BTreeMap;

use crate::identity::{hex, unhex};
use crate::seal::KeyRing;
use crate::sync::wire::codec::{Reader, Writer};
use crate::sync::wire::{OrgKey, WorkspaceId};

const PREFIX: &str = "kompas1-";

/// The decoded content of an invite code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InviteCode {
    /// The workspace to join.
    pub workspace: WorkspaceId,
    /// Its display name.
    pub name: String,
    /// The one-time token whose hash the coordinator registered.
    pub token: [u8; 32],
    /// Every relay, with the sequence number after which the joiner starts reading.
    pub relays: Vec<(String, u64)>,
    /// The workspace keys.
    pub ring: KeyRing,
    /// The relays' own keys, as the coordinator pinned them (empty in codes from before).
    pub relay_keys: BTreeMap<String, OrgKey>,
}

/// Why text is not an invite code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InviteCodeError {
    /// The text does not start like an invite code.
    #[error("dit is geen kompas-uitnodiging (die begint met {PREFIX})")]
    NotACode,
    /// The code is damaged: cut short, mistyped or altered.
    #[error("de uitnodiging is beschadigd of onvolledig overgenomen ({0})")]
    Damaged(String),
}

impl InviteCode {
    /// The code as one line of text.
    pub fn encode(&self) -> String {
        let mut w = Writer::new();
        w.fixed(&self.workspace.0);
        w.str(&self.name);
        w.fixed(&self.token);
        w.list(&self.relays, |w, (url, start)| {
            w.str(url);
            w.u64(*start);
        });
        w.bytes(&self.ring.encode());
        let keys: Vec<(&String, &OrgKey)> = self.relay_keys.iter().collect();
        w.list(&keys, |w, (url, key)| {
            w.str(url);
            w.fixed(&key.0);
        });
        let body = w.into_bytes();
        let check = blake3::hash(&body);
        format!("{PREFIX}{}{}", hex(&body), hex(&check.as_bytes()[..4]))
    }

    /// Reads a code, refusing damaged ones.
    pub fn decode(text: &str) -> Result<InviteCode, InviteCodeError> {
        let rest = text
            .trim()
            .strip_prefix(PREFIX)
            .ok_or(InviteCodeError::NotACode)?;
        let damaged = |what: &str| InviteCodeError::Damaged(what.to_string());
        let bytes = unhex(rest).ok_or_else(|| damaged("geen hex"))?;
        let (body, check) = bytes
            .split_last_chunk::<4>()
            .ok_or_else(|| damaged("te kort"))?;
        if blake3::hash(body).as_bytes()[..4] != check[..] {
            return Err(damaged("controlegetal klopt niet"));
        }
        let mut r = Reader::new(body);
        let wire = |e: crate::sync::wire::WireError| InviteCodeError::Damaged(e.to_string());
        let workspace = WorkspaceId(r.array("workspace").map_err(wire)?);
        let name = r.str("name").map_err(wire)?;
        let token = r.array("token").map_err(wire)?;
        let relays = r
            .list("relays", |r| Ok((r.str("relay")?, r.u64("start")?)))
            .map_err(wire)?;
        let ring = KeyRing::decode(r.bytes("ring").map_err(wire)?)
            .map_err(|e| InviteCodeError::Damaged(e.to_string()))?;
        let relay_keys = if r.remaining() == 0 {
            BTreeMap::new()
        } else {
            r.list("relay_keys", |r| {
                Ok((r.str("relay")?, OrgKey(r.array("relay_key")?)))
            })
            .map_err(wire)?
            .into_iter()
            .collect()
        };
        r.finish("invite").map_err(wire)?;
        Ok(InviteCode {
            workspace,
            name,
            token,
            relays,
            ring,
            relay_keys,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seal::{Epoch, WorkspaceKey};

    fn code() -> InviteCode {
        InviteCode {
            workspace: WorkspaceId([1; 16]),
            name: "Samen voor de jeugd".into(),
            token: [2; 32],
            relays: vec![("ws://127.0.0.1:7421".into(), 12)],
            ring: KeyRing::with(Epoch(0), WorkspaceKey::from_bytes([3; 32])),
            relay_keys: BTreeMap::from([("ws://127.0.0.1:7421".into(), OrgKey([4; 32]))]),
        }
    }

    #[test]
    fn codes_from_before_relay_keys_still_read() {
        let mut old = code();
        old.relay_keys.clear();
        let mut w = Writer::new();
        w.fixed(&old.workspace.0);
        w.str(&old.name);
        w.fixed(&old.token);
        w.list(&old.relays, |w, (url, start)| {
            w.str(url);
            w.u64(*start);
        });
        w.bytes(&old.ring.encode());
        let body = w.into_bytes();
        let check = blake3::hash(&body);
        let text = format!("{PREFIX}{}{}", hex(&body), hex(&check.as_bytes()[..4]));
        assert_eq!(InviteCode::decode(&text).unwrap(), old);
    }

    #[test]
    fn codes_round_trip_as_one_line() {
        let text = code().encode();
        assert!(!text.contains(char::is_whitespace));
        assert_eq!(InviteCode::decode(&format!("  {text}\n")).unwrap(), code());
    }

    #[test]
    fn damaged_codes_are_refused() {
        let text = code().encode();
        assert_eq!(InviteCode::decode("hallo"), Err(InviteCodeError::NotACode));
        let cut = &text[..text.len() - 10];
        assert!(matches!(
            InviteCode::decode(cut),
            Err(InviteCodeError::Damaged(_))
        ));
        let mut typo = text.clone().into_bytes();
        let i = PREFIX.len() + 5;
        typo[i] = if typo[i] == b'0' { b'1' } else { b'0' };
        assert!(matches!(
            InviteCode::decode(&String::from_utf8(typo).unwrap()),
            Err(InviteCodeError::Damaged(_))
        ));
    }
}
