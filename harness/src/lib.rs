//! Test and benchmark support for dirsnap: the demo fixture generator (a readable source
//! description → Parquet snapshots) and synthetic data for benchmarks.

pub mod bench;
pub mod bench_reconcile;
pub mod demo;
pub mod ids;
pub mod scenario;
