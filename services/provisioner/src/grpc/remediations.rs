//! `accord.provisioner.v1.Remediations`: reads of the AutoClusters remediations the provisioner
//! records (one per health finding; written only by its remediation loop).
//!
//! Scoping is the kit's one rule: a cluster of another project is `NOT_FOUND` like a missing
//! one, and a remediation of another project's cluster is `NOT_FOUND` worded exactly like a
//! remediation that does not exist. A malformed id or an unknown `state` filter is
//! `INVALID_ARGUMENT` naming the field (the state message lists the valid states); `limit` over
//! [`bounds::MAX_REMEDIATIONS_LIMIT`] is refused with the request's other size limits.

use accord_core::{
    DomainError,
    autoclusters::{Remediation, RemediationState},
    ids::{ProjectId, RemediationId},
    validation::quote,
};
use accord_proto::{convert::remediations as conv, provisioner::v1 as pb};
use tonic::{Request, Response, Status};

use super::{Api, bounds, pid, st};
use crate::{autoclusters::decide, trees::Reader};

#[tonic::async_trait]
impl pb::remediations_server::Remediations for Api {
    async fn list_remediations(
        &self,
        req: Request<pb::ListRemediationsRequest>,
    ) -> Result<Response<pb::ListRemediationsResponse>, Status> {
        let (_, project) = self.scope(&req, &req.get_ref().project)?;
        let r = req.get_ref();
        let state = state_filter(&r.state).map_err(st)?;
        let limit = bounds::remediations_limit(r.limit);
        let reader = self.p.reader();
        let cluster = reader.cluster_ref(pid(&project), &r.cluster).map_err(st)?;
        let stored = reader.remediations(cluster.metadata.id).map_err(st)?;
        let items = newest_first(&stored, state, limit)
            .map(conv::remediation)
            .collect();
        Ok(Response::new(pb::ListRemediationsResponse { items }))
    }

    async fn get_remediation(
        &self,
        req: Request<pb::GetRemediationRequest>,
    ) -> Result<Response<pb::Remediation>, Status> {
        let (_, project) = self.scope(&req, &req.get_ref().project)?;
        let found =
            remediation_in(self.p.reader(), pid(&project), &req.get_ref().id).map_err(st)?;
        Ok(Response::new(conv::remediation(&found)))
    }

    async fn approve_remediation(
        &self,
        req: Request<pb::ResolveRemediationRequest>,
    ) -> Result<Response<pb::Remediation>, Status> {
        self.resolve(req, decide::approve).await
    }

    async fn reject_remediation(
        &self,
        req: Request<pb::ResolveRemediationRequest>,
    ) -> Result<Response<pb::Remediation>, Status> {
        self.resolve(req, decide::reject).await
    }
}

type Resolution = fn(
    time::OffsetDateTime,
    &Remediation,
    &str,
    &str,
) -> Result<(crate::change::Change, Remediation), DomainError>;

impl Api {
    /// Approves or rejects a remediation of the caller's project under the write lock.
    async fn resolve(
        &self,
        req: Request<pb::ResolveRemediationRequest>,
        f: Resolution,
    ) -> Result<Response<pb::Remediation>, Status> {
        let (caller, project) = self.scope(&req, &req.get_ref().project)?;
        let r = req.into_inner();
        let who = caller.principal.display_name();
        let done = self
            .p
            .write(&caller.principal, |ctx| {
                let found = remediation_in(ctx.reader, pid(&project), &r.id)?;
                f(ctx.now, &found, who, r.reason.trim())
            })
            .await
            .map_err(st)?;
        Ok(Response::new(conv::remediation(&done)))
    }
}

/// A cluster's remediations (stored oldest first: keys end in the remediation's ULID) newest
/// first, only those in `state` when given, at most `limit`.
fn newest_first(
    stored: &[Remediation],
    state: Option<RemediationState>,
    limit: usize,
) -> impl Iterator<Item = &Remediation> {
    stored
        .iter()
        .rev()
        .filter(move |x| state.is_none_or(|s| x.status.state == s))
        .take(limit)
}

/// The remediation `id` names, if it belongs to `project`: another project's remediation
/// answers exactly like a missing one.
fn remediation_in(
    reader: &Reader,
    project: ProjectId,
    id: &str,
) -> Result<Remediation, DomainError> {
    let id = remediation_id(id)?;
    reader
        .remediation(id)?
        .filter(|x| x.metadata.project == project)
        .ok_or_else(|| DomainError::not_found("remediation", id))
}

/// The `state` filter: empty for every state, else one state by its kebab-case name.
fn state_filter(state: &str) -> Result<Option<RemediationState>, DomainError> {
    if state.trim().is_empty() {
        return Ok(None);
    }
    conv::state_from(state).map(Some).ok_or_else(|| {
        DomainError::invalid(
            "state",
            format!(
                "{} is not a remediation state (one of: {})",
                quote(state),
                conv::state_names()
            ),
        )
    })
}

/// A remediation id (`rem-…`), quoting at most a bounded part of what was sent.
fn remediation_id(id: &str) -> Result<RemediationId, DomainError> {
    id.trim().parse().map_err(|_| {
        DomainError::invalid(
            "id",
            format!(
                "{} is not a remediation id (`rem-` followed by a 26-character ULID)",
                quote(id)
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use accord_core::{
        autoclusters::{RemediationSpec, RemediationStatus},
        ids::{ClusterId, NodeId, NodePoolId},
        meta::Metadata,
        remediation::{
            Finding, FindingKind, RemediationAction, RemediationContext, RemediationDecision,
        },
        responsibility::SupportScope,
    };
    use accord_proto::convert::status_from;
    use accord_store::{Expect, Store};
    use time::OffsetDateTime;

    use super::*;
    use crate::{
        change::Change,
        trees::{REMEDIATION_INDEX, REMEDIATIONS, remediation_key},
    };

    fn remediation(project: ProjectId, cluster: ClusterId, state: RemediationState) -> Remediation {
        let now = OffsetDateTime::now_utc();
        Remediation {
            metadata: Metadata::new(RemediationId::generate(), "hf-1", project, now),
            spec: RemediationSpec {
                cluster,
                pool: NodePoolId::generate(),
                node: NodeId::generate(),
                node_name: "gpu-a-0".into(),
                finding_id: "hf-1".into(),
                finding: Finding {
                    kind: FindingKind::GpuXid,
                    cluster: cluster.to_string(),
                    node: "gpu-a-0".into(),
                    xid: Some(79),
                    gpu: Some(3),
                    port: None,
                    state: None,
                    minutes: None,
                    temp_c: None,
                    signal: None,
                    severity: None,
                },
                evidence: Vec::new(),
                context: RemediationContext::default(),
                decision: RemediationDecision {
                    action: RemediationAction::RebootNode,
                    responsibility: SupportScope::Supported,
                    reason: "XID 79".into(),
                },
                policy: "gpu-remediation@0.2.0".into(),
            },
            status: RemediationStatus {
                state,
                action: RemediationAction::RebootNode,
                reason: String::new(),
                step: None,
                step_started_at: None,
                repair: None,
                replacement: None,
                cordoned_by_us: false,
                attempts: 1,
                timeline: Vec::new(),
            },
        }
    }

    async fn store(items: &[Remediation]) -> Reader {
        let reader = Reader::new(Store::temporary().unwrap());
        let mut ch = Change::none();
        for r in items {
            let key = remediation_key(r.spec.cluster, r.metadata.id);
            ch.put(REMEDIATIONS, &key, r, Expect::Absent).unwrap();
            ch.put(
                REMEDIATION_INDEX,
                &r.metadata.id.to_string(),
                &key,
                Expect::Absent,
            )
            .unwrap();
        }
        reader.store().commit(ch.commit).await.unwrap();
        reader
    }

    #[tokio::test]
    async fn another_projects_remediation_answers_like_a_missing_one() {
        let (own, rival) = (ProjectId::generate(), ProjectId::generate());
        let mine = remediation(own, ClusterId::generate(), RemediationState::Running);
        let theirs = remediation(rival, ClusterId::generate(), RemediationState::Running);
        let reader = store(&[mine.clone(), theirs.clone()]).await;

        let found = remediation_in(&reader, own, &mine.metadata.id.to_string()).unwrap();
        assert_eq!(found, mine);

        let missing = RemediationId::generate();
        let shape = |id: RemediationId| {
            let status = status_from(&remediation_in(&reader, own, &id.to_string()).unwrap_err());
            (
                status.code(),
                status.message().replace(&id.to_string(), "<id>"),
            )
        };
        let (code, message) = shape(theirs.metadata.id);
        assert_eq!(code, tonic::Code::NotFound);
        assert_eq!((code, message), shape(missing));

        let status = status_from(&remediation_in(&reader, own, "rem-nope").unwrap_err());
        assert_eq!(status.code(), tonic::Code::InvalidArgument);
        assert!(status.message().contains("id"), "{}", status.message());
    }

    #[test]
    fn lists_are_newest_first_filtered_and_limited() {
        let (project, cluster) = (ProjectId::generate(), ClusterId::generate());
        let states = [
            RemediationState::Succeeded,
            RemediationState::Held,
            RemediationState::Running,
            RemediationState::Held,
        ];
        // Oldest first, as stored.
        let stored: Vec<Remediation> = states
            .iter()
            .map(|s| remediation(project, cluster, *s))
            .collect();
        let ids = |state, limit| -> Vec<RemediationId> {
            newest_first(&stored, state, limit)
                .map(|r| r.metadata.id)
                .collect()
        };
        let id = |i: usize| stored[i].metadata.id;
        assert_eq!(ids(None, 100), [id(3), id(2), id(1), id(0)]);
        assert_eq!(ids(None, 2), [id(3), id(2)]);
        assert_eq!(ids(Some(RemediationState::Held), 100), [id(3), id(1)]);
        assert_eq!(ids(Some(RemediationState::Failed), 100), []);
    }

    #[test]
    fn a_bad_state_lists_the_valid_ones_and_quotes_little() {
        assert_eq!(state_filter("").unwrap(), None);
        assert_eq!(state_filter(" ").unwrap(), None);
        assert_eq!(state_filter("held").unwrap(), Some(RemediationState::Held));
        let DomainError::InvalidArgument(v) = state_filter(&"x".repeat(200)).unwrap_err() else {
            panic!("not INVALID_ARGUMENT");
        };
        assert_eq!(v[0].field, "state");
        for s in RemediationState::ALL {
            assert!(
                v[0].description.contains(s.as_str()),
                "{}",
                v[0].description
            );
        }
        assert!(!v[0].description.contains(&"x".repeat(65)));
    }

    #[test]
    fn a_malformed_id_names_the_field() {
        let id = RemediationId::generate();
        assert_eq!(remediation_id(&id.to_string()).unwrap(), id);
        for bad in ["", "cl-01jd0000000000000000000000", "rem-nope"] {
            let DomainError::InvalidArgument(v) = remediation_id(bad).unwrap_err() else {
                panic!("not INVALID_ARGUMENT");
            };
            assert_eq!(v[0].field, "id");
            assert!(v[0].description.contains("is not a remediation id"));
        }
    }
}
