//! The membership log on the replica side: folding what relays send, picking up wrapped keys,
//! redeeming an invite, and handing keys to members who joined after a key change.

use super::entropy::{Entropy, random};
use super::event::{Effect, Report};
use super::machine::{Machine, SyncError};
use crate::seal::{WrappedRing, unwrap_ring, wrap_ring};
use crate::sync::membership::{InviteToken, MembershipError, Names, OpBody, SealedNames, SignedOp};
use crate::sync::wire::Message;
use crate::time::Timestamp;

impl Machine {
    /// Folds operations a relay sent, starting at log position `start`.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn membership_ops(
        &mut self,
        relay: &str,
        start: u64,
        ops: Vec<SignedOp>,
        now: Timestamp,
        entropy: &mut dyn Entropy,
        out: &mut Vec<Effect>,
    ) -> Result<(), SyncError> {
        let end = start + ops.len() as u64;
        let page = !ops.is_empty();
        let mut added = 0;
        let mut stopped = false;
        // The relay holds this replica's log up to here: what it sent agrees with it.
        let mut agreed = None;
        for (index, op) in (start..).zip(ops) {
            let known = self.state.log.len() as u64;
            if index < known {
                if self.state.log.get(index as usize) != Some(&op) {
                    out.push(Effect::Report(Report::RelayError {
                        relay: relay.to_string(),
                        code: crate::sync::wire::ErrorCode::MembershipRefused,
                        message: format!(
                            "de ledenlijst op deze relay wijkt af vanaf operatie {index}"
                        ),
                    }));
                    stopped = true;
                    break;
                }
                agreed = Some(index + 1);
                continue;
            }
            if index > known {
                out.push(Effect::send(
                    relay,
                    Message::MembershipPull { after: known },
                ));
                stopped = true;
                break;
            }
            match self.confirm(op) {
                Ok(()) => {
                    added += 1;
                    agreed = Some(index + 1);
                }
                Err(SyncError::Membership(e)) => {
                    out.push(Effect::Report(Report::RelayError {
                        relay: relay.to_string(),
                        code: crate::sync::wire::ErrorCode::MembershipRefused,
                        message: e.to_string(),
                    }));
                    stopped = true;
                    break;
                }
                Err(e) => return Err(e),
            }
        }
        let known = self.state.log.len() as u64;
        if let Some(link) = self.links.get_mut(relay).and_then(|l| l.session_mut()) {
            // An empty page says only that the relay holds nothing after the position asked
            // for, not that it holds everything before it.
            if page {
                link.relay_log = link.relay_log.max(end);
            }
            // Operations that came from this relay are not sent back to it.
            if let Some(agreed) = agreed {
                link.ops_sent = link.ops_sent.max(agreed);
            }
            // Answers are paged by bytes: a page that ends before the log the relay announced
            // asks for the next one; the log counts as pulled once the last page is in.
            if page && !stopped && known < link.relay_log {
                out.push(Effect::send(
                    relay,
                    Message::MembershipPull { after: known },
                ));
            } else {
                link.log_pulled = true;
            }
        }
        if added > 0 {
            self.rebase(now, out);
            out.push(Effect::Report(Report::MembersChanged { operations: added }));
            self.after_log_change(relay, now, entropy, out)?;
        }
        Ok(())
    }

    /// Picks up keys wrapped for this organisation, notices a removal, shares keys where a
    /// coordinator has to, and retries bundles that were waiting for any of that.
    pub(super) fn after_log_change(
        &mut self,
        relay: &str,
        now: Timestamp,
        entropy: &mut dyn Entropy,
        out: &mut Vec<Effect>,
    ) -> Result<(), SyncError> {
        let before = self.state.ring.current().map(|(e, _)| e);
        let ws = self.workspace.0;
        let grants: Vec<Vec<u8>> = self
            .members
            .set()
            .grants_for(&self.me)
            .map(|g| g.sealed.clone())
            .collect();
        for sealed in grants {
            if let Ok(ring) =
                WrappedRing::decode(&sealed).and_then(|w| unwrap_ring(&w, &self.exchange, &ws))
            {
                self.state.ring.absorb(&ring);
            }
        }
        let after = self.state.ring.current().map(|(e, _)| e);
        self.members.learn(&self.state.ring);
        self.tip.learn(&self.state.ring);
        if after != before {
            self.dirty = true;
            if let Some(epoch) = after {
                out.push(Effect::Report(Report::KeysReceived { epoch: epoch.0 }));
            }
        }
        if self.members.set().was_removed(&self.me) && !self.removed_reported {
            self.removed_reported = true;
            out.push(Effect::Report(Report::Removed));
        }
        if self.is_coordinator() {
            self.share_keys_with_late_joiners(now, entropy)?;
        }
        self.retry = Some(relay.to_string());
        Ok(())
    }

    /// Members who joined after a key change may hold an invite with older keys only, and a
    /// confirmed joiner holds none; a coordinator wraps the whole ring for each of them, once
    /// (a confirming coordinator does so with its confirmation).
    fn share_keys_with_late_joiners(
        &mut self,
        now: Timestamp,
        entropy: &mut dyn Entropy,
    ) -> Result<(), SyncError> {
        let set = self.tip.set();
        let needy: Vec<_> = set
            .members()
            .filter(|m| m.profile.key != self.me && (m.joined_epoch > 0 || m.confirmed))
            .filter(|m| {
                !set.grants_for(&m.profile.key)
                    .any(|g| g.epoch >= m.joined_epoch)
            })
            .map(|m| (m.profile.key, m.profile.kx))
            .collect();
        for (member, kx) in needy {
            let Ok(wrapped) = wrap_ring(
                &self.state.ring,
                &crate::seal::ExchangePublic(kx.0),
                &self.workspace.0,
                random(entropy),
                random(entropy),
            ) else {
                continue;
            };
            self.append_local(
                OpBody::ShareKeys {
                    member,
                    sealed: wrapped.encode(),
                },
                now,
            )?;
        }
        Ok(())
    }

    /// Redeems the invite this replica holds, signed with its own key.
    pub(super) fn redeem(
        &mut self,
        relay: &str,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) -> Result<(), SyncError> {
        let Some(token) = invite_token(self.state.redeem.as_deref()) else {
            return Ok(());
        };
        let joiner = self.own_keys();
        let invite_key = token.public();
        let proof = token.prove(&self.workspace, &joiner.key, &joiner.kx);
        let asks_confirmation = self
            .tip
            .set()
            .invites()
            .get(&invite_key)
            .filter(|i| i.confirm);
        let redeem = if let Some(invite) = asks_confirmation {
            // No workspace key yet: the names go boxed to the coordinators.
            OpBody::RedeemPending {
                invite_key,
                proof,
                joiner,
                boxes: self.name_boxes(Some(invite.created_by)),
            }
        } else {
            let names = Names {
                workspace: None,
                name: self.profile.name.clone(),
                org_type: self.profile.org_type,
            };
            let Some(names) =
                SealedNames::seal(&self.state.ring, &self.workspace, &joiner.key, &names)
            else {
                return Err(SyncError::Relay(
                    "de uitnodiging bevat geen sleutels van de samenwerking".to_string(),
                ));
            };
            OpBody::RedeemSealed {
                invite_key,
                proof,
                joiner,
                names,
            }
        };
        match self.append_local(redeem, now) {
            Ok(_) => {
                self.state.joined_with = self.state.redeem.take();
            }
            Err(SyncError::Membership(e)) => {
                // An unknown invite may simply not have reached this relay yet: the token stays
                // and the connection is tried again after a pause. A used, revoked or expired
                // invite will never work.
                let message = format!("uitnodiging niet te gebruiken: {e}");
                out.push(Effect::Report(Report::RelayError {
                    relay: relay.to_string(),
                    code: crate::sync::wire::ErrorCode::MembershipRefused,
                    message: message.clone(),
                }));
                let for_good = matches!(
                    e,
                    MembershipError::InviteUsed { .. }
                        | MembershipError::InviteRevoked
                        | MembershipError::InviteExpired { .. }
                );
                if for_good {
                    self.state.redeem = None;
                    self.dirty = true;
                    for link in self.links.values_mut() {
                        link.finished = true;
                    }
                }
                self.drop_links.push((relay.to_string(), message));
            }
            Err(e) => return Err(e),
        }
        Ok(())
    }
}

/// An invite token kept in the state as hex.
pub(super) fn invite_token(hex: Option<&str>) -> Option<InviteToken> {
    hex.and_then(crate::identity::unhex)
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .map(InviteToken)
}
