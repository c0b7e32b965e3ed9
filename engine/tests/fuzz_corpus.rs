//! Runs the frame decoder fuzz target's check over its stored corpus as a plain test, so every
//! build exercises the inputs found so far (see `fuzz/`).

#[path = "../../fuzz/src/check.rs"]
mod check;

#[test]
fn the_frame_decoder_corpus_decodes_without_panics() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/frame_decoder");
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).expect("the corpus directory exists") {
        let bytes = std::fs::read(entry.expect("a corpus entry").path()).expect("readable");
        check::check_frame_bytes(&bytes);
        count += 1;
    }
    assert!(
        count >= 15,
        "the corpus holds a seed for every message type, found {count}"
    );
}
