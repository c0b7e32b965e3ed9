//! What a coordinator or member does locally: create, invite, join, remove, change relays.
//!
//! Each of these signs membership operations into the local log and saves the state; the
//! operations reach the relays on the next sync.

use std::collections::BTreeSet;

use super::entropy::{Entropy, random};
use super::invite_code::InviteCode;
use super::machine::{Machine, Mode, SyncError};
use super::state::WorkspaceState;
use crate::identity::hex;
use crate::replica::Replica;
use crate::seal::{Epoch, ExchangePublic, KeyRing, WorkspaceKey, wrap_ring};
use crate::store::Store;
use crate::sync::membership::{
    InviteToken, Member, MemberKeys, Names, OpBody, Role, SealedNames, WrappedKey,
};
use crate::sync::wire::{OrgKey, WorkspaceId};
use crate::time::Timestamp;

impl Machine {
    /// Creates a workspace with this organisation as its coordinator.
    pub fn create<S: Store>(
        replica: &Replica<S>,
        name: &str,
        relays: Vec<String>,
        now: Timestamp,
        entropy: &mut dyn Entropy,
    ) -> Result<Machine, SyncError> {
        refuse_second_workspace(replica)?;
        let workspace = WorkspaceId(random(entropy));
        let ring = KeyRing::with(Epoch(0), WorkspaceKey::from_bytes(random(entropy)));
        let state = WorkspaceState::new(workspace, dedup(relays), ring);
        let mut machine = Machine::from_state(replica, state, Mode::Once)?;
        let profile = machine.profile.clone();
        let coordinator = MemberKeys {
            key: profile.key,
            kx: profile.kx,
        };
        let names = Names {
            workspace: Some(name.to_string()),
            name: profile.name,
            org_type: profile.org_type,
        };
        let names = SealedNames::seal(&machine.state.ring, &workspace, &coordinator.key, &names)
            .ok_or_else(|| SyncError::Relay("geen sleutel om de namen te versleutelen".into()))?;
        machine.append_local(OpBody::CreateSealed { coordinator, names }, now)?;
        machine.save(replica)?;
        Ok(machine)
    }

    /// Prepares to join the workspace of an invite; the invite is redeemed on the first sync.
    pub fn join<S: Store>(replica: &Replica<S>, code: &InviteCode) -> Result<Machine, SyncError> {
        refuse_second_workspace(replica)?;
        let relays = dedup(code.relays.iter().map(|(r, _)| r.clone()).collect());
        let mut state = WorkspaceState::new(code.workspace, relays, code.ring.clone());
        for (relay, start) in &code.relays {
            state.cursors.insert(relay.clone(), *start);
        }
        for (relay, key) in &code.relay_keys {
            state.relay_trust.entry(relay.clone()).or_default().key = Some(key.to_string());
        }
        state.redeem = Some(hex(&code.token));
        let mut machine = Machine::from_state(replica, state, Mode::Once)?;
        machine.save(replica)?;
        Ok(machine)
    }

    /// Registers an invite and returns its code. Snapshots of every document are queued, so
    /// the new member reads from the relays' current positions instead of from the start.
    pub fn invite<S: Store>(
        &mut self,
        replica: &Replica<S>,
        role: Role,
        expires: Timestamp,
        now: Timestamp,
        entropy: &mut dyn Entropy,
    ) -> Result<InviteCode, SyncError> {
        self.make_invite(replica, role, expires, false, now, entropy)
    }

    /// Registers an invite whose joiner waits for a coordinator's confirmation, and returns its
    /// code, which carries no workspace key: the joiner receives the keys only when confirmed.
    pub fn invite_with_confirmation<S: Store>(
        &mut self,
        replica: &Replica<S>,
        role: Role,
        expires: Timestamp,
        now: Timestamp,
        entropy: &mut dyn Entropy,
    ) -> Result<InviteCode, SyncError> {
        self.make_invite(replica, role, expires, true, now, entropy)
    }

    fn make_invite<S: Store>(
        &mut self,
        replica: &Replica<S>,
        role: Role,
        expires: Timestamp,
        confirm: bool,
        now: Timestamp,
        entropy: &mut dyn Entropy,
    ) -> Result<InviteCode, SyncError> {
        self.require_coordinator()?;
        let token = InviteToken(random(entropy));
        let invite_key = token.public();
        let body = if confirm {
            OpBody::InviteConfirmed {
                invite_key,
                role,
                expires,
            }
        } else {
            OpBody::Invite {
                invite_key,
                role,
                expires,
            }
        };
        self.append_local(body, now)?;
        let (_, too_large) = self.enqueue_snapshots(
            super::on_replica::exports(replica)?,
            self.all_relays(),
            entropy,
        )?;
        // Reading from the current position is only safe if the snapshots cover everything
        // before it: nothing parked, no document left out.
        let from_start = !self.state.parked.is_empty() || too_large > 0;
        let relays = self
            .state
            .relays
            .iter()
            .map(|r| (r.clone(), if from_start { 0 } else { self.cursor(r) }))
            .collect();
        self.save(replica)?;
        let relay_keys = self
            .state
            .relays
            .iter()
            .filter_map(|r| Some((r.clone(), self.state.trust(r).pinned()?)))
            .collect();
        Ok(InviteCode {
            workspace: self.workspace,
            name: self.tip.set().name().to_string(),
            token: token.0,
            relays,
            ring: if confirm {
                KeyRing::default()
            } else {
                self.state.ring.clone()
            },
            relay_keys,
        })
    }

    /// Withdraws an invite that has not been used yet.
    pub fn revoke<S: Store>(
        &mut self,
        replica: &Replica<S>,
        code: &InviteCode,
        now: Timestamp,
    ) -> Result<(), SyncError> {
        self.require_coordinator()?;
        if code.workspace != self.workspace {
            return Err(SyncError::Relay(
                "deze uitnodiging hoort bij een andere samenwerking".to_string(),
            ));
        }
        self.revoke_invite(replica, InviteToken(code.token).public(), now)
    }

    /// Withdraws the open invite with this public key (as the member list lists invites), for
    /// a coordinator who no longer has its code.
    pub fn revoke_invite<S: Store>(
        &mut self,
        replica: &Replica<S>,
        invite_key: OrgKey,
        now: Timestamp,
    ) -> Result<(), SyncError> {
        self.require_coordinator()?;
        self.append_local(OpBody::RevokeInvite { invite_key }, now)?;
        self.save(replica)
    }

    /// Removes a member and moves everybody else to a new workspace key. The removal's cut-off
    /// is the member's highest bundle number applied here: what it numbers higher is refused by
    /// every replica, whichever relay carries it.
    pub fn remove<S: Store>(
        &mut self,
        replica: &Replica<S>,
        who: &str,
        now: Timestamp,
        entropy: &mut dyn Entropy,
    ) -> Result<Member, SyncError> {
        self.require_coordinator()?;
        let target = self.find_member(who)?;
        self.append_local(
            OpBody::Remove {
                member: target.profile.key,
                cutoff: Some(self.state.authors.highest(&target.profile.key)),
            },
            now,
        )?;
        let epoch = Epoch(self.tip.set().epoch() + 1);
        self.state
            .ring
            .insert(epoch, WorkspaceKey::from_bytes(random(entropy)));
        let recipients: Vec<_> = self
            .members
            .set()
            .members()
            .map(|m| (m.profile.key, m.profile.kx))
            .collect();
        let mut wrapped = Vec::new();
        for (member, kx) in recipients {
            let ring = wrap_ring(
                &self.state.ring,
                &ExchangePublic(kx.0),
                &self.workspace.0,
                random(entropy),
                random(entropy),
            )
            .map_err(|e| SyncError::Relay(e.to_string()))?;
            wrapped.push(WrappedKey {
                member,
                sealed: ring.encode(),
            });
        }
        self.append_local(
            OpBody::KeyEpoch {
                epoch: epoch.0,
                wrapped,
            },
            now,
        )?;
        self.save(replica)?;
        Ok(target)
    }

    /// Adds a relay; it gets snapshots of every document, so it can serve newcomers at once.
    pub fn add_relay<S: Store>(
        &mut self,
        replica: &Replica<S>,
        url: &str,
        entropy: &mut dyn Entropy,
    ) -> Result<(), SyncError> {
        if self.state.relays.iter().any(|r| r == url) {
            return Err(SyncError::Relay(format!(
                "relay {url} staat al in de lijst"
            )));
        }
        self.state.relays.push(url.to_string());
        self.state.cursors.insert(url.to_string(), 0);
        self.links.insert(url.to_string(), Default::default());
        if self.tip.set().is_member(&self.me) {
            self.enqueue_snapshots(
                super::on_replica::exports(replica)?,
                BTreeSet::from([url.to_string()]),
                entropy,
            )?;
        }
        self.save(replica)
    }

    /// Pins a relay's key and remembers the private CA for its certificate, each where given;
    /// what is not given stays as it was.
    pub fn configure_relay<S: Store>(
        &mut self,
        replica: &Replica<S>,
        url: &str,
        key: Option<OrgKey>,
        ca: Option<String>,
    ) -> Result<(), SyncError> {
        if !self.state.relays.iter().any(|r| r == url) {
            return Err(SyncError::Relay(format!(
                "relay {url} staat niet in de lijst"
            )));
        }
        let trust = self.state.relay_trust.entry(url.to_string()).or_default();
        if let Some(key) = key {
            trust.key = Some(key.to_string());
        }
        if ca.is_some() {
            trust.ca = ca;
        }
        self.save(replica)
    }

    /// Stops using a relay.
    pub fn remove_relay<S: Store>(
        &mut self,
        replica: &Replica<S>,
        url: &str,
    ) -> Result<(), SyncError> {
        if !self.state.relays.iter().any(|r| r == url) {
            return Err(SyncError::Relay(format!(
                "relay {url} staat niet in de lijst"
            )));
        }
        if self.state.relays.len() == 1 {
            return Err(SyncError::Relay(
                "de laatste relay kan niet weg; voeg eerst een andere toe".to_string(),
            ));
        }
        self.state.relays.retain(|r| r != url);
        self.state.cursors.remove(url);
        self.state.relay_trust.remove(url);
        self.links.remove(url);
        self.state.outbox.forget_relay(url);
        self.save(replica)
    }

    /// Writes the state durably, the small part included.
    pub fn save<S: Store>(&mut self, replica: &Replica<S>) -> Result<(), SyncError> {
        self.dirty = true;
        self.persist(replica)
    }

    /// Writes durably what changed since the last save.
    pub(super) fn persist<S: Store>(&mut self, replica: &Replica<S>) -> Result<(), SyncError> {
        if let Some(batch) = self.save_batch()? {
            replica.store().write_meta(&batch)?;
        }
        Ok(())
    }

    pub(super) fn require_coordinator(&self) -> Result<(), SyncError> {
        if self.is_coordinator() {
            Ok(())
        } else {
            Err(SyncError::NotCoordinator)
        }
    }

    /// Finds a current member by organisation id (or a prefix of it) or by name.
    pub fn find_member(&self, who: &str) -> Result<Member, SyncError> {
        let needle = who.trim().to_lowercase();
        let found: Vec<&Member> = self
            .members
            .set()
            .members()
            .filter(|m| {
                m.profile.key.org_id().starts_with(&needle)
                    || m.profile.name.to_lowercase() == needle
            })
            .collect();
        match found.as_slice() {
            [one] => Ok((*one).clone()),
            [] => Err(SyncError::UnknownMember(who.to_string())),
            _ => Err(SyncError::AmbiguousMember(who.to_string())),
        }
    }
}

fn refuse_second_workspace<S: Store>(replica: &Replica<S>) -> Result<(), SyncError> {
    match WorkspaceState::load(replica.store())? {
        Some(state) => Err(SyncError::AlreadyInWorkspace(state.workspace)),
        None => Ok(()),
    }
}

fn dedup(relays: Vec<String>) -> Vec<String> {
    let mut seen = BTreeSet::new();
    relays
        .into_iter()
        .filter(|r| seen.insert(r.clone()))
        .collect()
}
