//! Finding the compiled components, and a tracing capture for the log import.

use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use accord_core::remediation::{Finding, FindingKind, RemediationContext};
use accord_plugin_host::{HostConfig, PluginHost};

/// The test policy that misbehaves on request (`plugins/testing/hostile-policy`).
pub const HOSTILE_POLICY: &str = "hostile_policy";
/// The smallest add-on (`plugins/testing/noop-addon`).
pub const NOOP_ADDON: &str = "noop_addon";
/// The real policy (`plugins/policies/gpu-remediation`), when it is built.
pub const GPU_REMEDIATION: &str = "gpu_remediation";

/// `$ACCORD_PLUGIN_DIR`, or the plugins workspace's release output.
pub fn plugin_dir() -> PathBuf {
    std::env::var_os("ACCORD_PLUGIN_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../../plugins/target/wasm32-wasip2/release")
        })
}

/// The bytes of `<name>.wasm`; a missing file fails the test (these tests never skip).
pub fn wasm(name: &str) -> Vec<u8> {
    let path = plugin_dir().join(format!("{name}.wasm"));
    std::fs::read(&path).unwrap_or_else(|err| {
        panic!(
            "{}: {err}; run `cargo xtask plugins` first (or set ACCORD_PLUGIN_DIR)",
            path.display()
        )
    })
}

/// The bytes of `<name>.wasm` when it exists (for components other engineers own).
pub fn optional_wasm(name: &str) -> Option<Vec<u8>> {
    std::fs::read(plugin_dir().join(format!("{name}.wasm"))).ok()
}

/// Test limits: the production ones, with a longer outer timeout so that a loaded machine
/// cannot make it answer before the epoch deadline the tests expect.
pub fn config() -> HostConfig {
    HostConfig::default().with_call_timeout(Duration::from_secs(5))
}

pub fn host() -> PluginHost {
    PluginHost::new(config()).unwrap()
}

/// A finding whose `node` tells the hostile policy what to do.
pub fn finding(node: &str) -> Finding {
    Finding {
        kind: FindingKind::GpuXid,
        cluster: "cl-test".to_owned(),
        node: node.to_owned(),
        xid: Some(13),
        gpu: Some(0),
        port: None,
        state: None,
        minutes: None,
        temp_c: None,
        signal: None,
        severity: None,
    }
}

pub fn context() -> RemediationContext {
    RemediationContext {
        remediation_allowed: true,
        ..RemediationContext::default()
    }
}

/// Everything logged through `tracing` in this test process, as formatted lines. Installed
/// as the global subscriber because plugin calls (and so the log import) may run on any of
/// the runtime's worker threads (and `describe()` on a load thread), where a thread-local
/// subscriber would not be seen.
pub fn captured_logs() -> &'static Capture {
    static CAPTURE: OnceLock<Capture> = OnceLock::new();
    CAPTURE.get_or_init(|| {
        let capture = Capture::default();
        let writer = capture.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::set_global_default(subscriber).unwrap();
        capture
    })
}

#[derive(Clone, Default)]
pub struct Capture(Arc<Mutex<Vec<u8>>>);

impl Capture {
    pub fn lines(&self) -> Vec<String> {
        let bytes = self.0.lock().unwrap().clone();
        String::from_utf8_lossy(&bytes)
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
