//! The conversation with one relay: handshake, membership log, pulls, pushes and acknowledgements.

use super::entropy::Entropy;
use super::event::{Effect, Report};
use super::link::{Conn, Handshake, Link, Session};
use super::machine::{MAX_IN_FLIGHT, Machine, Mode, PULL_LIMIT, SyncError};
use super::membership_sync::invite_token;
use super::relay_trust::RelayRefusal;
use crate::sync::wire::{
    Access, CHALLENGE_LEN, ErrorCode, Hash32, Message, OrgKey, SealedBundle, Sig, sign_auth,
    verify_relay_proof,
};
use crate::time::Timestamp;

impl Machine {
    pub(super) fn received(
        &mut self,
        relay: &str,
        message: Message,
        now: Timestamp,
        entropy: &mut dyn Entropy,
        out: &mut Vec<Effect>,
    ) -> Result<(), SyncError> {
        let send = |message| Effect::send(relay, message);
        // The relay answered a request or accepted something: the conversation works, so the
        // next failure starts from the shortest wait again. A welcome alone does not count, or
        // an error that recurs right after every handshake would bring the replica back every
        // quarter of a second for ever.
        if matches!(
            message,
            Message::MembershipOps { .. }
                | Message::MembershipAck { .. }
                | Message::Bundles { .. }
                | Message::Ack { .. }
        ) && let Some(link) = self.links.get_mut(relay)
        {
            link.backoff.succeeded();
        }
        match message {
            Message::Challenge {
                relay: relay_key,
                nonce,
                proof,
                ..
            } => {
                if let Some(refusal) = self.check_relay_key(relay, relay_key, &nonce, &proof, out) {
                    if let Some(link) = self.links.get_mut(relay) {
                        link.finished = true;
                    }
                    out.push(Effect::Report(Report::RelayRefused {
                        relay: relay.to_string(),
                        refusal: refusal.clone(),
                    }));
                    out.push(Effect::Close {
                        relay: relay.to_string(),
                    });
                    self.disconnected(relay, refusal.to_string(), now, entropy, out);
                    return Ok(());
                }
                if let Some(link) = self.links.get_mut(relay) {
                    let Some(hello_nonce) = link.hello_nonce() else {
                        return Ok(());
                    };
                    link.conn = Conn::Auth(Handshake {
                        hello_nonce,
                        challenge: (relay_key, nonce),
                        candidacy_sent: false,
                    });
                }
                out.push(send(Message::Auth {
                    workspace: self.workspace,
                    key: self.me,
                    signature: sign_auth(&relay_key, &nonce, &self.workspace, &self.signing),
                }));
            }
            Message::Welcome {
                access,
                head,
                membership_len,
                ..
            } => {
                let candidate = access == Access::Candidate;
                if candidate && let Some(candidacy) = self.candidacy(relay) {
                    // The relay shows a candidate nothing before it proves its invite.
                    if let Some(handshake) = self.links.get_mut(relay).and_then(Link::handshake_mut)
                    {
                        handshake.candidacy_sent = true;
                    }
                    out.push(send(candidacy));
                    return Ok(());
                }
                if !candidate {
                    self.notice_lost_bundles(relay, head, out);
                }
                let ops_len = self.state.log.len() as u64;
                let coordinator = self.is_coordinator();
                let Some(link) = self.links.get_mut(relay) else {
                    return Ok(());
                };
                let Some(handshake) = link.handshake().copied() else {
                    // Only a relay that proved its key in a challenge is listened to.
                    self.drop_links.push((
                        relay.to_string(),
                        "de relay verwelkomde deze organisatie zonder zich eerst te bewijzen"
                            .to_string(),
                    ));
                    return Ok(());
                };
                let welcomed = Session::welcomed(handshake, access, head, membership_len);
                let link = match &mut link.conn {
                    Conn::Ready(session) => {
                        // Welcomed again on the same connection: what it sent and asked for
                        // stays.
                        session.access = welcomed.access;
                        session.relay_head = welcomed.relay_head;
                        session.relay_log = welcomed.relay_log;
                        session.welcomed_log = welcomed.welcomed_log;
                        session.ops_sent = welcomed.ops_sent;
                        session
                    }
                    conn => {
                        *conn = Conn::Ready(Box::new(welcomed));
                        match conn {
                            Conn::Ready(session) => session,
                            _ => return Ok(()),
                        }
                    }
                };
                // A candidate without an invite to prove reads nothing: it may only create the
                // workspace, or as a coordinator copy the whole log to a relay that lacks it.
                let unproved = candidate && !link.handshake.candidacy_sent;
                if unproved {
                    link.log_pulled = true;
                    link.ops_sent = if coordinator { 0 } else { ops_len };
                }
                out.push(Effect::Report(Report::Connected {
                    relay: relay.to_string(),
                }));
                if matches!(access, Access::Member(_)) {
                    self.wants_local_edits = true;
                }
                if !unproved {
                    out.push(send(Message::MembershipPull { after: ops_len }));
                }
            }
            Message::MembershipOps { start, ops } => {
                self.membership_ops(relay, start, ops, now, entropy, out)?;
                self.step(relay, now, out)?;
            }
            Message::MembershipAck { index, hash } => {
                if index == self.state.log.len() as u64
                    && let Some(op) = self
                        .state
                        .pending
                        .first()
                        .filter(|p| p.hash() == hash)
                        .cloned()
                {
                    self.confirm(op)?;
                    self.after_log_change(relay, now, entropy, out)?;
                }
                let candidate_now_member =
                    match self.links.get_mut(relay).and_then(Link::session_mut) {
                        Some(link) => {
                            link.ops_sent = link.ops_sent.max(index + 1);
                            link.relay_log = link.relay_log.max(index + 1);
                            link.access == Access::Candidate
                                && self.members.set().is_member(&self.me)
                        }
                        None => false,
                    };
                if candidate_now_member {
                    // A redeemed invite takes effect on the next connection.
                    if let Some(link) = self.links.get_mut(relay) {
                        reconnect(&mut link.conn, relay, out);
                    }
                } else {
                    self.step(relay, now, out)?;
                }
            }
            Message::Bundles { items, head } => {
                let more = !items.is_empty();
                if let Some(link) = self.links.get_mut(relay).and_then(Link::session_mut) {
                    link.pulling = false;
                    link.relay_head = link.relay_head.max(head);
                }
                for item in items {
                    self.item(relay, item.seq, item.bundle);
                }
                self.page_received(relay, more);
            }
            Message::Pushed { item } => {
                if let Some(link) = self.links.get_mut(relay).and_then(Link::session_mut) {
                    link.relay_head = link.relay_head.max(item.seq);
                }
                self.item(relay, item.seq, item.bundle);
            }
            Message::Ack { seq, hash, .. } => {
                self.acked(relay, hash);
                out.push(Effect::Report(Report::Stored {
                    relay: relay.to_string(),
                    seq,
                }));
                self.step(relay, now, out)?;
            }
            Message::Error { code, message } => {
                out.push(Effect::Report(Report::RelayError {
                    relay: relay.to_string(),
                    code,
                    message,
                }));
                let mode = self.mode;
                if let Some(link) = self.links.get_mut(relay) {
                    // A ban or removal holds until people act; a quota or a freeze for a while.
                    // A one-off sync stops asking this relay; a watching one waits.
                    if code.is_final() || (code.hold_millis().is_some() && mode == Mode::Once) {
                        link.finished = true;
                    }
                    if let Some(hold) = code.hold_millis() {
                        link.hold_until = Some(Timestamp(now.0.saturating_add(hold)));
                    }
                }
                // The relay refused the invite this replica proved (used, revoked or expired):
                // no relay will take it.
                let invite_refused = code == ErrorCode::MembershipRefused
                    && self
                        .links
                        .get(relay)
                        .is_some_and(|l| matches!(l.conn, Conn::Auth(h) if h.candidacy_sent));
                if invite_refused && self.state.redeem.is_some() {
                    self.state.redeem = None;
                    self.dirty = true;
                    for link in self.links.values_mut() {
                        link.finished = true;
                    }
                }
                if code == ErrorCode::Removed && !self.removed_reported {
                    self.removed_reported = true;
                    out.push(Effect::Report(Report::Removed));
                }
                if code == ErrorCode::MembershipRefused && self.creating() {
                    // The only operation this replica offered was its `Create`, to the first
                    // relay: asking again would be refused again, and the other relays only
                    // receive what the first one confirmed.
                    for link in self.links.values_mut() {
                        link.finished = true;
                    }
                    out.push(Effect::Report(Report::CreateRefused {
                        relay: relay.to_string(),
                    }));
                }
                out.push(Effect::Close {
                    relay: relay.to_string(),
                });
                self.disconnected(relay, format!("{code:?}"), now, entropy, out);
            }
            // Requests a relay would send are not for replicas; ignore them.
            Message::Hello { .. }
            | Message::Auth { .. }
            | Message::Push { .. }
            | Message::Pull { .. }
            | Message::Subscribe { .. }
            | Message::MembershipPull { .. }
            | Message::MembershipAppend { .. }
            | Message::Candidacy { .. } => {}
        }
        Ok(())
    }

    /// Checks that the relay proved it holds the key it presented, and that this is the key
    /// pinned for it. A relay met for the first time has its key pinned now (trust on first
    /// use). Returns why the relay is refused, if it is.
    fn check_relay_key(
        &mut self,
        relay: &str,
        found: OrgKey,
        challenge: &[u8; CHALLENGE_LEN],
        proof: &Sig,
        out: &mut Vec<Effect>,
    ) -> Option<RelayRefusal> {
        let hello_nonce = self.links.get(relay)?.hello_nonce()?;
        if !verify_relay_proof(&hello_nonce, &found, challenge, proof) {
            return Some(RelayRefusal::NoProof {
                relay: relay.to_string(),
                found,
            });
        }
        match self.state.trust(relay).pinned() {
            Some(pinned) if pinned != found => Some(RelayRefusal::KeyMismatch {
                relay: relay.to_string(),
                pinned,
                found,
            }),
            Some(_) => None,
            None => {
                self.state
                    .relay_trust
                    .entry(relay.to_string())
                    .or_default()
                    .key = Some(found.to_string());
                self.dirty = true;
                out.push(Effect::Report(Report::KeyPinned {
                    relay: relay.to_string(),
                    key: found,
                }));
                None
            }
        }
    }

    /// A relay whose bundle log is shorter than this replica's cursor for it has lost bundles
    /// it acknowledged: its data directory was lost and it was started again on an empty one (or
    /// on an old copy). Its numbering started over, so the cursor goes back to the start, and
    /// every document this replica holds is queued for it as a snapshot (those too large for one
    /// bundle excepted), so that between them the members fill it again. Once the cursor is
    /// reset this does not happen again for the same loss; the snapshots go out like any queued
    /// bundle, at most [`MAX_IN_FLIGHT`] unacknowledged at a time, under the relay's quotas.
    fn notice_lost_bundles(&mut self, relay: &str, head: u64, out: &mut Vec<Effect>) {
        if head >= self.cursor(relay) {
            return;
        }
        self.state.cursors.insert(relay.to_string(), 0);
        self.cursors_dirty = true;
        if self.tip.set().is_member(&self.me) {
            // The snapshots are sealed when the driver hands the documents back.
            self.snapshots_for.push(relay.to_string());
        } else {
            out.push(Effect::Report(Report::RelayLost {
                relay: relay.to_string(),
                documents: 0,
            }));
        }
    }

    /// Seals the snapshots a relay that lost its bundles gets (see `notice_lost_bundles`).
    pub(super) fn refill(
        &mut self,
        relay: String,
        docs: Vec<(crate::document::DocId, Vec<u8>)>,
        entropy: &mut dyn Entropy,
        out: &mut Vec<Effect>,
    ) -> Result<(), SyncError> {
        let relays = std::collections::BTreeSet::from([relay.clone()]);
        let (documents, _) = self.enqueue_snapshots(docs.into_iter().map(Ok), relays, entropy)?;
        out.push(Effect::Report(Report::RelayLost { relay, documents }));
        Ok(())
    }

    /// The proof of this replica's invite for the connection to `relay`, once per connection:
    /// the invite it is redeeming, or the one it redeemed (for a relay that has not seen the
    /// redeem yet).
    fn candidacy(&self, relay: &str) -> Option<Message> {
        let handshake = self.links.get(relay)?.handshake()?;
        if handshake.candidacy_sent {
            return None;
        }
        let (relay_key, challenge) = handshake.challenge;
        let token = invite_token(self.state.redeem.as_deref())
            .or_else(|| invite_token(self.state.joined_with.as_deref()))?;
        Some(Message::Candidacy {
            invite_key: token.public(),
            proof: token.prove_candidacy(&relay_key, &challenge, &self.workspace, &self.me),
        })
    }

    /// Whether this replica created the workspace and no relay has confirmed that yet.
    fn creating(&self) -> bool {
        self.state.log.is_empty()
            && self
                .state
                .pending
                .first()
                .is_some_and(|op| op.op.body.creates())
    }

    /// The cursor of a relay.
    pub(super) fn cursor(&self, relay: &str) -> u64 {
        self.state.cursors.get(relay).copied().unwrap_or(0)
    }

    /// Moves the conversation with a relay forward as far as it can go right now.
    pub(super) fn step(
        &mut self,
        relay: &str,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) -> Result<(), SyncError> {
        let cursor = self.cursor(relay);
        let mode = self.mode;
        let ops_len = self.state.log.len() as u64;
        let creating = self.creating();
        let coordinator = self.is_coordinator();
        let Some(Link { conn, finished, .. }) = self.links.get_mut(relay) else {
            return Ok(());
        };
        let Conn::Ready(link) = conn else {
            return Ok(());
        };
        if !link.log_pulled {
            return Ok(());
        }
        let send = |message| Effect::send(relay, message);
        while link.ops_sent < ops_len {
            if let Some(op) = self.state.log.get(link.ops_sent as usize) {
                out.push(send(Message::MembershipAppend { op: op.clone() }));
            }
            link.ops_sent += 1;
        }
        // Local operations go to the first relay only, which orders the membership log; the
        // others receive them as confirmed operations.
        let primary = self.state.relays.first().is_some_and(|r| r == relay);
        if primary && !link.pending_sent && !self.state.pending.is_empty() {
            link.pending_sent = true;
            for op in &self.state.pending {
                out.push(send(Message::MembershipAppend { op: op.clone() }));
            }
        }
        match link.access {
            Access::Member(_) => {}
            Access::Candidate => {
                let member_soon = self.tip.set().is_member(&self.me);
                let waiting = self.tip.set().is_pending(&self.me);
                if self.state.redeem.is_some() && !member_soon && !waiting {
                    return self.redeem(relay, now, out);
                }
                let relay_level = link.relay_log >= ops_len && link.ops_sent >= ops_len;
                let confirmed = self
                    .members
                    .set()
                    .member(&self.me)
                    .is_some_and(|m| m.confirmed);
                if link.handshake.candidacy_sent && relay_level && confirmed {
                    // Confirmed while this connection was a pending joiner's, and the relay has
                    // the confirmation: the keys are in, and the next connection is a member's.
                    // (A relay still missing this organisation's redeem gets it first; its
                    // acknowledgement brings the reconnection.)
                    reconnect(conn, relay, out);
                    return Ok(());
                }
                let member = self.members.set().is_member(&self.me);
                if member && relay_level && link.relay_log > link.welcomed_log {
                    // Welcomed as a candidate on a log that did not have this organisation as a
                    // member yet; the relay has the operations that made it one now, and welcomes
                    // the next connection as a member.
                    reconnect(conn, relay, out);
                    return Ok(());
                }
                if waiting && self.state.pending.is_empty() && link.relay_log >= ops_len {
                    // A pending joiner reads the log, and nothing else, until a coordinator
                    // confirms it.
                    if mode == Mode::Once && !*finished {
                        *finished = true;
                        out.push(Effect::Report(Report::Done {
                            relay: relay.to_string(),
                            cursor,
                        }));
                        out.push(Effect::Close {
                            relay: relay.to_string(),
                        });
                    }
                    return Ok(());
                }
                let unproved = !link.handshake.candidacy_sent && !creating && !coordinator;
                if unproved || (!member_soon && !waiting && link.ops_sent >= ops_len) {
                    // Not a member, nothing to redeem: this relay has nothing for us.
                    *finished = true;
                    self.drop_links.push((
                        relay.to_string(),
                        "deze organisatie is geen lid van de samenwerking".to_string(),
                    ));
                }
                return Ok(());
            }
            _ => return Ok(()),
        }
        if !link.requested {
            link.requested = true;
            link.pulling = true;
            out.push(send(match mode {
                Mode::Once => Message::Pull {
                    after: cursor,
                    limit: PULL_LIMIT,
                },
                Mode::Watch => Message::Subscribe { after: cursor },
            }));
            if mode == Mode::Watch {
                link.pulling = false;
                link.caught_up = true;
                // Operations appended between the first pull and the subscription are pushed
                // to nobody; asking again after subscribing closes that gap.
                out.push(send(Message::MembershipPull { after: ops_len }));
            }
        }
        for item in self.state.outbox.waiting_for(relay) {
            if link.in_flight.len() >= MAX_IN_FLIGHT {
                break;
            }
            if link.in_flight.insert(item.hash) {
                out.push(send(Message::Push {
                    bundle: SealedBundle::clone(&item.bundle),
                }));
            }
        }
        if mode == Mode::Once
            && !*finished
            && (!primary || self.state.pending.is_empty())
            && link.caught_up
            && link.in_flight.is_empty()
            && link.relay_log >= ops_len
            && !self.state.outbox.any_waiting_for(relay)
        {
            *finished = true;
            out.push(Effect::Report(Report::Done {
                relay: relay.to_string(),
                cursor,
            }));
            out.push(Effect::Close {
                relay: relay.to_string(),
            });
        }
        Ok(())
    }

    fn acked(&mut self, relay: &str, hash: Hash32) {
        if let Some(link) = self.links.get_mut(relay).and_then(Link::session_mut) {
            link.in_flight.remove(&hash);
        }
        self.state.outbox.acknowledged(relay, &hash);
    }
}

/// Closes the connection to `relay` and opens a new one, which the relay welcomes anew (as a
/// member, once a redeem or a confirmation made this organisation one).
fn reconnect(conn: &mut Conn, relay: &str, out: &mut Vec<Effect>) {
    *conn = Conn::Connecting;
    out.push(Effect::Close {
        relay: relay.to_string(),
    });
    out.push(Effect::Connect {
        relay: relay.to_string(),
    });
}

#[cfg(test)]
mod tests {
    use ed25519_dalek::SigningKey;

    use super::*;
    use crate::sync::replication::Event;
    use crate::sync::replication::SimRng;
    use crate::sync::replication::test_store::{replica_with, reports};
    use crate::sync::wire::{OrgKey, PROTOCOL_VERSION, sign_relay_proof};

    /// The challenge a relay with key seed `seed` answers the `Hello` among `effects` with.
    fn challenge(effects: &[Effect], seed: u8) -> Message {
        let hello_nonce = effects
            .iter()
            .find_map(|e| match e {
                Effect::Send { message, .. } => match &**message {
                    Message::Hello { nonce, .. } => Some(*nonce),
                    _ => None,
                },
                _ => None,
            })
            .expect("a hello was sent");
        let key = SigningKey::from_bytes(&[seed; 32]);
        Message::Challenge {
            version: PROTOCOL_VERSION,
            relay: OrgKey::of(&key),
            nonce: [1; 32],
            proof: sign_relay_proof(&hello_nonce, &[1; 32], &key),
        }
    }

    fn sent_auth(effects: &[Effect]) -> bool {
        effects.iter().any(|e| {
            matches!(e, Effect::Send { message, .. } if matches!(&**message, Message::Auth { .. }))
        })
    }

    #[test]
    fn a_relay_key_is_pinned_on_first_contact_and_another_key_is_refused() {
        let replica = replica_with(0, 4).0;
        let mut rng = SimRng::new(5);
        let now = Timestamp(1_780_000_000_000);
        let relay = "wss://relay.example";
        Machine::create(&replica, "Samen", vec![relay.into()], now, &mut rng).unwrap();
        let mut machine = Machine::load(&replica, Mode::Once).unwrap().unwrap();
        let mut feed =
            |machine: &mut Machine, event| machine.handle(&replica, now, &mut rng, event).unwrap();
        let received = |message| Event::Received {
            relay: relay.into(),
            message: Box::new(message),
        };
        feed(&mut machine, Event::Start);
        let hello = feed(
            &mut machine,
            Event::Connected {
                relay: relay.into(),
            },
        );
        let first = feed(&mut machine, received(challenge(&hello, 9)));
        let key = OrgKey::of(&SigningKey::from_bytes(&[9; 32]));
        assert!(reports(&first).contains(&&Report::KeyPinned {
            relay: relay.into(),
            key
        }));
        assert!(sent_auth(&first));
        // The pin is durable: a machine loaded again knows it.
        let again = Machine::load(&replica, Mode::Once).unwrap().unwrap();
        assert_eq!(again.state().trust(relay).pinned(), Some(key));

        feed(
            &mut machine,
            Event::Disconnected {
                relay: relay.into(),
                reason: "weg".into(),
            },
        );
        feed(&mut machine, Event::Tick);
        let hello = feed(
            &mut machine,
            Event::Connected {
                relay: relay.into(),
            },
        );
        let answer = feed(&mut machine, received(challenge(&hello, 10)));
        assert!(
            !sent_auth(&answer),
            "nothing is said to a look-alike: {answer:?}"
        );
        let other = OrgKey::of(&SigningKey::from_bytes(&[10; 32]));
        let refused = reports(&answer);
        assert!(
            refused.contains(&&Report::RelayRefused {
                relay: relay.into(),
                refusal: RelayRefusal::KeyMismatch {
                    relay: relay.into(),
                    pinned: key,
                    found: other
                }
            }),
            "{refused:?}"
        );
        assert!(refused.contains(&&Report::Finished), "{refused:?}");
        assert!(feed(&mut machine, Event::Tick).is_empty());
        assert_eq!(machine.state().trust(relay).pinned(), Some(key));
    }

    #[test]
    fn a_relay_that_does_not_prove_its_key_is_refused() {
        let relay = "wss://relay.example";
        let (replica, mut rng, now, mut machine) = watching_and_connected(relay, 6);
        // A proof recorded from another connection (signed over another hello nonce).
        let key = SigningKey::from_bytes(&[9; 32]);
        let replayed = Message::Challenge {
            version: PROTOCOL_VERSION,
            relay: OrgKey::of(&key),
            nonce: [1; 32],
            proof: sign_relay_proof(&[7; 32], &[1; 32], &key),
        };
        let answer = machine
            .handle(
                &replica,
                now,
                &mut rng,
                Event::Received {
                    relay: relay.into(),
                    message: Box::new(replayed),
                },
            )
            .unwrap();
        assert!(!sent_auth(&answer));
        assert!(reports(&answer).iter().any(|r| matches!(
            r,
            Report::RelayRefused {
                refusal: RelayRefusal::NoProof { .. },
                ..
            }
        )));
        // Not pinned, and not tried again even while watching.
        assert_eq!(machine.state().trust(relay).pinned(), None);
        let later = Timestamp(now.0 + 3_600_000);
        assert!(
            machine
                .handle(&replica, later, &mut rng, Event::Tick)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn an_untrusted_certificate_ends_a_one_off_sync_and_a_watcher_retries() {
        for mode in [Mode::Once, Mode::Watch] {
            let replica = replica_with(0, 4).0;
            let mut rng = SimRng::new(7);
            let now = Timestamp(1_780_000_000_000);
            let relay = "wss://relay.example";
            Machine::create(&replica, "Samen", vec![relay.into()], now, &mut rng).unwrap();
            let mut machine = Machine::load(&replica, mode).unwrap().unwrap();
            machine
                .handle(&replica, now, &mut rng, Event::Start)
                .unwrap();
            let answer = machine
                .handle(
                    &replica,
                    now,
                    &mut rng,
                    Event::Untrusted {
                        relay: relay.into(),
                        reason: "certificaat verlopen".into(),
                    },
                )
                .unwrap();
            let seen = reports(&answer);
            assert!(seen.contains(&&Report::Untrusted {
                relay: relay.into(),
                reason: "certificaat verlopen".into()
            }));
            let retries = answer.iter().any(|e| matches!(e, Effect::WakeAt(_)));
            match mode {
                Mode::Once => {
                    assert!(seen.contains(&&Report::Finished), "{seen:?}");
                    assert!(!retries);
                }
                Mode::Watch => assert!(retries, "{answer:?}"),
            }
        }
    }

    fn feed_start(
        machine: &mut Machine,
        replica: &crate::Replica<crate::sync::replication::test_store::Watched>,
        rng: &mut SimRng,
        now: Timestamp,
        relay: &str,
    ) {
        machine.handle(replica, now, rng, Event::Start).unwrap();
        machine
            .handle(
                replica,
                now,
                rng,
                Event::Connected {
                    relay: relay.into(),
                },
            )
            .unwrap();
    }

    #[test]
    fn a_welcome_from_a_relay_that_did_not_prove_its_key_is_not_listened_to() {
        let relay = "ws://relay";
        let (replica, mut rng, now, mut machine) = watching_and_connected(relay, 5);
        let welcome = Event::Received {
            relay: relay.into(),
            message: Box::new(Message::Welcome {
                access: Access::Member(crate::sync::membership::Role::Coordinator),
                head: 0,
                membership_len: 0,
                epoch: 0,
            }),
        };
        let effects = machine.handle(&replica, now, &mut rng, welcome).unwrap();
        assert!(
            effects.contains(&Effect::Close {
                relay: relay.into()
            }),
            "the connection is closed: {effects:?}"
        );
        assert!(
            !reports(&effects)
                .iter()
                .any(|r| matches!(r, Report::Connected { .. })),
            "{effects:?}"
        );
        assert!(
            !effects.iter().any(|e| matches!(e, Effect::Send { .. })),
            "nothing is sent to it: {effects:?}"
        );
        assert!(machine.links[relay].session().is_none());
    }

    /// A watching machine of a new workspace on `relay`, started and connected (its hello sent).
    fn watching_and_connected(
        relay: &str,
        seed: u64,
    ) -> (
        crate::Replica<crate::sync::replication::test_store::Watched>,
        SimRng,
        Timestamp,
        Machine,
    ) {
        let replica = replica_with(0, 4).0;
        let mut rng = SimRng::new(seed);
        let now = Timestamp(1_780_000_000_000);
        Machine::create(&replica, "Samen", vec![relay.into()], now, &mut rng).unwrap();
        let mut machine = Machine::load(&replica, Mode::Watch).unwrap().unwrap();
        feed_start(&mut machine, &replica, &mut rng, now, relay);
        (replica, rng, now, machine)
    }

    #[test]
    fn a_refused_create_is_not_offered_again_and_ends_a_one_off_sync() {
        let replica = replica_with(0, 4).0;
        let mut rng = SimRng::new(3);
        let now = Timestamp(1_780_000_000_000);
        let (first, second) = ("ws://eerste", "ws://tweede");
        let mut machine = Machine::create(
            &replica,
            "Samen",
            vec![first.into(), second.into()],
            now,
            &mut rng,
        )
        .unwrap();
        let mut feed =
            |machine: &mut Machine, event| machine.handle(&replica, now, &mut rng, event).unwrap();
        let received = |message| Event::Received {
            relay: first.into(),
            message: Box::new(message),
        };
        feed(&mut machine, Event::Start);
        let hello = feed(
            &mut machine,
            Event::Connected {
                relay: first.into(),
            },
        );
        feed(&mut machine, received(challenge(&hello, 9)));
        // A creator has no log to read (a relay shows a candidate none): it offers its create.
        let sent = feed(
            &mut machine,
            received(Message::Welcome {
                access: Access::Candidate,
                head: 0,
                membership_len: 0,
                epoch: 0,
            }),
        );
        assert!(
            !sent.iter().any(|e| matches!(e, Effect::Send { message, .. }
                if matches!(&**message, Message::MembershipPull { .. } | Message::Candidacy { .. }))),
            "{sent:?}"
        );
        assert!(
            sent.iter().any(|e| matches!(e, Effect::Send { message, .. }
                if matches!(&**message, Message::MembershipAppend { op }
                    if op.op.body.creates()))),
            "{sent:?}"
        );

        let answer = feed(
            &mut machine,
            received(Message::error(
                ErrorCode::MembershipRefused,
                "niet toegelaten",
            )),
        );
        let reports: Vec<&Report> = answer
            .iter()
            .filter_map(|e| match e {
                Effect::Report(r) => Some(r),
                _ => None,
            })
            .collect();
        assert!(reports.contains(&&Report::CreateRefused {
            relay: first.into()
        }));
        assert!(reports.contains(&&Report::Finished), "{reports:?}");
        assert!(
            !answer.iter().any(|e| matches!(e, Effect::WakeAt(_))),
            "{answer:?}"
        );
        // Later ticks connect to no relay: neither the first nor the others.
        assert!(feed(&mut machine, Event::Tick).is_empty());
        assert_eq!(machine.pending_operations(), 1);
    }

    /// The membership operations a machine sends to a relay whose log is empty.
    fn offered(sent: &[Effect]) -> Vec<crate::sync::membership::SignedOp> {
        sent.iter()
            .filter_map(|e| match e {
                Effect::Send { message, .. } => match &**message {
                    Message::MembershipAppend { op } => Some(op.clone()),
                    _ => None,
                },
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_paged_membership_log_is_asked_for_page_by_page_before_redeeming() {
        let relay = "ws://eerste";
        let now = Timestamp(1_780_000_000_000);
        let mut rng = SimRng::new(5);
        let received = |message| Event::Received {
            relay: relay.into(),
            message: Box::new(message),
        };
        let handshake = |machine: &mut Machine, replica, rng: &mut SimRng, len| {
            let mut sent = Vec::new();
            for event in [
                Event::Start,
                Event::Connected {
                    relay: relay.into(),
                },
            ] {
                sent.extend(machine.handle(replica, now, rng, event).unwrap());
            }
            let welcome = || {
                received(Message::Welcome {
                    access: Access::Candidate,
                    head: 0,
                    membership_len: len,
                    epoch: 0,
                })
            };
            let challenged = challenge(&sent, 9);
            let mut answered = Vec::new();
            for event in [received(challenged), welcome()] {
                answered.extend(machine.handle(replica, now, rng, event).unwrap());
            }
            // A joiner proves its invite first; the relay answers with a second welcome.
            if answered.iter().any(|e| {
                matches!(e, Effect::Send { message, .. }
                if matches!(&**message, Message::Candidacy { .. }))
            }) {
                answered.extend(machine.handle(replica, now, rng, welcome()).unwrap());
            }
            answered
        };
        // A coordinator with a create and two invites: the log a relay would hold.
        let coordinator = replica_with(0, 4).0;
        let mut machine =
            Machine::create(&coordinator, "Samen", vec![relay.into()], now, &mut rng).unwrap();
        let expires = Timestamp(now.millis() + 3_600_000);
        let invite = |machine: &mut Machine, rng: &mut SimRng| {
            let role = crate::sync::membership::Role::Partner;
            machine
                .invite(&coordinator, role, expires, now, rng)
                .unwrap()
        };
        invite(&mut machine, &mut rng);
        let code = invite(&mut machine, &mut rng);
        let sent = handshake(&mut machine, &coordinator, &mut rng, 0);
        let log = offered(&sent);
        assert_eq!(log.len(), 3);

        // The joiner hears the log in pages of one operation.
        let joiner = replica_with(0, 6).0;
        let mut machine = Machine::join(&joiner, &code).unwrap();
        handshake(&mut machine, &joiner, &mut rng, 3);
        for (index, op) in log.iter().enumerate() {
            let sent = machine
                .handle(
                    &joiner,
                    now,
                    &mut rng,
                    received(Message::MembershipOps {
                        start: index as u64,
                        ops: vec![op.clone()],
                    }),
                )
                .unwrap();
            let next_pull = sent.iter().any(|e| matches!(e, Effect::Send { message, .. }
                if matches!(&**message, Message::MembershipPull { after } if *after == index as u64 + 1)));
            let redeems = offered(&sent)
                .into_iter()
                .filter(|op| op.op.body.redeemed_invite().is_some())
                .count();
            if index + 1 < log.len() {
                assert!(next_pull, "page {index} asks for the next: {sent:?}");
                assert_eq!(redeems, 0, "no redeem before the whole log is in");
            } else {
                assert!(!next_pull, "the last page asks for nothing more: {sent:?}");
                assert_eq!(redeems, 1, "then the invite is redeemed: {sent:?}");
            }
        }
    }

    /// How long after its failure a watching machine plans to reconnect, for each of `cycles`
    /// connections in which the relay welcomes it and then answers with the error `code`;
    /// `progress` makes the relay answer a pull first in that cycle.
    fn retry_delays(cycles: usize, code: ErrorCode, progress: impl Fn(usize) -> bool) -> Vec<i64> {
        let replica = replica_with(0, 5).0;
        let mut rng = SimRng::new(11);
        let mut now = Timestamp(1_780_000_000_000);
        let relay = "ws://relay";
        Machine::create(&replica, "Samen", vec![relay.into()], now, &mut rng).unwrap();
        let mut machine = Machine::load(&replica, Mode::Watch).unwrap().unwrap();
        let received = |message| Event::Received {
            relay: relay.into(),
            message: Box::new(message),
        };
        let mut delays = Vec::new();
        let mut feed = |machine: &mut Machine, now, event| {
            machine.handle(&replica, now, &mut rng, event).unwrap()
        };
        feed(&mut machine, now, Event::Start);
        for cycle in 0..cycles {
            let connected = Event::Connected {
                relay: relay.into(),
            };
            let hello = feed(&mut machine, now, connected);
            feed(&mut machine, now, received(challenge(&hello, 9)));
            let welcome = received(Message::Welcome {
                access: Access::Candidate,
                head: 0,
                membership_len: 0,
                epoch: 0,
            });
            feed(&mut machine, now, welcome);
            if progress(cycle) {
                let answer = received(Message::Bundles {
                    items: vec![],
                    head: 0,
                });
                feed(&mut machine, now, answer);
            }
            let error = received(Message::error(code, "te druk"));
            let effects = feed(&mut machine, now, error);
            let Some(at) = effects.iter().find_map(|e| match e {
                Effect::WakeAt(at) => Some(*at),
                _ => None,
            }) else {
                panic!("no retry planned: {effects:?}");
            };
            delays.push(at.0 - now.0);
            now = at;
            let retry = feed(&mut machine, now, Event::Tick);
            assert!(
                retry.iter().any(|e| matches!(e, Effect::Connect { .. })),
                "{retry:?}"
            );
        }
        delays
    }

    #[test]
    fn a_relay_that_fails_right_after_every_welcome_is_retried_ever_more_slowly() {
        let delays = retry_delays(5, ErrorCode::Overloaded, |_| false);
        for pair in delays.windows(2) {
            assert!(pair[1] > pair[0], "the waits must grow: {delays:?}");
        }
        assert!(delays[4] >= 4_000, "{delays:?}");
    }

    #[test]
    fn an_answered_request_makes_the_next_wait_short_again() {
        let delays = retry_delays(5, ErrorCode::Overloaded, |cycle| cycle == 3);
        assert!(delays[2] >= 1_000, "{delays:?}");
        assert!(
            delays[3] <= 500,
            "after progress the wait starts over: {delays:?}"
        );
    }

    #[test]
    fn a_quota_refusal_holds_a_watcher_back_for_a_minute_even_after_progress() {
        let delays = retry_delays(4, ErrorCode::QuotaExceeded, |_| true);
        assert!(delays.iter().all(|d| *d >= 60_000), "{delays:?}");
        let frozen = retry_delays(2, ErrorCode::Frozen, |_| true);
        assert!(frozen.iter().all(|d| *d >= 600_000), "{frozen:?}");
    }
}
