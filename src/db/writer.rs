//! The writer: one thread that owns the write connection and commits queued
//! write jobs in groups. Each job runs inside its own SAVEPOINT, so a job
//! that fails (or panics) rolls back only itself; the group commits once,
//! and only then is each caller answered. A caller never hears "done" for a
//! change that is not committed; a crash mid-group loses only jobs whose
//! callers were not yet answered.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};

use rusqlite::Connection;

use crate::error::Error;

/// At most this many jobs share one commit (a bound on how long the first
/// one waits behind the others).
const GROUP_MAX: usize = 64;

/// What a job's caller gets: its value, its error, or its panic to resume.
type Outcome<T> = std::thread::Result<Result<T, Error>>;

/// Told how the group's commit went; answers the caller.
type Answer = Box<dyn FnOnce(Result<(), &str>) + Send>;

/// A queued write: run inside its savepoint (saying whether its work is to
/// be kept, and how to answer its caller), or refused unrun.
trait Job: Send {
    fn run(self: Box<Self>, conn: &Connection) -> (bool, Answer);
    fn refuse(self: Box<Self>, why: &str);
}

struct Queued<T, F> {
    f: F,
    caller: tokio::sync::oneshot::Sender<Outcome<T>>,
}

impl<T, F> Job for Queued<T, F>
where
    T: Send + 'static,
    F: FnOnce(&Connection) -> Result<T, Error> + Send + 'static,
{
    fn run(self: Box<Self>, conn: &Connection) -> (bool, Answer) {
        let Queued { f, caller } = *self;
        let outcome = catch_unwind(AssertUnwindSafe(|| f(conn)));
        let keep = matches!(outcome, Ok(Ok(_)));
        let answer: Answer = Box::new(move |commit| {
            let outcome = match (outcome, commit) {
                (Ok(Ok(_)), Err(why)) => Ok(Err(not_saved(why))),
                (outcome, _) => outcome,
            };
            // A caller that went away no longer waits for its answer.
            let _ = caller.send(outcome);
        });
        (keep, answer)
    }

    fn refuse(self: Box<Self>, why: &str) {
        let _ = self.caller.send(Ok(Err(not_saved(why))));
    }
}

fn not_saved(why: &str) -> Error {
    Error::Unavailable(format!("the change was not saved ({why}); try again"))
}

pub(super) struct Writer {
    queue: mpsc::Sender<Box<dyn Job>>,
    /// Jobs queued or running, for metrics.
    pending: Arc<AtomicUsize>,
}

impl Writer {
    /// Starts the writer thread on `conn`; it ends when the last `Writer`
    /// handle (and so the queue) is dropped.
    pub(super) fn start(conn: Connection) -> Result<Self, Error> {
        let (queue, jobs) = mpsc::channel::<Box<dyn Job>>();
        let pending = Arc::new(AtomicUsize::new(0));
        let counter = pending.clone();
        std::thread::Builder::new()
            .name("helpline-writer".into())
            .spawn(move || run(&conn, &jobs, &counter))
            .map_err(|e| Error::io("starting the database writer", e))?;
        Ok(Self { queue, pending })
    }

    pub(super) fn pending(&self) -> usize {
        self.pending.load(Ordering::Relaxed)
    }

    /// Queues `f` and waits until its group has committed (or it failed).
    pub(super) async fn write<T, F>(&self, f: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, Error> + Send + 'static,
    {
        let (caller, rx) = tokio::sync::oneshot::channel::<Outcome<T>>();
        let job: Box<dyn Job> = Box::new(Queued { f, caller });
        self.pending.fetch_add(1, Ordering::Relaxed);
        if self.queue.send(job).is_err() {
            self.pending.fetch_sub(1, Ordering::Relaxed);
            return Err(Error::Unavailable("the database writer has stopped".into()));
        }
        match rx.await {
            Ok(Ok(result)) => result,
            Ok(Err(panic)) => std::panic::resume_unwind(panic),
            Err(_) => Err(Error::Unavailable(
                "the database writer stopped before answering".into(),
            )),
        }
    }
}

/// Takes what is queued (up to `GROUP_MAX`), runs each in a savepoint inside
/// one transaction, commits, then answers every caller.
fn run(conn: &Connection, jobs: &mpsc::Receiver<Box<dyn Job>>, pending: &AtomicUsize) {
    while let Ok(first) = jobs.recv() {
        let mut group = vec![first];
        while group.len() < GROUP_MAX {
            match jobs.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        let count = group.len();
        let (commit, answers) = commit_group(conn, group);
        pending.fetch_sub(count, Ordering::Relaxed);
        let commit = match &commit {
            Ok(()) => Ok(()),
            Err(why) => Err(why.as_str()),
        };
        for answer in answers {
            answer(commit);
        }
    }
}

/// Runs a group in one transaction: the commit's result, and the answers
/// of the jobs that ran (the others are refused here).
fn commit_group(conn: &Connection, group: Vec<Box<dyn Job>>) -> (Result<(), String>, Vec<Answer>) {
    let mut answers = Vec::with_capacity(group.len());
    let mut jobs = group.into_iter();
    let begun = conn.execute_batch("BEGIN IMMEDIATE");
    let failed = loop {
        if let Err(e) = &begun {
            break e.to_string();
        }
        let Some(job) = jobs.next() else {
            match conn.execute_batch("COMMIT") {
                Ok(()) => return (Ok(()), answers),
                Err(e) => break e.to_string(),
            }
        };
        if let Err(e) = conn.execute_batch("SAVEPOINT job") {
            job.refuse(&e.to_string());
            break e.to_string();
        }
        let (keep, answer) = job.run(conn);
        answers.push(answer);
        let end = if keep {
            conn.execute_batch("RELEASE job")
        } else {
            conn.execute_batch("ROLLBACK TO job; RELEASE job")
        };
        if let Err(e) = end {
            break e.to_string();
        }
    };
    // Nothing of the group is kept: every caller hears why.
    if !conn.is_autocommit() {
        let _ = conn.execute_batch("ROLLBACK");
    }
    for job in jobs {
        job.refuse(&failed);
    }
    (Err(failed), answers)
}
