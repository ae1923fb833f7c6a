//! The moto server: started as a child process, killed with the runner (also if the runner
//! dies: the child gets SIGTERM from the kernel when its parent goes away). It runs through
//! `moto_server.py`, which serializes DynamoDB operations so transactions are atomic under
//! concurrency, as in DynamoDB (see that file).

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};

#[derive(Debug, thiserror::Error)]
pub enum MotoError {
    #[error("cannot start moto from {path}: {source} (run `make venv` first)")]
    Spawn { path: String, source: std::io::Error },
    #[error("moto did not become ready on port {0} within 60 s")]
    NotReady(u16),
    #[error("moto configuration failed: {0}")]
    Config(String),
}

/// The launcher script, carried in the binary so the runner works from any directory.
const LAUNCHER: &str = include_str!("../moto_server.py");

#[derive(Debug)]
pub struct Moto {
    child: Option<Child>,
    pub port: u16,
}

impl Moto {
    /// Start moto on `port`; `edge_port` is where moto sends Lambda calls (MOTO_PORT).
    pub async fn start(venv: &Path, port: u16, edge_port: u16) -> Result<Self, MotoError> {
        let bin = venv.join("bin").join("python");
        let mut cmd = Command::new(&bin);
        cmd.args(["-c", LAUNCHER, "-H", "127.0.0.1", "-p", &port.to_string()])
            .env("MOTO_PORT", edge_port.to_string())
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true);
        // SAFETY: prctl and setpriority are async-signal-safe and touch no parent memory.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
                // moto stands in for remote services whose CPU is never ours: its Python
                // work (a whole-table copy per transaction) must not steal the API's cores.
                libc::setpriority(libc::PRIO_PROCESS, 0, 10);
                Ok(())
            });
        }
        let child = cmd.spawn().map_err(|source| MotoError::Spawn {
            path: bin.display().to_string(),
            source,
        })?;
        let moto = Self {
            child: Some(child),
            port,
        };
        moto.wait_ready().await?;
        moto.configure().await?;
        Ok(moto)
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    async fn wait_ready(&self) -> Result<(), MotoError> {
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(60) {
            if crate::net::get(&format!("{}/moto-api/", self.url()))
                .await
                .is_ok_and(|(s, _)| s == 200)
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(MotoError::NotReady(self.port))
    }

    /// Let Step Functions execute state machines, calling Lambda without Docker.
    async fn configure(&self) -> Result<(), MotoError> {
        let body = r#"{"stepfunctions":{"execute_state_machine":true},"lambda":{"use_docker":false}}"#;
        match crate::net::post_json(&format!("{}/moto-api/config", self.url()), body).await {
            Ok((200..=299, _)) => Ok(()),
            Ok((status, b)) => Err(MotoError::Config(format!("{status}: {}", String::from_utf8_lossy(&b)))),
            Err(e) => Err(MotoError::Config(e.to_string())),
        }
    }

    /// Stop moto now (tests use it to see the API report a dead dependency).
    pub async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
            let _ = child.wait().await;
        }
    }
}
