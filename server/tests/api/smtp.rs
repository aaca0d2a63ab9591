//! A real SMTP server for the tests: `aiosmtpd` (PyPI, installed by `scripts/setup --test`
//! into `.tools/python`) on a free port, storing what it receives in a maildir.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Smtp {
    pub port: u16,
    child: Option<Child>,
    dir: tempfile::TempDir,
}

fn python() -> PathBuf {
    let path = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../.tools/python/bin/python"
    ));
    assert!(
        path.exists(),
        "the SMTP tests need aiosmtpd in .tools/python: run scripts/setup --test"
    );
    path
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Smtp {
    /// A server on a free port.
    pub fn start() -> Smtp {
        Smtp::start_on(free_port())
    }

    /// A server on `port` (for "the mail server comes back" tests).
    pub fn start_on(port: u16) -> Smtp {
        let dir = tempfile::tempdir().unwrap();
        let mut smtp = Smtp {
            port,
            child: None,
            dir,
        };
        smtp.resume();
        smtp
    }

    /// Starts (again) on the same port and maildir.
    pub fn resume(&mut self) {
        let child = Command::new(python())
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{}", self.port))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(self.dir.path().join("maildir"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start aiosmtpd");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "aiosmtpd did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops the server (what it received stays readable).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Every message received so far, raw (headers and body).
    pub fn messages(&self) -> Vec<String> {
        let mut found = Vec::new();
        for sub in ["new", "cur"] {
            let Ok(entries) = std::fs::read_dir(self.dir.path().join("maildir").join(sub)) else {
                continue;
            };
            for entry in entries.flatten() {
                found.push(std::fs::read_to_string(entry.path()).unwrap_or_default());
            }
        }
        found
    }

    /// Waits until at least `n` messages arrived (or `timeout` passed); returns them all.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<String> {
        let deadline = Instant::now() + timeout;
        loop {
            let messages = self.messages();
            if messages.len() >= n || Instant::now() >= deadline {
                return messages;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Smtp {
    fn drop(&mut self) {
        self.stop();
    }
}
