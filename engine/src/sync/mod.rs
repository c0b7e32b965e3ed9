//! Sync between organisations: the wire format spoken with relays and the workspace member list.
//!
//! Both halves are pure: they encode, decode, sign, verify and fold values, and never touch a
//! socket, a file or the clock. The relay and the replicas share this code.

pub mod membership;
pub mod wire;
