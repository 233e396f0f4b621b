//! Group commit for order creates on SQLite. SQLite has one writer at a time
//! (<https://www.sqlite.org/lockingv3.html>), so every create's transaction waited for the one
//! before it, and each paid its own `BEGIN`, its own commit (a WAL append) and a hand-off to
//! the writer connection's thread and back for every statement, plus a commit of its own for
//! the order number. Here one task owns the writes of creates: it takes every job queued while
//! the last transaction ran (up to [`MOST_JOBS_PER_COMMIT`]) and runs them in one
//! `BEGIN IMMEDIATE` transaction, the order numbers asked for in one `UPDATE` and each create's
//! rows under a savepoint of their own, so one create's failure rolls back only its own rows.
//! No caller hears back before the commit, so no number is handed out and no create reported
//! stored that a failed commit lost. PostgreSQL keeps a transaction per create: it has row
//! locks and a commit in flight does not hold back the others.

use std::sync::{Arc, Mutex, PoisonError};

use orderdesk_domain::idempotency::IdempotencyRecord;
use orderdesk_domain::{OrderNumber, RepoError};
use sea_orm::{ConnectionTrait, DatabaseTransaction, DbBackend, DbErr, Statement};
use tokio::sync::{mpsc, oneshot};

use super::error::{corrupt, repo_error};
use super::idempotency::insert_record;
use super::store::Store;

/// The most jobs one transaction takes: bounds how long a commit holds the write lock (and
/// so how long other writers, such as the dispatcher, wait for it).
pub(crate) const MOST_JOBS_PER_COMMIT: usize = 64;

/// Jobs waiting for the writer task beyond this make callers wait to queue.
const QUEUE: usize = 1024;

/// The savepoint around one create's rows.
const SAVEPOINT: &str = "create_order";

/// The writer task's queue. The task starts on first use, in the caller's runtime, and again
/// should it have stopped (its runtime ended, or it panicked); it ends when the last handle is
/// dropped. Cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct GroupCommit {
    store: Store,
    jobs: Arc<Mutex<Option<mpsc::Sender<Job>>>>,
}

enum Job {
    /// The next order number.
    Number(oneshot::Sender<Result<OrderNumber, RepoError>>),
    /// One create: its idempotency record, then its rows (one multi-statement `rows`).
    Insert { record: Option<IdempotencyRecord>, rows: Statement, done: oneshot::Sender<Result<(), RepoError>> },
}

impl GroupCommit {
    pub(crate) fn new(store: Store) -> Self {
        Self { store, jobs: Arc::new(Mutex::new(None)) }
    }

    /// The next order number from `order_number_counter`, drawn in the next commit.
    ///
    /// # Errors
    /// The counter cannot be read or the commit fails.
    pub(crate) async fn next_number(&self) -> Result<OrderNumber, RepoError> {
        let (done, outcome) = oneshot::channel();
        self.submit(Job::Number(done)).await?;
        outcome.await.map_err(|_| writer_gone())?
    }

    /// Stores `record` (when the request carried an `Idempotency-Key`) and runs `rows`, all or
    /// nothing, in the next commit; returns after that commit.
    ///
    /// # Errors
    /// As the statements' own ([`repo_error`]); a commit that fails fails every create in it.
    pub(crate) async fn insert(&self, record: Option<IdempotencyRecord>, rows: Statement) -> Result<(), RepoError> {
        let (done, outcome) = oneshot::channel();
        self.submit(Job::Insert { record, rows, done }).await?;
        outcome.await.map_err(|_| writer_gone())?
    }

    async fn submit(&self, job: Job) -> Result<(), RepoError> {
        self.sender().send(job).await.map_err(|_| writer_gone())
    }

    /// The running task's queue, the task started first when there is none.
    fn sender(&self) -> mpsc::Sender<Job> {
        let mut slot = self.jobs.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(sender) = slot.as_ref().filter(|sender| !sender.is_closed()) {
            return sender.clone();
        }
        let (sender, receiver) = mpsc::channel(QUEUE);
        tokio::spawn(run(self.store.clone(), receiver));
        *slot = Some(sender.clone());
        sender
    }
}

fn writer_gone() -> RepoError {
    RepoError::Unavailable("the SQLite writer task has stopped".into())
}

impl Job {
    /// The caller stopped waiting (its request was cancelled): nothing to do for it.
    fn abandoned(&self) -> bool {
        match self {
            Job::Number(done) => done.is_closed(),
            Job::Insert { done, .. } => done.is_closed(),
        }
    }
}

async fn run(store: Store, mut jobs: mpsc::Receiver<Job>) {
    let mut batch = Vec::with_capacity(MOST_JOBS_PER_COMMIT);
    while jobs.recv_many(&mut batch, MOST_JOBS_PER_COMMIT).await > 0 {
        batch.retain(|job| !job.abandoned());
        if !batch.is_empty() {
            tracing::debug!(jobs = batch.len(), "group commit");
            commit(&store, std::mem::take(&mut batch)).await;
        }
    }
}

/// What one job will be told once the transaction ends.
enum Pending {
    Number(oneshot::Sender<Result<OrderNumber, RepoError>>, OrderNumber),
    Insert(oneshot::Sender<Result<(), RepoError>>, Result<(), RepoError>),
}

/// Runs `batch` in one transaction and tells each job its outcome after the commit. A failure
/// that is not one create's own (`BEGIN`, the number draw, a savepoint that cannot be rolled
/// back, `COMMIT`) fails every job: the transaction is rolled back as it is dropped.
async fn commit(store: &Store, batch: Vec<Job>) {
    let mut pending = Vec::with_capacity(batch.len());
    match run_batch(store, batch, &mut pending).await {
        Ok(()) => {
            for job in pending {
                match job {
                    Pending::Number(done, number) => drop(done.send(Ok(number))),
                    Pending::Insert(done, outcome) => drop(done.send(outcome)),
                }
            }
        }
        Err((error, rest)) => {
            let fail = |e: &DbErr| repo_error(e.clone());
            for job in pending {
                match job {
                    Pending::Number(done, _) => drop(done.send(Err(fail(&error)))),
                    Pending::Insert(done, _) => drop(done.send(Err(fail(&error)))),
                }
            }
            for job in rest {
                match job {
                    Job::Number(done) => drop(done.send(Err(fail(&error)))),
                    Job::Insert { done, .. } => drop(done.send(Err(fail(&error)))),
                }
            }
        }
    }
}

/// The transaction itself. On a failure of the whole, returns it with the jobs not yet moved
/// to `pending`.
async fn run_batch(store: &Store, batch: Vec<Job>, pending: &mut Vec<Pending>) -> Result<(), (DbErr, Vec<Job>)> {
    let txn = match store.begin().await {
        Ok(txn) => txn,
        Err(error) => return Err((error, batch)),
    };
    let wanted = batch.iter().filter(|job| matches!(job, Job::Number(_))).count();
    let mut numbers = match draw_numbers(&txn, wanted).await {
        Ok(numbers) => numbers.into_iter(),
        Err(error) => return Err((error, batch)),
    };
    let mut jobs = batch.into_iter();
    while let Some(job) = jobs.next() {
        match job {
            Job::Number(done) => match numbers.next() {
                Some(number) => pending.push(Pending::Number(done, number)),
                None => drop(done.send(Err(corrupt("order number counter", "fewer numbers than asked for")))),
            },
            Job::Insert { record, rows, done } => {
                let outcome = insert_one(&txn, record.as_ref(), rows).await;
                let failed = outcome.as_ref().err().cloned();
                pending.push(Pending::Insert(done, outcome.unwrap_or(Ok(()))));
                if let Some(error) = failed {
                    return Err((error, jobs.collect()));
                }
            }
        }
    }
    txn.commit().await.map_err(|error| (error, Vec::new()))
}

/// `wanted` consecutive numbers from one `UPDATE` of the counter (none when `wanted` is 0).
async fn draw_numbers(txn: &DatabaseTransaction, wanted: usize) -> Result<Vec<OrderNumber>, DbErr> {
    if wanted == 0 {
        return Ok(Vec::new());
    }
    let count = i64::try_from(wanted).map_err(|e| DbErr::Custom(e.to_string()))?;
    let sql =
        "UPDATE order_number_counter SET last_number = last_number + ? WHERE id = 1 RETURNING last_number AS number";
    let statement = Statement::from_sql_and_values(DbBackend::Sqlite, sql, [count.into()]);
    let row =
        txn.query_one_raw(statement).await?.ok_or_else(|| DbErr::RecordNotFound("order_number_counter".into()))?;
    let last: i64 = row.try_get("", "number")?;
    (last - count + 1..=last)
        .map(OrderNumber::new)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| DbErr::Custom(format!("order number out of range: {e}")))
}

/// One create under its own savepoint. `Ok(Err(_))` is the create's own failure, its rows
/// rolled back; `Err(_)` means the savepoint could not be rolled back and the transaction
/// must end.
async fn insert_one(
    txn: &DatabaseTransaction,
    record: Option<&IdempotencyRecord>,
    rows: Statement,
) -> Result<Result<(), RepoError>, DbErr> {
    let outcome = savepoint_rows(txn, record, rows).await;
    if outcome.is_err() {
        let undo = format!("ROLLBACK TO {SAVEPOINT};\nRELEASE {SAVEPOINT};");
        txn.execute_raw(Statement::from_string(DbBackend::Sqlite, undo)).await?;
    }
    Ok(outcome)
}

/// `SAVEPOINT`, the record, the rows, `RELEASE`. Without a record (the usual case) the
/// savepoint, the rows and the release go in one text: one hand-off to the connection's thread.
async fn savepoint_rows(
    txn: &DatabaseTransaction,
    record: Option<&IdempotencyRecord>,
    rows: Statement,
) -> Result<(), RepoError> {
    let mut sql = format!("SAVEPOINT {SAVEPOINT};\n");
    if let Some(record) = record {
        let savepoint = Statement::from_string(DbBackend::Sqlite, std::mem::take(&mut sql));
        txn.execute_raw(savepoint).await.map_err(repo_error)?;
        insert_record(txn, record).await?;
    }
    sql.push_str(&rows.sql);
    sql.push_str(&format!("RELEASE {SAVEPOINT};"));
    txn.execute_raw(Statement { sql, ..rows }).await.map(drop).map_err(super::orders::number_taken)
}
