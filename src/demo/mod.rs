//! Demo data: realistic users, tickets and conversations from a fixed seed,
//! written in large transactions so a newcomer (or a benchmark) has data at once.

mod bulk;

use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rusqlite::{params, Connection};

use crate::config::Config;
use crate::db::{format_time, Db};
use crate::error::Error;
use crate::ids::TicketId;
use crate::tickets::{Channel, Priority, TicketStatus};
use crate::users::{repo as users, Role, UserId};

/// The password of every demo account.
pub const DEMO_PASSWORD: &str = "helpline demo";
const BATCH: u64 = 5_000;
const AGENTS: usize = 8;

pub struct DemoOptions {
    pub tickets: u64,
    pub seed: u64,
    /// Add to a database that already holds tickets.
    pub force: bool,
}

#[derive(Debug)]
pub struct DemoReport {
    pub users: u64,
    pub tickets: u64,
    pub messages: u64,
    pub elapsed: Duration,
}

const PRODUCTS: &[&str] = &[
    "router",
    "printer",
    "laptop",
    "invoice",
    "mobile app",
    "dashboard",
    "account",
    "subscription",
    "headset",
    "VPN",
];
const PROBLEMS: &[&str] = &[
    "does not start",
    "is very slow",
    "shows an error",
    "keeps disconnecting",
    "was charged twice",
    "cannot be found",
    "stopped syncing",
    "asks for a password again",
    "crashes on launch",
    "looks wrong after the update",
];
const OPENERS: &[&str] = &[
    "Hello,",
    "Hi team,",
    "Good morning,",
    "Hi,",
    "Dear support,",
];
const DETAILS: &[&str] = &[
    "It started yesterday after the update.",
    "I already tried restarting it twice.",
    "This happens every morning around 9.",
    "My colleague has the same issue.",
    "The error code is E-4012.",
    "It worked fine last week.",
    "I attached a screenshot.",
];
const AGENT_REPLIES: &[&str] = &[
    "Thanks for reaching out. Could you tell us which version you are using?",
    "Sorry for the trouble. I have reset the configuration on our side; please try again.",
    "We have found the cause and a fix is rolling out today.",
    "I have refunded the duplicate charge; it shows in 3 to 5 days.",
    "Could you send us the exact error message?",
    "Please clear the cache and sign in again, that should solve it.",
];
const CUSTOMER_REPLIES: &[&str] = &[
    "Thanks, that worked!",
    "It still happens, unfortunately.",
    "Version 4.2.1.",
    "Here is the message: connection refused.",
    "Great, thank you for the quick help.",
];
const FIRST: &[&str] = &[
    "Ada", "Ben", "Chloe", "David", "Emma", "Farid", "Grace", "Hugo", "Ines", "Jonas", "Kira",
    "Liam", "Maya", "Noah", "Olga", "Pablo",
];
const LAST: &[&str] = &[
    "Smith", "Garcia", "Müller", "Rossi", "Dubois", "Kowalski", "Tanaka", "Okafor", "Silva",
    "Jensen", "Novak", "Byrne",
];
const TAGS: &[&str] = &[
    "vip",
    "billing",
    "bug",
    "feature-request",
    "outage",
    "onboarding",
    "refund",
    "mobile",
];

fn pick<'a>(rng: &mut StdRng, items: &[&'a str]) -> &'a str {
    items[rng.gen_range(0..items.len())]
}

/// Fills the database of `config` with generated data, calling `progress(done, total)` as it goes.
pub fn fill(
    config: &Config,
    options: &DemoOptions,
    mut progress: impl FnMut(u64, u64),
) -> Result<DemoReport, Error> {
    let started = Instant::now();
    std::fs::create_dir_all(&config.data_dir)
        .map_err(|e| Error::io(format!("creating {}", config.data_dir.display()), e))?;
    let db = Db::open(&config.database_path(), &config.database)?;
    let existing: i64 =
        db.read_now(|c| Ok(c.query_row("SELECT COUNT(*) FROM tickets", [], |r| r.get(0))?))?;
    if existing > 0 && !options.force {
        return Err(Error::Conflict(format!(
            "the database already holds {existing} tickets; use --force to add demo data anyway"
        )));
    }
    let mut rng = StdRng::seed_from_u64(options.seed);
    let hash = bcrypt::hash(DEMO_PASSWORD, config.bcrypt_cost.min(10))
        .map_err(|e| Error::Internal(format!("hashing the demo password: {e}")))?;
    let customers = (options.tickets / 5).clamp(10, 20_000);
    let run = options.seed;
    let (agents, customer_ids) = db.write_now(|tx| {
        let mut agents = Vec::new();
        let add = |email: String, name: String, role: Role| -> Result<UserId, Error> {
            let record = users::insert(
                tx,
                &users::NewUser {
                    email: &email,
                    email_key: &email.to_lowercase(),
                    name: &name,
                    role,
                    password_hash: Some(&hash),
                },
            )?;
            Ok(record.user.id)
        };
        add(
            format!("admin-{run}@demo.example"),
            "Demo Admin".into(),
            Role::Admin,
        )?;
        for i in 0..AGENTS {
            agents.push(add(
                format!("agent{i}-{run}@demo.example"),
                format!(
                    "{} {} (agent)",
                    FIRST[i % FIRST.len()],
                    LAST[i % LAST.len()]
                ),
                Role::Agent,
            )?);
        }
        let mut ids = Vec::new();
        for i in 0..customers {
            let name = format!("{} {}", pick(&mut rng, FIRST), pick(&mut rng, LAST));
            ids.push(add(
                format!("customer{i}-{run}@demo.example"),
                name,
                Role::Customer,
            )?);
        }
        Ok((agents, ids))
    })?;

    let now = time::OffsetDateTime::now_utc();
    // The tickets in one transaction: the search index is filled once at the
    // end instead of row by row (its insert triggers are suspended inside
    // the transaction and restored before it commits, so an interrupted run
    // leaves no ticket behind and the triggers in place; the demo users,
    // written before, stay). It holds the write lock throughout: fill a
    // database while no server uses it.
    let messages = db.write_now(|tx| {
        // Big batches touch many pages; keep them in memory instead of spilling.
        tx.execute_batch("PRAGMA cache_size = -262144;")?;
        let aside = bulk::set_aside(tx)?;
        let first_message = bulk::next_message_id(tx)?;
        let mut next_message = first_message;
        let people = People {
            agents: &agents,
            customers: &customer_ids,
        };
        let mut done = 0u64;
        progress(0, options.tickets);
        while done < options.tickets {
            let batch = BATCH.min(options.tickets - done);
            for _ in 0..batch {
                next_message = one_ticket(tx, &mut rng, now, &people, next_message)?;
            }
            done += batch;
            progress(done, options.tickets);
        }
        bulk::finish(tx, aside)?;
        Ok(u64::try_from(next_message - first_message).unwrap_or(0))
    })?;
    Ok(DemoReport {
        users: 1 + AGENTS as u64 + customers,
        tickets: options.tickets,
        messages,
        elapsed: started.elapsed(),
    })
}

/// One generated message.
struct Draft {
    author: UserId,
    body: String,
    internal: bool,
    at: time::OffsetDateTime,
}

/// A conversation: the customer's first message, then replies alternating
/// agent and customer, some of the agent's as internal notes.
fn conversation(
    rng: &mut StdRng,
    requester: UserId,
    agent: UserId,
    product: &str,
    created: time::OffsetDateTime,
    now: time::OffsetDateTime,
) -> Vec<Draft> {
    let first = format!(
        "{}\n\nThe {product} {}. {}",
        pick(rng, OPENERS),
        pick(rng, PROBLEMS),
        pick(rng, DETAILS)
    );
    let mut drafts = vec![Draft {
        author: requester,
        body: first,
        internal: false,
        at: created,
    }];
    let mut at = created;
    for i in 0..rng.gen_range(0..6) {
        at += time::Duration::seconds(rng.gen_range(120..2 * 86_400));
        if at > now {
            break;
        }
        let from_agent = i % 2 == 0;
        let internal = from_agent && rng.gen_bool(0.15);
        let (author, body) = match (from_agent, internal) {
            (true, true) => (
                agent,
                format!(
                    "Note: checked the {product} logs, {}",
                    pick(rng, DETAILS).to_lowercase()
                ),
            ),
            (true, false) => (agent, pick(rng, AGENT_REPLIES).to_string()),
            (false, _) => (requester, pick(rng, CUSTOMER_REPLIES).to_string()),
        };
        drafts.push(Draft {
            author,
            body,
            internal,
            at,
        });
    }
    drafts
}

/// For a conversation whose messages get ids from `first_message` on: the
/// requester's latest public message, and what the agent had seen by their
/// last message (the requester's latest before it) and when; what the
/// message triggers keep one message at a time.
fn attention(
    first_message: i64,
    drafts: &[Draft],
    requester: UserId,
    agent: UserId,
) -> (i64, Option<(i64, String)>) {
    let ids = (first_message..).zip(drafts);
    let latest_of_requester = |before: i64| {
        ids.clone()
            .filter(|(id, d)| d.author == requester && !d.internal && *id < before)
            .map(|(id, _)| id)
            .max()
            .unwrap_or(0)
    };
    let seen = ids
        .clone()
        .filter(|(_, d)| d.author == agent)
        .last()
        .map(|(id, d)| (latest_of_requester(id), format_time(d.at)));
    (latest_of_requester(i64::MAX), seen)
}

/// Who the demo's tickets are between.
struct People<'a> {
    agents: &'a [UserId],
    customers: &'a [UserId],
}

/// Writes one ticket with its final state in one insert, then its messages
/// (ids from `first_message` on), then what its agent has seen; returns the
/// next message id.
fn one_ticket(
    tx: &Connection,
    rng: &mut StdRng,
    now: time::OffsetDateTime,
    people: &People<'_>,
    first_message: i64,
) -> Result<i64, Error> {
    let requester = people.customers[rng.gen_range(0..people.customers.len())];
    let agent = people.agents[rng.gen_range(0..people.agents.len())];
    let product = pick(rng, PRODUCTS);
    let subject = format!("The {product} {}", pick(rng, PROBLEMS));
    let created = now - time::Duration::seconds(rng.gen_range(600..365 * 86_400));
    let priority = match rng.gen_range(0..100) {
        0..=19 => Priority::Low,
        20..=69 => Priority::Medium,
        70..=91 => Priority::High,
        _ => Priority::Urgent,
    };
    let status = match rng.gen_range(0..100) {
        0..=14 => TicketStatus::Open,
        15..=24 => TicketStatus::InProgress,
        25..=34 => TicketStatus::Pending,
        35..=59 => TicketStatus::Resolved,
        _ => TicketStatus::Closed,
    };
    let channel = [
        Channel::Web,
        Channel::Email,
        Channel::Email,
        Channel::Chat,
        Channel::Phone,
        Channel::Portal,
    ][rng.gen_range(0..6)];
    let tags: Vec<String> = (0..rng.gen_range(0..3))
        .map(|_| pick(rng, TAGS).to_string())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let category = ["general", "billing", "technical", "account"][rng.gen_range(0..4)];
    let kind = ["question", "incident", "problem", "task"][rng.gen_range(0..4)];
    let assignee = (status != TicketStatus::Open || rng.gen_bool(0.4)).then_some(agent);
    let drafts = conversation(rng, requester, agent, product, created, now);

    let first_response = drafts
        .iter()
        .find(|d| d.author == agent && !d.internal)
        .map(|d| format_time(d.at));
    let last = format_time(drafts.last().map_or(created, |d| d.at));
    let done =
        matches!(status, TicketStatus::Resolved | TicketStatus::Closed).then(|| last.clone());
    let closed = (status == TicketStatus::Closed).then(|| last.clone());
    let notes = drafts.iter().filter(|d| d.internal).count();
    let public = drafts.len() - notes;
    let (requester_message, seen) = attention(first_message, &drafts, requester, agent);
    tx.prepare_cached(
        "INSERT INTO tickets (subject, status, priority, category, type, channel, tags, requester_id, assignee_id,
             created_at, updated_at, first_response_at, resolved_at, closed_at, public_count, note_count,
             public_updated_at, requester_message_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?11, ?17)",
    )?
    .execute(params![
        subject,
        status,
        priority,
        category,
        kind,
        channel,
        serde_json::to_string(&tags).unwrap_or_else(|_| "[]".into()),
        requester,
        assignee,
        format_time(created),
        last,
        first_response,
        done,
        closed,
        i64::try_from(public).unwrap_or(i64::MAX),
        i64::try_from(notes).unwrap_or(i64::MAX),
        requester_message,
    ])?;
    let id = TicketId(tx.last_insert_rowid());
    let mut tag_rows = tx.prepare_cached(crate::tickets::repo::TAG_ROW_INSERT)?;
    for tag in &tags {
        tag_rows.execute(params![tag, id])?;
    }
    let mut insert = tx.prepare_cached(
        "INSERT INTO messages (id, ticket_id, author_id, body, internal, channel, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    for (message, draft) in (first_message..).zip(&drafts) {
        insert.execute(params![
            message,
            id,
            draft.author,
            draft.body,
            draft.internal,
            channel,
            format_time(draft.at)
        ])?;
    }
    if let Some((message, at)) = seen {
        tx.prepare_cached(
            "INSERT INTO ticket_seen (user_id, ticket_id, message_id, seen_at) VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![agent, id, message, at])?;
    }
    Ok(first_message + i64::try_from(drafts.len()).unwrap_or(i64::MAX))
}
