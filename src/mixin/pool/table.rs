//! The pool's connections, indexed by descriptor: who holds each one (a worker running
//! its handler, or the table while it is parked), and the generation that tells a stale
//! readiness event from a fresh one.
//!
//! A readiness event carries a token, `fd | generation << HALF`. The generation of a
//! slot grows every time a new connection takes the descriptor number, so an event that
//! was already on its way for a connection since closed — whose number the kernel may
//! have handed to a new connection — is recognised and dropped.

use std::os::fd::RawFd;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

use crate::address::Address;
use crate::server::lock;

/// Slots per chunk; chunks are allocated as descriptor numbers reach them.
const CHUNK: usize = 256;

/// Half a token's bits hold the descriptor, the other half the generation.
const HALF: u32 = usize::BITS / 2;

/// The highest descriptor number the table takes (2²⁰ on 64-bit systems): a connection
/// with a larger one is refused.
pub(crate) const MAX_FDS: usize = if HALF >= 32 { 1 << 20 } else { 1 << 16 };

/// The low `HALF` bits.
const LOW: usize = (1usize << HALF) - 1;

/// The token of a readiness event for `fd` in generation `gen`.
pub(crate) fn token(fd: RawFd, gen: u32) -> usize {
    (fd as usize & LOW) | (gen as usize & LOW) << HALF
}

/// The descriptor and generation bits of a token.
fn split(token: usize) -> (usize, usize) {
    (token & LOW, token >> HALF)
}

/// A parked connection: the request, its client, and what its handler left with it.
#[derive(Debug)]
pub(crate) struct Parked<R> {
    pub(crate) request: R,
    pub(crate) client_address: Address,
    /// Received bytes not consumed yet (an incomplete request head).
    pub(crate) leftover: Vec<u8>,
    /// When that head must be complete.
    pub(crate) head_deadline: Option<Instant>,
    /// When the connection is closed if nothing arrives.
    pub(crate) deadline: Option<Instant>,
    /// The socket's read/write timeouts are set (see `park::Turn::timeouts_set`).
    pub(crate) timeouts_set: bool,
    /// Requests served on it so far.
    pub(crate) served: usize,
    /// Not in the readiness set yet: it joins, with this token, when it first parks. A
    /// connection its first turn ends (`Connection: close`) never costs an `epoll_ctl`.
    pub(crate) join_with: Option<mio::Token>,
}

impl<R> Parked<R> {
    /// The earlier of the two deadlines.
    fn expires(&self) -> Option<Instant> {
        match (self.head_deadline, self.deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

enum Holder<R> {
    /// No connection has this descriptor.
    Empty,
    /// Parked: waiting for readiness, no worker.
    Idle(Parked<R>),
    /// A worker runs its handler; `notified` when a readiness event came meanwhile,
    /// `closed` when one of those said the peer has closed.
    Running { notified: bool, closed: bool },
}

struct Slot<R> {
    gen: u32,
    holder: Holder<R>,
}

/// What [`Table::take`] found for an event.
pub(crate) enum Taken<R> {
    /// The connection was parked: the caller now runs it.
    Run(Parked<R>),
    /// Nothing to do (a stale event, or the worker running it was told).
    Nothing,
}

/// [`CHUNK`] slots, allocated together.
type Chunk<R> = Box<[Mutex<Slot<R>>]>;

/// Every connection of a pool.
pub(crate) struct Table<R> {
    chunks: Box<[OnceLock<Chunk<R>>]>,
    /// Connections parked now.
    parked: AtomicUsize,
}

impl<R> Table<R> {
    pub(crate) fn new() -> Table<R> {
        Table {
            chunks: (0..MAX_FDS / CHUNK).map(|_| OnceLock::new()).collect(),
            parked: AtomicUsize::new(0),
        }
    }

    pub(crate) fn parked(&self) -> usize {
        self.parked.load(Ordering::Relaxed)
    }

    fn slot(&self, fd: usize) -> Option<&Mutex<Slot<R>>> {
        let chunk = self.chunks.get(fd / CHUNK)?.get_or_init(|| {
            (0..CHUNK)
                .map(|_| {
                    Mutex::new(Slot {
                        gen: 0,
                        holder: Holder::Empty,
                    })
                })
                .collect()
        });
        chunk.get(fd % CHUNK)
    }

    /// Makes a new connection on `fd` the slot's, held by the calling worker; returns its
    /// generation. `None` when the descriptor is beyond [`MAX_FDS`].
    pub(crate) fn install(&self, fd: RawFd) -> Option<u32> {
        let mut slot = lock(self.slot(usize::try_from(fd).ok()?)?);
        slot.gen = slot.gen.wrapping_add(1);
        slot.holder = Holder::Running {
            notified: false,
            closed: false,
        };
        Some(slot.gen)
    }

    /// A readiness event (`closed`: one that says the peer has closed): takes the
    /// connection if it is parked, or tells the worker that runs it that more has
    /// arrived.
    pub(crate) fn take(&self, token: usize, closed: bool) -> Taken<R> {
        let (fd, gen) = split(token);
        let Some(slot) = self.slot(fd) else {
            return Taken::Nothing;
        };
        let mut slot = lock(slot);
        if slot.gen as usize & LOW != gen {
            return Taken::Nothing;
        }
        let running = Holder::Running {
            notified: false,
            closed: false,
        };
        match std::mem::replace(&mut slot.holder, running) {
            Holder::Idle(p) => {
                self.parked.fetch_sub(1, Ordering::Relaxed);
                Taken::Run(p)
            }
            Holder::Running { closed: before, .. } => {
                slot.holder = Holder::Running {
                    notified: true,
                    closed: before || closed,
                };
                Taken::Nothing
            }
            Holder::Empty => {
                slot.holder = Holder::Empty;
                Taken::Nothing
            }
        }
    }

    /// Parks the connection a worker held. If an event came while it ran, hands it back
    /// (its handler must run again: the event may be for bytes its last read missed),
    /// with whether an event said the peer has closed.
    pub(crate) fn park(&self, fd: RawFd, parked: Parked<R>) -> Result<(), (Parked<R>, bool)> {
        let Some(slot) = usize::try_from(fd).ok().and_then(|fd| self.slot(fd)) else {
            return Err((parked, false));
        };
        let mut slot = lock(slot);
        match slot.holder {
            Holder::Running {
                notified: true,
                closed,
            } => {
                slot.holder = Holder::Running {
                    notified: false,
                    closed: false,
                };
                Err((parked, closed))
            }
            _ => {
                slot.holder = Holder::Idle(parked);
                self.parked.fetch_add(1, Ordering::Relaxed);
                Ok(())
            }
        }
    }

    /// Forgets the connection a worker held (it is being closed).
    pub(crate) fn remove(&self, fd: RawFd) {
        if let Some(slot) = usize::try_from(fd).ok().and_then(|fd| self.slot(fd)) {
            lock(slot).holder = Holder::Empty;
        }
    }

    /// Calls `f` with the descriptor of every connection a worker runs, under its slot's
    /// lock (so the descriptor stays open meanwhile: it is removed before it is closed).
    pub(crate) fn for_each_running(&self, mut f: impl FnMut(RawFd)) {
        for (c, chunk) in self.chunks.iter().enumerate() {
            let Some(chunk) = chunk.get() else { continue };
            for (i, slot) in chunk.iter().enumerate() {
                let slot = lock(slot);
                if matches!(slot.holder, Holder::Running { .. }) {
                    f((c * CHUNK + i) as RawFd);
                }
            }
        }
    }

    /// Takes out every parked connection for which `pick` says yes (given its
    /// deadline), for the caller to close.
    pub(crate) fn drain_parked(
        &self,
        mut pick: impl FnMut(Option<Instant>) -> bool,
        mut out: impl FnMut(Parked<R>),
    ) {
        if self.parked() == 0 {
            return;
        }
        for chunk in self.chunks.iter().filter_map(OnceLock::get) {
            for slot in chunk.iter() {
                let taken = {
                    let mut slot = lock(slot);
                    match &slot.holder {
                        Holder::Idle(p) if pick(p.expires()) => {
                            match std::mem::replace(&mut slot.holder, Holder::Empty) {
                                Holder::Idle(p) => Some(p),
                                _ => None,
                            }
                        }
                        _ => None,
                    }
                };
                if let Some(p) = taken {
                    self.parked.fetch_sub(1, Ordering::Relaxed);
                    out(p);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parked(n: i32) -> Parked<i32> {
        Parked {
            request: n,
            client_address: Address::Unix(Default::default()),
            leftover: Vec::new(),
            head_deadline: None,
            deadline: None,
            timeouts_set: false,
            served: 0,
            join_with: None,
        }
    }

    #[test]
    fn an_event_takes_a_parked_connection_once() {
        let t = Table::new();
        let gen = t.install(7).unwrap();
        assert!(t.park(7, parked(1)).is_ok());
        assert_eq!(t.parked(), 1);
        assert!(matches!(t.take(token(7, gen), false), Taken::Run(p) if p.request == 1));
        // A second event while it runs is noted, and the park that follows gives it back.
        assert!(matches!(t.take(token(7, gen), false), Taken::Nothing));
        let (back, closed) = t.park(7, parked(1)).unwrap_err();
        assert_eq!((back.request, closed), (1, false));
        assert!(t.park(7, back).is_ok());
        // An event that says the peer closed is handed back as such.
        assert!(matches!(t.take(token(7, gen), false), Taken::Run(_)));
        assert!(matches!(t.take(token(7, gen), true), Taken::Nothing));
        assert!(matches!(t.take(token(7, gen), false), Taken::Nothing));
        let (back, closed) = t.park(7, parked(1)).unwrap_err();
        assert!(closed);
        assert!(t.park(7, back).is_ok());
        assert_eq!(t.parked(), 1);
    }

    #[test]
    fn an_event_for_a_closed_connection_is_dropped() {
        let t = Table::new();
        let old = t.install(9).unwrap();
        t.remove(9);
        let new = t.install(9).unwrap();
        assert!(t.park(9, parked(2)).is_ok());
        assert!(matches!(t.take(token(9, old), false), Taken::Nothing));
        assert_eq!(t.parked(), 1, "the new connection stays parked");
        assert!(matches!(t.take(token(9, new), false), Taken::Run(_)));
    }

    #[test]
    fn expired_connections_are_drained() {
        let t = Table::new();
        let now = Instant::now();
        for fd in [3, 300, 700] {
            t.install(fd).unwrap();
            let mut p = parked(fd);
            p.deadline = Some(if fd == 300 {
                now
            } else {
                now + std::time::Duration::from_secs(60)
            });
            t.park(fd, p).unwrap();
        }
        let mut closed = Vec::new();
        t.drain_parked(|d| d.is_some_and(|d| d <= now), |p| closed.push(p.request));
        assert_eq!(closed, [300]);
        assert_eq!(t.parked(), 2);
        t.drain_parked(|_| true, |p| closed.push(p.request));
        assert_eq!(t.parked(), 0);
        assert_eq!(closed.len(), 3);
    }

    #[test]
    fn descriptors_beyond_the_table_are_refused() {
        let t: Table<i32> = Table::new();
        assert!(t.install(MAX_FDS as RawFd).is_none());
        assert!(t.install(-1).is_none());
        assert!(matches!(t.take(usize::MAX, false), Taken::Nothing));
    }
}
