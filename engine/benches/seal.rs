//! Sealing benchmark: what looking for local edits costs the sync machine in a large store, and
//! what a relay's acknowledgements cost while that many bundles are queued.
//!
//! Run with `cargo bench -p kompas-engine --bench seal`. `KOMPAS_BENCH_DOCS` sets the number of
//! documents (10,000 by default). The store is in memory, so the figures are the engine's own
//! work (reading and decoding documents, encoding the sync state), not disk time. Figures are
//! ratios measured in one run.

use std::time::{Duration, Instant};

use kompas_engine::document::Assignment;
use kompas_engine::identity::Identity;
use kompas_engine::sync::replication::{Entropy, Event, Machine};
use kompas_engine::sync::wire::{Hash32, Message};
use kompas_engine::{MemoryStore, OrgType, Timestamp};

/// Enough randomness for a benchmark: a counter run through a simple mixer.
struct Counter(u64);

impl Entropy for Counter {
    fn fill(&mut self, out: &mut [u8]) {
        for byte in out {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            *byte = (self.0 >> 56) as u8;
        }
    }
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// How many acknowledgements at each end of the drain the medians are taken over.
const SAMPLE: usize = 100;

fn median(times: &[Duration]) -> Duration {
    let mut sorted = times.to_vec();
    sorted.sort();
    sorted[sorted.len() / 2]
}

fn title(value: String) -> Vec<Assignment> {
    vec![Assignment {
        field: "titel".into(),
        value,
    }]
}

fn main() {
    let docs = env_usize("KOMPAS_BENCH_DOCS", 10_000);
    let mut entropy = Counter(7);
    let replica = kompas_engine::composition::init(
        MemoryStore::default(),
        Identity::new("Bench", OrgType::Anders, [1; 32], [2; 16]),
    )
    .expect("init");
    let mut ids = Vec::with_capacity(docs);
    for d in 0..docs {
        let random = (d as u64).to_be_bytes();
        let id = replica
            .create(
                "ambitie",
                &title(format!("ambitie {d}")),
                Timestamp(1),
                random,
            )
            .expect("create");
        ids.push(id);
    }
    let mut machine = Machine::create(
        &replica,
        "Bench",
        vec!["ws://127.0.0.1:9".into()],
        Timestamp(2),
        &mut entropy,
    )
    .expect("workspace");
    println!("seal benchmark: {docs} documents in memory");

    let mut look = |machine: &mut Machine| -> (Duration, usize) {
        let queued = machine.queued();
        let start = Instant::now();
        machine
            .handle(&replica, Timestamp(3), &mut entropy, Event::LocalChanges)
            .expect("seal");
        (start.elapsed(), machine.queued() - queued)
    };

    let (first, first_bundles) = look(&mut machine);
    assert_eq!(first_bundles, docs, "every document is sealed once");
    let mut idle = Duration::MAX;
    for _ in 0..5 {
        let (took, bundles) = look(&mut machine);
        assert_eq!(bundles, 0, "nothing changed, nothing to seal");
        idle = idle.min(took);
    }
    replica
        .update(&ids[docs / 2], &title("bijgewerkt".into()), Timestamp(4))
        .expect("update");
    let (one, one_bundles) = look(&mut machine);
    assert_eq!(one_bundles, 1, "the one edited document is sealed");

    println!(
        "first seal of every document: {:.1} ms",
        first.as_secs_f64() * 1e3
    );
    println!(
        "look for edits, nothing changed: {:.1} µs (the first seal took {:.0}x as long)",
        idle.as_secs_f64() * 1e6,
        first.as_secs_f64() / idle.as_secs_f64()
    );
    // With no relay to acknowledge them, all first seals stay queued, and writing that state
    // is most of this figure.
    println!(
        "look for edits, one document edited: {:.1} ms (the first seal took {:.0}x as long)",
        one.as_secs_f64() * 1e3,
        first.as_secs_f64() / one.as_secs_f64()
    );

    // A relay acknowledges the queued bundles one by one, as it does after a first sync of a
    // large store or a long time offline.
    let relay = machine.state().relays[0].clone();
    let hashes: Vec<Hash32> = machine.state().outbox.iter().map(|o| o.hash).collect();
    let queued = hashes.len();
    let mut ack = |machine: &mut Machine, seq: usize, hash: Hash32| -> Duration {
        let message = Message::Ack {
            seq: seq as u64 + 1,
            hash,
            duplicate: false,
        };
        let start = Instant::now();
        machine
            .handle(
                &replica,
                Timestamp(5),
                &mut entropy,
                Event::Received {
                    relay: relay.clone(),
                    message: Box::new(message),
                },
            )
            .expect("ack");
        start.elapsed()
    };
    let drain = Instant::now();
    let took: Vec<Duration> = hashes
        .into_iter()
        .enumerate()
        .map(|(seq, hash)| ack(&mut machine, seq, hash))
        .collect();
    let drain = drain.elapsed();
    assert_eq!(machine.queued(), 0, "every bundle acknowledged");
    let window = SAMPLE.min(queued / 2);
    let full = median(&took[..window]);
    let empty = median(&took[queued - window..]);
    println!(
        "one acknowledgement with {queued} to {} bundles queued: {:.1} µs; with {window} to 1 \
         queued: {:.1} µs ({:.1}x; medians of {window})",
        queued - window + 1,
        full.as_secs_f64() * 1e6,
        empty.as_secs_f64() * 1e6,
        full.as_secs_f64() / empty.as_secs_f64()
    );
    println!(
        "drain {queued} acknowledgements: {:.2} s, {:.1} µs each on average",
        drain.as_secs_f64(),
        drain.as_secs_f64() * 1e6 / queued as f64
    );
}
