//! TLS connections (the `tls` feature, on `rustls`): what Python 3.14's `HTTPSServer`
//! wraps its sockets in.

use std::fmt;
use std::fs;
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::{ServerConfig, ServerConnection};

use crate::error::{Error, Result};

/// A server-side TLS connection over TCP. Reads and writes go through the TLS session;
/// socket options (timeouts, `TCP_NODELAY`) apply to the TCP stream underneath.
pub struct TlsStream {
    tcp: TcpStream,
    session: Mutex<ServerConnection>,
}

impl fmt::Debug for TlsStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsStream")
            .field("tcp", &self.tcp)
            .finish_non_exhaustive()
    }
}

impl TlsStream {
    /// Starts a server session on an accepted TCP connection. The handshake happens on
    /// the first read or write, on the thread handling the request.
    pub fn accept(tcp: TcpStream, config: Arc<ServerConfig>) -> io::Result<TlsStream> {
        let session = ServerConnection::new(config).map_err(io::Error::other)?;
        Ok(TlsStream {
            tcp,
            session: Mutex::new(session),
        })
    }

    /// The TCP stream underneath (do not read or write it directly).
    pub fn tcp(&self) -> &TcpStream {
        &self.tcp
    }

    fn session(&self) -> MutexGuard<'_, ServerConnection> {
        self.session.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Decrypted bytes are waiting in the session (so the socket may not be readable
    /// although a read would return data).
    pub fn has_buffered_input(&self) -> bool {
        self.session()
            .process_new_packets()
            .map(|state| state.plaintext_bytes_to_read() > 0)
            .unwrap_or(false)
    }

    /// Sends `close_notify`, then shuts down the TCP stream for writing.
    pub fn shutdown_write(&self) {
        let mut session = self.session();
        session.send_close_notify();
        let mut sock = &self.tcp;
        while session.wants_write() {
            if session.write_tls(&mut sock).is_err() {
                break;
            }
        }
        let _ = self.tcp.shutdown(Shutdown::Write);
    }
}

impl Read for &TlsStream {
    /// A peer that closes without `close_notify` reads as end of stream, as Python's
    /// `suppress_ragged_eofs=True` default makes it.
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut session = self.session();
        let mut sock = &self.tcp;
        match rustls::Stream::new(&mut *session, &mut sock).read(buf) {
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(0),
            other => other,
        }
    }
}

impl Write for &TlsStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut session = self.session();
        let mut sock = &self.tcp;
        let mut stream = rustls::Stream::new(&mut *session, &mut sock);
        let n = stream.write(buf)?;
        stream.flush()?;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        let mut session = self.session();
        let mut sock = &self.tcp;
        rustls::Stream::new(&mut *session, &mut sock).flush()
    }
}

/// Builds a TLS server configuration from PEM files, as Python's
/// `ssl.SSLContext.load_cert_chain(certfile, keyfile, password)` does: the certificate
/// chain from `certfile`, the private key from `keyfile` (or from `certfile` when
/// `None`), decrypted with `password` when it is an encrypted PKCS#8 key. ALPN offers
/// `http/1.1`, as Python 3.14's `HTTPSServer` does by default.
pub fn server_config(
    certfile: &Path,
    keyfile: Option<&Path>,
    password: Option<&[u8]>,
) -> Result<Arc<ServerConfig>> {
    let bad = |what: String| Error::Io(io::Error::new(io::ErrorKind::InvalidData, what));
    let cert_pem = fs::read(certfile)?;
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| bad(format!("{}: {e}", certfile.display())))?;
    if certs.is_empty() {
        return Err(bad(format!("{}: no certificate", certfile.display())));
    }
    let key_path = keyfile.unwrap_or(certfile);
    let key_pem = fs::read(key_path)?;
    let key =
        load_key(&key_pem, password).map_err(|e| bad(format!("{}: {e}", key_path.display())))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| bad(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| bad(format!("certificate and key do not match: {e}")))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// The private key in `pem`: plain (PKCS#8, PKCS#1, SEC1), or encrypted PKCS#8 with a
/// password.
fn load_key(
    pem: &[u8],
    password: Option<&[u8]>,
) -> std::result::Result<PrivateKeyDer<'static>, String> {
    let text = String::from_utf8_lossy(pem);
    if text.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----") {
        let password = password.ok_or("the key is encrypted and no password was given")?;
        let (_, doc) = pkcs8::SecretDocument::from_pem(&text).map_err(|e| e.to_string())?;
        let info =
            pkcs8::EncryptedPrivateKeyInfo::try_from(doc.as_bytes()).map_err(|e| e.to_string())?;
        let plain = info
            .decrypt(password)
            .map_err(|_| "wrong password for the key")?;
        return Ok(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
            plain.as_bytes().to_vec(),
        )));
    }
    PrivateKeyDer::from_pem_slice(pem).map_err(|e| format!("no private key: {e}"))
}
