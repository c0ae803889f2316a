//! `accord kubeconfig CLUSTER [--file PATH]`: the cluster's kubeconfig on stdout, or written to a
//! file readable only by its owner (it holds a client key).

use std::io::Write as _;
use std::path::Path;

use accord_proto::provisioner::v1 as pb;
use anyhow::Context as _;

use super::Context;
use crate::cli::KubeconfigArgs;
use crate::output::rfc3339;

/// Runs `accord kubeconfig`.
pub async fn run(ctx: &Context, args: KubeconfigArgs) -> anyhow::Result<()> {
    let api = ctx.api().await?;
    let response = api
        .call(api.clusters().get_kubeconfig(pb::GetKubeconfigRequest {
            project: api.project(),
            cluster: args.cluster.clone(),
        }))
        .await?;
    match &args.file {
        None => ctx.out(&response.kubeconfig),
        Some(path) => {
            write_private(path, response.kubeconfig.as_bytes())
                .with_context(|| format!("write the kubeconfig to {}", path.display()))?;
            let expiry = rfc3339(response.client_certificate_expires_at.as_ref())
                .map(|at| format!("; its client certificate expires {at}"))
                .unwrap_or_default();
            ctx.note(&format!(
                "wrote the kubeconfig of cluster {} to {}{expiry}\n  export KUBECONFIG={}",
                args.cluster,
                path.display(),
                path.display()
            ));
        }
    }
    Ok(())
}

/// Writes `contents` to `path` with mode 0600 (also when the file already existed), creating
/// missing parent directories.
pub fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    file.write_all(contents)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_owner_only_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/dir/kubeconfig");
        write_private(&path, b"apiVersion: v1\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "apiVersion: v1\n");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            write_private(&path, b"x").unwrap();
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
            assert_eq!(std::fs::read_to_string(&path).unwrap(), "x");
        }
    }
}
