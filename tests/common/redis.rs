//! A redis-server of a test's own: started on a free loopback port with nothing saved to disk, and
//! stopped (killed) when the guard goes. `make test` installs redis-server (mk/redis.mk); without it,
//! these tests fail rather than pass vacuously.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct RedisServer {
    child: Child,
    pub port: u16,
}

impl RedisServer {
    pub fn start() -> RedisServer {
        // Tests run in parallel: a port found free may be taken by another test's server before this
        // one binds it (this server then exits, and the port answers for the other one). Try again.
        for _ in 0..20 {
            if let Some(server) = RedisServer::try_start_on(free_port()) {
                return server;
            }
        }
        panic!("could not start redis-server on a free port")
    }

    /// Starts a server on `port` (a restart of a stopped one uses its old port).
    pub fn start_on(port: u16) -> RedisServer {
        RedisServer::try_start_on(port).unwrap_or_else(|| panic!("redis-server did not start on port {port}"))
    }

    /// A server on `port`, or `None` when it exited (the port was taken).
    fn try_start_on(port: u16) -> Option<RedisServer> {
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("redis-server must be installed for the redis backend's tests (make test-deps)");
        let mut server = RedisServer { child, port };
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if !matches!(server.child.try_wait(), Ok(None)) {
                return None;
            }
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                // Connected: to this server only if it is still running (not to another on the port).
                std::thread::sleep(Duration::from_millis(50));
                return matches!(server.child.try_wait(), Ok(None)).then_some(server);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// A config for a store of `mode` in `namespace` on this server, with `extra` keys (each with a
    /// leading comma).
    pub fn config(&self, mode: &str, namespace: &str, extra: &str) -> String {
        format!(
            r#"{{"backend":"redis","url":"{}","namespace":"{namespace}","mode":"{mode}"{extra}}}"#,
            self.url()
        )
    }

    /// Stops the server at once, as a crash would.
    pub fn kill(mut self) -> u16 {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.port
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port free now, and not handed to another test of this process before.
fn free_port() -> u16 {
    static GIVEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    let mut given = GIVEN.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        if !given.contains(&port) {
            given.push(port);
            return port;
        }
    }
}
