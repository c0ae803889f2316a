//! Finding resources the API cannot fetch in one call: node pools and nodes when no `--cluster`
//! is given (searched across every cluster), members and API keys by name, and the names that go
//! with ids in tables.
//!
//! Invariant: a name that matches in several clusters is an error listing them — the CLI never
//! picks one silently.

use std::collections::HashMap;

use accord_proto::provisioner::v1 as pb;
use anyhow::bail;

use crate::client::{Api, ApiError};

fn meta_name(meta: Option<&pb::ObjectMeta>) -> &str {
    meta.map(|m| m.name.as_str()).unwrap_or_default()
}

fn meta_id(meta: Option<&pb::ObjectMeta>) -> &str {
    meta.map(|m| m.id.as_str()).unwrap_or_default()
}

/// Whether `query` is the resource's name or id.
pub fn matches(meta: Option<&pb::ObjectMeta>, query: &str) -> bool {
    meta_name(meta) == query || meta_id(meta) == query
}

/// Every cluster of the project.
pub async fn clusters(api: &Api) -> Result<Vec<pb::Cluster>, ApiError> {
    let response = api
        .call(api.clusters().list_clusters(pb::ListClustersRequest {
            project: api.project(),
        }))
        .await?;
    Ok(response.clusters)
}

/// The project the command works in (`--project`, else the API key's own).
pub async fn project(api: &Api) -> Result<pb::Project, ApiError> {
    api.call(api.projects().get_project(pb::GetProjectRequest {
        project: api.project(),
    }))
    .await
}

/// One cluster.
pub async fn cluster(api: &Api, cluster: &str) -> Result<pb::Cluster, ApiError> {
    api.call(api.clusters().get_cluster(pb::GetClusterRequest {
        project: api.project(),
        cluster: cluster.to_owned(),
    }))
    .await
}

/// The pools of one cluster.
pub async fn pools_of(api: &Api, cluster: &str) -> Result<Vec<pb::NodePool>, ApiError> {
    let response = api
        .call(api.node_pools().list_node_pools(pb::ListNodePoolsRequest {
            project: api.project(),
            cluster: cluster.to_owned(),
        }))
        .await?;
    Ok(response.node_pools)
}

/// A node pool with the name of its cluster (when it was found by searching).
#[derive(Debug, Clone, PartialEq)]
pub struct FoundPool {
    /// The pool.
    pub pool: pb::NodePool,
    /// Its cluster's name, when known.
    pub cluster: Option<String>,
}

/// The pools of `cluster`, or of every cluster (then with the cluster's name).
pub async fn pools(api: &Api, cluster: Option<&str>) -> Result<Vec<FoundPool>, ApiError> {
    if let Some(cluster) = cluster {
        return Ok(pools_of(api, cluster)
            .await?
            .into_iter()
            .map(|pool| FoundPool {
                pool,
                cluster: None,
            })
            .collect());
    }
    let mut found = Vec::new();
    for c in clusters(api).await? {
        let name = meta_name(c.metadata.as_ref()).to_owned();
        let id = meta_id(c.metadata.as_ref()).to_owned();
        match pools_of(api, &id).await {
            Ok(pools) => found.extend(pools.into_iter().map(|pool| FoundPool {
                pool,
                cluster: Some(name.clone()),
            })),
            // Deleted between the two calls.
            Err(error) if error.is_not_found() => {}
            Err(error) => return Err(error),
        }
    }
    Ok(found)
}

/// One node pool: fetched from `cluster`, or searched for in every cluster.
pub async fn find_pool(api: &Api, name: &str, cluster: Option<&str>) -> anyhow::Result<FoundPool> {
    if let Some(cluster) = cluster {
        let pool = api
            .call(api.node_pools().get_node_pool(pb::GetNodePoolRequest {
                project: api.project(),
                cluster: cluster.to_owned(),
                node_pool: name.to_owned(),
            }))
            .await?;
        return Ok(FoundPool {
            pool,
            cluster: None,
        });
    }
    let mut found: Vec<FoundPool> = pools(api, None)
        .await?
        .into_iter()
        .filter(|f| matches(f.pool.metadata.as_ref(), name))
        .collect();
    match found.len() {
        0 => Err(ApiError::not_found(format!("node pool {name} not found in any cluster")).into()),
        1 => Ok(found.remove(0)),
        _ => bail!(
            "node pool {name} exists in several clusters ({}): pass --cluster",
            found
                .iter()
                .map(|f| f.cluster.clone().unwrap_or_default())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Pool id → pool name for one cluster; empty when the pools cannot be listed (the names are a
/// convenience, not worth failing the command for).
pub async fn pool_names(api: &Api, cluster: &str) -> HashMap<String, String> {
    pools_of(api, cluster)
        .await
        .map(|pools| {
            pools
                .into_iter()
                .filter_map(|p| p.metadata.map(|m| (m.id, m.name)))
                .collect()
        })
        .unwrap_or_default()
}

/// A node with the names of its pool and (when found by searching) its cluster.
#[derive(Debug, Clone, PartialEq)]
pub struct FoundNode {
    /// The node.
    pub node: pb::Node,
    /// Its pool's name, when known.
    pub pool: Option<String>,
    /// Its cluster's name, when it was found by searching.
    pub cluster: Option<String>,
}

async fn nodes_of(api: &Api, cluster: &str, pool: Option<&str>) -> Result<Vec<pb::Node>, ApiError> {
    let response = api
        .call(api.nodes().list_nodes(pb::ListNodesRequest {
            project: api.project(),
            cluster: cluster.to_owned(),
            node_pool: pool.unwrap_or_default().to_owned(),
        }))
        .await?;
    Ok(response.nodes)
}

fn with_pool_names(
    nodes: Vec<pb::Node>,
    names: &HashMap<String, String>,
    cluster: Option<&str>,
) -> Vec<FoundNode> {
    nodes
        .into_iter()
        .map(|node| {
            let pool_id = node
                .spec
                .as_ref()
                .map(|s| s.node_pool_id.as_str())
                .unwrap_or_default();
            FoundNode {
                pool: names.get(pool_id).cloned(),
                cluster: cluster.map(str::to_owned),
                node,
            }
        })
        .collect()
}

/// The nodes of `cluster` (optionally of one pool), or of every cluster. With a pool but no
/// cluster, the pool is looked up first.
pub async fn nodes(
    api: &Api,
    cluster: Option<&str>,
    pool: Option<&str>,
) -> anyhow::Result<Vec<FoundNode>> {
    if let Some(cluster) = cluster {
        let names = pool_names(api, cluster).await;
        return Ok(with_pool_names(
            nodes_of(api, cluster, pool).await?,
            &names,
            None,
        ));
    }
    if let Some(pool) = pool {
        let found = find_pool(api, pool, None).await?;
        let cluster_id = found
            .pool
            .spec
            .as_ref()
            .map(|s| s.cluster_id.clone())
            .unwrap_or_default();
        let names = pool_names(api, &cluster_id).await;
        return Ok(with_pool_names(
            nodes_of(api, &cluster_id, Some(pool)).await?,
            &names,
            found.cluster.as_deref(),
        ));
    }
    let mut found = Vec::new();
    for c in clusters(api).await? {
        let name = meta_name(c.metadata.as_ref()).to_owned();
        let id = meta_id(c.metadata.as_ref()).to_owned();
        let names = pool_names(api, &id).await;
        match nodes_of(api, &id, None).await {
            Ok(nodes) => found.extend(with_pool_names(nodes, &names, Some(&name))),
            Err(error) if error.is_not_found() => {}
            Err(error) => return Err(error.into()),
        }
    }
    Ok(found)
}

/// One node: fetched from `cluster`, or searched for in every cluster.
pub async fn find_node(api: &Api, name: &str, cluster: Option<&str>) -> anyhow::Result<FoundNode> {
    if let Some(cluster) = cluster {
        let node = api
            .call(api.nodes().get_node(pb::GetNodeRequest {
                project: api.project(),
                cluster: cluster.to_owned(),
                node: name.to_owned(),
            }))
            .await?;
        let names = pool_names(api, cluster).await;
        let mut found = with_pool_names(vec![node], &names, None);
        return Ok(found.remove(0));
    }
    let mut found: Vec<FoundNode> = nodes(api, None, None)
        .await?
        .into_iter()
        .filter(|f| matches(f.node.metadata.as_ref(), name))
        .collect();
    match found.len() {
        0 => Err(ApiError::not_found(format!("node {name} not found in any cluster")).into()),
        1 => Ok(found.remove(0)),
        _ => bail!(
            "node {name} exists in several clusters ({}): pass --cluster",
            found
                .iter()
                .map(|f| f.cluster.clone().unwrap_or_default())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Members of the project.
pub async fn members(api: &Api) -> Result<Vec<pb::Member>, ApiError> {
    let response = api
        .call(api.projects().list_members(pb::ListMembersRequest {
            project: api.project(),
        }))
        .await?;
    Ok(response.members)
}

/// One member, by user name or user id.
pub async fn find_member(api: &Api, user: &str) -> anyhow::Result<pb::Member> {
    members(api)
        .await?
        .into_iter()
        .find(|m| m.user == user || m.user_id == user)
        .ok_or_else(|| ApiError::not_found(format!("{user} is not a member of the project")).into())
}

/// API keys of the project.
pub async fn api_keys(api: &Api) -> Result<Vec<pb::ApiKey>, ApiError> {
    let response = api
        .call(api.projects().list_api_keys(pb::ListApiKeysRequest {
            project: api.project(),
        }))
        .await?;
    Ok(response.keys)
}

/// Picks the key `query` names: by id, else by name (active keys first).
pub fn pick_api_key(keys: Vec<pb::ApiKey>, query: &str) -> anyhow::Result<pb::ApiKey> {
    if let Some(key) = keys.iter().find(|k| k.id == query) {
        return Ok(key.clone());
    }
    let named: Vec<pb::ApiKey> = keys.into_iter().filter(|k| k.name == query).collect();
    let active: Vec<&pb::ApiKey> = named.iter().filter(|k| !k.revoked).collect();
    match (active.as_slice(), named.as_slice()) {
        ([key], _) => Ok((*key).clone()),
        ([], [key]) => Ok(key.clone()),
        ([], []) => Err(ApiError::not_found(format!("API key {query} not found")).into()),
        _ => bail!(
            "several API keys are named {query} ({}): use the id",
            named
                .iter()
                .map(|k| k.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures;

    #[test]
    fn api_key_selection() {
        let mut old = fixtures::api_key("ci");
        old.id = "ak-old".into();
        old.revoked = true;
        let mut new = fixtures::api_key("ci");
        new.id = "ak-new".into();
        let keys = vec![old.clone(), new.clone()];
        assert_eq!(pick_api_key(keys.clone(), "ci").unwrap().id, "ak-new");
        assert_eq!(pick_api_key(keys.clone(), "ak-old").unwrap().id, "ak-old");
        assert_eq!(pick_api_key(vec![old], "ci").unwrap().id, "ak-old");
        let err = pick_api_key(keys.clone(), "nope").unwrap_err();
        assert_eq!(err.to_string(), "NOT_FOUND: API key nope not found");
        let mut twin = new.clone();
        twin.id = "ak-twin".into();
        let err = pick_api_key(vec![new, twin], "ci").unwrap_err().to_string();
        assert!(err.contains("ak-new, ak-twin"), "{err}");
    }
}
