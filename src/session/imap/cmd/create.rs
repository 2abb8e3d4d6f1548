//! CREATE (RFC 9051 §6.3.4) with CREATE-SPECIAL-USE (RFC 6154 §3).
//! Missing superior names need not be created: a name with inferiors is
//! listed as `\Noselect` when it is not a mailbox itself.

use crate::session::imap::{CommandResult, ImapSession, names, no, ok};

/// RFC 6154 §2 attributes a mailbox may be created with.
const SPECIAL_USE: [&str; 7] = [
    "\\All",
    "\\Archive",
    "\\Drafts",
    "\\Flagged",
    "\\Junk",
    "\\Sent",
    "\\Trash",
];

impl ImapSession {
    /// CREATE name [(USE (attr))]; durable before the OK.
    pub(in crate::session::imap) async fn cmd_create(
        &mut self,
        sent: &str,
        special_use: &[String],
    ) -> CommandResult {
        let name = names::from_wire(sent, self.enabled.utf8)?;
        if name == "INBOX" {
            return Err(no(Some("ALREADYEXISTS"), "INBOX always exists"));
        }
        names::check_new(&name)?;
        let special = match special_use {
            [] => None,
            [one] => match SPECIAL_USE.iter().find(|s| s.eq_ignore_ascii_case(one)) {
                Some(s) => Some(*s),
                None => return Err(no(Some("USEATTR"), "Unknown special-use attribute")),
            },
            _ => {
                return Err(no(
                    Some("USEATTR"),
                    "Only one special-use attribute per mailbox",
                ));
            }
        };
        let account = self.logged_in().account;
        let store = self.shared.store.clone();
        if store.mailboxes(account)?.len() >= self.shared.config.limits.max_mailboxes {
            return Err(no(Some("LIMIT"), "Too many mailboxes"));
        }
        store.create_mailbox(account, &name, special)?;
        store.sync().await?;
        ok("CREATE completed")
    }
}
