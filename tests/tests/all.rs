//! The engine against the shared corpus, properties and third-party data.

mod corpus;
