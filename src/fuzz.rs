//! Hooks for the fuzz targets in `fuzz/` (not part of the public API).
//!
//! The parsers the targets reach are public already; what is not is a way to run a
//! request handler on bytes without a listening server. [`serve_bytes`] does that: it
//! writes the input into one end of a socket pair, closes that end for writing, runs the
//! handler on the other end as a server would, and returns everything it wrote.

use std::io::{Read, Write};
use std::net::Shutdown;
use std::os::unix::net::UnixStream;

use crate::address::Address;
use crate::handler::RequestHandlerClass;
use crate::server::{ServerCore, ServerRef};
use crate::socket::Connection;

/// Runs `handler` on one connection whose peer sends `input` and then closes its
/// writing half; returns the handler's result and the bytes it sent.
///
/// The answer is drained on a second thread, so a handler that writes more than a
/// socket buffer holds does not block.
pub fn serve_bytes<H, M>(handler: &H, input: &[u8]) -> (crate::Result<()>, Vec<u8>)
where
    H: RequestHandlerClass<Connection, M>,
{
    let (client, server_end) = UnixStream::pair().expect("socketpair");
    let core = ServerCore::new().expect("server core");
    let local = Address::Inet(([127, 0, 0, 1], 8000).into());
    let mut server = ServerRef::new(local, &core);
    server.server_name = "fuzz".into();
    let input = input.to_vec();
    let peer = std::thread::spawn(move || {
        let mut client = client;
        // The handler may stop reading early (an error answer): a failed write is fine.
        let _ = client.write_all(&input);
        let _ = client.shutdown(Shutdown::Write);
        let mut out = Vec::new();
        let _ = client.read_to_end(&mut out);
        out
    });
    let conn = Connection::from(server_end);
    let result = handler.handle_request(
        &conn,
        &Address::Inet(([127, 0, 0, 1], 40000).into()),
        &server,
    );
    drop(conn);
    let out = peer.join().expect("peer thread");
    (result, out)
}
