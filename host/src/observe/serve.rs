//! [`ServeObservers`]: the observers of `sluice serve`'s jobs, one per job, reporting to
//! one registry with the labels `tenant` and `job` (the job's id); the API answers a
//! tenant's token with its own series and jobs only (`serve/api/observe.rs`).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use super::{JobObserver, Metrics};
use crate::job::JobDocument;

/// Every observed job of a server.
#[derive(Debug, Default)]
pub struct ServeObservers {
    metrics: Arc<Metrics>,
    /// By job id: the tenant and the observer.
    jobs: Mutex<BTreeMap<String, (String, Arc<JobObserver>)>>,
}

impl ServeObservers {
    /// No jobs yet.
    pub fn new() -> ServeObservers {
        ServeObservers::default()
    }

    /// The server's registry.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// A new observer of job `id` of `tenant` (replacing the one of an earlier run of the
    /// same job, e.g. before a restart of the job).
    pub fn observe(&self, tenant: &str, id: &str, doc: &JobDocument) -> Arc<JobObserver> {
        let labels = vec![
            ("tenant".to_owned(), tenant.to_owned()),
            ("job".to_owned(), id.to_owned()),
        ];
        let observer = JobObserver::new(doc, self.metrics.clone(), labels);
        let mut jobs = self.jobs.lock().unwrap_or_else(|e| e.into_inner());
        jobs.insert(id.to_owned(), (tenant.to_owned(), observer.clone()));
        observer
    }

    /// The observer of job `id`, when it ran since the server started.
    pub fn get(&self, id: &str) -> Option<Arc<JobObserver>> {
        let jobs = self.jobs.lock().unwrap_or_else(|e| e.into_inner());
        jobs.get(id).map(|(_, o)| o.clone())
    }
}
