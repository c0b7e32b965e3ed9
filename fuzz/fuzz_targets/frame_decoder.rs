//! Fuzz target: the frame decoder must never panic, and what it decodes must re-encode exactly.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    kompas_fuzz::check_frame_bytes(data);
});
