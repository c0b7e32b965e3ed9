//! The property the membership-operation fuzz target checks, shared with the engine's tests.

use kompas_engine::sync::membership::{MemberSet, SignedOp};
use kompas_engine::sync::wire::Encoded;

/// Decodes `data` as a signed membership operation; whatever decodes must encode back to the
/// same bytes, and folding it onto an empty log must give a result (applied or refused) without
/// panicking, leaving the set unchanged when refused. Panics only if that property fails.
pub fn check_membership_op_bytes(data: &[u8]) {
    let Ok(op) = SignedOp::from_bytes(data) else {
        return;
    };
    assert_eq!(
        op.to_bytes(),
        data,
        "decoded operation re-encodes differently"
    );
    let mut set = MemberSet::default();
    if set.apply(&op).is_err() {
        assert_eq!(
            set,
            MemberSet::default(),
            "a refused operation changed the set"
        );
    } else {
        assert_eq!(set.len(), 1);
        let before = set.clone();
        if set.apply(&op).is_err() {
            assert_eq!(set, before, "a refused operation changed the set");
        }
    }
}
