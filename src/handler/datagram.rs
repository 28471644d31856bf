//! Python's `DatagramRequestHandler`: `rfile` over the packet, `wfile` sent back as one
//! datagram.

use std::io::Cursor;

use super::{marker, run_phases, RequestHandlerClass};
use crate::address::Address;
use crate::error::Result;
use crate::server::ServerRef;
use crate::socket::{Datagram, DatagramSocket};

/// The per-request value of a [`DatagramRequestHandler`].
#[derive(Debug)]
#[non_exhaustive]
pub struct DatagramRequest<'a> {
    /// The request: the packet and the server's socket (Python's `self.request`).
    pub request: &'a Datagram,
    /// The received bytes.
    pub packet: &'a [u8],
    /// The server's socket (Python's `self.socket`).
    pub socket: &'a DatagramSocket,
    /// The client's address.
    pub client_address: &'a Address,
    /// The server.
    pub server: &'a ServerRef,
    /// Reader over the packet (Python's `rfile`, a `BytesIO`).
    pub rfile: Cursor<&'a [u8]>,
    /// What to answer (Python's `wfile`, a `BytesIO`): sent to the client as one datagram
    /// after `finish` — even when empty, as Python does.
    pub wfile: Vec<u8>,
}

/// Python's `socketserver.DatagramRequestHandler`.
///
/// ```
/// use socketserver::{DatagramRequest, DatagramRequestHandler};
/// use std::io::{Read, Write};
///
/// struct Upper;
/// impl DatagramRequestHandler for Upper {
///     fn handle(&self, req: &mut DatagramRequest) -> socketserver::Result<()> {
///         let mut text = Vec::new();
///         req.rfile.read_to_end(&mut text)?;
///         req.wfile.write_all(&text.to_ascii_uppercase())?;
///         Ok(())
///     }
/// }
///
/// # use socketserver::{BaseServer, UdpServer};
/// let server = std::sync::Arc::new(UdpServer::new(("127.0.0.1", 0), Upper)?);
/// let client = std::net::UdpSocket::bind("127.0.0.1:0")?;
/// client.send_to(b"shout", server.server_address)?;
/// server.handle_request()?;
/// let mut buf = [0; 16];
/// let n = client.recv(&mut buf)?;
/// assert_eq!(&buf[..n], b"SHOUT");
/// # Ok::<(), socketserver::Error>(())
/// ```
pub trait DatagramRequestHandler: Send + Sync + 'static {
    /// Runs before `handle`. Default: nothing.
    fn setup(&self, req: &mut DatagramRequest<'_>) -> Result<()> {
        let _ = req;
        Ok(())
    }

    /// Does the work of the request.
    fn handle(&self, req: &mut DatagramRequest<'_>) -> Result<()>;

    /// Runs after `handle`, even when it failed; `wfile` is sent after it. Default:
    /// nothing.
    fn finish(&self, req: &mut DatagramRequest<'_>) -> Result<()> {
        let _ = req;
        Ok(())
    }
}

impl<T: DatagramRequestHandler> RequestHandlerClass<Datagram, marker::Datagram> for T {
    fn handle_request(
        &self,
        request: &Datagram,
        client_address: &Address,
        server: &ServerRef,
    ) -> Result<()> {
        let mut req = DatagramRequest {
            request,
            packet: &request.packet,
            socket: &request.socket,
            client_address,
            server,
            rfile: Cursor::new(&request.packet),
            wfile: Vec::new(),
        };
        let result = run_phases(
            &mut req,
            |r| self.setup(r),
            |r| self.handle(r),
            |r| self.finish(r),
        );
        // Python's DatagramRequestHandler.finish: socket.sendto(wfile.getvalue(), addr).
        let sent = req.socket.send_to(&req.wfile, client_address);
        result?;
        sent?;
        Ok(())
    }
}
