//! Tests of replica operations against the in-memory store.
