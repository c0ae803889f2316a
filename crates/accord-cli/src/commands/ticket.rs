//! `accord ticket …`: support tickets through support-triage's API (its package's endpoint in the
//! profile, else `endpoint`). A customer files a ticket and sees at once how the
//! shared-responsibility model classifies it — Supported (with its SLA), Best-Effort, or
//! Customer-Owned (with what to check) — and the rule that decided; a provider operator
//! overrides a category, saying why; either closes it.
//!
//! Ticket ids may be given in full (`tk-01j…`) or as the short form `accord ticket list` shows
//! (`tk-…p4x7k2qz`, or just its tail): a short form is looked up among the project's tickets
//! and must match exactly one.

use accord_proto::support::v1 as pb;
use anyhow::bail;

use super::Context;
use crate::cli::{
    TicketCategoryArg, TicketCommand, TicketCreateArgs, TicketListArgs, TicketReclassifyArgs,
    TicketStateArg,
};
use crate::client::{Api, ApiError};
use crate::output::tickets::{TicketView, category_name, describe, list_table};
use crate::output::{OutputFormat, render_list, render_one};

/// Length of a full ticket id: `tk-` and a 26-character ULID.
const FULL_ID_LEN: usize = 29;

/// Runs `accord ticket`.
pub async fn run(ctx: &Context, command: TicketCommand) -> anyhow::Result<()> {
    let api = ctx.support_api().await?;
    match command {
        TicketCommand::Create(args) => create(ctx, &api, args).await,
        TicketCommand::Get(target) => {
            let ticket = resolve(&api, &target.ticket).await?;
            let t = api
                .call(api.support().get_ticket(pb::GetTicketRequest {
                    project: api.project(),
                    ticket,
                }))
                .await?;
            show(ctx, &t)
        }
        TicketCommand::List(args) => list(ctx, &api, args).await,
        TicketCommand::Reclassify(args) => reclassify(ctx, &api, args).await,
        TicketCommand::Close(args) => {
            let ticket = resolve(&api, &args.target.ticket).await?;
            let t = api
                .call(api.support().close_ticket(pb::CloseTicketRequest {
                    project: api.project(),
                    ticket,
                    resolution: args.resolution.unwrap_or_default(),
                }))
                .await?;
            let view = TicketView::from_pb(&t);
            ctx.out(&render_one(ctx.format, &view, || {
                format!("ticket/{} closed", t.id)
            })?);
            Ok(())
        }
    }
}

/// The wire category of a `--category`.
pub fn category(arg: TicketCategoryArg) -> pb::Category {
    match arg {
        TicketCategoryArg::Supported => pb::Category::Supported,
        TicketCategoryArg::BestEffort => pb::Category::BestEffort,
        TicketCategoryArg::CustomerOwned => pb::Category::CustomerOwned,
    }
}

/// The wire state of a `--state`.
pub fn state(arg: TicketStateArg) -> &'static str {
    match arg {
        TicketStateArg::Open => "open",
        TicketStateArg::Closed => "closed",
    }
}

/// The `FileTicket` request of `accord ticket create`.
pub fn file_request(project: String, args: TicketCreateArgs) -> pb::FileTicketRequest {
    pb::FileTicketRequest {
        project,
        cluster: args.cluster.unwrap_or_default(),
        title: args.title,
        description: args.description.unwrap_or_default(),
        component: args.component.unwrap_or_default(),
        customer_components: args.customer_components,
    }
}

/// The `ListTickets` request of `accord ticket list`.
pub fn list_request(project: String, args: &TicketListArgs) -> pb::ListTicketsRequest {
    pb::ListTicketsRequest {
        project,
        category: args
            .category
            .map_or(pb::Category::Unspecified, category)
            .into(),
        cluster: args.cluster.clone().unwrap_or_default(),
        state: args.state.map(state).unwrap_or_default().to_owned(),
    }
}

fn show(ctx: &Context, t: &pb::Ticket) -> anyhow::Result<()> {
    let view = TicketView::from_pb(t);
    ctx.out(&render_one(ctx.format, &view, || describe(t, ctx.now()))?);
    Ok(())
}

/// Whether `query` is a whole ticket id (as opposed to the short form of the list table).
fn is_full_id(query: &str) -> bool {
    query.len() == FULL_ID_LEN
        && query.starts_with("tk-")
        && query[3..].bytes().all(|b| b.is_ascii_alphanumeric())
}

/// The full id of the ticket `query` names (see the module doc).
async fn resolve(api: &Api, query: &str) -> anyhow::Result<String> {
    let query = query.trim();
    if is_full_id(query) {
        return Ok(query.to_owned());
    }
    let tail = query
        .strip_prefix("tk-")
        .unwrap_or(query)
        .trim_start_matches('…')
        .trim_start_matches("...")
        .to_ascii_lowercase();
    if tail.is_empty() {
        bail!("{query:?} is not a ticket id (expected tk-… as `accord ticket list` shows it)");
    }
    let all = api
        .call(api.support().list_tickets(pb::ListTicketsRequest {
            project: api.project(),
            ..pb::ListTicketsRequest::default()
        }))
        .await?;
    let found: Vec<&str> = all
        .tickets
        .iter()
        .map(|t| t.id.as_str())
        .filter(|id| *id == query || id.to_ascii_lowercase().ends_with(&tail))
        .collect();
    match found.as_slice() {
        [id] => Ok((*id).to_owned()),
        [] => Err(ApiError::not_found(format!("ticket {query} not found")).into()),
        many => bail!(
            "{query:?} matches {} tickets ({}): give more of the id",
            many.len(),
            many.join(", ")
        ),
    }
}

async fn create(ctx: &Context, api: &Api, args: TicketCreateArgs) -> anyhow::Result<()> {
    let t = api
        .call(api.support().file_ticket(file_request(api.project(), args)))
        .await?;
    let rule = t
        .classification
        .as_ref()
        .and_then(|c| c.rule.as_ref())
        .map(|r| r.id.as_str())
        .unwrap_or("-");
    ctx.note(&format!(
        "ticket {} filed: {} (rule {rule})",
        t.id,
        category_name(t.category)
    ));
    show(ctx, &t)
}

async fn list(ctx: &Context, api: &Api, args: TicketListArgs) -> anyhow::Result<()> {
    let r = api
        .call(
            api.support()
                .list_tickets(list_request(api.project(), &args)),
        )
        .await?;
    if r.tickets.is_empty() && ctx.format == OutputFormat::Table {
        ctx.note("no tickets (file one with `accord ticket create --title …`)");
        return Ok(());
    }
    let views: Vec<_> = r.tickets.iter().map(TicketView::from_pb).collect();
    ctx.out(&render_list(ctx.format, &views, || {
        list_table(&r.tickets, ctx.now())
    })?);
    Ok(())
}

async fn reclassify(ctx: &Context, api: &Api, args: TicketReclassifyArgs) -> anyhow::Result<()> {
    if args.reason.trim().is_empty() {
        bail!("--reason must say why the category changes (it is shown to the customer)");
    }
    let ticket = resolve(api, &args.target.ticket).await?;
    let t = api
        .call(
            api.support()
                .reclassify_ticket(pb::ReclassifyTicketRequest {
                    project: api.project(),
                    ticket,
                    category: category(args.category).into(),
                    reason: args.reason,
                }),
        )
        .await?;
    let machine = t
        .classification
        .as_ref()
        .map_or("unknown", |c| category_name(c.category));
    ctx.note(&format!(
        "ticket {} is now {} (the rule said {machine})",
        t.id,
        category_name(t.category)
    ));
    show(ctx, &t)
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use accord_proto::support::v1::support_server::{Support, SupportServer};
    use accord_triage::RuleSet;
    use tokio_stream::wrappers::TcpListenerStream;
    use tonic::{Request, Response, Status};

    use super::*;
    use crate::cli::Cli;
    use crate::config::Settings;
    use crate::output::{Captured, Printer};
    use crate::render_error;

    const TOKEN: &str = "accord_ak-test_secretsecretsecretsecretsecret";

    /// An in-memory support-triage that classifies with the shipped rules.
    #[derive(Clone)]
    struct Fake {
        tickets: Arc<Mutex<Vec<pb::Ticket>>>,
        filed: Arc<Mutex<Vec<pb::FileTicketRequest>>>,
        listed: Arc<Mutex<Vec<pb::ListTicketsRequest>>>,
        rules: Arc<RuleSet>,
    }

    fn authorize<T>(request: &Request<T>) -> Result<(), Status> {
        let header = request
            .metadata()
            .get("authorization")
            .and_then(|v| v.to_str().ok());
        if header == Some(&format!("Bearer {TOKEN}")) {
            Ok(())
        } else {
            Err(Status::unauthenticated("unknown API key"))
        }
    }

    impl Fake {
        fn find(&self, id: &str) -> Result<usize, Status> {
            self.tickets
                .lock()
                .unwrap()
                .iter()
                .position(|t| t.id == id)
                .ok_or_else(|| Status::not_found(format!("ticket {id} not found")))
        }
    }

    #[tonic::async_trait]
    impl Support for Fake {
        async fn file_ticket(
            &self,
            request: Request<pb::FileTicketRequest>,
        ) -> Result<Response<pb::Ticket>, Status> {
            authorize(&request)?;
            let r = request.into_inner();
            self.filed.lock().unwrap().push(r.clone());
            let mut input = accord_triage::Ticket::new("x", r.title.clone(), r.description.clone());
            if !r.component.is_empty() {
                input = input.with_component(r.component.clone());
            }
            let c = self.rules.classify(&input);
            let category = accord_proto::convert::support::category(c.category);
            let mut tickets = self.tickets.lock().unwrap();
            let t = pb::Ticket {
                id: format!("tk-01jfake000000000000000{:04}", tickets.len()),
                project: "pj-acme".into(),
                cluster_name: r.cluster.clone(),
                cluster_id: if r.cluster.is_empty() {
                    String::new()
                } else {
                    "cl-01jexample000000000demo001".into()
                },
                title: r.title,
                description: r.description,
                component: r.component,
                origin: "customer".into(),
                origin_detail: "alice".into(),
                customer_components: r.customer_components,
                classification: Some(pb::Classification {
                    category: category.into(),
                    layer: c.layer.map(|l| l.as_str().to_owned()).unwrap_or_default(),
                    component: c.component.as_deref().unwrap_or_default().to_owned(),
                    rule: Some(pb::Rule {
                        id: c.rule.id.to_string(),
                        text: c.rule.text.to_string(),
                    }),
                    actions: c.actions.iter().map(|a| a.to_string()).collect(),
                    checklist: c.checklist.to_vec(),
                    confidence: c.confidence,
                    needs_review: c.needs_review,
                }),
                category: category.into(),
                state: "open".into(),
                created_at: Some(crate::output::timestamp(time::OffsetDateTime::now_utc())),
                ..pb::Ticket::default()
            };
            tickets.push(t.clone());
            Ok(Response::new(t))
        }

        async fn get_ticket(
            &self,
            request: Request<pb::GetTicketRequest>,
        ) -> Result<Response<pb::Ticket>, Status> {
            authorize(&request)?;
            let i = self.find(&request.into_inner().ticket)?;
            Ok(Response::new(self.tickets.lock().unwrap()[i].clone()))
        }

        async fn list_tickets(
            &self,
            request: Request<pb::ListTicketsRequest>,
        ) -> Result<Response<pb::ListTicketsResponse>, Status> {
            authorize(&request)?;
            let r = request.into_inner();
            self.listed.lock().unwrap().push(r.clone());
            let tickets = self
                .tickets
                .lock()
                .unwrap()
                .iter()
                .filter(|t| r.category == 0 || t.category == r.category)
                .filter(|t| r.state.is_empty() || t.state == r.state)
                .filter(|t| r.cluster.is_empty() || t.cluster_name == r.cluster)
                .cloned()
                .collect();
            Ok(Response::new(pb::ListTicketsResponse { tickets }))
        }

        async fn reclassify_ticket(
            &self,
            request: Request<pb::ReclassifyTicketRequest>,
        ) -> Result<Response<pb::Ticket>, Status> {
            authorize(&request)?;
            let r = request.into_inner();
            let i = self.find(&r.ticket)?;
            let mut tickets = self.tickets.lock().unwrap();
            let t = &mut tickets[i];
            t.r#override = Some(pb::Override {
                category: r.category,
                by: "operator".into(),
                reason: r.reason,
                at: t.created_at,
            });
            t.category = r.category;
            Ok(Response::new(t.clone()))
        }

        async fn close_ticket(
            &self,
            request: Request<pb::CloseTicketRequest>,
        ) -> Result<Response<pb::Ticket>, Status> {
            authorize(&request)?;
            let r = request.into_inner();
            let i = self.find(&r.ticket)?;
            let mut tickets = self.tickets.lock().unwrap();
            let t = &mut tickets[i];
            t.state = "closed".into();
            t.resolution = r.resolution;
            t.closed_at = t.created_at;
            Ok(Response::new(t.clone()))
        }
    }

    struct Server {
        endpoint: String,
        fake: Fake,
        task: tokio::task::JoinHandle<()>,
    }

    impl Drop for Server {
        fn drop(&mut self) {
            self.task.abort();
        }
    }

    async fn start() -> Server {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let fake = Fake {
            tickets: Arc::default(),
            filed: Arc::default(),
            listed: Arc::default(),
            rules: Arc::new(RuleSet::shipped().unwrap()),
        };
        let router =
            tonic::transport::Server::builder().add_service(SupportServer::new(fake.clone()));
        let task = tokio::spawn(async move {
            router
                .serve_with_incoming(TcpListenerStream::new(listener))
                .await
                .unwrap();
        });
        Server {
            endpoint,
            fake,
            task,
        }
    }

    /// The value of the `Key:` field of a document (`""` when absent).
    fn field<'a>(text: &'a str, key: &str) -> &'a str {
        text.lines()
            .find_map(|line| line.strip_prefix(&format!("{key}:")))
            .map(str::trim)
            .unwrap_or_default()
    }

    /// Runs `accord <args>` with the support endpoint set to the fake (and the main endpoint
    /// pointing nowhere, so the wrong one would fail).
    async fn accord(server: &Server, args: &[&str]) -> (Result<(), String>, Captured) {
        let mut argv = vec!["accord"];
        argv.extend_from_slice(args);
        let cli = Cli::try_parse_with_sources(argv).unwrap();
        let (printer, captured) = Printer::capture();
        let mut settings = Settings::new("http://127.0.0.1:1", Some(TOKEN.to_owned()));
        settings.endpoints.insert(
            crate::config::SUPPORT_PACKAGE.to_owned(),
            server.endpoint.clone(),
        );
        let ctx = Context {
            settings,
            format: cli.global.output,
            printer,
        };
        let result = crate::commands::run(&ctx, cli.command)
            .await
            .map_err(|error| render_error(&error));
        let captured = captured.lock().unwrap().clone();
        (result, captured)
    }

    #[tokio::test]
    async fn create_shows_the_category_and_rule_and_sends_every_field() {
        let server = start().await;
        let (result, out) = accord(
            &server,
            &[
                "ticket",
                "create",
                "--title",
                "kubectl hangs, API answers 503",
                "--description",
                "Error from server (ServiceUnavailable): the server is currently unable to handle the request",
                "--cluster",
                "demo",
                "--component",
                "kube-apiserver",
                "--customer-component",
                "istio",
                "--customer-component",
                "kyverno",
            ],
        )
        .await;
        assert_eq!(result, Ok(()), "{out:?}");
        assert!(
            out.err.contains(
                "ticket tk-01jfake0000000000000000000 filed: supported (rule sup-control-plane-api)"
            ),
            "{}",
            out.err
        );
        assert_eq!(field(&out.out, "Category"), "supported", "{}", out.out);
        assert_eq!(field(&out.out, "Rule"), "sup-control-plane-api");
        assert_eq!(
            field(&out.out, "Cluster"),
            "demo (cl-01jexample000000000demo001)"
        );
        assert_eq!(field(&out.out, "Your Components"), "istio, kyverno");
        let filed = server.fake.filed.lock().unwrap()[0].clone();
        assert_eq!(filed.cluster, "demo");
        assert_eq!(filed.component, "kube-apiserver");
        assert_eq!(filed.customer_components, ["istio", "kyverno"]);

        let (result, out) = accord(
            &server,
            &[
                "ticket",
                "create",
                "--title",
                "istio sidecar injection broken",
                "-o",
                "name",
            ],
        )
        .await;
        assert_eq!(result, Ok(()), "{out:?}");
        assert_eq!(out.out, "ticket/tk-01jfake0000000000000000001\n");
        let filed = server.fake.filed.lock().unwrap()[1].clone();
        assert_eq!(
            (filed.cluster.as_str(), filed.description.as_str()),
            ("", "")
        );
    }

    #[tokio::test]
    async fn list_get_reclassify_and_close_with_short_ids() {
        let server = start().await;
        for title in [
            "etcdserver: mvcc: database space exceeded",
            "our own prometheus operator crashes",
        ] {
            let (result, out) = accord(&server, &["ticket", "create", "--title", title]).await;
            assert_eq!(result, Ok(()), "{out:?}");
        }

        let (result, out) = accord(&server, &["ticket", "list"]).await;
        assert_eq!(result, Ok(()), "{out:?}");
        let lines: Vec<&str> = out.out.lines().collect();
        assert_eq!(lines.len(), 3, "{}", out.out);
        assert!(lines[0].starts_with("ID "), "{}", out.out);
        assert!(
            lines[1].starts_with("tk-…00000000   open    supported"),
            "{}",
            out.out
        );

        let (result, out) = accord(
            &server,
            &[
                "ticket",
                "list",
                "--category",
                "supported",
                "--state",
                "open",
                "-c",
                "demo",
                "-o",
                "json",
            ],
        )
        .await;
        assert_eq!(result, Ok(()), "{out:?}");
        let listed = server.fake.listed.lock().unwrap().last().cloned().unwrap();
        assert_eq!(listed.category, i32::from(pb::Category::Supported));
        assert_eq!(listed.state, "open");
        assert_eq!(listed.cluster, "demo");
        // No ticket is about demo: an empty JSON list, not a note.
        let value: serde_json::Value = serde_json::from_str(&out.out).unwrap();
        assert_eq!(value["kind"], "List");
        assert_eq!(value["items"].as_array().unwrap().len(), 0);

        let (result, out) = accord(&server, &["ticket", "get", "tk-…00000001", "-o", "yaml"]).await;
        assert_eq!(result, Ok(()), "{out:?}");
        assert!(
            out.out.contains("id: tk-01jfake0000000000000000001\n"),
            "{}",
            out.out
        );
        assert!(out.out.contains("kind: Ticket\n"), "{}", out.out);

        let (result, out) = accord(
            &server,
            &[
                "ticket",
                "reclassify",
                "00000000",
                "--category",
                "best-effort",
                "--reason",
                "etcd quota raised on request",
            ],
        )
        .await;
        assert_eq!(result, Ok(()), "{out:?}");
        assert!(
            out.err
                .contains("is now best-effort (the rule said supported)"),
            "{}",
            out.err
        );
        assert_eq!(
            field(&out.out, "Category"),
            "best-effort (overridden by operator: etcd quota raised on request; the rule said \
             supported)",
            "{}",
            out.out
        );

        let (result, out) = accord(
            &server,
            &[
                "ticket",
                "close",
                "tk-01jfake0000000000000000000",
                "--resolution",
                "done",
            ],
        )
        .await;
        assert_eq!(result, Ok(()), "{out:?}");
        assert_eq!(out.out, "ticket/tk-01jfake0000000000000000000 closed\n");
        let (_, out) = accord(&server, &["ticket", "get", "tk-01jfake0000000000000000000"]).await;
        assert_eq!(field(&out.out, "Resolution"), "done", "{}", out.out);

        // Ambiguous and unknown short ids.
        let mut other = server.fake.tickets.lock().unwrap()[0].clone();
        other.id = "tk-01jfakeother000000000000000".into();
        server.fake.tickets.lock().unwrap().push(other);
        let (result, _) = accord(&server, &["ticket", "get", "0000"]).await;
        let err = result.unwrap_err();
        assert!(err.contains("matches 2 tickets"), "{err}");
        let (result, _) = accord(&server, &["ticket", "get", "zzzz"]).await;
        assert_eq!(result, Err("NOT_FOUND: ticket zzzz not found".to_owned()));
        let (result, _) =
            accord(&server, &["ticket", "get", "tk-01jfake000000000000000zzzz"]).await;
        assert_eq!(
            result,
            Err("NOT_FOUND: ticket tk-01jfake000000000000000zzzz not found".to_owned())
        );
    }

    #[tokio::test]
    async fn an_empty_list_is_a_note_and_the_token_is_required() {
        let server = start().await;
        let (result, out) = accord(&server, &["ticket", "list"]).await;
        assert_eq!(result, Ok(()));
        assert_eq!(out.out, "");
        assert!(out.err.contains("no tickets"), "{}", out.err);

        let cli = Cli::try_parse_with_sources(["accord", "ticket", "list"]).unwrap();
        let (printer, _) = Printer::capture();
        let ctx = Context {
            settings: Settings::new(server.endpoint.clone(), None),
            format: cli.global.output,
            printer,
        };
        let err = crate::commands::run(&ctx, cli.command).await.unwrap_err();
        assert!(render_error(&err).contains("no API token"), "{err:#}");
    }

    #[test]
    fn arguments_parse_and_map_to_requests() {
        let cli = Cli::try_parse_with_sources([
            "accord",
            "ticket",
            "list",
            "--category",
            "customer-owned",
            "--state",
            "closed",
        ])
        .unwrap();
        let crate::cli::Command::Ticket(TicketCommand::List(args)) = cli.command else {
            panic!("{:?}", cli.command);
        };
        let r = list_request("p".into(), &args);
        assert_eq!(r.category, i32::from(pb::Category::CustomerOwned));
        assert_eq!(r.state, "closed");
        assert_eq!(r.cluster, "");

        // --category and --reason are required to reclassify.
        assert!(
            Cli::try_parse_with_sources([
                "accord",
                "ticket",
                "reclassify",
                "tk-1",
                "--reason",
                "x"
            ])
            .is_err()
        );
        assert!(
            Cli::try_parse_with_sources([
                "accord",
                "ticket",
                "reclassify",
                "tk-1",
                "--category",
                "supported"
            ])
            .is_err()
        );
        assert!(
            Cli::try_parse_with_sources(["accord", "ticket", "list", "--category", "urgent"])
                .is_err()
        );
        // Global options keep working after the subcommand.
        let cli = Cli::try_parse_with_sources([
            "accord",
            "ticket",
            "get",
            "tk-1",
            "--project",
            "acme",
            "-o",
            "json",
        ])
        .unwrap();
        assert_eq!(cli.global.project.as_deref(), Some("acme"));
        assert_eq!(cli.global.output, OutputFormat::Json);

        assert!(is_full_id("tk-01jfake0000000000000000000"));
        assert!(!is_full_id("tk-…00000000"));
        assert!(!is_full_id("00000000"));
    }
}
