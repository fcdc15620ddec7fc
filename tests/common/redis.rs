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
        RedisServer::start_on(free_port())
    }

    /// Starts a server on `port` (a restart of a stopped one uses its old port).
    pub fn start_on(port: u16) -> RedisServer {
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("redis-server must be installed for the redis backend's tests (make test-deps)");
        let server = RedisServer { child, port };
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start on port {port}");
            std::thread::sleep(Duration::from_millis(20));
        }
        server
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

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}
