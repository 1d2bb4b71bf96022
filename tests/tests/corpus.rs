//! Every corpus case, checked against the default masker.

use logmask_conformance::{check_case, corpus};
use logmask_mask::Masker;

#[test]
fn corpus_has_enough_cases() {
    let cases = corpus();
    assert!(cases.len() >= 170, "corpus has only {} cases", cases.len());
}

#[test]
fn every_corpus_case_passes() {
    let masker = Masker::new();
    let failures: Vec<String> = corpus().iter().filter_map(|c| check_case(c, &masker).err()).collect();
    assert!(failures.is_empty(), "{} corpus case(s) failed:\n{}", failures.len(), failures.join("\n"));
}
