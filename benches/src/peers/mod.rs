//! Peer crates as [`Subject`](crate::Subject)s, each used the way its documentation
//! recommends: `prometheus` (tikv), `prometheus-client` and `measured`.

pub mod client;
pub mod measured;
pub mod tikv;
