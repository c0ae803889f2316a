//! The gRPC server kit over real HTTP/2 on loopback: authentication, the responsibility check,
//! the readiness gate, health, reflection and metrics.
//!
//! The "business" service is a hand-rolled tower service (no codegen) that answers every
//! `/test.v1.Echo/*` method with the caller's display name, read through `accord_runtime::caller`.

// Test helpers outside `#[test]` functions panic on failure too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::{
    convert::Infallible,
    future::Future,
    net::SocketAddr,
    task::{Context, Poll},
    time::Duration,
};

use accord_core::{
    DomainError,
    iam::{Party, Principal, Role},
    ids::{ApiKeyId, ProjectId, UserId},
    responsibility::{Action, Actor, RpcRule},
};
use accord_runtime::{
    Authenticator, CancellationToken, GrpcServer, GrpcServerError, Metrics, caller,
    grpc::{BUS_UNREACHABLE, EXPECTED_AUTHORIZATION},
};
use futures::future::{BoxFuture, Ready, ready};
use http::uri::PathAndQuery;
use prost::Message as _;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    sync::watch,
};
use tonic::{
    Code, Request, Response, Status,
    body::Body,
    server::{NamedService, UnaryService},
    transport::{Channel, Endpoint},
};
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};
use tonic_prost::ProstCodec;

const CUSTOMER_TOKEN: &str = "accord_customer_secret";
const OPERATOR_TOKEN: &str = "accord_operator_secret";

const PING: &str = "/test.v1.Echo/Ping";
const UPGRADE: &str = "/test.v1.Echo/ExecuteUpgrade";
const UNDECLARED: &str = "/test.v1.Echo/Undeclared";

static RULES: &[RpcRule] = &[
    RpcRule {
        method: PING,
        action: Action::Read,
        component: "node-pools",
        actor: Actor::Either,
        project_scoped: false,
    },
    RpcRule {
        method: UPGRADE,
        action: Action::Mutate,
        component: "kubernetes-version",
        actor: Actor::Only(Party::Provider),
        project_scoped: true,
    },
];

/// Knows two tokens; everything else is unauthenticated.
struct FakeKeys;

impl Authenticator for FakeKeys {
    fn authenticate<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<Principal, DomainError>> {
        Box::pin(async move {
            match token {
                CUSTOMER_TOKEN => Ok(Principal::Customer {
                    user: UserId::generate(),
                    user_name: "ada@example.com".into(),
                    project: ProjectId::generate(),
                    role: Role::Admin,
                    key: ApiKeyId::generate(),
                }),
                OPERATOR_TOKEN => Ok(Principal::ProviderOperator {
                    name: "ops".into(),
                    key: ApiKeyId::generate(),
                }),
                _ => Err(DomainError::Unauthenticated(
                    "unknown or revoked API key".into(),
                )),
            }
        })
    }
}

/// `test.v1.Echo`: every method answers with the caller's display name.
#[derive(Clone)]
struct Echo;

impl NamedService for Echo {
    const NAME: &'static str = "test.v1.Echo";
}

impl tower::Service<http::Request<Body>> for Echo {
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<Body>) -> Self::Future {
        Box::pin(async move {
            let mut grpc = tonic::server::Grpc::new(ProstCodec::<String, ()>::default());
            Ok(grpc.unary(WhoAmI, req).await)
        })
    }
}

struct WhoAmI;

impl UnaryService<()> for WhoAmI {
    type Response = String;
    type Future = Ready<Result<Response<String>, Status>>;

    fn call(&mut self, req: Request<()>) -> Self::Future {
        ready(caller(&req).map(|c| Response::new(c.principal.display_name().to_owned())))
    }
}

/// A `FileDescriptorSet` describing `test.v1.Echo` (the methods of [`RULES`]), for reflection
/// and the start-up check of the rule table.
fn echo_descriptor() -> &'static [u8] {
    use prost_types::{
        FileDescriptorProto, FileDescriptorSet, MethodDescriptorProto, ServiceDescriptorProto,
    };
    let fds = FileDescriptorSet {
        file: vec![FileDescriptorProto {
            name: Some("test/v1/echo.proto".into()),
            package: Some("test.v1".into()),
            service: vec![ServiceDescriptorProto {
                name: Some("Echo".into()),
                method: ["Ping", "ExecuteUpgrade"]
                    .into_iter()
                    .map(|name| MethodDescriptorProto {
                        name: Some(name.into()),
                        input_type: Some(".google.protobuf.Empty".into()),
                        output_type: Some(".google.protobuf.StringValue".into()),
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            }],
            syntax: Some("proto3".into()),
            ..Default::default()
        }],
    };
    Box::leak(fds.encode_to_vec().into_boxed_slice())
}

struct TestServer {
    addr: SocketAddr,
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<Result<(), GrpcServerError>>,
}

impl TestServer {
    async fn start(server: GrpcServer) -> Self {
        let shutdown = CancellationToken::new();
        let (addr, task) = server.serve(shutdown.clone()).await.unwrap();
        assert_ne!(addr.port(), 0);
        Self {
            addr,
            shutdown,
            task,
        }
    }

    async fn channel(&self) -> Channel {
        Endpoint::from_shared(format!("http://{}", self.addr))
            .unwrap()
            .connect()
            .await
            .unwrap()
    }

    async fn call(&self, path: &'static str, token: Option<&str>) -> Result<String, Status> {
        let mut grpc = tonic::client::Grpc::new(self.channel().await);
        grpc.ready().await.unwrap();
        let mut req = Request::new(());
        if let Some(token) = token {
            req.metadata_mut()
                .insert("authorization", format!("Bearer {token}").parse().unwrap());
        }
        grpc.unary(
            req,
            PathAndQuery::from_static(path),
            ProstCodec::<(), String>::default(),
        )
        .await
        .map(Response::into_inner)
    }

    async fn call_with_authorization(
        &self,
        path: &'static str,
        authorization: &str,
    ) -> Result<String, Status> {
        let mut grpc = tonic::client::Grpc::new(self.channel().await);
        grpc.ready().await.unwrap();
        let mut req = Request::new(());
        req.metadata_mut()
            .insert("authorization", authorization.parse().unwrap());
        grpc.unary(
            req,
            PathAndQuery::from_static(path),
            ProstCodec::<(), String>::default(),
        )
        .await
        .map(Response::into_inner)
    }

    async fn health(&self, service: &str) -> ServingStatus {
        let mut client = HealthClient::new(self.channel().await);
        let response = client
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap();
        response.into_inner().status()
    }

    async fn stop(self) {
        self.shutdown.cancel();
        tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
    }
}

fn authed_server() -> GrpcServer {
    GrpcServer::new("127.0.0.1:0".parse().unwrap())
        .with_auth(RULES, FakeKeys)
        .with_descriptor(echo_descriptor())
        .add_service(Echo)
}

/// Polls `check` until it holds, failing after a deadline.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn missing_or_bad_credentials_are_unauthenticated() {
    let server = TestServer::start(authed_server()).await;

    let status = server.call(PING, None).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    assert!(
        status.message().contains(EXPECTED_AUTHORIZATION),
        "{}",
        status.message()
    );

    let status = server
        .call_with_authorization(PING, "Basic dXNlcjpwYXNz")
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    assert!(
        status.message().contains(EXPECTED_AUTHORIZATION),
        "{}",
        status.message()
    );

    let status = server
        .call(PING, Some("accord_nope_nope"))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    assert_eq!(status.message(), "unknown or revoked API key");

    server.stop().await;
}

#[tokio::test]
async fn authorised_caller_reaches_the_handler_with_a_caller() {
    let server = TestServer::start(authed_server()).await;
    assert_eq!(
        server.call(PING, Some(CUSTOMER_TOKEN)).await.unwrap(),
        "ada@example.com"
    );
    assert_eq!(
        server.call(PING, Some(OPERATOR_TOKEN)).await.unwrap(),
        "ops"
    );
    assert_eq!(
        server.call(UPGRADE, Some(OPERATOR_TOKEN)).await.unwrap(),
        "ops"
    );
    server.stop().await;
}

#[tokio::test]
async fn customer_on_a_provider_rule_is_denied_naming_the_layer() {
    let server = TestServer::start(authed_server()).await;
    let status = server
        .call(UPGRADE, Some(CUSTOMER_TOKEN))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    let msg = status.message();
    assert!(msg.contains("Control Plane"), "{msg}");
    assert!(msg.contains("provider"), "{msg}");
    assert!(msg.contains("ExecuteUpgrade"), "{msg}");
    server.stop().await;
}

#[tokio::test]
async fn unserved_method_is_unimplemented_with_or_without_credentials() {
    let server = TestServer::start(authed_server()).await;
    for token in [Some(OPERATOR_TOKEN), None] {
        let status = server.call(UNDECLARED, token).await.unwrap_err();
        assert_eq!(status.code(), Code::Unimplemented, "{status:?}");
        assert!(
            status.message().contains(UNDECLARED) && status.message().contains("not served"),
            "{}",
            status.message()
        );
    }
    // Unknown services too: the table, not the router, decides first.
    let status = server
        .call("/nope.v1.Nope/Nope", Some(OPERATOR_TOKEN))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unimplemented, "{status:?}");
    server.stop().await;
}

#[tokio::test]
async fn bus_down_gives_unavailable_and_not_serving_then_recovers() {
    let (ready_tx, ready_rx) = watch::channel(true);
    let server = TestServer::start(authed_server().with_ready(ready_rx)).await;
    assert_eq!(server.health("").await, ServingStatus::Serving);
    assert_eq!(server.health("test.v1.Echo").await, ServingStatus::Serving);
    assert_eq!(
        server.call(PING, Some(CUSTOMER_TOKEN)).await.unwrap(),
        "ada@example.com"
    );

    ready_tx.send(false).unwrap();
    let status = server.call(PING, Some(CUSTOMER_TOKEN)).await.unwrap_err();
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    assert_eq!(status.message(), BUS_UNREACHABLE);
    // The gate comes before authentication: no credential is needed to learn the bus is down.
    assert_eq!(
        server.call(PING, None).await.unwrap_err().code(),
        Code::Unavailable
    );
    eventually("NOT_SERVING", || async {
        server.health("").await == ServingStatus::NotServing
    })
    .await;
    eventually("NOT_SERVING for the service", || async {
        server.health("test.v1.Echo").await == ServingStatus::NotServing
    })
    .await;

    ready_tx.send(true).unwrap();
    eventually("SERVING again", || async {
        server.health("").await == ServingStatus::Serving
    })
    .await;
    assert_eq!(server.health("test.v1.Echo").await, ServingStatus::Serving);
    assert_eq!(
        server.call(PING, Some(CUSTOMER_TOKEN)).await.unwrap(),
        "ada@example.com"
    );
    server.stop().await;
}

#[tokio::test]
async fn server_starting_while_the_bus_is_down_reports_not_serving() {
    let (_ready_tx, ready_rx) = watch::channel(false);
    let server = TestServer::start(authed_server().with_ready(ready_rx)).await;
    assert_eq!(server.health("").await, ServingStatus::NotServing);
    assert_eq!(
        server
            .call(PING, Some(CUSTOMER_TOKEN))
            .await
            .unwrap_err()
            .code(),
        Code::Unavailable
    );
    server.stop().await;
}

#[tokio::test]
async fn health_of_an_unknown_service_is_not_found() {
    let server = TestServer::start(authed_server()).await;
    let mut client = HealthClient::new(server.channel().await);
    let status = client
        .check(HealthCheckRequest {
            service: "nope.v1.Nope".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    server.stop().await;
}

#[tokio::test]
async fn reflection_v1_and_v1alpha_list_services() {
    let server = TestServer::start(authed_server()).await;

    {
        use tonic_reflection::pb::v1::{
            ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
            server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
        };
        let mut client = ServerReflectionClient::new(server.channel().await);
        let request = ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::ListServices(String::new())),
        };
        let mut stream = client
            .server_reflection_info(futures::stream::iter([request]))
            .await
            .unwrap()
            .into_inner();
        let response = stream.message().await.unwrap().unwrap();
        let Some(MessageResponse::ListServicesResponse(list)) = response.message_response else {
            panic!("unexpected response {response:?}");
        };
        let names: Vec<_> = list.service.into_iter().map(|s| s.name).collect();
        for expected in [
            "test.v1.Echo",
            "grpc.health.v1.Health",
            "grpc.reflection.v1.ServerReflection",
        ] {
            assert!(
                names.iter().any(|n| n == expected),
                "{expected} missing from {names:?}"
            );
        }
    }
    {
        use tonic_reflection::pb::v1alpha::{
            ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
            server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
        };
        let mut client = ServerReflectionClient::new(server.channel().await);
        let request = ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::ListServices(String::new())),
        };
        let mut stream = client
            .server_reflection_info(futures::stream::iter([request]))
            .await
            .unwrap()
            .into_inner();
        let response = stream.message().await.unwrap().unwrap();
        let Some(MessageResponse::ListServicesResponse(list)) = response.message_response else {
            panic!("unexpected response {response:?}");
        };
        let names: Vec<_> = list.service.into_iter().map(|s| s.name).collect();
        for expected in [
            "test.v1.Echo",
            "grpc.health.v1.Health",
            "grpc.reflection.v1alpha.ServerReflection",
        ] {
            assert!(
                names.iter().any(|n| n == expected),
                "{expected} missing from {names:?}"
            );
        }
    }
    server.stop().await;
}

#[tokio::test]
async fn metrics_record_calls_by_method_and_code() {
    let metrics = Metrics::new("test");
    let server = TestServer::start(authed_server().with_metrics(metrics.clone())).await;
    server.call(PING, Some(CUSTOMER_TOKEN)).await.unwrap();
    server
        .call(UPGRADE, Some(CUSTOMER_TOKEN))
        .await
        .unwrap_err();
    server
        .call("/random.v1.Path/Junk", Some(CUSTOMER_TOKEN))
        .await
        .unwrap_err();
    server.health("").await;

    let shutdown = CancellationToken::new();
    let (metrics_addr, metrics_task) =
        accord_runtime::metrics::serve("127.0.0.1:0".parse().unwrap(), metrics, shutdown.clone())
            .await
            .unwrap();
    let mut stream = tokio::net::TcpStream::connect(metrics_addr).await.unwrap();
    stream
        .write_all(
            format!("GET /metrics HTTP/1.1\r\nHost: {metrics_addr}\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        )
        .await
        .unwrap();
    let mut scrape = String::new();
    stream.read_to_string(&mut scrape).await.unwrap();

    for expected in [
        r#"accord_grpc_requests_total{service="test",method="/test.v1.Echo/Ping",code="OK"} 1"#,
        r#"accord_grpc_requests_total{service="test",method="/test.v1.Echo/ExecuteUpgrade",code="PERMISSION_DENIED"} 1"#,
        r#"accord_grpc_requests_total{service="test",method="other",code="UNIMPLEMENTED"} 1"#,
        r#"accord_grpc_requests_total{service="test",method="/grpc.health.v1.Health/Check",code="OK"} 1"#,
        r#"accord_grpc_request_duration_seconds_count{service="test",method="/test.v1.Echo/Ping"} 1"#,
    ] {
        assert!(
            scrape.contains(expected),
            "{expected} missing from\n{scrape}"
        );
    }
    shutdown.cancel();
    metrics_task.await.unwrap().unwrap();
    server.stop().await;
}

#[tokio::test]
async fn without_auth_handlers_see_no_caller() {
    let server = TestServer::start(
        GrpcServer::new("127.0.0.1:0".parse().unwrap())
            .without_auth()
            .add_service(Echo),
    )
    .await;
    let status = server.call(PING, None).await.unwrap_err();
    assert_eq!(status.code(), Code::Internal);
    assert_eq!(status.message(), "auth layer missing");
    server.stop().await;
}

#[tokio::test]
async fn misconfigured_servers_refuse_to_start() {
    let err = GrpcServer::new("127.0.0.1:0".parse().unwrap())
        .add_service(Echo)
        .serve(CancellationToken::new())
        .await
        .unwrap_err();
    assert!(matches!(err, GrpcServerError::AuthNotConfigured), "{err}");

    static CONTRADICTS_MATRIX: &[RpcRule] = &[RpcRule {
        method: PING,
        action: Action::Mutate,
        component: "etcd",
        actor: Actor::Only(Party::Customer),
        project_scoped: false,
    }];
    let err = GrpcServer::new("127.0.0.1:0".parse().unwrap())
        .with_auth(CONTRADICTS_MATRIX, FakeKeys)
        .serve(CancellationToken::new())
        .await
        .unwrap_err();
    assert!(matches!(err, GrpcServerError::InvalidRules(_)), "{err}");

    // The table must declare exactly what is served: a served method without a rule, or a
    // rule for a method nobody serves, refuses to start.
    static PING_ONLY: &[RpcRule] = &[RpcRule {
        method: PING,
        action: Action::Read,
        component: "node-pools",
        actor: Actor::Either,
        project_scoped: false,
    }];
    let err = GrpcServer::new("127.0.0.1:0".parse().unwrap())
        .with_auth(PING_ONLY, FakeKeys)
        .with_descriptor(echo_descriptor())
        .add_service(Echo)
        .serve(CancellationToken::new())
        .await
        .unwrap_err();
    assert!(
        matches!(err, GrpcServerError::RulesDisagree(_)) && err.to_string().contains(UPGRADE),
        "{err}"
    );
    let err = GrpcServer::new("127.0.0.1:0".parse().unwrap())
        .with_auth(RULES, FakeKeys)
        .with_descriptor(echo_descriptor())
        .serve(CancellationToken::new())
        .await
        .unwrap_err();
    assert!(
        matches!(err, GrpcServerError::RulesDisagree(_)) && err.to_string().contains(PING),
        "{err}"
    );
    let err = GrpcServer::new("127.0.0.1:0".parse().unwrap())
        .with_auth(RULES, FakeKeys)
        .add_service(Echo)
        .serve(CancellationToken::new())
        .await
        .unwrap_err();
    assert!(matches!(err, GrpcServerError::RulesDisagree(_)), "{err}");

    let taken = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = taken.local_addr().unwrap();
    let err = GrpcServer::new(addr)
        .with_auth(RULES, FakeKeys)
        .with_descriptor(echo_descriptor())
        .add_service(Echo)
        .serve(CancellationToken::new())
        .await
        .unwrap_err();
    assert!(
        matches!(err, GrpcServerError::Bind { .. }) && err.to_string().contains(&addr.to_string()),
        "{err}"
    );
}
