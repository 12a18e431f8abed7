#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs, unreachable_pub)]
//! Integration tests of `seclog serve` through a real HTTP client.

#[path = "http/auth_limit.rs"]
mod auth_limit;
#[path = "http/common.rs"]
mod common;
#[path = "http/contract.rs"]
mod contract;
#[path = "http/db_file.rs"]
mod db_file;
#[path = "http/decisions.rs"]
mod decisions;
#[path = "http/durability.rs"]
mod durability;
#[path = "http/endpoints.rs"]
mod endpoints;
