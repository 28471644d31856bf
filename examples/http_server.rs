//! `python -m http.server`, in Rust: the `http-server` program (`src/bin/http-server/`),
//! run as an example, so that `cargo run --example http_server -- [flags]` keeps working
//! and the tests and benchmarks that start `http_server` find it. The usage line names
//! the program as it was started (`http_server` here), as argparse does.
//!
//! ```text
//! cargo run --release --example http_server            # the current directory on port 8000
//! cargo run --release --example http_server -- -d /srv -b 127.0.0.1 -p HTTP/1.1 8080
//! cargo run --features tls --example http_server -- --tls-cert cert.pem
//! ```
#[path = "../src/bin/http-server/main.rs"]
mod http_server;

fn main() -> std::process::ExitCode {
    http_server::main()
}
