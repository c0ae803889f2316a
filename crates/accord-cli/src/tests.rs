//! Crate-level tests: parsing of every command, the clap definition's self-check, error
//! rendering, and whole commands against in-process fakes of the provisioner's gRPC API
//! (`fake_api`), of storage-csi's (`fake_storage`) and of the image-builder's (`fake_images`).

mod fake_api;
mod fake_images;
mod fake_storage;
mod nats;
mod parsing;
mod storage_parsing;

use clap::CommandFactory;

use crate::Cli;

#[test]
fn clap_definition_is_consistent() {
    Cli::command().debug_assert();
}

mod errors {
    use tonic::Status;

    use crate::client::ApiError;
    use crate::render_error;

    #[test]
    fn api_errors_are_shown_as_the_server_worded_them() {
        let error = anyhow::Error::new(ApiError::from_status(
            "http://x",
            Status::failed_precondition("cluster demo still has node pools: gpu-a, gpu-b"),
        ))
        .context("delete cluster demo");
        assert_eq!(
            render_error(&error),
            "FAILED_PRECONDITION: cluster demo still has node pools: gpu-a, gpu-b"
        );
    }

    #[test]
    fn hints_follow_on_their_own_line() {
        let error = anyhow::Error::new(ApiError::from_status(
            "http://x",
            Status::unauthenticated("unknown API key"),
        ));
        let text = render_error(&error);
        assert!(
            text.starts_with("UNAUTHENTICATED: unknown API key\nhint: "),
            "{text}"
        );
    }

    #[test]
    fn other_errors_show_the_whole_chain() {
        let error = anyhow::anyhow!("connection reset").context("watch events");
        assert_eq!(render_error(&error), "watch events: connection reset");
    }
}
