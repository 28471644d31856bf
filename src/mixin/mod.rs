//! Mix-ins: Python's `ThreadingMixIn` and `ForkingMixIn`, and a bounded
//! [`ThreadPoolMixIn`], as generic wrappers around a server — and every combination
//! Python's `socketserver` defines, as type aliases.
//!
//! A mix-in wraps a server and replaces only its `process_request` (and extends
//! `server_close`); all other hooks are the wrapped server's. In Python the mix-in comes
//! first among the bases; here it goes outermost: `ThreadingMixIn<MyServer>`.

/// What every mix-in offers beside its `process_request`: Python's constructor
/// (`ThreadingTcpServer::new(("", 8000), Echo)`), `bind_and_activate=False`, building
/// from an address inside other wrappers, and access to the wrapped server's attributes.
macro_rules! mix_in {
    ($mixin:ident) => {
        impl<S: BaseServer> $mixin<S> {
            /// Creates the server `S` from an address and a handler, binds and activates
            /// it: `ThreadingTcpServer::new(("", 8000), Echo)`.
            pub fn new<H, M>(server_address: impl Into<S::Address>, handler: H) -> Result<Self>
            where
                S: FromAddress<H, M>,
            {
                Self::from_address(server_address.into(), handler, true)
            }

            /// Creates the server without binding it (Python's `bind_and_activate=False`).
            #[doc(alias = "bind_and_activate")]
            pub fn unbound<H, M>(server_address: impl Into<S::Address>, handler: H) -> Result<Self>
            where
                S: FromAddress<H, M>,
            {
                Self::from_address(server_address.into(), handler, false)
            }
        }

        impl<S: BaseServer, H, M> FromAddress<H, M> for $mixin<S>
        where
            S: FromAddress<H, M>,
        {
            type Address = S::Address;
            fn from_address(
                address: S::Address,
                handler: H,
                bind_and_activate: bool,
            ) -> Result<Self> {
                Ok(Self::from(S::from_address(
                    address,
                    handler,
                    bind_and_activate,
                )?))
            }
        }

        impl<S: BaseServer> std::ops::Deref for $mixin<S> {
            type Target = S;
            fn deref(&self) -> &S {
                &self.server
            }
        }

        impl<S: BaseServer> std::ops::DerefMut for $mixin<S> {
            fn deref_mut(&mut self) -> &mut S {
                &mut self.server
            }
        }
    };
}
use mix_in;

mod forking;
mod pool;
mod threading;

pub use crate::sys::ThreadsHoldNoLocks;
pub use forking::{ForkingMixIn, FORKING_TIMEOUT, MAX_CHILDREN};
pub use pool::{
    PoolStats, ThreadPoolMixIn, HEADER_TIMEOUT, IDLE_TIMEOUT, MAX_CONNECTIONS, MAX_WORKERS,
};
pub use threading::ThreadingMixIn;

use crate::server::{ReuseTcpServer, TcpServer, UdpServer, UnixDatagramServer, UnixStreamServer};

/// Python's `socketserver.ThreadingTCPServer`.
#[doc(alias = "ThreadingTCPServer")]
pub type ThreadingTcpServer<H> = ThreadingMixIn<TcpServer<H>>;
/// Python's `socketserver.ThreadingUDPServer`.
#[doc(alias = "ThreadingUDPServer")]
pub type ThreadingUdpServer<H> = ThreadingMixIn<UdpServer<H>>;
/// Python's `socketserver.ForkingTCPServer`.
#[doc(alias = "ForkingTCPServer")]
pub type ForkingTcpServer<H> = ForkingMixIn<TcpServer<H>>;
/// Python's `socketserver.ForkingUDPServer`.
#[doc(alias = "ForkingUDPServer")]
pub type ForkingUdpServer<H> = ForkingMixIn<UdpServer<H>>;
/// Python's `socketserver.ThreadingUnixStreamServer`.
pub type ThreadingUnixStreamServer<H> = ThreadingMixIn<UnixStreamServer<H>>;
/// Python's `socketserver.ThreadingUnixDatagramServer`.
pub type ThreadingUnixDatagramServer<H> = ThreadingMixIn<UnixDatagramServer<H>>;
/// Python's `socketserver.ForkingUnixStreamServer`.
pub type ForkingUnixStreamServer<H> = ForkingMixIn<UnixStreamServer<H>>;
/// Python's `socketserver.ForkingUnixDatagramServer`.
pub type ForkingUnixDatagramServer<H> = ForkingMixIn<UnixDatagramServer<H>>;

/// fast.ai's `ReuseThreadingServer`: a `ThreadingTCPServer` with
/// `allow_reuse_address = 1`, so a restarted server can bind its port at once.
///
/// ```no_run
/// use socketserver::{BaseServer, ReuseThreadingServer, ServerGuard};
/// # struct H; impl socketserver::StreamRequestHandler for H {
/// #   fn handle(&self, _: &mut socketserver::StreamRequest) -> socketserver::Result<()> { Ok(()) } }
/// let srv = ServerGuard::new(ReuseThreadingServer::new(("localhost", 8000), H)?);
/// srv.handle_request()?;
/// # Ok::<(), socketserver::Error>(())
/// ```
pub type ReuseThreadingServer<H> = ThreadingMixIn<ReuseTcpServer<H>>;

/// A TCP server on a bounded worker pool ([`ThreadPoolMixIn`]).
pub type ThreadPoolTcpServer<H> = ThreadPoolMixIn<TcpServer<H>>;
/// A unix stream server on a bounded worker pool ([`ThreadPoolMixIn`]).
pub type ThreadPoolUnixStreamServer<H> = ThreadPoolMixIn<UnixStreamServer<H>>;
