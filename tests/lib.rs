//! Loaders for the shared PII corpus (`tests/data/corpus.toml`) used by every consumer's tests.
