//! The conversation with one relay: handshake, membership log, pulls, pushes and acknowledgements.

use super::entropy::Entropy;
use super::event::{Effect, Report};
use super::link::Phase;
use super::machine::{MAX_IN_FLIGHT, Machine, Mode, PULL_LIMIT, SyncError};
use super::state::StateError;
use crate::replica::Replica;
use crate::store::Store;
use crate::sync::membership::OpBody;
use crate::sync::wire::{Access, Encoded, ErrorCode, Hash32, Message, SealedBundle, sign_auth};
use crate::time::Timestamp;

impl Machine {
    pub(super) fn received<S: Store>(
        &mut self,
        replica: &Replica<S>,
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
                ..
            } => {
                if let Some(link) = self.links.get_mut(relay) {
                    link.phase = Phase::Auth;
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
                if let Some(link) = self.links.get_mut(relay) {
                    link.phase = Phase::Ready;
                    link.access = Some(access);
                    link.relay_head = head;
                    link.relay_log = membership_len;
                    link.ops_sent = membership_len;
                }
                out.push(Effect::Report(Report::Connected {
                    relay: relay.to_string(),
                }));
                if matches!(access, Access::Member(_)) {
                    self.seal_local(replica, entropy)?;
                }
                out.push(send(Message::MembershipPull {
                    after: self.ops.len() as u64,
                }));
            }
            Message::MembershipOps { start, ops } => {
                self.membership_ops(replica, relay, start, ops, now, entropy, out)?;
                self.step(relay, now, out)?;
            }
            Message::MembershipAck { index, hash } => {
                if index == self.ops.len() as u64
                    && let Some(op) = self.pending.first().filter(|p| p.hash() == hash).cloned()
                {
                    self.confirm(op)?;
                    self.after_log_change(replica, relay, now, entropy, out)?;
                }
                let candidate_now_member = match self.links.get_mut(relay) {
                    Some(link) => {
                        link.ops_sent = link.ops_sent.max(index + 1);
                        link.relay_log = link.relay_log.max(index + 1);
                        link.access == Some(Access::Candidate)
                            && self.members.set().is_member(&self.me)
                    }
                    None => false,
                };
                if candidate_now_member {
                    // A redeemed invite takes effect on the next connection.
                    if let Some(link) = self.links.get_mut(relay) {
                        link.reset_connection();
                        link.phase = Phase::Connecting;
                    }
                    out.push(Effect::Close {
                        relay: relay.to_string(),
                    });
                    out.push(Effect::Connect {
                        relay: relay.to_string(),
                    });
                } else {
                    self.step(relay, now, out)?;
                }
            }
            Message::Bundles { items, head } => {
                let more = !items.is_empty();
                if let Some(link) = self.links.get_mut(relay) {
                    link.pulling = false;
                    link.relay_head = link.relay_head.max(head);
                }
                for item in items {
                    self.item(replica, relay, item.seq, item.bundle, out)?;
                }
                let cursor = self.cursor(relay);
                if let Some(link) = self.links.get_mut(relay) {
                    if link.stalled {
                        // Nothing more is read until parked bundles move.
                        link.caught_up = true;
                    } else if more && cursor < link.relay_head {
                        link.pulling = true;
                        out.push(send(Message::Pull {
                            after: cursor,
                            limit: PULL_LIMIT,
                        }));
                    } else if !link.pulling {
                        link.caught_up = cursor >= link.relay_head || !more;
                    }
                }
                self.step(relay, now, out)?;
            }
            Message::Pushed { item } => {
                if let Some(link) = self.links.get_mut(relay) {
                    link.relay_head = link.relay_head.max(item.seq);
                }
                self.item(replica, relay, item.seq, item.bundle, out)?;
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
                if code == ErrorCode::Removed {
                    if let Some(link) = self.links.get_mut(relay) {
                        link.finished = true;
                    }
                    if !self.removed_reported {
                        self.removed_reported = true;
                        out.push(Effect::Report(Report::Removed));
                    }
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
            | Message::MembershipAppend { .. } => {}
        }
        Ok(())
    }

    /// Whether this replica created the workspace and no relay has confirmed that yet.
    fn creating(&self) -> bool {
        self.ops.is_empty()
            && self
                .pending
                .first()
                .is_some_and(|op| matches!(op.op.body, OpBody::Create { .. }))
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
        let ops_len = self.ops.len() as u64;
        let Some(link) = self.links.get_mut(relay) else {
            return Ok(());
        };
        if link.phase != Phase::Ready || !link.log_pulled {
            return Ok(());
        }
        let send = |message| Effect::send(relay, message);
        while link.ops_sent < ops_len {
            if let Some(op) = self.ops.get(link.ops_sent as usize) {
                out.push(send(Message::MembershipAppend { op: op.clone() }));
            }
            link.ops_sent += 1;
        }
        // Local operations go to the first relay only, which orders the membership log; the
        // others receive them as confirmed operations.
        let primary = self.state.relays.first().is_some_and(|r| r == relay);
        if primary && !link.pending_sent && !self.pending.is_empty() {
            link.pending_sent = true;
            for op in &self.pending {
                out.push(send(Message::MembershipAppend { op: op.clone() }));
            }
        }
        match link.access {
            Some(Access::Member(_)) => {}
            Some(Access::Candidate) => {
                let member_soon = self.tip.set().is_member(&self.me);
                if self.state.redeem.is_some() && !member_soon {
                    return self.redeem(relay, now, out);
                }
                if !member_soon && link.ops_sent >= ops_len {
                    // Not a member, nothing to redeem: this relay has nothing for us.
                    link.finished = true;
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
            let Ok(hash) = item.hash.parse::<Hash32>() else {
                continue;
            };
            if link.in_flight.contains(&hash) {
                continue;
            }
            match SealedBundle::from_bytes(&item.bundle) {
                Ok(bundle) => {
                    link.in_flight.insert(hash);
                    out.push(send(Message::Push { bundle }));
                }
                Err(e) => return Err(StateError::from(e).into()),
            }
        }
        if mode == Mode::Once
            && !link.finished
            && (!primary || self.pending.is_empty())
            && link.caught_up
            && link.in_flight.is_empty()
            && link.relay_log >= ops_len
            && !self.state.outbox.any_waiting_for(relay)
        {
            link.finished = true;
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
        if let Some(link) = self.links.get_mut(relay) {
            link.in_flight.remove(&hash);
        }
        self.state.outbox.acknowledged(relay, &hash.to_string());
    }
}

#[cfg(test)]
mod tests {
    use ed25519_dalek::SigningKey;

    use super::*;
    use crate::sync::replication::Event;
    use crate::sync::replication::sim::rng::SimRng;
    use crate::sync::replication::test_store::replica_with;
    use crate::sync::wire::{OrgKey, PROTOCOL_VERSION};

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
        feed(
            &mut machine,
            Event::Connected {
                relay: first.into(),
            },
        );
        let relay_key = OrgKey::of(&SigningKey::from_bytes(&[9; 32]));
        feed(
            &mut machine,
            received(Message::Challenge {
                version: PROTOCOL_VERSION,
                relay: relay_key,
                nonce: [1; 32],
            }),
        );
        feed(
            &mut machine,
            received(Message::Welcome {
                access: Access::Candidate,
                head: 0,
                membership_len: 0,
                epoch: 0,
            }),
        );
        let sent = feed(
            &mut machine,
            received(Message::MembershipOps {
                start: 0,
                ops: vec![],
            }),
        );
        assert!(
            sent.iter().any(|e| matches!(e, Effect::Send { message, .. }
                if matches!(&**message, Message::MembershipAppend { op }
                    if matches!(op.op.body, OpBody::Create { .. })))),
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

    /// How long after its failure a watching machine plans to reconnect, for each of `cycles`
    /// connections in which the relay welcomes it and then answers with an error; `progress`
    /// makes the relay answer a pull first in that cycle.
    fn retry_delays(cycles: usize, progress: impl Fn(usize) -> bool) -> Vec<i64> {
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
            feed(&mut machine, now, connected);
            let challenge = received(Message::Challenge {
                version: PROTOCOL_VERSION,
                relay: OrgKey::of(&SigningKey::from_bytes(&[9; 32])),
                nonce: [1; 32],
            });
            feed(&mut machine, now, challenge);
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
            let error = received(Message::error(ErrorCode::Overloaded, "te druk"));
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
        let delays = retry_delays(5, |_| false);
        for pair in delays.windows(2) {
            assert!(pair[1] > pair[0], "the waits must grow: {delays:?}");
        }
        assert!(delays[4] >= 4_000, "{delays:?}");
    }

    #[test]
    fn an_answered_request_makes_the_next_wait_short_again() {
        let delays = retry_delays(5, |cycle| cycle == 3);
        assert!(delays[2] >= 1_000, "{delays:?}");
        assert!(
            delays[3] <= 500,
            "after progress the wait starts over: {delays:?}"
        );
    }
}
