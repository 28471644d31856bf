//! The pool's workers: threads that wait for readiness — of the listener and of every
//! connection — and run the handler of whatever became ready on the thread that learnt
//! it.
//!
//! One worker at a time waits in the readiness set (`epoll`/`kqueue`, through `mio`);
//! the others sleep. The one that wakes puts every ready event in a shared queue and
//! works through it itself: a readable connection's handler runs right there, the
//! listener's event is a round of `accept`, each new connection's first turn run at
//! once. When the queue is empty it waits in the readiness set again. So while the load
//! fits one thread, a kept-alive request costs its read and its write and a share of one
//! wait: no hand-off, no wake-up of another thread.
//!
//! What if a handler blocks — sleeps, computes, waits for a slow client? Then its worker
//! is stuck and the queue behind it, and nobody waits for readiness. One sleeping worker
//! is the *standby*: it wakes every [`TICK`] while the pool is busy, and when work is
//! waiting and no worker has made progress for a whole tick, it takes over — runs the
//! queue, waits for readiness — and another worker becomes the standby (one is started
//! if none sleeps, up to `max_workers`). A handler that is about to wait in a read of
//! its connection says so at once, so a slow client hands over without the tick. At
//! most `max_workers` handlers run at once; when all are busy, nobody accepts, and new
//! clients wait in the kernel's listen queue.
//!
//! This is the leader/followers pattern (Schmidt et al.) with Go's answer to blocking
//! (its `sysmon` retakes a processor from a thread stuck in a system call);
//! `docs/performance.md` has the measurements that chose it.

use std::collections::VecDeque;
use std::io;
use std::os::fd::RawFd;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use mio::unix::SourceFd;
use mio::{Events, Interest, Token};

use super::table::{token, Parked, Table, Taken};
use crate::address::Address;
use crate::server::park::{self, PoolTimeouts, Turn};
use crate::server::{lock, ProcessRequest};
use crate::socket::RequestSocket;

/// How often the standby looks at a busy pool.
const TICK: Duration = Duration::from_millis(5);

/// After this long without any progress, the standby sleeps until woken.
const DEEP_AFTER: Duration = Duration::from_secs(1);

/// Readiness events taken from one wait.
const EVENTS: usize = 256;

/// Turns a worker runs back to back, with more work queued, before it lets whatever
/// else is runnable on its processor run (`sched_yield`). A FastCGI responder shares a
/// processor with the nginx in front of it: answering a whole wave of ready requests
/// before nginx runs sends the wave back to nginx whole, nginx forwards the next wave
/// whole, and a wave larger than its cache of idle upstream connections (`keepalive
/// 64`) costs a new connection for every request beyond it. With a yield every 16
/// turns, the waves break up (`docs/performance.md`, "Sharing a processor").
const YIELD_EVERY: usize = 16;

/// Requests handed to `process_request` that may wait for a worker (the ones the pool's
/// workers did not accept themselves: `handle_request`, datagrams).
const HANDED_OVER: usize = 256;

/// How long accepting pauses when the process is out of descriptors.
const FD_PAUSE: Duration = Duration::from_millis(50);

thread_local! {
    /// Set when this worker, about to wait in a read, had another one take over.
    static HANDED_OFF: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

const LISTENER: Token = Token(usize::MAX);
const WAKER: Token = Token(usize::MAX - 1);

/// The pool's settings, read from the mix-in's fields when it starts.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Config {
    pub(crate) max_workers: usize,
    pub(crate) max_connections: usize,
    pub(crate) timeouts: PoolTimeouts,
    pub(crate) park_idle: bool,
}

enum Work<R> {
    /// A readiness event.
    Event(Token),
    /// The listener when connections may be queued that no readiness event reports:
    /// after an `accept`, and when accepting starts or resumes.
    Accepted,
    /// A connection's readiness event that also says its peer has closed (or reset) it.
    /// The end of input may be all that is left unread after the handler's next read,
    /// and no further event will tell (the set is edge-triggered).
    Closed(Token),
    /// A connection given to `process_request` (not accepted by a worker).
    Adopt(R, Address),
    /// A request that cannot be parked (a datagram): finish it and shut it down.
    Job(R, Address),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Standby {
    None,
    /// Wakes every tick.
    Ticking,
    /// Sleeps until the pool has work again.
    Deep,
}

struct Sched<R> {
    queue: VecDeque<Work<R>>,
    /// A worker waits for readiness (or is about to).
    polling: bool,
    /// Workers asleep, the standby not counted.
    sleeping: usize,
    /// Workers taking work: not asleep, not standing by.
    pulling: usize,
    standby: Standby,
    started: usize,
    running: usize,
    stop: bool,
}

impl<R> Sched<R> {
    /// Work waits that no worker is doing.
    fn pending(&self) -> bool {
        !self.queue.is_empty() || !self.polling
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pause {
    No,
    /// `max_connections` are open.
    Full,
    /// Out of descriptors: try again then.
    Until(Instant),
}

struct Accept {
    fd: RawFd,
    serving: bool,
    pause: Pause,
}

/// When the deadlines of parked connections are looked at.
struct Sweep {
    next: Instant,
    /// An eighth of the shortest timeout a parked connection has had, so a deadline is
    /// kept to within that (between 10 ms and 1 s).
    every: Duration,
}

/// How often to sweep for connections parked with `timeout`.
fn sweep_every(timeout: Duration) -> Duration {
    (timeout / 8).clamp(Duration::from_millis(10), Duration::from_secs(1))
}

/// A snapshot of the pool's counters.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Counts {
    pub(crate) started: usize,
    pub(crate) running: usize,
    pub(crate) queued: usize,
    pub(crate) parked: usize,
    pub(crate) open: usize,
}

/// The workers, the readiness set and the connections of one pool server.
pub(crate) struct Pool<R> {
    cfg: Config,
    /// Held by the worker that waits for readiness.
    poll: Mutex<mio::Poll>,
    registry: mio::Registry,
    waker: mio::Waker,
    table: Table<R>,
    sched: Mutex<Sched<R>>,
    /// Sleeping workers.
    wake: Condvar,
    /// The standby.
    watch: Condvar,
    /// `process_request` waiting for room in the queue.
    room: Condvar,
    /// Grows whenever a worker finishes a handler's turn, an `accept` or a wait.
    progress: AtomicU64,
    /// Grows every tick of the standby: a piece of work during which it grew twice took
    /// long enough for the standby to take over.
    epoch: AtomicU64,
    accept: Mutex<Accept>,
    /// Connections open.
    open: AtomicUsize,
    /// When parked connections are next looked at for their deadlines, and how often.
    sweep: Mutex<Sweep>,
    /// A graceful stop is under way: connections are closed rather than parked.
    draining: AtomicBool,
    /// More than one CPU to run on: then a batch of events is shared out.
    parallel: bool,
    threads: Mutex<Vec<JoinHandle<()>>>,
    this: Weak<dyn ProcessRequest<R>>,
}

impl<R: RequestSocket> Pool<R> {
    /// A pool for the server `this`, with its first workers started.
    pub(crate) fn start(
        cfg: Config,
        this: &Arc<dyn ProcessRequest<R>>,
    ) -> io::Result<Arc<Pool<R>>> {
        let poll = mio::Poll::new()?;
        let registry = poll.registry().try_clone()?;
        let waker = mio::Waker::new(poll.registry(), WAKER)?;
        let shortest = [cfg.timeouts.idle, cfg.timeouts.header]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(Duration::from_secs(8));
        let pool = Arc::new(Pool {
            cfg,
            poll: Mutex::new(poll),
            registry,
            waker,
            table: Table::new(),
            sched: Mutex::new(Sched {
                queue: VecDeque::new(),
                polling: false,
                sleeping: 0,
                pulling: 0,
                standby: Standby::None,
                started: 0,
                running: 0,
                stop: false,
            }),
            wake: Condvar::new(),
            watch: Condvar::new(),
            room: Condvar::new(),
            progress: AtomicU64::new(0),
            epoch: AtomicU64::new(0),
            accept: Mutex::new(Accept {
                fd: -1,
                serving: false,
                pause: Pause::No,
            }),
            open: AtomicUsize::new(0),
            sweep: Mutex::new(Sweep {
                next: Instant::now(),
                every: sweep_every(shortest),
            }),
            draining: AtomicBool::new(false),
            parallel: std::thread::available_parallelism().is_ok_and(|n| n.get() > 1),
            threads: Mutex::new(Vec::new()),
            this: Arc::downgrade(this),
        });
        // One to work, one to stand by.
        let mut st = lock(&pool.sched);
        pool.spawn(&mut st, false);
        if cfg.max_workers > 1 {
            pool.spawn(&mut st, true);
        }
        drop(st);
        Ok(pool)
    }

    pub(crate) fn counts(&self) -> Counts {
        let st = lock(&self.sched);
        Counts {
            started: st.started,
            running: st.running,
            queued: st.queue.len(),
            parked: self.table.parked(),
            open: self.open.load(Ordering::Relaxed),
        }
    }

    /// Starts a worker (under the scheduler's lock), unless `max_workers` run: one that
    /// takes work, or one that starts as the standby.
    fn spawn(self: &Arc<Self>, st: &mut Sched<R>, standby: bool) {
        if st.stop || st.started >= self.cfg.max_workers.max(1) {
            return;
        }
        st.started += 1;
        st.pulling += 1;
        let pool = self.clone();
        let spawned = std::thread::Builder::new()
            .name("socketserver-worker".into())
            .spawn(move || pool.work(standby));
        match spawned {
            Ok(handle) => {
                let mut threads = lock(&self.threads);
                threads.retain(|t| !t.is_finished());
                threads.push(handle);
            }
            Err(_) => {
                st.started -= 1;
                st.pulling -= 1;
            }
        }
    }

    /// Starts accepting on the listening socket `fd` (`serve_forever` begins).
    pub(crate) fn listen(&self, fd: RawFd) -> io::Result<()> {
        let mut acc = lock(&self.accept);
        if acc.fd != fd {
            if acc.fd >= 0 {
                let _ = self.registry.deregister(&mut SourceFd(&acc.fd));
            }
            self.registry
                .register(&mut SourceFd(&fd), LISTENER, Interest::READABLE)?;
            acc.fd = fd;
        }
        acc.serving = true;
        drop(acc);
        // What is already queued is not an edge any more: look at it now.
        self.hand_over(Work::Accepted);
        Ok(())
    }

    /// Stops accepting (`serve_forever` ends). Returns once no worker is in `accept`.
    pub(crate) fn unlisten(&self) {
        let mut acc = lock(&self.accept);
        acc.serving = false;
        if acc.fd >= 0 {
            let _ = self.registry.deregister(&mut SourceFd(&acc.fd));
            acc.fd = -1;
        }
    }

    /// A request from `process_request`: a worker takes it.
    pub(crate) fn adopt(self: &Arc<Self>, request: R, client_address: Address) {
        let work = if R::CONNECTED {
            Work::Adopt(request, client_address)
        } else {
            Work::Job(request, client_address)
        };
        let mut st = lock(&self.sched);
        while st.queue.len() >= HANDED_OVER && !st.stop {
            st = self.room.wait(st).unwrap_or_else(|e| e.into_inner());
        }
        if st.stop {
            drop(st);
            if let Some(this) = self.this.upgrade() {
                match work {
                    Work::Adopt(r, _) | Work::Job(r, _) => this.shutdown_request(r),
                    Work::Event(_) | Work::Closed(_) | Work::Accepted => {}
                }
            }
            return;
        }
        st.queue.push_back(work);
        self.rouse(&mut st);
    }

    /// Queues `work` from outside the workers and makes sure one sees it.
    fn hand_over(&self, work: Work<R>) {
        let mut st = lock(&self.sched);
        st.queue.push_back(work);
        if st.sleeping > 0 {
            self.wake.notify_one();
        } else if st.polling {
            let _ = self.waker.wake();
        } else {
            self.watch.notify_one();
        }
    }

    /// Someone must look at the queue: a sleeper, the one waiting for readiness, or a
    /// new worker.
    fn rouse(self: &Arc<Self>, st: &mut Sched<R>) {
        if st.sleeping > 0 {
            self.wake.notify_one();
        } else if st.polling {
            let _ = self.waker.wake();
        } else if st.standby != Standby::None {
            self.watch.notify_one();
        } else {
            self.spawn(st, false);
        }
    }

    /// Stops the workers: each ends when its current work is done.
    pub(crate) fn stop(&self) {
        let mut st = lock(&self.sched);
        st.stop = true;
        let left: Vec<Work<R>> = st.queue.drain(..).collect();
        drop(st);
        self.wake.notify_all();
        self.watch.notify_all();
        self.room.notify_all();
        let _ = self.waker.wake();
        if let Some(this) = self.this.upgrade() {
            for work in left {
                match work {
                    Work::Adopt(r, _) | Work::Job(r, _) => this.shutdown_request(r),
                    Work::Event(_) | Work::Closed(_) | Work::Accepted => {}
                }
            }
        }
    }

    fn stopping(&self) -> bool {
        lock(&self.sched).stop || self.draining.load(Ordering::SeqCst)
    }

    /// A graceful stop (accepting has stopped): closes the parked connections, waits
    /// until the others have closed or `deadline` passes, then shuts down the rest.
    /// `true` when none was left.
    pub(crate) fn drain(&self, deadline: Instant) -> bool {
        self.draining.store(true, Ordering::SeqCst);
        self.close_parked();
        let open = &self.open;
        if crate::server::graceful::wait_until(deadline, || {
            self.close_parked();
            open.load(Ordering::Relaxed) == 0
        }) {
            return true;
        }
        let mut cut = 0;
        self.table.for_each_running(|fd| {
            crate::sys::shutdown_fd(fd, true);
            cut += 1;
        });
        self.close_parked();
        cut == 0 && open.load(Ordering::Relaxed) == 0
    }

    /// Waits for the workers (after [`stop`](Self::stop)).
    pub(crate) fn join(&self) {
        let threads = std::mem::take(&mut *lock(&self.threads));
        let me = std::thread::current().id();
        for t in threads {
            if t.thread().id() != me {
                let _ = t.join();
            }
        }
    }

    /// Closes every parked connection.
    pub(crate) fn close_parked(&self) {
        let this = self.this.upgrade();
        self.table
            .drain_parked(|_| true, |p| self.closed(this.as_ref(), p.request));
    }

    /// A worker's life.
    fn work(self: Arc<Self>, standby: bool) {
        let hint = Arc::downgrade(&self);
        park::set_before_wait(Rc::new(move || {
            if let Some(pool) = hint.upgrade() {
                pool.about_to_wait();
            }
        }));
        let mut events = Events::with_capacity(EVENTS);
        // Turns run since the last wait for readiness.
        let mut ran = 0usize;
        let mut st = lock(&self.sched);
        if standby {
            st = self.idle(st);
        }
        loop {
            if st.stop {
                break;
            }
            if let Some(work) = st.queue.pop_front() {
                st.running += 1;
                if st.queue.len() + 1 == HANDED_OVER {
                    self.room.notify_one();
                }
                drop(st);
                let epoch = self.epoch.load(Ordering::Relaxed);
                HANDED_OFF.with(|h| h.set(false));
                if let Some(this) = self.this.upgrade() {
                    self.run(work, &this);
                }
                self.progress.fetch_add(1, Ordering::Relaxed);
                st = lock(&self.sched);
                st.running -= 1;
                // Another worker took over while this one was held up: leave the work
                // to it rather than share one processor's time with it.
                let overtaken =
                    self.epoch.load(Ordering::Relaxed) >= epoch + 2 || HANDED_OFF.with(|h| h.get());
                if overtaken && st.pulling > 1 && !self.parallel {
                    st = self.idle(st);
                }
                ran += 1;
                if ran % YIELD_EVERY == 0 && !st.queue.is_empty() {
                    drop(st);
                    std::thread::yield_now();
                    st = lock(&self.sched);
                }
                continue;
            }
            if !st.polling {
                st.polling = true;
                drop(st);
                self.wait_for_readiness(&mut events);
                ran = 0;
                self.progress.fetch_add(1, Ordering::Relaxed);
                st = lock(&self.sched);
                st.polling = false;
                let mut n = 0;
                for event in events.iter() {
                    if event.token() != WAKER {
                        st.queue
                            .push_back(if event.is_read_closed() || event.is_error() {
                                Work::Closed(event.token())
                            } else {
                                Work::Event(event.token())
                            });
                        n += 1;
                    }
                }
                if n > 0 && st.standby == Standby::Deep {
                    self.watch.notify_one();
                }
                if n > 1 && self.parallel && st.sleeping > 0 {
                    self.wake.notify_one();
                }
                // The deadlines of parked connections, with `polling` off: closing
                // thousands that expire together takes a while, and meanwhile the
                // standby sees the stall and takes over the readiness set.
                drop(st);
                self.sweep();
                st = lock(&self.sched);
                continue;
            }
            st = self.idle(st);
        }
        st.started -= 1;
        st.pulling -= 1;
    }

    /// One wait in the readiness set, at most until the next look at the deadlines of
    /// parked connections.
    fn wait_for_readiness(&self, events: &mut Events) {
        let now = Instant::now();
        let timeout = lock(&self.sweep).next.saturating_duration_since(now);
        let mut poll = lock(&self.poll);
        if poll.poll(events, Some(timeout)).is_err() {
            events.clear();
        }
    }

    /// Closes the parked connections whose time is up, and resumes accepting after a
    /// pause for descriptors.
    fn sweep(&self) {
        let now = Instant::now();
        {
            let mut sweep = lock(&self.sweep);
            if now < sweep.next {
                return;
            }
            sweep.next = now + sweep.every;
        }
        {
            let mut acc = lock(&self.accept);
            if matches!(acc.pause, Pause::Until(t) if t <= now) {
                acc.pause = Pause::No;
                drop(acc);
                lock(&self.sched).queue.push_back(Work::Accepted);
            }
        }
        let this = self.this.upgrade();
        self.table.drain_parked(
            |expires| expires.is_some_and(|t| t <= now),
            |p| self.closed(this.as_ref(), p.request),
        );
    }

    /// A connection parks with its handler's own `timeout`: if that is shorter than the
    /// timeouts the sweeps were timed for, sweep more often from now on (and tell the
    /// worker waiting for readiness, whose wait may be longer).
    fn sweep_for(&self, timeout: Duration) {
        let every = sweep_every(timeout);
        let mut sweep = lock(&self.sweep);
        if every >= sweep.every {
            return;
        }
        sweep.every = every;
        let next = Instant::now() + every;
        if next < sweep.next {
            sweep.next = next;
            drop(sweep);
            if lock(&self.sched).polling {
                let _ = self.waker.wake();
            }
        }
    }

    /// Sleeps until there is work; as the standby, watches for stalls.
    fn idle<'a>(self: &'a Arc<Self>, mut st: MutexGuard<'a, Sched<R>>) -> MutexGuard<'a, Sched<R>> {
        st.pulling -= 1;
        st = self.sleep(st);
        st.pulling += 1;
        st
    }

    fn sleep<'a>(
        self: &'a Arc<Self>,
        mut st: MutexGuard<'a, Sched<R>>,
    ) -> MutexGuard<'a, Sched<R>> {
        if st.standby != Standby::None {
            st.sleeping += 1;
            st = self.wake.wait(st).unwrap_or_else(|e| e.into_inner());
            st.sleeping -= 1;
            // Woken to stand by (the standby left to take over), or to take work.
            if st.stop || st.standby != Standby::None {
                return st;
            }
        }
        st.standby = Standby::Ticking;
        let mut seen = self.progress.load(Ordering::Relaxed);
        let mut quiet_since = Instant::now();
        loop {
            let (guard, waited) = self
                .watch
                .wait_timeout(st, TICK)
                .unwrap_or_else(|e| e.into_inner());
            st = guard;
            if st.stop {
                break;
            }
            if !waited.timed_out() {
                // Woken on purpose: a worker is about to wait, or work came in.
                if st.pending() {
                    break;
                }
                continue;
            }
            self.epoch.fetch_add(1, Ordering::Relaxed);
            let progress = self.progress.load(Ordering::Relaxed);
            if progress != seen {
                seen = progress;
                quiet_since = Instant::now();
                continue;
            }
            if st.pending() {
                // Work waits, and no worker got anywhere for a whole tick: a stall.
                break;
            }
            if quiet_since.elapsed() >= DEEP_AFTER {
                st.standby = Standby::Deep;
                st = self.watch.wait(st).unwrap_or_else(|e| e.into_inner());
                st.standby = Standby::Ticking;
                if st.stop || st.pending() {
                    break;
                }
                seen = self.progress.load(Ordering::Relaxed);
                quiet_since = Instant::now();
            }
        }
        st.standby = Standby::None;
        if !st.stop {
            // Somebody else keeps watch from now on.
            if st.sleeping > 0 {
                self.wake.notify_one();
            } else {
                self.spawn(&mut st, true);
            }
        }
        st
    }

    /// A handler of this pool is about to wait in a read: if work is waiting that no
    /// worker is doing, another worker should do it meanwhile.
    fn about_to_wait(self: &Arc<Self>) {
        let mut st = lock(&self.sched);
        if !st.pending() || st.stop {
            return;
        }
        HANDED_OFF.with(|h| h.set(true));
        if st.sleeping > 0 {
            self.wake.notify_one();
        } else if st.standby != Standby::None {
            self.watch.notify_one();
        } else {
            self.spawn(&mut st, false);
        }
    }

    fn run(&self, work: Work<R>, this: &Arc<dyn ProcessRequest<R>>) {
        match work {
            Work::Event(LISTENER) | Work::Closed(LISTENER) => self.accept_one(true, this),
            Work::Accepted => self.accept_one(false, this),
            Work::Event(WAKER) | Work::Closed(WAKER) => {}
            Work::Event(Token(t)) => {
                if let Taken::Run(p) = self.table.take(t, false) {
                    self.run_turns(p, false, false, this);
                }
            }
            Work::Closed(Token(t)) => {
                if let Taken::Run(p) = self.table.take(t, true) {
                    self.run_turns(p, false, true, this);
                }
            }
            Work::Adopt(request, client_address) => self.begin(request, client_address, this),
            Work::Job(request, client_address) => {
                this.finish_and_shutdown_request(request, client_address)
            }
        }
    }

    /// Accepts a waiting connection and runs its first turn at once. Before that turn
    /// the listener goes back in the queue, so that if the turn blocks, the worker that
    /// takes over goes on accepting.
    ///
    /// `ready`: a readiness event says a connection is waiting. Otherwise
    /// ([`Work::Accepted`]) a `poll` looks first: on Linux an `accept` that finds the
    /// queue empty makes a socket and a file and frees them, several times the cost of
    /// the `poll`. A connection that comes later is a new event.
    fn accept_one(&self, mut ready: bool, this: &Arc<dyn ProcessRequest<R>>) {
        loop {
            let got = {
                let mut acc = lock(&self.accept);
                if !acc.serving || acc.pause != Pause::No {
                    return;
                }
                if self.open.load(Ordering::Relaxed) >= self.cfg.max_connections {
                    acc.pause = Pause::Full;
                    return;
                }
                if !ready
                    && !matches!(
                        crate::sys::poll_read([acc.fd], Some(Duration::ZERO)),
                        Ok([true])
                    )
                {
                    return;
                }
                ready = true;
                this.get_request()
            };
            match got {
                Ok((request, client_address)) => {
                    self.progress.fetch_add(1, Ordering::Relaxed);
                    lock(&self.sched).queue.push_back(Work::Accepted);
                    if this.verify_request(&request, &client_address) {
                        self.begin(request, client_address, this);
                    } else {
                        this.shutdown_request(request);
                    }
                    return;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if crate::sys::is_fd_exhaustion(&e) => {
                    let until = Instant::now() + FD_PAUSE;
                    lock(&self.accept).pause = Pause::Until(until);
                    let mut sweep = lock(&self.sweep);
                    sweep.next = sweep.next.min(until);
                    return;
                }
                // A connection reset before it was taken, and the like: Python ignores
                // errors of `get_request` too.
                Err(_) => {}
            }
        }
    }

    /// A new connection: its first turn, at once (it joins the readiness set if it
    /// parks).
    fn begin(&self, request: R, client_address: Address, this: &Arc<dyn ProcessRequest<R>>) {
        let Some(fd) = request.poll_fd() else {
            return this.finish_and_shutdown_request(request, client_address);
        };
        // A plain connection gets its timeouts when it first would wait (`park::Turn`).
        let timeouts_set = !request.timeouts_on_demand();
        if timeouts_set {
            let timeouts =
                request
                    .set_idle_timeout(self.cfg.timeouts.idle)
                    .and_then(|()| match self.cfg.timeouts.write {
                        Some(w) if Some(w) != self.cfg.timeouts.idle => {
                            request.set_write_timeout(Some(w))
                        }
                        _ => Ok(()),
                    });
            if let Err(e) = timeouts {
                this.handle_error(&request, &client_address, &e.into());
                return this.shutdown_request(request);
            }
        }
        let Some(gen) = self.table.install(fd) else {
            return this.shutdown_request(request);
        };
        self.open.fetch_add(1, Ordering::Relaxed);
        let parked = Parked {
            request,
            client_address,
            leftover: Vec::new(),
            head_deadline: None,
            deadline: None,
            timeouts_set,
            served: 0,
            join_with: Some(Token(token(fd, gen))),
        };
        self.run_turns(parked, true, false, this);
    }

    /// Runs the handler on a connection until it parks the connection or ends it.
    /// `closed`: the event that woke it (or one that came while it ran) said the peer
    /// has closed; then a handler that parks gets one more turn, which reads again and
    /// finds the end (a read that returns the last bytes says nothing of the end behind
    /// them, and no further event will come).
    fn run_turns(
        &self,
        mut p: Parked<R>,
        mut fresh: bool,
        mut closed: bool,
        this: &Arc<dyn ProcessRequest<R>>,
    ) {
        let Some(fd) = p.request.poll_fd() else {
            return;
        };
        loop {
            let turn = Turn {
                fresh,
                parkable: self.cfg.park_idle,
                timeouts: self.cfg.timeouts,
                leftover: std::mem::take(&mut p.leftover),
                head_deadline: p.head_deadline.take(),
                served: p.served,
                parking: None,
                timeouts_set: p.timeouts_set,
            };
            let (result, turn) =
                park::run_turn(turn, || this.finish_request(&p.request, &p.client_address));
            p.timeouts_set = turn.timeouts_set;
            self.progress.fetch_add(1, Ordering::Relaxed);
            p.served = turn.served;
            if let Err(e) = result {
                this.handle_error(&p.request, &p.client_address, &e);
                self.table.remove(fd);
                return self.closed(Some(this), p.request);
            }
            let parking = match turn.parking {
                Some(parking) if !self.stopping() => parking,
                _ => {
                    self.table.remove(fd);
                    return self.closed(Some(this), p.request);
                }
            };
            p.leftover = parking.leftover;
            p.head_deadline = parking.head_deadline;
            if let Some(idle) = parking.idle {
                self.sweep_for(idle);
            }
            p.deadline = parking
                .idle
                .or(self.cfg.timeouts.idle)
                .map(|d| Instant::now() + d);
            if std::mem::take(&mut closed) {
                fresh = false;
                continue;
            }
            if let Some(token) = p.join_with.take() {
                // Registering reports readiness that is already there, so bytes that
                // came during the turn are not missed.
                let joined = self
                    .registry
                    .register(&mut SourceFd(&fd), token, Interest::READABLE);
                if let Err(e) = joined {
                    this.handle_error(&p.request, &p.client_address, &e.into());
                    self.table.remove(fd);
                    return self.closed(Some(this), p.request);
                }
            }
            match self.table.park(fd, p) {
                Ok(()) => {
                    if self.stopping() {
                        // `server_close` may have looked before this one was back.
                        self.close_parked();
                    }
                    return;
                }
                // Readable again while it ran: another turn.
                Err((back, peer_closed)) => {
                    p = back;
                    fresh = false;
                    closed = peer_closed;
                }
            }
        }
    }

    /// A connection ends: Python's `shutdown_request`, and accepting resumes if it had
    /// stopped at `max_connections`.
    fn closed(&self, this: Option<&Arc<dyn ProcessRequest<R>>>, request: R) {
        match this {
            Some(this) => this.shutdown_request(request),
            None => {
                request.shutdown_write();
                drop(request);
            }
        }
        let open = self.open.fetch_sub(1, Ordering::Relaxed) - 1;
        if open < self.cfg.max_connections {
            let mut acc = lock(&self.accept);
            if acc.pause == Pause::Full {
                acc.pause = Pause::No;
                drop(acc);
                self.hand_over(Work::Accepted);
            }
        }
    }
}
