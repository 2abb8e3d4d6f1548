//! THREAD and UID THREAD (RFC 5256 §3): ORDEREDSUBJECT and REFERENCES,
//! from the Message-ID, References, In-Reply-To and subject stored at
//! delivery.

use crate::message::thread::{
    ThreadMessage, thread_orderedsubject, thread_references, write_thread_data,
};
use crate::proto::imap::{SearchKey, ThreadAlgorithm};
use crate::session::imap::{CommandResult, ImapSession, blocking_for, ok};

impl ImapSession {
    /// THREAD / UID THREAD algorithm charset criteria.
    pub(in crate::session::imap) fn cmd_thread(
        &mut self,
        uid_mode: bool,
        algorithm: ThreadAlgorithm,
        charset: &str,
        search: SearchKey,
    ) -> CommandResult {
        self.check_charset(Some(charset))?;
        let hits = self.run_search(&search)?;
        let store = self.shared.store.as_ref();
        let messages = blocking_for(
            hits.len(),
            || -> Result<Vec<ThreadMessage>, crate::store::StoreError> {
                let mut out = Vec::with_capacity(hits.len());
                for hit in &hits {
                    let rec = &hit.rec;
                    let idx = match store.search_index(rec) {
                        // Expunged by another session meanwhile.
                        Err(crate::store::StoreError::Expunged) => continue,
                        other => other?,
                    };
                    out.push(ThreadMessage {
                        id: if uid_mode { hit.uid } else { hit.seq },
                        message_id: idx.message_id,
                        references: idx.references,
                        in_reply_to: idx.in_reply_to,
                        subject: idx.subject,
                        sent_date: idx.sent_date.unwrap_or(rec.internal_date),
                    });
                }
                Ok(out)
            },
        )?;
        let roots = match algorithm {
            ThreadAlgorithm::References => thread_references(&messages),
            ThreadAlgorithm::OrderedSubject => thread_orderedsubject(&messages),
        };
        let mut line = Vec::new();
        write_thread_data(&mut line, &roots);
        self.untagged_bytes(&line);
        ok(if uid_mode {
            "UID THREAD completed"
        } else {
            "THREAD completed"
        })
    }
}
