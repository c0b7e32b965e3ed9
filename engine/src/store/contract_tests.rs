//! Contract tests that every Store implementation must pass.
