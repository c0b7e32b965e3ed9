//! Runs the fuzz targets' checks over their stored corpora as plain tests, so every build
//! exercises the inputs found so far (see `fuzz/`), and feeds the membership-operation check
//! arbitrary and damaged bytes.

#[path = "../../fuzz/src/check.rs"]
mod check;
#[path = "../../fuzz/src/membership_check.rs"]
mod membership_check;

use proptest::prelude::*;

fn corpus(name: &str) -> Vec<Vec<u8>> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(name);
    std::fs::read_dir(&dir)
        .expect("the corpus directory exists")
        .map(|entry| std::fs::read(entry.expect("a corpus entry").path()).expect("readable"))
        .collect()
}

#[test]
fn the_frame_decoder_corpus_decodes_without_panics() {
    let inputs = corpus("frame_decoder");
    for bytes in &inputs {
        check::check_frame_bytes(bytes);
    }
    assert!(
        inputs.len() >= 15,
        "the corpus holds a seed for every message type, found {}",
        inputs.len()
    );
}

#[test]
fn the_membership_op_corpus_decodes_and_folds_without_panics() {
    let inputs = corpus("membership_op");
    let mut decoded = 0;
    for bytes in &inputs {
        membership_check::check_membership_op_bytes(bytes);
        let decodes = <kompas_engine::sync::membership::SignedOp as kompas_engine::sync::wire::Encoded>::from_bytes(bytes).is_ok();
        decoded += usize::from(decodes);
    }
    assert!(
        decoded >= 9,
        "the corpus holds a valid seed for every operation kind, found {decoded}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_bytes_never_panic_the_membership_op_decoder(
        bytes in proptest::collection::vec(any::<u8>(), 0..600)
    ) {
        membership_check::check_membership_op_bytes(&bytes);
    }

    #[test]
    fn damaged_operations_never_panic_the_decoder_or_the_fold(
        seed in 0usize..64,
        flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6),
        cut in any::<usize>(),
    ) {
        let inputs = corpus("membership_op");
        let mut bytes = inputs[seed % inputs.len()].clone();
        for (at, value) in flips {
            let at = at % bytes.len();
            bytes[at] ^= value;
        }
        membership_check::check_membership_op_bytes(&bytes);
        bytes.truncate(cut % (bytes.len() + 1));
        membership_check::check_membership_op_bytes(&bytes);
    }
}
