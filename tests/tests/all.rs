//! The engine against the shared corpus, properties and third-party data.

mod conformance;
mod corpus;
mod dictionary;
mod infra;
mod keyed;
mod policy;
mod properties;
