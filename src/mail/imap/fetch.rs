//! A watcher per mailbox: fetch what is new, file each message through the
//! one inbound path (its own transaction), then flag, move or delete it on
//! the server, then remember its UID; wait with IDLE (or poll); reconnect
//! with backoff. A crash between any two steps files nothing twice: the
//! inbound path answers a Message-ID it has seen as a duplicate.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt as _;
use rusqlite::{params, OptionalExtension};

use super::connect::{open, ImapSession, Opened};
use super::{MailboxState, Mailboxes};
use crate::auth::JwtKeys;
use crate::config::{AfterFiling, MailboxConfig};
use crate::db::{now, Db};
use crate::error::Error;
use crate::notify::delivery::Delivery;

/// IDLE is re-issued before servers drop it (RFC 2177: 29 minutes).
const IDLE_FOR: Duration = Duration::from_mins(25);

/// Messages fetched per round trip; a backlog is read this many at a time.
const BATCH: usize = 25;

/// Longest wait between reconnection attempts.
const MAX_BACKOFF: Duration = Duration::from_mins(5);

/// What the watchers need to file mail.
pub struct Fetcher {
    pub db: Db,
    pub keys: Arc<JwtKeys>,
    pub delivery: Arc<Delivery>,
    pub max_file_bytes: u64,
    pub mailboxes: Arc<Mailboxes>,
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
            .start_at(config, &mut session, uid_validity, uid_next)
            .await?;
        loop {
            self.mailboxes.set_state(index, MailboxState::Fetching);
            let (filed, last) = self
                .fetch_new(config, &mut session, (uid_validity, last_uid))
                .await?;
            last_uid = last;
            self.mailboxes.fetched(index, filed);
            self.mailboxes.set_state(index, MailboxState::Idle);
            session = if idle {
                let mut handle = session.idle();
                handle
                    .init()
                    .await
                    .map_err(|e| format!("IDLE failed: {e}"))?;
                let (wait, _stop) = handle.wait_with_timeout(IDLE_FOR);
                wait.await
                    .map_err(|e| format!("the connection broke while idle: {e}"))?;
                handle
                    .done()
                    .await
                    .map_err(|e| format!("ending IDLE failed: {e}"))?
            } else {
                tokio::time::sleep(Duration::from_secs(config.poll_secs)).await;
                session
                    .noop()
                    .await
                    .map_err(|e| format!("the connection broke: {e}"))?;
                session
            };
        }
    }

    /// The last UID already taken: the stored one for this UIDVALIDITY; on a
    /// first connect (or a renumbered folder) everything before the unread
    /// messages (`seen` mode) or nothing (`move`/`delete`: the folder holds
    /// only what is still to file).
    async fn start_at(
        &self,
        config: &MailboxConfig,
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
        if config.after != AfterFiling::Seen {
            return Ok(0);
        }
        let unseen = session
            .uid_search("UNSEEN")
            .await
            .map_err(|e| format!("searching for unread mail failed: {e}"))?;
        Ok(match unseen.iter().min() {
            Some(first) => first - 1,
            None => uid_next.map_or(0, |n| n.saturating_sub(1)),
        })
    }

    /// Files every message after `last_uid`, a batch at a time; returns how
    /// many were filed and the new last UID.
    async fn fetch_new(
        &self,
        config: &MailboxConfig,
        session: &mut ImapSession,
        (uid_validity, mut last_uid): (u32, u32),
    ) -> Result<(u64, u32), String> {
        let broke = |e: async_imap::error::Error| format!("fetching mail failed: {e}");
        let mut uids: Vec<u32> = session
            .uid_search(format!("UID {}:*", last_uid + 1))
            .await
            .map_err(broke)?
            .into_iter()
            // `N:*` always names the last message, even one below N.
            .filter(|uid| *uid > last_uid)
            .collect();
        uids.sort_unstable();
        let mut filed = 0;
        for batch in uids.chunks(BATCH) {
            let set = batch
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(",");
            let mut messages = Vec::with_capacity(batch.len());
            {
                let mut stream = session
                    .uid_fetch(&set, "(UID BODY.PEEK[])")
                    .await
                    .map_err(broke)?;
                while let Some(item) = stream.next().await {
                    let fetch = item.map_err(broke)?;
                    if let (Some(uid), Some(body)) = (fetch.uid, fetch.body()) {
                        messages.push((uid, body.to_vec()));
                    }
                }
            }
            messages.sort_by_key(|(uid, _)| *uid);
            for (uid, raw) in messages {
                if self.file(config, raw).await? {
                    filed += 1;
                }
                self.after_filing(config, session, uid).await?;
                self.remember(config, uid_validity, uid).await?;
                last_uid = uid;
            }
        }
        Ok((filed, last_uid))
    }

    /// Files one message; `Ok(false)` for one that is no mail (it is still
    /// flagged, or it would be fetched forever) or was filed before.
    async fn file(&self, config: &MailboxConfig, raw: Vec<u8>) -> Result<bool, String> {
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
                Ok(receipt.status == crate::mail::inbound::InboundStatus::Filed)
            }
            Err(Error::Validation(errors)) => {
                tracing::warn!(mailbox = %config.name, ?errors, "a message in the mailbox is not a mail; left as it is and skipped");
                Ok(false)
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
        let failed = |e: async_imap::error::Error| format!("marking a filed message failed: {e}");
        let uid = uid.to_string();
        match config.after {
            AfterFiling::Seen => {
                let updates = session
                    .uid_store(&uid, "+FLAGS (\\Seen)")
                    .await
                    .map_err(failed)?;
                updates.collect::<Vec<_>>().await;
            }
            AfterFiling::Move => {
                let to = config.move_to.as_deref().unwrap_or("Archive");
                session.uid_mv(&uid, to).await.map_err(|e| {
                    format!("moving a filed message to `{to}` failed: {e} (does the folder exist?)")
                })?;
            }
            AfterFiling::Delete => {
                let updates = session
                    .uid_store(&uid, "+FLAGS (\\Deleted)")
                    .await
                    .map_err(failed)?;
                updates.collect::<Vec<_>>().await;
                let expunged = session.uid_expunge(&uid).await.map_err(failed)?;
                expunged.collect::<Vec<_>>().await;
            }
        }
        Ok(())
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
