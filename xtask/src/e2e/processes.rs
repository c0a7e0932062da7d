//! Child processes that cannot outlive the run: killed on drop, stopped gracefully on success.
//!
//! Every server the e2e run starts is a [`Process`]: its output goes to a log file in the
//! run's temporary directory, it is killed (SIGKILL) when the guard is dropped (an error,
//! a panic, or Ctrl-C dropping the whole run), and [`Process::stop`] sends SIGTERM and
//! waits a bounded time on the happy path.
//!
//! When the harness itself is killed (SIGKILL runs no destructor), the kernel kills the
//! children: each is started through util-linux's `setpriv --pdeathsig KILL`, which sets
//! `PR_SET_PDEATHSIG` and then execs the program (same pid, no `unsafe` here). The signal
//! follows the death of the *thread* that spawned the child, so spawn only from the
//! thread that lives for the whole run (the e2e future runs on the main thread through
//! `block_on`).

use std::fs::File;
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use tokio::process::{Child, Command};

/// A running child process, killed when dropped.
#[derive(Debug)]
pub struct Process {
    /// Name in messages, e.g. `prometheus` or `pipeline-demo #2`.
    pub name: String,
    child: Child,
    log: PathBuf,
}

impl Process {
    /// Starts `program` with `args`; stdout and stderr go to `log`.
    pub fn spawn(name: &str, program: &Path, args: &[String], log: &Path) -> Result<Process> {
        let out = File::create(log).with_context(|| format!("creating {}", log.display()))?;
        let err = out.try_clone()?;
        let setpriv = find_program("setpriv").context(
            "setpriv is not installed (Debian package util-linux): run `cargo xtask setup`",
        )?;
        let child = Command::new(setpriv)
            .args(["--pdeathsig", "KILL", "--"])
            .arg(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {name} ({})", program.display()))?;
        Ok(Process {
            name: name.to_string(),
            child,
            log: log.to_path_buf(),
        })
    }

    /// Fails with the end of its log when the process has exited.
    pub fn ensure_running(&mut self) -> Result<()> {
        if let Some(status) = self.child.try_wait()? {
            bail!(
                "{} exited unexpectedly ({status}); last lines of {}:\n{}",
                self.name,
                self.log.display(),
                log_tail(&self.log, 15)
            );
        }
        Ok(())
    }

    /// Sends SIGTERM and waits up to `grace` for the exit; kills it after that.
    pub async fn stop(mut self, grace: Duration) -> Result<ExitStatus> {
        if let Some(status) = self.child.try_wait()? {
            return Ok(status);
        }
        let pid = self
            .child
            .id()
            .with_context(|| format!("{} has no pid", self.name))?;
        // The shell's built-in `kill`: present wherever `sh` is, no `unsafe` needed.
        let sent = Command::new("sh")
            .args(["-c", "kill -TERM \"$1\"", "sh", &pid.to_string()])
            .status()
            .await
            .context("running sh -c 'kill -TERM PID'")?;
        if sent.success() {
            if let Ok(status) = tokio::time::timeout(grace, self.child.wait()).await {
                return Ok(status?);
            }
        }
        self.child.kill().await?;
        bail!(
            "{} did not exit within {grace:?} of SIGTERM: killed; last lines of {}:\n{}",
            self.name,
            self.log.display(),
            log_tail(&self.log, 15)
        )
    }
}

/// The last `n` lines of a log file (or why it cannot be read).
pub fn log_tail(path: &Path, n: usize) -> String {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let lines: Vec<&str> = text.lines().collect();
            lines[lines.len().saturating_sub(n)..].join("\n")
        }
        Err(e) => format!("(cannot read {}: {e})", path.display()),
    }
}

/// `n` distinct TCP ports on 127.0.0.1 that were free a moment ago.
pub fn free_ports(n: usize) -> Result<Vec<u16>> {
    // Hold every listener until all are bound, so no port is handed out twice.
    let listeners = (0..n)
        .map(|_| TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).context("finding a free port"))
        .collect::<Result<Vec<_>>>()?;
    listeners
        .iter()
        .map(|l| Ok(l.local_addr()?.port()))
        .collect()
}

/// The path of `program` on `PATH`, if installed.
pub fn find_program(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}
