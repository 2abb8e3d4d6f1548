//! What delivery derives from a message for SEARCH, SORT and THREAD: the
//! search index, the decoded header and body text, Message-ID lists and
//! base subjects (RFC 5256 §2.1). Must never panic or loop on any input.

use tokenmail::message::{MessageSummary, SearchIndex, body_text, header_text, thread};

/// One input, as the fuzzer and the regression replay give it.
pub fn check(data: &[u8]) {
    let summary = MessageSummary::parse(data);
    let index = SearchIndex::build(data, &summary);
    let _ = header_text(data, &summary);
    let _ = body_text(data, &summary);
    let _ = thread::message_ids(data);
    let base = thread::base_subject(&index.subject);
    // The base subject is a fixed point (RFC 5256 §2.1: the algorithm runs until nothing changes).
    assert_eq!(thread::base_subject(&base), base);
}
