//! network-firewall end to end: a cluster's required rules follow it into the simulated VPC
//! firewall; the customer's deny-all rule is accepted with warnings naming the required flows
//! it cannot touch and leaves every node Ready; drift (a required rule removed behind the
//! service's back) is repaired with an event; a required rule is not the customer's to delete;
//! deleting the cluster removes its rule set.

use std::time::Duration;

use accord_core::{
    events::DomainEvent as _, firewall::FirewallEvent, ids::ClusterId, node::NodeState,
};
use accord_e2e::{Env, GPU_INSTANCE, cluster_id, cluster_request, kind, pool_request, wait_for};
use accord_proto::{firewall::v1 as fpb, provisioner::v1 as pb};
use serde_json::json;

/// The `firewall.*` events about `cluster` so far.
async fn firewall_events(env: &Env, cluster: &str) -> Vec<FirewallEvent> {
    env.events()
        .await
        .unwrap()
        .into_iter()
        .filter(|e| kind(e).starts_with("firewall."))
        .filter_map(|e| e.decode_data::<FirewallEvent>().ok())
        .filter(|e| e.resource_id() == cluster)
        .collect()
}

/// Waits until the VPC firewall holds the rule set's current revision; returns the listing.
async fn applied(env: &Env, cluster: &str) -> fpb::ListFirewallRulesResponse {
    let client = env.firewall(&env.admin_token).unwrap();
    wait_for("the rule set applied", || {
        let mut client = client.clone();
        let cluster = cluster.to_owned();
        async move {
            let listing = client
                .list_firewall_rules(fpb::ListFirewallRulesRequest {
                    project: String::new(),
                    cluster,
                })
                .await
                .map_err(|s| format!("{:?}: {}", s.code(), s.message()))?
                .into_inner();
            let status = listing.status.clone().unwrap_or_default();
            if status.state == "applied" && status.applied_revision == status.revision {
                Ok(listing)
            } else {
                Err(format!("{status:?}"))
            }
        }
    })
    .await
    .unwrap()
}

fn nodes_ready(env: &Env, cluster: &str) -> Vec<NodeState> {
    let id: ClusterId = cluster.parse().unwrap();
    let reader = env.provisioner.reader();
    let mut states = Vec::new();
    for pool in reader.pools(id).unwrap() {
        for n in reader.nodes(pool.metadata.id).unwrap() {
            states.push(n.status.state);
        }
    }
    states
}

/// Deletes every pool of `cluster`, waits until they are gone, then deletes the cluster.
async fn delete_cluster(env: &Env, admin: &accord_e2e::Api, cluster: &str) {
    let pools = admin
        .node_pools
        .clone()
        .list_node_pools(pb::ListNodePoolsRequest {
            cluster: cluster.to_owned(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    for p in pools.node_pools {
        admin
            .node_pools
            .clone()
            .delete_node_pool(pb::DeleteNodePoolRequest {
                cluster: cluster.to_owned(),
                node_pool: p.metadata.unwrap().id,
                ..Default::default()
            })
            .await
            .unwrap();
    }
    let id: ClusterId = cluster.parse().unwrap();
    wait_for("the pools gone", || async {
        let n = env.provisioner.reader().pools(id).unwrap().len();
        if n == 0 {
            Ok(())
        } else {
            Err(format!("{n} pools"))
        }
    })
    .await
    .unwrap();
    admin
        .clusters
        .clone()
        .delete_cluster(pb::DeleteClusterRequest {
            cluster: cluster.to_owned(),
            ..Default::default()
        })
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn required_rules_follow_the_cluster_and_no_customer_rule_can_cut_them() {
    let mut env = Env::start().await.unwrap();
    env.start_network_firewall(Duration::from_millis(500), None)
        .await
        .unwrap();
    let admin = env.admin().unwrap();
    // A cluster on Geneve with WireGuard: its required rules follow its datapath.
    let mut req = cluster_request("walled", "");
    req.spec.as_mut().unwrap().cni = Some(pb::CniSettings {
        tunnel: "geneve".into(),
        wireguard: true,
        hubble: false,
    });
    let created = admin
        .clusters
        .clone()
        .create_cluster(req)
        .await
        .unwrap()
        .into_inner();
    let id = cluster_id(&created).unwrap();
    env.wait_cluster(&admin, &id, "cluster running", accord_e2e::is_running)
        .await
        .unwrap();
    admin
        .node_pools
        .clone()
        .create_node_pool(pool_request(&id, "gpu", GPU_INSTANCE, 2, ""))
        .await
        .unwrap();
    env.wait_pool(&admin, &id, "gpu", "pool ready", |p| {
        p.status.as_ref().is_some_and(|s| s.ready_nodes == 2)
    })
    .await
    .unwrap();

    // The required tier, each rule with its flow, in the VPC firewall.
    let listing = applied(&env, &id).await;
    let flows: Vec<&str> = listing
        .rules
        .iter()
        .filter(|r| r.tier == "provider")
        .map(|r| r.flow.as_str())
        .collect();
    for flow in [
        "kubelet",
        "api-server",
        "nodeports",
        "cni-geneve",
        "wireguard",
    ] {
        assert!(
            flows.iter().any(|f| f.contains(flow)),
            "{flow} missing: {flows:?}"
        );
    }
    assert!(!flows.iter().any(|f| f.contains("vxlan")), "{flows:?}");
    let vpc = env.vpc().unwrap();
    let cluster: ClusterId = id.parse().unwrap();
    use accord_firewall::driver::NetworkDriver as _;
    let held = vpc.firewall(cluster).await.unwrap().unwrap();
    assert!(
        held.required.iter().any(|r| r.contains("kubelet")),
        "{held:?}"
    );
    assert_eq!(held.network.pools.len(), 1, "the pool is in the rule set");
    let events = firewall_events(&env, &id).await;
    assert!(
        matches!(events.first(), Some(FirewallEvent::Created { .. })),
        "{events:?}"
    );
    assert!(
        events
            .iter()
            .any(|e| matches!(e, FirewallEvent::RequiredRulesUpdated { reason, .. } if reason.contains("gpu"))),
        "{events:?}"
    );

    // The customer locks the nodes down: accepted, with warnings naming the required flows.
    let mut fw = env.firewall(&env.admin_token).unwrap();
    let created = fw
        .create_firewall_rule(fpb::CreateFirewallRuleRequest {
            cluster: id.clone(),
            name: "lockdown".into(),
            priority: 0,
            direction: "ingress".into(),
            action: "deny".into(),
            protocol: "any".into(),
            sources: vec!["0.0.0.0/0".into()],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let warnings: Vec<&str> = created
        .warnings
        .iter()
        .map(|w| w.message.as_str())
        .collect();
    assert!(
        created
            .warnings
            .iter()
            .any(|w| w.kind == "provider-override" && w.message.contains("kubelet")),
        "{warnings:?}"
    );
    applied(&env, &id).await;
    assert!(
        nodes_ready(&env, &id)
            .iter()
            .all(|s| *s == NodeState::Ready),
        "{:?}",
        nodes_ready(&env, &id)
    );

    // Bad input names its field.
    let bad = fw
        .create_firewall_rule(fpb::CreateFirewallRuleRequest {
            cluster: id.clone(),
            name: "web".into(),
            priority: 70_000,
            direction: "ingress".into(),
            action: "allow".into(),
            protocol: "tcp".into(),
            ports: vec!["443".into()],
            sources: vec!["10.0.0.1/8".into()],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(bad.code(), tonic::Code::InvalidArgument, "{bad:?}");
    assert!(bad.message().contains("priority"), "{}", bad.message());

    // A required rule is the provider's.
    let kubelet = listing
        .rules
        .iter()
        .find(|r| r.flow.contains("kubelet"))
        .unwrap()
        .name
        .clone();
    let denied = fw
        .delete_firewall_rule(fpb::DeleteFirewallRuleRequest {
            cluster: id.clone(),
            name: kubelet,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(denied.code(), tonic::Code::PermissionDenied, "{denied:?}");
    assert!(
        denied.message().contains("Networking"),
        "{}",
        denied.message()
    );

    // Drift: a required rule disappears behind the service's back; it is put back.
    env.fault(json!({"kind": "firewall-drift", "cluster": id}))
        .await
        .unwrap();
    wait_for("the drift repaired", || async {
        let events = firewall_events(&env, &id).await;
        events
            .iter()
            .find_map(|e| match e {
                FirewallEvent::DriftRepaired { missing, .. } if !missing.is_empty() => {
                    Some(missing.clone())
                }
                _ => None,
            })
            .ok_or_else(|| format!("{} firewall events", events.len()))
    })
    .await
    .unwrap();
    wait_for("every node Ready again", || async {
        let states = nodes_ready(&env, &id);
        if states.iter().all(|s| *s == NodeState::Ready) {
            Ok(())
        } else {
            Err(format!("{states:?}"))
        }
    })
    .await
    .unwrap();

    // Deleting the cluster removes its rule set.
    delete_cluster(&env, &admin, &id).await;
    wait_for("the rule set removed", || async {
        let events = firewall_events(&env, &id).await;
        if events
            .iter()
            .any(|e| matches!(e, FirewallEvent::Deleted { .. }))
        {
            Ok(())
        } else {
            Err(format!("{} events", events.len()))
        }
    })
    .await
    .unwrap();
    assert_eq!(vpc.firewall(cluster).await.unwrap(), None);
}

/// Waits for the load balancer `name` of `cluster` to satisfy `ok`.
async fn load_balancer(
    env: &Env,
    cluster: &str,
    name: &str,
    what: &str,
    ok: impl Fn(&fpb::LoadBalancer) -> bool,
) -> fpb::LoadBalancer {
    let client = env.firewall(&env.admin_token).unwrap();
    let ok = &ok;
    wait_for(what, || {
        let mut client = client.clone();
        let (cluster, name) = (cluster.to_owned(), name.to_owned());
        async move {
            let lbs = client
                .list_load_balancers(fpb::ListLoadBalancersRequest {
                    project: String::new(),
                    cluster,
                })
                .await
                .map_err(|s| format!("{:?}: {}", s.code(), s.message()))?
                .into_inner()
                .load_balancers;
            match lbs.into_iter().find(|l| l.name == name) {
                Some(lb) if ok(&lb) => Ok(lb),
                other => Err(format!("{other:?}")),
            }
        }
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_load_balancer_gets_an_address_backends_that_follow_the_pool_and_its_rule() {
    let mut env = Env::start().await.unwrap();
    env.start_network_firewall(Duration::from_millis(500), None)
        .await
        .unwrap();
    let admin = env.admin().unwrap();
    let created = admin
        .clusters
        .clone()
        .create_cluster(cluster_request("served", ""))
        .await
        .unwrap()
        .into_inner();
    let id = cluster_id(&created).unwrap();
    env.wait_cluster(&admin, &id, "cluster running", accord_e2e::is_running)
        .await
        .unwrap();
    let pool = admin
        .node_pools
        .clone()
        .create_node_pool(pool_request(&id, "web", GPU_INSTANCE, 2, ""))
        .await
        .unwrap()
        .into_inner();
    let pool_id = pool.metadata.unwrap().id;
    env.wait_pool(&admin, &id, "web", "pool ready", |p| {
        p.status.as_ref().is_some_and(|s| s.ready_nodes == 2)
    })
    .await
    .unwrap();

    let mut fw = env.firewall(&env.admin_token).unwrap();
    let lb = fw
        .create_load_balancer(fpb::CreateLoadBalancerRequest {
            cluster: id.clone(),
            name: "web".into(),
            ports: vec![fpb::LoadBalancerPort {
                port: 443,
                protocol: "tcp".into(),
                node_port: 30443,
            }],
            source_ranges: vec!["203.0.113.0/24".into()],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(lb.state, "provisioning");
    assert_eq!(lb.firewall_rule, "accord-lb-web");
    // Same name again: refused; a port outside the NodePort range: named.
    let again = fw
        .create_load_balancer(fpb::CreateLoadBalancerRequest {
            cluster: id.clone(),
            name: "web".into(),
            ports: vec![fpb::LoadBalancerPort {
                port: 80,
                protocol: "tcp".into(),
                node_port: 8080,
            }],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(again.code(), tonic::Code::InvalidArgument, "{again:?}");
    assert!(again.message().contains("node_port"), "{}", again.message());

    let active = load_balancer(
        &env,
        &id,
        "web",
        "the load balancer active and healthy",
        |l| {
            l.state == "active"
                && !l.address.is_empty()
                && l.backends.len() == 2
                && l.backends.iter().all(|b| b.healthy)
        },
    )
    .await;
    assert!(active.address.starts_with("198.51.100."), "{active:?}");
    // Its rule is in the VPC firewall, in the provider tier.
    let vpc = env.vpc().unwrap();
    let cluster: ClusterId = id.parse().unwrap();
    use accord_firewall::driver::NetworkDriver as _;
    let held = vpc.firewall(cluster).await.unwrap().unwrap();
    assert!(
        held.load_balancers
            .iter()
            .any(|l| l.name == "web" && l.node_ports == [30443]),
        "{held:?}"
    );
    // …and listed with the required rules, for the flow it serves.
    let listing = fw
        .list_firewall_rules(fpb::ListFirewallRulesRequest {
            project: String::new(),
            cluster: id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(
        listing.rules.iter().any(|r| r.name == "accord-lb-web"
            && r.tier == "provider"
            && r.flow == "load-balancer"),
        "{:?}",
        listing.rules
    );

    // The backends follow the pool.
    admin
        .node_pools
        .clone()
        .scale_node_pool(pb::ScaleNodePoolRequest {
            cluster: id.clone(),
            node_pool: pool_id.clone(),
            count: 3,
            ..Default::default()
        })
        .await
        .unwrap();
    load_balancer(&env, &id, "web", "three backends", |l| {
        l.backends.len() == 3
    })
    .await;
    let events: Vec<String> = env
        .events()
        .await
        .unwrap()
        .iter()
        .map(kind)
        .filter(|k| k.starts_with("loadbalancer."))
        .collect();
    for k in [
        "loadbalancer.created",
        "loadbalancer.address-assigned",
        "loadbalancer.backends-changed",
    ] {
        assert!(events.iter().any(|e| e == k), "{k} missing: {events:?}");
    }

    // Deleting it releases the address and removes its rule.
    fw.delete_load_balancer(fpb::DeleteLoadBalancerRequest {
        cluster: id.clone(),
        name: "web".into(),
        ..Default::default()
    })
    .await
    .unwrap();
    wait_for("the load balancer gone", || async {
        let lbs = vpc
            .load_balancers(cluster)
            .await
            .map_err(|e| e.to_string())?;
        let held = vpc
            .firewall(cluster)
            .await
            .map_err(|e| e.to_string())?
            .unwrap_or_else(|| panic!("the rule set is gone"));
        if lbs.is_empty() && held.load_balancers.is_empty() {
            Ok(())
        } else {
            Err(format!("{lbs:?} {:?}", held.load_balancers))
        }
    })
    .await
    .unwrap();
    let listing = env.firewall(&env.admin_token).unwrap();
    wait_for("the load balancer unlisted", || {
        let mut listing = listing.clone();
        let cluster = id.clone();
        async move {
            let lbs = listing
                .list_load_balancers(fpb::ListLoadBalancersRequest {
                    project: String::new(),
                    cluster,
                })
                .await
                .map_err(|s| s.message().to_owned())?
                .into_inner()
                .load_balancers;
            if lbs.is_empty() {
                Ok(())
            } else {
                Err(format!("{lbs:?}"))
            }
        }
    })
    .await
    .unwrap();
    let missing = fw
        .delete_load_balancer(fpb::DeleteLoadBalancerRequest {
            cluster: id.clone(),
            name: "web".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(missing.code(), tonic::Code::NotFound, "{missing:?}");

    // Deleting the cluster takes its load balancers, their addresses and rules with it.
    fw.create_load_balancer(fpb::CreateLoadBalancerRequest {
        cluster: id.clone(),
        name: "keep".into(),
        ports: vec![fpb::LoadBalancerPort {
            port: 80,
            protocol: "tcp".into(),
            node_port: 30080,
        }],
        ..Default::default()
    })
    .await
    .unwrap();
    load_balancer(&env, &id, "keep", "the second load balancer active", |l| {
        l.state == "active"
    })
    .await;
    delete_cluster(&env, &admin, &id).await;
    wait_for("everything of the cluster gone from the cloud", || async {
        let lbs = vpc
            .load_balancers(cluster)
            .await
            .map_err(|e| e.to_string())?;
        let held = vpc.firewall(cluster).await.map_err(|e| e.to_string())?;
        if lbs.is_empty() && held.is_none() {
            Ok(())
        } else {
            Err(format!("{lbs:?} {held:?}"))
        }
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_applies_are_retried_visibly_and_a_restart_reapplies_nothing() {
    let mut env = Env::start().await.unwrap();
    let store = accord_store::Store::temporary().unwrap();
    env.start_network_firewall(Duration::from_millis(300), Some(store.clone()))
        .await
        .unwrap();
    let admin = env.admin().unwrap();
    let created = admin
        .clusters
        .clone()
        .create_cluster(cluster_request("flaky", ""))
        .await
        .unwrap()
        .into_inner();
    let id = cluster_id(&created).unwrap();
    env.wait_cluster(&admin, &id, "cluster running", accord_e2e::is_running)
        .await
        .unwrap();
    applied(&env, &id).await;

    // The VPC refuses the next two applies: the state says so, then the rule lands.
    env.fault(json!({"kind": "fail-next-firewall-applies", "count": 2}))
        .await
        .unwrap();
    let mut fw = env.firewall(&env.admin_token).unwrap();
    fw.create_firewall_rule(fpb::CreateFirewallRuleRequest {
        cluster: id.clone(),
        name: "https".into(),
        priority: 100,
        direction: "ingress".into(),
        action: "allow".into(),
        protocol: "tcp".into(),
        ports: vec!["443".into()],
        sources: vec!["0.0.0.0/0".into()],
        ..Default::default()
    })
    .await
    .unwrap();
    let listing = applied(&env, &id).await;
    assert!(listing.rules.iter().any(|r| r.name == "https"));
    let failures: Vec<u32> = firewall_events(&env, &id)
        .await
        .into_iter()
        .filter_map(|e| match e {
            FirewallEvent::ApplyFailed { attempts, .. } => Some(attempts),
            _ => None,
        })
        .collect();
    assert_eq!(failures, [1, 2], "two failed attempts, counted");

    // A restart on the same store finds the VPC in step: nothing is applied again. (First
    // every event of the running service is on the stream.)
    let current = listing.status.clone().unwrap_or_default().revision;
    let before = wait_for("the last apply on the stream", || async {
        let events = firewall_events(&env, &id).await;
        match events.last() {
            Some(FirewallEvent::Applied { revision, .. }) if *revision == current => {
                Ok(events.len())
            }
            last => Err(format!("{last:?}")),
        }
    })
    .await
    .unwrap();
    env.stop_last();
    env.start_network_firewall(Duration::from_millis(300), Some(store))
        .await
        .unwrap();
    // The next change is all that happens: its rule and one apply, no second apply of the
    // revision the VPC already held.
    let mut fw = env.firewall(&env.admin_token).unwrap();
    fw.create_firewall_rule(fpb::CreateFirewallRuleRequest {
        cluster: id.clone(),
        name: "ssh".into(),
        priority: 200,
        direction: "ingress".into(),
        action: "deny".into(),
        protocol: "tcp".into(),
        ports: vec!["22".into()],
        sources: vec!["0.0.0.0/0".into()],
        ..Default::default()
    })
    .await
    .unwrap();
    let listing = applied(&env, &id).await;
    let revision = listing.status.unwrap().revision;
    let after = firewall_events(&env, &id).await;
    assert!(
        matches!(
            &after[before..],
            [FirewallEvent::RuleCreated { rule, .. }, FirewallEvent::Applied { revision: r, .. }]
                if rule == "ssh" && *r == revision
        ),
        "events after the restart: {:?}",
        &after[before..]
    );
}
