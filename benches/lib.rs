//! Deterministic corpora shared by the benchmarks (nothing large is committed).
