//! A watcher per mailbox: fetch what is new, file each message through the
//! one inbound path (its own transaction), then flag, move or delete it on
//! the server, then remember its UID; wait with IDLE (or poll); reconnect
//! with backoff. A crash between any two steps files nothing twice: the
//! inbound path answers a Message-ID it has seen as a duplicate. Every IMAP
//! command has a deadline, so a server that stops answering is noticed.

use std::collections::HashMap;
use std::fmt::Display;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt as _;
use rusqlite::{params, OptionalExtension};

use super::connect::{open, ImapSession, Opened};
use super::{MailboxState, Mailboxes};
use crate::auth::JwtKeys;
use crate::config::{AfterFiling, MailboxConfig};
use crate::db::{now, Db};
use crate::error::Error;
use crate::mail::inbound::InboundStatus;
use crate::notify::delivery::Delivery;

/// IDLE is re-issued before servers drop it (RFC 2177: 29 minutes).
const IDLE_FOR: Duration = Duration::from_mins(25);

/// Longest wait for one IMAP command's answer.
const COMMAND_TIMEOUT: Duration = Duration::from_mins(2);

/// A batch of messages read in one round trip: at most this many ...
const BATCH: usize = 25;
/// ... and at most this many bytes together (a larger message comes alone).
const BATCH_BYTES: u64 = 8 << 20;

/// Longest wait between reconnection attempts.
const MAX_BACKOFF: Duration = Duration::from_mins(5);

/// A message whose filing fails this often is left for the operator.
const MAX_ATTEMPTS: u32 = 3;

/// What the watchers need to file mail.
pub struct Fetcher {
    pub db: Db,
    pub keys: Arc<JwtKeys>,
    pub delivery: Arc<Delivery>,
    pub max_file_bytes: u64,
    /// Larger messages are not fetched (the webhook's limit).
    pub max_mail_bytes: u64,
    pub mailboxes: Arc<Mailboxes>,
    /// Failed attempts per (mailbox, UID).
    pub failures: Mutex<HashMap<(usize, u32), u32>>,
}

async fn timed<T, E: Display>(
    what: &str,
    fut: impl Future<Output = Result<T, E>>,
) -> Result<T, String> {
    match tokio::time::timeout(COMMAND_TIMEOUT, fut).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(format!("{what} failed: {e}")),
        Err(_) => Err(format!(
            "{what}: the server did not answer within {} s",
            COMMAND_TIMEOUT.as_secs()
        )),
    }
}

impl Fetcher {
    /// Watches every mailbox until `shutdown`.
    pub async fn run(self: Arc<Self>, shutdown: impl Future<Output = ()> + Clone + Send + 'static) {
        let watchers: Vec<_> = (0..self.mailboxes.entries.len())
            .map(|index| tokio::spawn(Arc::clone(&self).watch(index, shutdown.clone())))
            .collect();
        for watcher in watchers {
            let _ = watcher.await;
        }
    }

    async fn watch(self: Arc<Self>, index: usize, shutdown: impl Future<Output = ()> + Send) {
        let config = self.mailboxes.entries[index].0.clone();
        tokio::pin!(shutdown);
        let mut backoff = Duration::from_secs(1);
        loop {
            self.mailboxes.set_state(index, MailboxState::Connecting);
            let outcome = tokio::select! {
                () = &mut shutdown => return,
                outcome = self.session(index, &config) => outcome,
            };
            if let Err(hint) = outcome {
                tracing::info!(mailbox = %config.name, error = %hint, "mailbox connection failed; retrying");
                self.mailboxes.failed(index, &hint);
            }
            // A connection that worked a while starts the backoff over.
            if self.mailboxes.reached_idle(index) {
                backoff = Duration::from_secs(1);
            }
            // Jitter keeps many installations from returning in step.
            let wait = backoff.mul_f64(0.8 + rand::random::<f64>() * 0.4);
            tokio::select! {
                () = &mut shutdown => return,
                () = tokio::time::sleep(wait) => {}
            }
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    /// One connection: fetch, then wait for more, until it fails.
    async fn session(&self, index: usize, config: &MailboxConfig) -> Result<(), String> {
        let Opened {
            mut session,
            idle,
            uid_validity,
            uid_next,
        } = open(config).await?;
        let mut last_uid = self
            .start_at((index, config), &mut session, uid_validity, uid_next)
            .await?;
        loop {
            self.mailboxes.set_state(index, MailboxState::Fetching);
            last_uid = self
                .fetch_new((index, config), &mut session, (uid_validity, last_uid))
                .await?;
            self.mailboxes.set_state(index, MailboxState::Idle);
            // News the server told us while we were busy is not told again.
            let mut news = false;
            while session.unsolicited_responses.try_recv().is_ok() {
                news = true;
            }
            if news {
                continue;
            }
            session = if idle {
                let mut handle = session.idle();
                timed("starting IDLE", handle.init()).await?;
                {
                    let (wait, _stop) = handle.wait_with_timeout(IDLE_FOR);
                    // Keep-alives restart the library's timer; this one is firm.
                    if let Ok(Err(e)) = tokio::time::timeout(IDLE_FOR, wait).await {
                        return Err(format!("the connection broke while idle: {e}"));
                    }
                }
                timed("ending IDLE", handle.done()).await?
            } else {
                tokio::time::sleep(Duration::from_secs(config.poll_secs)).await;
                timed("checking for mail", session.noop()).await?;
                session
            };
        }
    }

    /// The last UID already taken: the stored one for this UIDVALIDITY. On a
    /// first connect (or a renumbered folder) the unread messages are filed
    /// now, in every mode, and everything else stays where it is.
    async fn start_at(
        &self,
        (index, config): (usize, &MailboxConfig),
        session: &mut ImapSession,
        uid_validity: u32,
        uid_next: Option<u32>,
    ) -> Result<u32, String> {
        let name = config.name.clone();
        let stored: Option<(u32, u32)> = self
            .db
            .read(move |c| {
                Ok(c.prepare_cached(
                    "SELECT uid_validity, last_uid FROM mailbox_state WHERE name = ?1",
                )?
                .query_row([name], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?)
            })
            .await
            .map_err(|e| format!("reading the mailbox state failed: {e}"))?;
        if let Some((validity, last)) = stored {
            if validity == uid_validity {
                return Ok(last);
            }
            tracing::warn!(mailbox = %config.name, "the server renumbered the folder (UIDVALIDITY changed); messages already filed are recognised by Message-ID");
        }
        let mut unseen: Vec<u32> = timed("searching for unread mail", session.uid_search("UNSEEN"))
            .await?
            .into_iter()
            .collect();
        unseen.sort_unstable();
        let highest = uid_next.map_or(0, |n| n.saturating_sub(1));
        let last = unseen.last().copied().unwrap_or(0).max(highest);
        self.fetch_uids((index, config), session, uid_validity, &unseen)
            .await?;
        self.remember(config, uid_validity, last).await?;
        Ok(last)
    }

    /// Files every message after `last_uid`; returns the new last UID.
    async fn fetch_new(
        &self,
        (index, config): (usize, &MailboxConfig),
        session: &mut ImapSession,
        (uid_validity, last_uid): (u32, u32),
    ) -> Result<u32, String> {
        let mut uids: Vec<u32> = timed(
            "searching for new mail",
            session.uid_search(format!("UID {}:*", last_uid + 1)),
        )
        .await?
        .into_iter()
        // `N:*` always names the last message, even one below N.
        .filter(|uid| *uid > last_uid)
        .collect();
        uids.sort_unstable();
        let done = self
            .fetch_uids((index, config), session, uid_validity, &uids)
            .await?;
        self.mailboxes.fetched(index, 0);
        Ok(done.unwrap_or(last_uid))
    }

    /// Files `uids` in order, in batches by count and size; returns the last
    /// one handled. A message the server lists but does not give stops the
    /// round before it, so it is never skipped.
    async fn fetch_uids(
        &self,
        (index, config): (usize, &MailboxConfig),
        session: &mut ImapSession,
        uid_validity: u32,
        uids: &[u32],
    ) -> Result<Option<u32>, String> {
        let mut last = None;
        let sizes = self.sizes(session, uids).await?;
        let mut batch: Vec<u32> = Vec::new();
        let mut batch_bytes = 0;
        let mut i = 0;
        while i <= uids.len() {
            let next = uids.get(i).copied();
            let size = next.and_then(|u| sizes.get(&u).copied()).unwrap_or(0);
            let full =
                batch.len() >= BATCH || (batch_bytes + size > BATCH_BYTES && !batch.is_empty());
            if next.is_none() || full {
                let (messages, held_back) = self.bodies(session, &batch).await?;
                for (uid, raw) in messages {
                    self.handle((index, config), session, uid_validity, uid, raw)
                        .await?;
                    last = Some(uid);
                }
                if let Some(uid) = held_back {
                    return Err(format!(
                        "the server did not give message UID {uid}; retrying"
                    ));
                }
                batch.clear();
                batch_bytes = 0;
                if next.is_none() {
                    break;
                }
                continue;
            }
            let uid = next.unwrap_or_default();
            if size > self.max_mail_bytes {
                tracing::warn!(mailbox = %config.name, uid, size, "a message is larger than a mail may be; left in the mailbox, not filed");
                self.remember(config, uid_validity, uid).await?;
                last = Some(uid);
            } else {
                batch.push(uid);
                batch_bytes += size;
            }
            i += 1;
        }
        Ok(last)
    }

    /// The size of each of `uids`.
    async fn sizes(
        &self,
        session: &mut ImapSession,
        uids: &[u32],
    ) -> Result<HashMap<u32, u64>, String> {
        let mut sizes = HashMap::new();
        for chunk in uids.chunks(200) {
            let set = chunk
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(",");
            let fetched = timed("reading message sizes", async {
                let mut stream = session.uid_fetch(&set, "(UID RFC822.SIZE)").await?;
                let mut out = Vec::new();
                while let Some(item) = stream.next().await {
                    let fetch = item?;
                    if let (Some(uid), Some(size)) = (fetch.uid, fetch.size) {
                        out.push((uid, u64::from(size)));
                    }
                }
                Ok::<_, async_imap::error::Error>(out)
            })
            .await?;
            sizes.extend(fetched);
        }
        Ok(sizes)
    }

    /// The raw messages of `batch`, in UID order, up to the first one the
    /// server lists but did not give (named second: the round stops there).
    async fn bodies(
        &self,
        session: &mut ImapSession,
        batch: &[u32],
    ) -> Result<(Vec<(u32, Vec<u8>)>, Option<u32>), String> {
        if batch.is_empty() {
            return Ok((Vec::new(), None));
        }
        let set = batch
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(",");
        let mut messages = timed("fetching mail", async {
            let mut stream = session.uid_fetch(&set, "(UID BODY.PEEK[])").await?;
            let mut out = Vec::new();
            while let Some(item) = stream.next().await {
                let fetch = item?;
                if let (Some(uid), Some(body)) = (fetch.uid, fetch.body()) {
                    out.push((uid, body.to_vec()));
                }
            }
            Ok::<_, async_imap::error::Error>(out)
        })
        .await?;
        messages.sort_by_key(|(uid, _)| *uid);
        // Answered short: a missing one that still exists is not passed over.
        for missing in batch
            .iter()
            .filter(|u| !messages.iter().any(|(m, _)| m == *u))
        {
            let still = timed(
                "looking for a message",
                session.uid_search(format!("UID {missing}")),
            )
            .await?;
            if still.contains(missing) {
                messages.retain(|(uid, _)| uid < missing);
                return Ok((messages, Some(*missing)));
            }
        }
        Ok((messages, None))
    }

    /// Files one message, acts on it on the server, remembers it.
    async fn handle(
        &self,
        (index, config): (usize, &MailboxConfig),
        session: &mut ImapSession,
        uid_validity: u32,
        uid: u32,
        raw: Vec<u8>,
    ) -> Result<(), String> {
        match self.file(config, raw).await {
            Ok(outcome) => {
                self.clear_failures(index, uid);
                if outcome == Filed::Ours {
                    // Our own notification to this very address: ignored,
                    // and left for the people who read the mailbox.
                } else {
                    self.after_filing(config, session, uid).await?;
                }
                if outcome == Filed::New {
                    self.mailboxes.fetched(index, 1);
                }
            }
            Err(hint) => {
                if self.count_failure(index, uid) < MAX_ATTEMPTS {
                    return Err(hint);
                }
                tracing::error!(mailbox = %config.name, uid, error = %hint, "a message failed to file {MAX_ATTEMPTS} times; left in the mailbox and passed over");
            }
        }
        self.remember(config, uid_validity, uid).await
    }

    fn count_failure(&self, index: usize, uid: u32) -> u32 {
        let mut failures = self
            .failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let n = failures.entry((index, uid)).or_insert(0);
        *n += 1;
        *n
    }

    fn clear_failures(&self, index: usize, uid: u32) {
        if let Ok(mut failures) = self.failures.lock() {
            failures.remove(&(index, uid));
        }
    }

    /// Files one message through the inbound path.
    async fn file(&self, config: &MailboxConfig, raw: Vec<u8>) -> Result<Filed, String> {
        match crate::mail::inbound::receive(
            &self.db,
            &self.keys,
            &self.delivery,
            raw,
            (None, self.max_file_bytes),
        )
        .await
        {
            Ok(receipt) => {
                tracing::info!(mailbox = %config.name, status = ?receipt.status, ticket = ?receipt.ticket_id, "mail fetched");
                let ours = receipt
                    .reason
                    .as_deref()
                    .is_some_and(|r| r.contains("our own mail"));
                Ok(match receipt.status {
                    InboundStatus::Filed => Filed::New,
                    InboundStatus::Ignored if ours => Filed::Ours,
                    _ => Filed::Before,
                })
            }
            Err(Error::Validation(errors)) => {
                tracing::warn!(mailbox = %config.name, ?errors, "a message in the mailbox is not a mail; passed over");
                Ok(Filed::Before)
            }
            Err(e) => Err(format!("filing a message failed: {e}")),
        }
    }

    async fn after_filing(
        &self,
        config: &MailboxConfig,
        session: &mut ImapSession,
        uid: u32,
    ) -> Result<(), String> {
        let uid = uid.to_string();
        match config.after {
            AfterFiling::Seen => {
                timed("flagging a filed message", async {
                    session
                        .uid_store(&uid, "+FLAGS (\\Seen)")
                        .await?
                        .collect::<Vec<_>>()
                        .await;
                    Ok::<_, async_imap::error::Error>(())
                })
                .await
            }
            AfterFiling::Move => {
                let to = config.move_to.as_deref().unwrap_or("Archive");
                timed(
                    &format!("moving a filed message to `{to}` (does the folder exist?)"),
                    session.uid_mv(&uid, to),
                )
                .await
            }
            AfterFiling::Delete => {
                timed("deleting a filed message", async {
                    session
                        .uid_store(&uid, "+FLAGS (\\Deleted)")
                        .await?
                        .collect::<Vec<_>>()
                        .await;
                    session.uid_expunge(&uid).await?.collect::<Vec<_>>().await;
                    Ok::<_, async_imap::error::Error>(())
                })
                .await
            }
        }
    }

    async fn remember(
        &self,
        config: &MailboxConfig,
        uid_validity: u32,
        uid: u32,
    ) -> Result<(), String> {
        let name = config.name.clone();
        self.db
            .write(move |tx| {
                tx.prepare_cached(
                    "INSERT INTO mailbox_state (name, uid_validity, last_uid, updated_at) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (name) DO UPDATE SET uid_validity = ?2, last_uid = ?3, updated_at = ?4",
                )?
                .execute(params![name, uid_validity, uid, now()])?;
                Ok(())
            })
            .await
            .map_err(|e| format!("recording the mailbox state failed: {e}"))
    }
}

/// What became of a fetched message.
#[derive(Debug, PartialEq, Eq)]
enum Filed {
    /// Filed now.
    New,
    /// Filed before (a duplicate), ignored, or not a mail.
    Before,
    /// Our own mail to this address: left untouched on the server.
    Ours,
}
