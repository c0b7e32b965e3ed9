//! Work for the sync machine of a running watching sync, handed to it by other threads of the
//! same process (the web app): member-list changes must be made by the machine that is
//! connected to the relays, since a second machine on the same store would not know of them
//! and could overwrite them. The driver runs each task between two events, on its own machine,
//! and then sends what the task changed at once.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard};

use kompas_engine::sync::replication::Machine;
use kompas_engine::{Replica, Store};
use tokio::sync::Notify;

/// One piece of work: run with the replica and the machine, or with `None` while the data
/// directory belongs to no workspace (there is no machine then).
pub type Task<S> = Box<dyn FnOnce(&Replica<S>, Option<&mut Machine>) + Send>;

/// The queue of tasks for the machine.
pub struct MachineWork<S: Store> {
    queue: Mutex<VecDeque<Task<S>>>,
    wake: Notify,
}

impl<S: Store> Default for MachineWork<S> {
    fn default() -> Self {
        MachineWork {
            queue: Mutex::new(VecDeque::new()),
            wake: Notify::new(),
        }
    }
}

impl<S: Store> MachineWork<S> {
    /// Queues a task and wakes the driver.
    pub fn submit(&self, task: Task<S>) {
        self.lock().push_back(task);
        self.wake.notify_one();
    }

    /// Takes every queued task, oldest first.
    pub fn take_all(&self) -> Vec<Task<S>> {
        self.lock().drain(..).collect()
    }

    /// Waits until a task may have been queued since the last wait.
    pub async fn queued(&self) {
        self.wake.notified().await
    }

    fn lock(&self) -> MutexGuard<'_, VecDeque<Task<S>>> {
        // A plain queue; a panic elsewhere cannot leave it half-written.
        self.queue
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
