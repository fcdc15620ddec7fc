//! A redis-server of a test's own: started on a free loopback port with nothing saved to disk, and
//! stopped (killed) when the guard goes. `make test` installs redis-server (mk/redis.mk); without it,
//! these tests fail rather than pass vacuously.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct RedisServer {
    child: Child,
    pub port: u16,
    /// Whether the server speaks TLS only (`rediss://`).
    tls: bool,
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

    /// A server that speaks TLS only, with a certificate for 127.0.0.1 that a CA made here signed
    /// (`dir`/ca.pem; `dir`/other-ca.pem is a CA that did not); it does not ask clients for
    /// certificates.
    pub fn start_tls(dir: &Path) -> RedisServer {
        let openssl = |args: &[&str]| {
            let status = Command::new("openssl").args(args).current_dir(dir).stderr(Stdio::null()).status();
            assert!(status.is_ok_and(|s| s.success()), "openssl {args:?} failed");
        };
        openssl(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=sessionstore test CA",
        ]);
        openssl(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "other-ca.key",
            "-out",
            "other-ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=another CA",
        ]);
        openssl(&[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=127.0.0.1",
        ]);
        std::fs::write(dir.join("san.cnf"), "subjectAltName=IP:127.0.0.1\n").unwrap();
        openssl(&[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-days",
            "2",
            "-extfile",
            "san.cnf",
        ]);
        let file = |name: &str| dir.join(name).to_str().expect("a UTF-8 path").to_owned();
        let tls = [
            "--port".to_owned(),
            "0".to_owned(),
            "--tls-cert-file".to_owned(),
            file("server.pem"),
            "--tls-key-file".to_owned(),
            file("server.key"),
            "--tls-ca-cert-file".to_owned(),
            file("ca.pem"),
            "--tls-auth-clients".to_owned(),
            "no".to_owned(),
        ];
        for _ in 0..20 {
            let port = free_port();
            let mut args = tls.to_vec();
            args.extend(["--tls-port".to_owned(), port.to_string()]);
            if let Some(mut server) = RedisServer::try_start(port, &args) {
                server.tls = true;
                return server;
            }
        }
        panic!("could not start a TLS redis-server on a free port")
    }

    /// A server on `port`, or `None` when it exited (the port was taken).
    fn try_start_on(port: u16) -> Option<RedisServer> {
        RedisServer::try_start(port, &["--port".to_owned(), port.to_string()])
    }

    /// A server started with `args`, listening on `port`, or `None` when it exited.
    fn try_start(port: u16, args: &[String]) -> Option<RedisServer> {
        let child = Command::new("redis-server")
            .args(args)
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("redis-server must be installed for the redis backend's tests (make test-deps)");
        let mut server = RedisServer { child, port, tls: false };
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
        format!("{}://127.0.0.1:{}/0", if self.tls { "rediss" } else { "redis" }, self.port)
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
