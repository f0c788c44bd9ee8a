//! argon2 on its own bounded pool. Hashing and verifying a secret costs tens of milliseconds and
//! 19 MiB each; on the shared blocking pool a burst of wrong secrets would queue every read
//! behind it. Here it gets `threads` threads (the cores, by default) and a queue of `queue`
//! jobs; a grant that finds the queue full is refused at once (`Busy`), so a flood costs its
//! senders a quick 503 and nobody else anything. Authenticated writes wait for room instead.

use std::future::Future;
use std::sync::mpsc::{channel, Sender};
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

type Job = Box<dyn FnOnce() + Send + 'static>;

pub struct HashingPool {
    jobs: Sender<Job>,
    /// One permit a running or waiting job: the threads plus the queue.
    slots: Arc<Semaphore>,
    threads: usize,
    capacity: usize,
}

/// The pool and its queue are full: try again in a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the argon2 pool is busy")]
pub struct Busy;

/// The argon2 threads yield the cores to everything else: SCHED_IDLE, so any other thread of
/// the machine that wakes up (a read) takes the core at once, while an idle machine still gives
/// argon2 all it has. (On Linux a thread's scheduling policy is its own.)
fn lower_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: sched_setscheduler on the calling thread (pid 0) with a valid, initialized
    // sched_param; it touches no memory of ours beyond reading that struct.
    unsafe {
        let param = libc::sched_param { sched_priority: 0 };
        if libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) != 0 {
            libc::setpriority(libc::PRIO_PROCESS, 0, 19);
        }
    }
}

impl HashingPool {
    /// `threads` workers (at least 1) and room for `queue` waiting jobs.
    pub fn new(threads: usize, queue: usize) -> HashingPool {
        let threads = threads.max(1);
        let (jobs, receiver) = channel::<Job>();
        let receiver = Arc::new(Mutex::new(receiver));
        for i in 0..threads {
            let receiver = receiver.clone();
            std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || {
                    lower_priority();
                    loop {
                        let job = receiver.lock().unwrap_or_else(|p| p.into_inner()).recv();
                        match job {
                            Ok(job) => job(),
                            Err(_) => return,
                        }
                    }
                })
                .expect("starting an argon2 thread");
        }
        HashingPool { jobs, slots: Arc::new(Semaphore::new(threads + queue)), threads, capacity: threads + queue }
    }

    /// Whether a job sent now would be refused.
    pub fn is_full(&self) -> bool {
        self.slots.available_permits() == 0
    }

    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Jobs running or waiting now, and the most there may be (threads plus queue).
    pub fn load(&self) -> (usize, usize) {
        (self.capacity - self.slots.available_permits(), self.capacity)
    }

    fn submit<T, F>(&self, permit: OwnedSemaphorePermit, work: F) -> impl Future<Output = Result<T, Busy>> + 'static
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let (sender, receiver) = tokio::sync::oneshot::channel();
        let span = tracing::Span::current();
        let job: Job = Box::new(move || {
            let _entered = span.enter();
            let result = work();
            drop(permit);
            let _ = sender.send(result);
        });
        let submitted = self.jobs.send(job).is_ok();
        async move {
            if !submitted {
                return Err(Busy);
            }
            // A job that panicked dropped its sender: a fault, not a busy pool, but the caller
            // can only retry either way.
            receiver.await.map_err(|_| Busy)
        }
    }

    /// Hands `work` to the pool now, or refuses at once when the pool and its queue are full:
    /// for requests anyone can send (grants), which must not pile up.
    pub fn run<T, F>(&self, work: F) -> impl Future<Output = Result<T, Busy>> + 'static
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let submitted = self.slots.clone().try_acquire_owned().map(|permit| self.submit(permit, work));
        async move {
            match submitted {
                Ok(job) => job.await,
                Err(_) => Err(Busy),
            }
        }
    }

    /// Waits for room, then runs `work`: for authenticated writes (a new credential's secret),
    /// which the write rate limit bounds already.
    pub async fn run_waiting<T, F>(&self, work: F) -> Result<T, Busy>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let permit = self.slots.clone().acquire_owned().await.map_err(|_| Busy)?;
        self.submit(permit, work).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc::channel;

    #[actix_rt::test]
    async fn a_full_pool_refuses_at_once_and_then_recovers() {
        let pool = HashingPool::new(1, 1);
        let (release, gate) = channel::<()>();
        let (started, running) = channel::<()>();
        let blocker = pool.run(move || {
            started.send(()).unwrap();
            gate.recv().unwrap();
            1
        });
        running.recv().unwrap();
        let queued = pool.run(|| 2);
        assert_eq!(pool.run(|| 3).await, Err(Busy), "one running, one queued: the third is refused");
        release.send(()).unwrap();
        assert_eq!(blocker.await, Ok(1));
        assert_eq!(queued.await, Ok(2));
        assert_eq!(pool.run(|| 4).await, Ok(4));
    }

    #[actix_rt::test]
    async fn a_waiting_job_gets_its_turn() {
        let pool = HashingPool::new(1, 0);
        let (release, gate) = channel::<()>();
        let blocker = pool.run(move || gate.recv().unwrap());
        assert_eq!(pool.run(|| 2).await, Err(Busy));
        let waiting = pool.run_waiting(|| 3);
        release.send(()).unwrap();
        assert_eq!(waiting.await, Ok(3));
        assert_eq!(blocker.await, Ok(()));
    }
}
