//! The server's jobs: admission (quotas), submission (parse, confine, validate, persist,
//! start), lookup by caller, stop, resume of every running job at start, and shutdown.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::auth::Caller;
use super::config::TenantConfig;
use super::confine::{confine, Rules};
use super::executor::{Executor, JobHandle, Submission};
use super::sched::pool::JobUsage;
use super::sched::TenantUsage;
use super::status::{JobRecord, JobState, JobStatus};
use super::store::{relative_to_job, Store};
use super::ServeError;
use crate::base::now_ms;
use crate::exec::{Plan, PlanMode};
use crate::job::JobDocument;
use crate::wasm::WasmRuntime;

/// How long `DELETE /v1/jobs/ID` waits for the job to finish its batch.
const STOP_WAIT: Duration = Duration::from_secs(20);

/// One job the server knows (running or not).
pub struct JobEntry {
    /// Its status.
    pub status: Arc<JobStatus>,
    /// Its directory.
    pub dir: PathBuf,
    /// Its `files` sinks and their directories.
    pub files_sinks: BTreeMap<String, PathBuf>,
    handle: Mutex<Option<JobHandle>>,
}

/// Every job of the server.
pub struct Jobs {
    store: Store,
    tenants: BTreeMap<String, TenantConfig>,
    runtime: Arc<WasmRuntime>,
    executor: Executor,
    entries: Mutex<BTreeMap<String, Arc<JobEntry>>>,
    /// Admission is one at a time, so that two submissions cannot both take the last slot.
    admission: Mutex<()>,
}

/// A job prepared from its file, not yet started.
struct Prepared {
    doc: JobDocument,
    files_sinks: BTreeMap<String, PathBuf>,
    checkpoint_dir: PathBuf,
}

impl Jobs {
    /// The jobs in `store`, on a pool of `workers` slots; every job recorded as running is
    /// resumed from its checkpoint.
    ///
    /// # Errors
    /// [`ServeError::Setup`] when the pool cannot be started.
    pub fn open(
        store: Store,
        tenants: BTreeMap<String, TenantConfig>,
        runtime: Arc<WasmRuntime>,
        workers: usize,
    ) -> Result<Jobs, ServeError> {
        let io = tokio::runtime::Handle::try_current()
            .map_err(|e| ServeError::Setup(format!("jobs need the server's I/O runtime: {e}")))?;
        let executor = Executor::new(&tenants, workers, runtime.clone(), io)?;
        let jobs = Jobs {
            store,
            tenants,
            runtime,
            executor,
            entries: Mutex::new(BTreeMap::new()),
            admission: Mutex::new(()),
        };
        for (tenant, dir) in jobs.store.all_job_dirs() {
            jobs.reload(&tenant, &dir);
        }
        Ok(jobs)
    }

    fn reload(&self, tenant: &str, dir: &Path) {
        let status = match JobStatus::load(dir) {
            Ok(s) => Arc::new(s),
            Err(e) => {
                tracing::warn!(error = %e, "Skipping a job directory without a readable record.");
                return;
            }
        };
        let record = status.record();
        let mut files_sinks = BTreeMap::new();
        let mut handle = None;
        if record.state == JobState::Running {
            let started = self
                .prepare(tenant, dir, &read_job(dir), true)
                .and_then(|p| {
                    files_sinks = p.files_sinks.clone();
                    self.start(p, dir, &record, &status)
                });
            match started {
                Ok(h) => {
                    tracing::info!(job = %record.id, %tenant, "Job resumed.");
                    handle = Some(h);
                }
                Err(e) => {
                    let reason = format!("cannot resume: {e}");
                    status.log(&reason);
                    let _ = status.set_state(JobState::Failed, Some(reason));
                }
            }
        } else if let Ok(p) = self.prepare(tenant, dir, &read_job(dir), true) {
            files_sinks = p.files_sinks;
        }
        self.insert(&record.id, status, dir, files_sinks, handle);
    }

    fn insert(
        &self,
        id: &str,
        status: Arc<JobStatus>,
        dir: &Path,
        files_sinks: BTreeMap<String, PathBuf>,
        handle: Option<JobHandle>,
    ) {
        let entry = Arc::new(JobEntry {
            status,
            dir: dir.to_owned(),
            files_sinks,
            handle: Mutex::new(handle),
        });
        lock(&self.entries).insert(id.to_owned(), entry);
    }

    /// Admits, checks and starts a job file of `tenant`; returns its id.
    ///
    /// # Errors
    /// [`ServeError::Quota`] over `max_jobs` or `max_memory`; [`ServeError::BadJob`] with the message (and
    /// line and column) `sluice validate` gives, or a confinement refusal.
    pub fn submit(
        &self,
        tenant: &str,
        text: String,
        batches: Option<u64>,
    ) -> Result<String, ServeError> {
        let _admission = lock(&self.admission);
        let limit = self.tenants.get(tenant).map_or(0, |t| t.max_jobs);
        let in_use = self.running(tenant);
        if in_use >= limit {
            return Err(ServeError::Quota {
                quota: "max_jobs",
                limit: limit as u64,
                in_use: in_use as u64,
                requested: 1,
            });
        }
        let id = self.new_id(tenant);
        let dir = self.store.job_dir(tenant, &id);
        let files = dir.join("files");
        std::fs::create_dir_all(&files).map_err(|e| ServeError::store(&files, e))?;
        let prepared = match self
            .prepare(tenant, &dir, &text, false)
            .and_then(|p| self.executor.admit(tenant, &p.doc).map(|()| p))
        {
            Ok(p) => p,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&dir);
                return Err(e);
            }
        };
        std::fs::write(dir.join("job.toml"), &text).map_err(|e| ServeError::store(&dir, e))?;
        let record = JobRecord {
            id: id.clone(),
            tenant: tenant.to_owned(),
            name: prepared.doc.file.job.name.clone(),
            submitted_ms: now_ms(),
            state: JobState::Running,
            reason: None,
            batches,
        };
        let status = Arc::new(JobStatus::new(dir.clone(), record.clone()));
        status.save(&record)?;
        status.log(&format!("job submitted by tenant `{tenant}`"));
        let files_sinks = prepared.files_sinks.clone();
        let handle = self.start(prepared, &dir, &record, &status)?;
        self.insert(&id, status, &dir, files_sinks, Some(handle));
        tracing::info!(job = %id, %tenant, "Job submitted.");
        Ok(id)
    }

    /// Parses, confines and (unless `resuming`) validates the job file in `dir`.
    fn prepare(
        &self,
        tenant: &str,
        dir: &Path,
        text: &str,
        resuming: bool,
    ) -> Result<Prepared, ServeError> {
        let bad =
            |e: &dyn std::fmt::Display| ServeError::BadJob(relative_to_job(&e.to_string(), dir));
        let mut doc = JobDocument::parse(&dir.join("files").join("job.toml"), text.to_owned())
            .map_err(|e| bad(&e))?;
        let pinned = |name: &str| -> Option<PathBuf> {
            if resuming {
                let p = dir.join("plugins").join(format!("{name}.wasm"));
                p.is_file().then_some(p)
            } else {
                self.store.pin_plugin(tenant, name, dir)
            }
        };
        let allowed = self
            .tenants
            .get(tenant)
            .map(|t| t.allowed_hosts.clone())
            .unwrap_or_default();
        let rules = Rules {
            root: &dir.join("files"),
            allowed_hosts: &allowed,
            plugin_file: &pinned,
        };
        let confined = confine(&mut doc, &rules).map_err(|e| bad(&e))?;
        if !resuming {
            Plan::build(&doc, &self.runtime, PlanMode::Validate).map_err(|e| bad(&e))?;
            doc.check_has_sink().map_err(|e| bad(&e))?;
        }
        Ok(Prepared {
            doc,
            files_sinks: confined.files_sinks,
            checkpoint_dir: confined
                .checkpoint_dir
                .unwrap_or_else(|| dir.join("checkpoint")),
        })
    }

    fn start(
        &self,
        p: Prepared,
        dir: &Path,
        record: &JobRecord,
        status: &Arc<JobStatus>,
    ) -> Result<JobHandle, ServeError> {
        Ok(self.executor.submit(Submission {
            doc: p.doc,
            dir: dir.to_owned(),
            checkpoint_dir: p.checkpoint_dir,
            batches: record.batches,
            status: status.clone(),
        }))
    }

    /// Jobs of `tenant` recorded as running.
    fn running(&self, tenant: &str) -> usize {
        lock(&self.entries)
            .values()
            .map(|e| e.status.record())
            .filter(|r| r.tenant == tenant && r.state == JobState::Running)
            .count()
    }

    fn new_id(&self, tenant: &str) -> String {
        let entries = lock(&self.entries);
        for attempt in 0u64.. {
            let mut h = Sha256::new();
            h.update(tenant.as_bytes());
            h.update(now_ms().to_le_bytes());
            h.update(std::process::id().to_le_bytes());
            h.update(attempt.to_le_bytes());
            h.update(format!("{:?}", std::time::Instant::now()).as_bytes());
            let id: String = h.finalize()[..6]
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            if !entries.contains_key(&id) && !self.store.job_dir(tenant, &id).exists() {
                return id;
            }
        }
        unreachable!("the id space is not exhausted")
    }

    /// The jobs' observers (metrics, recent batches, plugin errors).
    pub fn observers(&self) -> &Arc<crate::observe::ServeObservers> {
        self.executor.observers()
    }

    /// The job `id` if `caller` may see it (its tenant, or the admin).
    pub fn get(&self, caller: &Caller, id: &str) -> Option<Arc<JobEntry>> {
        let entry = lock(&self.entries).get(id).cloned()?;
        visible(caller, &entry).then_some(entry)
    }

    /// The jobs `caller` may see, by id.
    pub fn list(&self, caller: &Caller) -> Vec<Arc<JobEntry>> {
        lock(&self.entries)
            .values()
            .filter(|e| visible(caller, e))
            .cloned()
            .collect()
    }

    /// Stops a job gracefully (it finishes its batch, flushes and checkpoints) and records
    /// it as stopped, so that a restart does not resume it.
    ///
    /// # Errors
    /// [`ServeError::Store`] when the record cannot be written.
    pub fn stop(&self, entry: &JobEntry) -> Result<(), ServeError> {
        if entry.status.record().state != JobState::Running {
            return Ok(());
        }
        entry
            .status
            .set_state(JobState::Stopped, Some("stopped on request".to_owned()))?;
        entry.status.log("stop requested");
        let mut handle = lock(&entry.handle);
        if let Some(h) = handle.as_mut() {
            h.stop();
            if h.wait(STOP_WAIT) {
                *handle = None;
            }
        }
        Ok(())
    }

    /// Stops every job for a server shutdown: they checkpoint and stay `running` on disk,
    /// so that the next start resumes them.
    pub fn shutdown(&self) {
        self.executor.begin_shutdown();
        let entries: Vec<Arc<JobEntry>> = lock(&self.entries).values().cloned().collect();
        for e in &entries {
            if let Some(h) = lock(&e.handle).as_ref() {
                h.stop();
            }
        }
        for e in &entries {
            if let Some(h) = lock(&e.handle).as_mut() {
                h.wait(STOP_WAIT);
            }
        }
    }
}

impl JobEntry {
    /// The job's CPU time and memory while it is on the pool.
    pub fn usage(&self) -> Option<JobUsage> {
        lock(&self.handle).as_ref().map(JobHandle::usage)
    }
}

impl Jobs {
    /// The pool's use by the tenants `caller` may see (its own; every one for the admin).
    pub fn usage(&self, caller: &Caller) -> Vec<TenantUsage> {
        let mut all = self.executor.usage();
        if let Caller::Tenant(t) = caller {
            all.retain(|u| u.tenant == *t);
        }
        all
    }
}

fn visible(caller: &Caller, entry: &JobEntry) -> bool {
    match caller {
        Caller::Admin => true,
        Caller::Tenant(t) => entry.status.record().tenant == *t,
    }
}

fn read_job(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("job.toml")).unwrap_or_default()
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
