//! Helpers shared by integration tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, missing_docs)]

pub(crate) mod gated;
