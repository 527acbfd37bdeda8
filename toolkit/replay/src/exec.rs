//! The executor: dependency order, bounded concurrency, pacing, journal, outcomes.

use crate::journal::{self, ActionState, Event, GroupJournal, JOURNAL_FILE, Journal, Record};
use crate::{ReplayError, StopCause, lock, stale};
use dirsnap_model::scim_json::LinkingIdPath;
use dirsnap_plan::PlanDir;
use dirsnap_plan::{Action, Op};
use dirsnap_scim::{ScimClient, ScimError};
use reqwest::Method;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::task::JoinSet;

/// How many deletions a run may perform.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeleteLimit {
    /// `--allow-deletes N`: pending deletions plus group deletes.
    Total(u64),
    /// The config's count thresholds (`None`: no count limit here).
    PerKind {
        users: Option<u64>,
        groups: Option<u64>,
    },
}

/// A request to stop a replay early (Ctrl-C, a closed console window): no further action
/// is started, the ones in flight finish and are journaled, and the replay ends as
/// [`ReplayError::Stopped`] — resumable by running the same command again.
#[derive(Debug, Clone, Default)]
pub struct Interrupt(std::sync::Arc<std::sync::atomic::AtomicBool>);

impl Interrupt {
    /// Asks the replay holding a clone of this to stop.
    pub fn raise(&self) {
        self.0.store(true, std::sync::atomic::Ordering::SeqCst);
    }

    pub fn is_raised(&self) -> bool {
        self.0.load(std::sync::atomic::Ordering::SeqCst)
    }
}

#[derive(Debug, Clone)]
pub struct ReplayOptions {
    pub concurrency: usize,
    /// Requests started per second at most.
    pub max_rps: Option<f64>,
    pub delete_limit: DeleteLimit,
    pub force_stale: bool,
    /// Re-read every target before replaying (the stale-plan check). A caller that knows
    /// the service holds exactly what the plan was computed against (`simulate`'s mock,
    /// seeded from the same snapshot) turns it off: it is one GET per target, in sequence.
    pub check_stale: bool,
    pub dry_run: bool,
    pub linking_id: LinkingIdPath,
    /// Replay a plan whose error findings block it (they concern objects without actions).
    pub allow_blocked: bool,
    /// Raised to stop early; see [`Interrupt`].
    pub interrupt: Interrupt,
}

impl Default for ReplayOptions {
    fn default() -> Self {
        ReplayOptions {
            concurrency: 4,
            max_rps: None,
            delete_limit: DeleteLimit::PerKind {
                users: None,
                groups: None,
            },
            force_stale: false,
            check_stale: true,
            dry_run: false,
            linking_id: LinkingIdPath::default(),
            allow_blocked: false,
            interrupt: Interrupt::default(),
        }
    }
}

/// What happened to one action in this run.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Applied,
    /// Its effect was there already (found by lookup; a repeated delete).
    AlreadyDone,
    /// Done by an earlier run, per the journal.
    PreviouslyDone,
    Failed,
    Skipped,
}

/// Per-op counts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    pub applied: u64,
    pub already_done: u64,
    pub previously_done: u64,
    pub failed: u64,
    pub skipped: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub seq: u32,
    pub op: Op,
    pub subject: String,
    pub status: Option<u16>,
    pub message: String,
}

/// A request `--dry-run` would send.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedRequest {
    pub seq: u32,
    pub op: Op,
    pub method: String,
    pub path: String,
    pub body: Option<Value>,
}

#[derive(Debug, Clone, Default)]
pub struct ReplaySummary {
    pub by_op: BTreeMap<Op, Tally>,
    pub failures: Vec<Failure>,
    pub notes: Vec<String>,
    pub planned: Vec<PlannedRequest>,
    pub elapsed: Duration,
    pub journal: Option<std::path::PathBuf>,
}

impl ReplaySummary {
    pub fn total(&self) -> Tally {
        let mut t = Tally::default();
        for x in self.by_op.values() {
            t.applied += x.applied;
            t.already_done += x.already_done;
            t.previously_done += x.previously_done;
            t.failed += x.failed;
            t.skipped += x.skipped;
        }
        t
    }

    fn count(&mut self, op: Op, o: &Outcome) {
        let t = self.by_op.entry(op).or_default();
        match o {
            Outcome::Applied => t.applied += 1,
            Outcome::AlreadyDone => t.already_done += 1,
            Outcome::PreviouslyDone => t.previously_done += 1,
            Outcome::Failed => t.failed += 1,
            Outcome::Skipped => t.skipped += 1,
        }
    }
}

/// Progress reporting (the CLI draws a bar).
pub trait Progress: Send + Sync {
    fn start(&self, _total: u64) {}
    fn done(&self, _op: Op, _outcome: &Outcome) {}
}

impl Progress for () {}

fn subject(a: &Action) -> String {
    match (&a.user_name, &a.display_name, &a.target) {
        (Some(u), _, _) => format!("user {u}"),
        (None, Some(g), _) => format!("group {g}"),
        (None, None, Some(t)) => format!("{} {t}", a.resource.as_str()),
        _ => format!("action {}", a.seq),
    }
}

/// Destructive changes run only once every other action has been resolved.
fn stage(op: Op) -> usize {
    usize::from(matches!(
        op,
        Op::DisableUser | Op::PendingDeleteUser | Op::DeleteGroup
    ))
}

/// Replaces every `action:N` inside `s` by the id action N created.
fn subst_str(s: &str, ids: &BTreeMap<u32, String>) -> Result<String, u32> {
    const TAG: &str = "action:";
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find(TAG) {
        out.push_str(&rest[..i]);
        let after = &rest[i + TAG.len()..];
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            out.push_str(TAG);
            rest = after;
            continue;
        }
        let n: u32 = after[..digits].parse().map_err(|_| 0u32)?;
        out.push_str(ids.get(&n).ok_or(n)?);
        rest = &after[digits..];
    }
    out.push_str(rest);
    Ok(out)
}

fn subst(v: &Value, ids: &BTreeMap<u32, String>) -> Result<Value, u32> {
    Ok(match v {
        Value::String(s) => Value::String(subst_str(s, ids)?),
        Value::Array(xs) => {
            Value::Array(xs.iter().map(|x| subst(x, ids)).collect::<Result<_, _>>()?)
        }
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, x)| Ok((k.clone(), subst(x, ids)?)))
                .collect::<Result<_, u32>>()?,
        ),
        other => other.clone(),
    })
}

/// The request an action becomes, with created ids substituted.
fn request_of(
    a: &Action,
    ids: &BTreeMap<u32, String>,
) -> Result<(Method, String, Option<Value>), u32> {
    let path = subst_str(&a.request.path, ids)?;
    let method = Method::from_bytes(a.request.method.to_ascii_uppercase().as_bytes())
        .unwrap_or(Method::PATCH);
    let body = if matches!(a.op, Op::CreateUser | Op::CreateGroup) {
        a.body.as_ref().map(|b| subst(b, ids)).transpose()?
    } else if !a.operations.is_empty() {
        let ops = serde_json::to_value(&a.operations).map_err(|_| 0u32)?;
        Some(serde_json::json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": subst(&ops, ids)?,
        }))
    } else {
        None
    };
    Ok((method, path, body))
}

/// Hands request slots out in the order actions were admitted, whatever order their attempt
/// records became durable in: with `--concurrency 1` requests go in plan order.
#[derive(Default)]
struct Turnstile {
    /// Every ticket below `.0` has passed; `.1` holds tickets passed out of order.
    passed: Mutex<(u64, BTreeSet<u64>)>,
    changed: tokio::sync::Notify,
}

impl Turnstile {
    async fn wait(&self, ticket: u64) {
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            if self.passed.lock().map(|p| p.0 >= ticket).unwrap_or(true) {
                return;
            }
            changed.await;
        }
    }

    fn pass(&self, ticket: u64) {
        if let Ok(mut p) = self.passed.lock() {
            let (next, early) = &mut *p;
            early.insert(ticket);
            while early.remove(next) {
                *next += 1;
            }
        }
        self.changed.notify_waiters();
    }
}

/// An admitted action's place in the turnstile; passes it on however the action ends.
struct Turn<'a> {
    turnstile: &'a Turnstile,
    ticket: u64,
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        self.turnstile.pass(self.ticket);
    }
}

struct Ctx {
    client: ScimClient,
    turnstile: Turnstile,
    journal: GroupJournal,
    ids: Mutex<BTreeMap<u32, String>>,
    /// `--concurrency`: requests in flight.
    slots: Arc<tokio::sync::Semaphore>,
    /// `--max-rps`: the earliest instant the next request may start.
    pace: Option<(Duration, tokio::sync::Mutex<tokio::time::Instant>)>,
    /// A 401/403 was seen: requests not yet sent are not sent.
    stopping: std::sync::atomic::AtomicBool,
}

impl Ctx {
    async fn write(&self, rec: Record) -> Result<(), journal::JournalError> {
        self.journal.write(rec).await
    }

    /// Waits for a request slot (in admission order when `turn` is given) and for the pace;
    /// the request may go while it is held.
    async fn slot(
        &self,
        turn: Option<Turn<'_>>,
    ) -> Result<tokio::sync::SemaphorePermit<'_>, ReplayError> {
        if let Some(t) = &turn {
            self.turnstile.wait(t.ticket).await;
        }
        let permit = self
            .slots
            .acquire()
            .await
            .map_err(|e| ReplayError::Runtime(e.to_string()))?;
        drop(turn);
        if let Some((interval, next)) = &self.pace {
            let at = {
                let mut next = next.lock().await;
                let at = (*next).max(tokio::time::Instant::now());
                *next = at + *interval;
                at
            };
            tokio::time::sleep_until(at).await;
        }
        Ok(permit)
    }

    fn stopping(&self) -> bool {
        self.stopping.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// A task's result.
enum Done {
    Ok {
        outcome: Outcome,
        id: Option<String>,
        status: Option<u16>,
        message: Option<String>,
        scim_error: Option<Value>,
    },
    Auth(String),
}

fn failed(status: Option<u16>, message: String, scim_error: Option<Value>) -> Done {
    Done::Ok {
        outcome: Outcome::Failed,
        id: None,
        status,
        message: Some(message),
        scim_error,
    }
}

fn quote_filter(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Finds the object a create would make, for a create that may already have happened.
async fn lookup(client: &ScimClient, a: &Action) -> Result<Option<String>, ScimError> {
    let (collection, filter) = match a.op {
        Op::CreateUser => match (&a.external_id, &a.user_name) {
            (Some(x), _) => ("Users", format!("externalId eq \"{}\"", quote_filter(x))),
            (None, Some(u)) => ("Users", format!("userName eq \"{}\"", quote_filter(u))),
            _ => return Ok(None),
        },
        Op::CreateGroup => match &a.display_name {
            Some(n) => ("Groups", format!("displayName eq \"{}\"", quote_filter(n))),
            None => return Ok(None),
        },
        _ => return Ok(None),
    };
    let mut url = client.url(collection)?;
    url.query_pairs_mut()
        .append_pair("filter", &filter)
        .append_pair("attributes", "id,externalId,userName,displayName");
    let r = client.send(Method::GET, url, None).await?;
    let found = r
        .body
        .get("Resources")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|res| match a.op {
            // A group of that name is ours only if the externalId agrees (or none is planned).
            Op::CreateGroup => {
                a.external_id.is_none()
                    || res.get("externalId").and_then(Value::as_str) == a.external_id.as_deref()
            }
            _ => true,
        })
        .and_then(|res| res.get("id").and_then(Value::as_str).map(str::to_string));
    Ok(found)
}

/// Runs one action and makes its outcome durable before returning, so the scheduler only
/// releases dependents of an outcome that is on disk (and outcomes of concurrent actions
/// share fsyncs).
async fn run_action(
    ctx: Arc<Ctx>,
    a: Action,
    attempted_before: bool,
    ticket: u64,
) -> Result<Done, ReplayError> {
    let turn = Turn {
        turnstile: &ctx.turnstile,
        ticket,
    };
    let done = execute(&ctx, &a, attempted_before, turn).await?;
    if matches!(done, Done::Auth(_)) {
        ctx.stopping
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }
    if let Done::Ok {
        outcome,
        id,
        status,
        message,
        scim_error,
    } = &done
    {
        let mut rec = Record::new(match outcome {
            Outcome::Applied => Event::Applied,
            Outcome::AlreadyDone | Outcome::PreviouslyDone => Event::AlreadyDone,
            Outcome::Failed => Event::Failed,
            Outcome::Skipped => Event::Skipped,
        });
        rec.seq = Some(a.seq);
        rec.op = Some(a.op.as_str().into());
        rec.id = id.clone();
        rec.status = *status;
        rec.message = message.clone();
        rec.scim_error = scim_error.clone();
        ctx.write(rec).await?;
    }
    Ok(done)
}

fn not_sent() -> Done {
    Done::Ok {
        outcome: Outcome::Skipped,
        id: None,
        status: None,
        message: Some("not sent: the run is stopping (401/403)".into()),
        scim_error: None,
    }
}

async fn execute(
    ctx: &Ctx,
    a: &Action,
    attempted_before: bool,
    turn: Turn<'_>,
) -> Result<Done, ReplayError> {
    let is_create = matches!(a.op, Op::CreateUser | Op::CreateGroup);
    if is_create && attempted_before {
        // The rare resume path: this lookup takes a slot out of turn.
        let slot = ctx.slot(None).await?;
        if ctx.stopping() {
            return Ok(not_sent());
        }
        let found = lookup(&ctx.client, a).await;
        drop(slot);
        match found {
            Ok(Some(id)) => {
                return Ok(Done::Ok {
                    outcome: Outcome::AlreadyDone,
                    id: Some(id),
                    status: None,
                    message: Some("found by lookup: created by an earlier attempt".into()),
                    scim_error: None,
                });
            }
            Ok(None) => {}
            Err(e) if e.is_auth() => return Ok(Done::Auth(e.to_string())),
            Err(e) => {
                return Ok(failed(
                    e.status(),
                    format!("lookup before create: {e}"),
                    None,
                ));
            }
        }
    }
    let built = {
        let ids = ctx
            .ids
            .lock()
            .map_err(|_| ReplayError::Runtime("id map poisoned".into()))?;
        request_of(a, &ids)
    };
    let (method, path, body) = match built {
        Ok(x) => x,
        Err(n) => {
            return Ok(failed(
                None,
                format!("the id of the object created by action {n} is unknown"),
                None,
            ));
        }
    };
    let mut rec = Record::new(Event::Attempt);
    rec.seq = Some(a.seq);
    rec.op = Some(a.op.as_str().into());
    // Durable before the request leaves; the slot is taken only then, so the fsync is not
    // part of a request slot's cycle.
    ctx.write(rec).await?;
    let url = match ctx.client.url(&path) {
        Ok(u) => u,
        Err(e) => return Ok(failed(None, e.to_string(), None)),
    };
    let _slot = ctx.slot(Some(turn)).await?;
    if ctx.stopping() {
        return Ok(not_sent());
    }
    match ctx.client.send(method.clone(), url, body.as_ref()).await {
        Ok(r) => {
            let id = if is_create {
                r.body.get("id").and_then(Value::as_str).map(str::to_string)
            } else {
                a.target.clone()
            };
            Ok(Done::Ok {
                outcome: Outcome::Applied,
                id,
                status: Some(r.status),
                message: None,
                scim_error: None,
            })
        }
        Err(e) if e.is_auth() => Ok(Done::Auth(e.to_string())),
        Err(e) => {
            let status = e.status();
            let scim_error = e.body().map(|b| b.raw.clone());
            if status == Some(404) && method == Method::DELETE && attempted_before {
                return Ok(Done::Ok {
                    outcome: Outcome::AlreadyDone,
                    id: a.target.clone(),
                    status,
                    message: Some("already deleted by an earlier attempt".into()),
                    scim_error,
                });
            }
            if is_create && status.is_none() {
                // The server may have acted before the connection failed: look before
                // calling it failed, so the next run does not create it twice.
                if let Ok(Some(id)) = lookup(&ctx.client, a).await {
                    return Ok(Done::Ok {
                        outcome: Outcome::Applied,
                        id: Some(id),
                        status: None,
                        message: Some(format!("response lost ({e}); found by lookup")),
                        scim_error: None,
                    });
                }
            }
            Ok(failed(status, e.to_string(), scim_error))
        }
    }
}

/// Why a blocked plan is refused, and what lifts each kind of blocker: exceeded thresholds
/// are accepted by reconciling again with `--allow-threshold`; other error findings are
/// resolved at their source, or applied around with `--allow-blocked`.
fn blocked_message(plan: &PlanDir) -> String {
    let blocking: Vec<_> = plan.plan.findings.iter().filter(|f| f.blocks()).collect();
    let thresholds = blocking
        .iter()
        .filter(|f| f.code == dirsnap_plan::codes::THRESHOLD_EXCEEDED)
        .count();
    let others = blocking.len() - thresholds;
    let mut ways = Vec::new();
    if others > 0 {
        ways.push(format!(
            "resolve the {others} error finding(s) and reconcile again"
        ));
    }
    if thresholds > 0 {
        ways.push(format!(
            "if the {thresholds} exceeded threshold(s) are expected, reconcile again with --allow-threshold"
        ));
    }
    format!(
        "{}: the plan has error findings that were not allowed (reconcile exited 3); {}, then \
         review the new plan; or, having read them, pass --allow-blocked to apply the plan's \
         actions anyway",
        plan.dir.join("plan.json").display(),
        ways.join("; ")
    )
}

/// Runs the plan. See the crate documentation.
pub async fn replay(
    client: &ScimClient,
    plan: &PlanDir,
    options: &ReplayOptions,
    progress: &dyn Progress,
) -> Result<ReplaySummary, ReplayError> {
    let started = Instant::now();
    if plan.plan.is_blocked() && !options.allow_blocked {
        return Err(ReplayError::Blocked(blocked_message(plan)));
    }
    let _lock = if options.dry_run {
        None
    } else {
        Some(lock::acquire(&plan.dir)?)
    };
    let journal_path = plan.dir.join(JOURNAL_FILE);
    let (history, valid_len) = journal::read(&journal_path, &plan.digest)?;
    let mut summary = ReplaySummary {
        journal: (!options.dry_run).then(|| journal_path.clone()),
        ..ReplaySummary::default()
    };

    let (drifts, notes) = if !options.check_stale {
        (Vec::new(), Vec::new())
    } else {
        stale::check(client, &plan.plan, &history, &options.linking_id)
            .await
            .map_err(|e| {
                if e.is_auth() {
                    ReplayError::Stopped {
                        reason: e.to_string(),
                        cause: StopCause::Auth,
                        summary: Box::default(),
                    }
                } else {
                    ReplayError::Scim(e)
                }
            })?
    };
    summary.notes.extend(notes);
    if !drifts.is_empty() {
        if options.force_stale {
            summary.notes.push(format!(
                "--force-stale: applying although {} object(s) changed since planning",
                drifts.len()
            ));
        } else {
            return Err(ReplayError::Stale(drifts));
        }
    }

    let pending: Vec<&Action> = plan
        .plan
        .actions
        .iter()
        .filter(|a| history.done_id(a.seq).is_none())
        .collect();
    let mut ids: BTreeMap<u32, String> = BTreeMap::new();
    for a in &plan.plan.actions {
        if let Some(id) = history.done_id(a.seq) {
            if let Some(id) = id
                && matches!(a.op, Op::CreateUser | Op::CreateGroup)
            {
                ids.insert(a.seq, id.to_string());
            }
            summary.count(a.op, &Outcome::PreviouslyDone);
        }
    }

    let deletes_users = pending
        .iter()
        .filter(|a| a.op == Op::PendingDeleteUser)
        .count() as u64;
    let deletes_groups = pending.iter().filter(|a| a.op == Op::DeleteGroup).count() as u64;
    let delete_block = match options.delete_limit {
        DeleteLimit::Total(n) if deletes_users + deletes_groups > n => Some(format!(
            "the plan still has {} deletion(s) ({deletes_users} pending deletions, {deletes_groups} group deletes), more than --allow-deletes {n}",
            deletes_users + deletes_groups
        )),
        DeleteLimit::PerKind { users: Some(n), .. } if deletes_users > n => Some(format!(
            "the plan still has {deletes_users} pending deletion(s), more than dirsnap.thresholds.pending_deletions ({n})"
        )),
        DeleteLimit::PerKind {
            groups: Some(n), ..
        } if deletes_groups > n => Some(format!(
            "the plan still has {deletes_groups} group delete(s), more than dirsnap.thresholds.group_deletes ({n})"
        )),
        _ => None,
    };

    if options.dry_run {
        for a in &pending {
            let mut fake = ids.clone();
            for d in a.prerequisites() {
                fake.entry(d)
                    .or_insert_with(|| format!("<id created by action {d}>"));
            }
            if let Ok((m, p, b)) = request_of(a, &fake) {
                summary.planned.push(PlannedRequest {
                    seq: a.seq,
                    op: a.op,
                    method: m.to_string(),
                    path: p,
                    body: b,
                });
            }
        }
        if let Some(why) = delete_block {
            summary.notes.push(format!(
                "a real run would stop before the first delete: {why}"
            ));
        }
        summary.elapsed = started.elapsed();
        return Ok(summary);
    }

    let concurrency = options.concurrency.max(1);
    let ctx = Arc::new(Ctx {
        client: client.clone(),
        journal: GroupJournal::new(Journal::open(&journal_path, valid_len)?)?,
        ids: Mutex::new(ids),
        turnstile: Turnstile::default(),
        slots: Arc::new(tokio::sync::Semaphore::new(concurrency)),
        pace: options.max_rps.filter(|r| *r > 0.0).map(|r| {
            (
                Duration::from_secs_f64(1.0 / r),
                tokio::sync::Mutex::new(tokio::time::Instant::now()),
            )
        }),
        stopping: std::sync::atomic::AtomicBool::new(false),
    });
    let mut begin = Record::new(Event::Begin);
    begin.plan = Some(plan.digest.clone());
    begin.message = Some(format!("{} action(s) to run", pending.len()));
    ctx.write(begin).await?;
    progress.start(plan.plan.actions.len() as u64);
    for a in &plan.plan.actions {
        if history.done_id(a.seq).is_some() {
            progress.done(a.op, &Outcome::PreviouslyDone);
        }
    }

    // Dependency bookkeeping over the pending actions.
    let by_seq: BTreeMap<u32, &Action> = pending.iter().map(|a| (a.seq, *a)).collect();
    let mut waiting: BTreeMap<u32, usize> = BTreeMap::new();
    let mut dependents: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
    let mut ready: [BTreeSet<u32>; 2] = [BTreeSet::new(), BTreeSet::new()];
    let mut unresolved = [0usize; 2];
    let mut bad_dep: BTreeMap<u32, u32> = BTreeMap::new();
    for a in &pending {
        let mut n = 0;
        for d in a.prerequisites() {
            if by_seq.contains_key(&d) {
                n += 1;
                dependents.entry(d).or_default().push(a.seq);
            }
        }
        unresolved[stage(a.op)] += 1;
        if n == 0 {
            ready[stage(a.op)].insert(a.seq);
        } else {
            waiting.insert(a.seq, n);
        }
    }
    // Seqs that ended without success in this run.
    let mut not_ok: BTreeSet<u32> = BTreeSet::new();
    // Actions admitted at once: twice the request slots, so that the next actions' attempt
    // records are made durable while the current requests are in flight, and outcomes after
    // the slot is given back (group commit). Ctx::slot bounds the requests themselves.
    // `--concurrency 1` stays strictly sequential (one action at a time, always the lowest
    // ready seq): what someone stepping through a plan expects, and reproducible.
    let window = if concurrency == 1 { 1 } else { 2 * concurrency };
    let mut admitted: u64 = 0;
    let mut running: JoinSet<(u32, Result<Done, ReplayError>)> = JoinSet::new();
    let mut stop: Option<(String, StopCause)> = None;

    loop {
        let current = usize::from(unresolved[0] == 0);
        if current == 1
            && stop.is_none()
            && !ready[1].is_empty()
            && let Some(why) = &delete_block
        {
            stop = Some((
                format!("the deletions were not started: {why}"),
                StopCause::DeleteLimit {
                    deletions: deletes_users + deletes_groups,
                },
            ));
        }
        if stop.is_none() && options.interrupt.is_raised() {
            stop = Some((
                "interrupted: no further action was started, and the ones in flight were finished and journaled".into(),
                StopCause::Interrupted,
            ));
        }
        while stop.is_none() && running.len() < window {
            let Some(seq) = ready[current].pop_first() else {
                break;
            };
            let Some(a) = by_seq.get(&seq).map(|a| (*a).clone()) else {
                continue;
            };
            // Skip an action whose prerequisite did not succeed.
            if let Some(d) = a
                .prerequisites()
                .into_iter()
                .find(|d| not_ok.contains(d))
                .or(bad_dep.get(&seq).copied())
            {
                let mut rec = Record::new(Event::Skipped);
                rec.seq = Some(seq);
                rec.op = Some(a.op.as_str().into());
                rec.message = Some(format!("action {d} it depends on did not succeed"));
                ctx.write(rec).await?;
                summary.count(a.op, &Outcome::Skipped);
                progress.done(a.op, &Outcome::Skipped);
                not_ok.insert(seq);
                resolve(
                    seq,
                    &by_seq,
                    &mut unresolved,
                    &mut waiting,
                    &dependents,
                    &mut ready,
                );
                continue;
            }
            let attempted = matches!(
                history.actions.get(&seq),
                Some(ActionState::Uncertain | ActionState::Retry)
            );
            let c = ctx.clone();
            let ticket = admitted;
            admitted += 1;
            running.spawn(async move { (seq, run_action(c, a, attempted, ticket).await) });
        }
        let Some(joined) = running.join_next().await else {
            if stop.is_some() || (unresolved[0] == 0 && unresolved[1] == 0) {
                break;
            }
            if ready[current].is_empty() {
                // Nothing runs and nothing of this stage is ready: what is left of it waits on
                // an action of a later stage (a plan out of order). Skip it rather than hang.
                let stuck: Vec<u32> = waiting
                    .keys()
                    .copied()
                    .filter(|s| by_seq.get(s).is_some_and(|a| stage(a.op) == current))
                    .collect();
                if stuck.is_empty() {
                    break;
                }
                for seq in stuck {
                    waiting.remove(&seq);
                    if let Some(a) = by_seq.get(&seq) {
                        let pending_dep = a
                            .prerequisites()
                            .into_iter()
                            .find(|d| by_seq.contains_key(d))
                            .unwrap_or(0);
                        bad_dep.insert(seq, pending_dep);
                        ready[current].insert(seq);
                    }
                }
            }
            continue;
        };
        let (seq, result) =
            joined.map_err(|e| ReplayError::Runtime(format!("task failed: {e}")))?;
        let Some(a) = by_seq.get(&seq).copied() else {
            continue;
        };
        match result? {
            Done::Auth(message) => {
                let mut rec = Record::new(Event::Failed);
                rec.seq = Some(seq);
                rec.op = Some(a.op.as_str().into());
                rec.message = Some(message.clone());
                ctx.write(rec).await?;
                if stop.is_none() {
                    stop = Some((message, StopCause::Auth));
                }
            }
            Done::Ok {
                outcome,
                id,
                status,
                message,
                ..
            } => {
                if matches!(outcome, Outcome::Applied | Outcome::AlreadyDone)
                    && matches!(a.op, Op::CreateUser | Op::CreateGroup)
                {
                    match &id {
                        Some(id) => {
                            if let Ok(mut m) = ctx.ids.lock() {
                                m.insert(seq, id.clone());
                            }
                        }
                        None => {
                            not_ok.insert(seq);
                        }
                    }
                }
                if outcome == Outcome::Skipped {
                    not_ok.insert(seq);
                }
                if outcome == Outcome::Failed {
                    not_ok.insert(seq);
                    summary.failures.push(Failure {
                        seq,
                        op: a.op,
                        subject: subject(a),
                        status,
                        message: message.unwrap_or_default(),
                    });
                }
                summary.count(a.op, &outcome);
                progress.done(a.op, &outcome);
                resolve(
                    seq,
                    &by_seq,
                    &mut unresolved,
                    &mut waiting,
                    &dependents,
                    &mut ready,
                );
            }
        }
    }
    summary.elapsed = started.elapsed();
    let mut end = Record::new(if stop.is_some() {
        Event::Stopped
    } else {
        Event::End
    });
    end.message = stop.as_ref().map(|(m, _)| m.clone());
    ctx.write(end).await?;
    ctx.journal.close();
    if let Some((reason, cause)) = stop {
        return Err(ReplayError::Stopped {
            reason,
            cause,
            summary: Box::new(summary),
        });
    }
    Ok(summary)
}

fn resolve(
    seq: u32,
    by_seq: &BTreeMap<u32, &Action>,
    unresolved: &mut [usize; 2],
    waiting: &mut BTreeMap<u32, usize>,
    dependents: &BTreeMap<u32, Vec<u32>>,
    ready: &mut [BTreeSet<u32>; 2],
) {
    if let Some(a) = by_seq.get(&seq) {
        let s = stage(a.op);
        unresolved[s] = unresolved[s].saturating_sub(1);
    }
    for d in dependents.get(&seq).into_iter().flatten() {
        if let Some(n) = waiting.get_mut(d) {
            *n -= 1;
            if *n == 0 {
                waiting.remove(d);
                if let Some(a) = by_seq.get(d) {
                    ready[stage(a.op)].insert(*d);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn substitutes_created_ids_inside_strings_and_reports_unknown_ones() {
        let ids: BTreeMap<u32, String> = [(2, "u-2".to_string()), (12, "g-12".to_string())].into();
        assert_eq!(subst_str("Groups/action:12", &ids).unwrap(), "Groups/g-12");
        assert_eq!(
            subst_str("members[value eq \"action:2\"]", &ids).unwrap(),
            "members[value eq \"u-2\"]"
        );
        assert_eq!(subst_str("transaction:x", &ids).unwrap(), "transaction:x");
        assert_eq!(subst_str("action:3", &ids), Err(3));
        let v = serde_json::json!([{"value": "action:2"}, {"value": "other"}]);
        assert_eq!(
            subst(&v, &ids).unwrap(),
            serde_json::json!([{"value": "u-2"}, {"value": "other"}])
        );
    }

    #[tokio::test]
    async fn the_turnstile_lets_tickets_through_in_order_even_when_passed_out_of_order() {
        let t = Turnstile::default();
        t.wait(0).await;
        // 2 ends early (say its request could not be built) before 0 and 1 are through.
        t.pass(2);
        let third = tokio::time::timeout(Duration::from_millis(50), t.wait(3)).await;
        assert!(third.is_err(), "3 must wait for 0 and 1");
        t.pass(0);
        t.wait(1).await;
        assert!(
            tokio::time::timeout(Duration::from_millis(50), t.wait(3))
                .await
                .is_err()
        );
        t.pass(1);
        tokio::time::timeout(Duration::from_millis(50), t.wait(3))
            .await
            .unwrap();
    }

    #[test]
    fn destructive_ops_run_in_the_last_stage() {
        for op in Op::ALL {
            let late = matches!(
                op,
                Op::DisableUser | Op::PendingDeleteUser | Op::DeleteGroup
            );
            assert_eq!(stage(op) == 1, late, "{op}");
        }
    }
}
