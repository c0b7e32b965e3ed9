//! Fuzz target: the membership-operation decoder and fold must never panic on any bytes.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    kompas_fuzz::check_membership_op_bytes(data);
});
