//! Plugin pushes go through the addon-manager's `accord.addons.v1.Plugins` API: only the
//! provider may push or list; a component is compiled and checked before it is stored; what is
//! stored reaches the running catalogue through the bucket watch.

use accord_e2e::{Bearer, Env, wait_for};
use accord_proto::addons::v1::{self as apb, plugins_client::PluginsClient};
use tonic::Code;

type Client = PluginsClient<accord_e2e::AuthChannel>;

fn plugins(env: &Env, token: &str) -> Client {
    PluginsClient::with_interceptor(env.addons_channel().unwrap(), Bearer::new(token).unwrap())
}

fn component(file: &str) -> Vec<u8> {
    std::fs::read(accord_e2e::plugin_dir().join(file)).unwrap()
}

fn push(kind: apb::PluginKind, component: Vec<u8>) -> apb::PushPluginRequest {
    apb::PushPluginRequest {
        kind: kind.into(),
        component,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_provider_pushes_and_a_push_is_checked_before_it_is_stored() {
    let mut env = Env::start().await.unwrap();
    let manager = env.start_addon_manager().await.unwrap();
    let operator = plugins(&env, &env.operator_token);
    let customer = plugins(&env, &env.admin_token);
    let noop = component("noop_addon.wasm");

    // Customers (even a project Admin) and anonymous callers cannot push or list.
    let err = customer
        .clone()
        .push_plugin(push(apb::PluginKind::Addon, noop.clone()))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");
    let err = customer
        .clone()
        .list_plugins(apb::ListPluginsRequest {})
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");
    let err = PluginsClient::new(env.addons_channel().unwrap())
        .push_plugin(push(apb::PluginKind::Addon, noop.clone()))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated, "{err:?}");

    // The wrong world, garbage and a missing kind are refused and nothing is stored.
    let err = operator
        .clone()
        .push_plugin(push(apb::PluginKind::RemediationPolicy, noop.clone()))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
    assert!(err.message().contains("component"), "{err:?}");
    let err = operator
        .clone()
        .push_plugin(push(apb::PluginKind::Addon, b"\0asm not really".to_vec()))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
    let err = operator
        .clone()
        .push_plugin(push(apb::PluginKind::Unspecified, noop.clone()))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
    assert!(err.message().contains("kind"), "{err:?}");
    // Over the push limit: refused by size, before anything is compiled.
    let err = operator
        .clone()
        .push_plugin(push(
            apb::PluginKind::Addon,
            vec![0; accord_core::limits::MAX_PLUGIN_BYTES + 1],
        ))
        .await
        .unwrap_err();
    assert!(
        matches!(err.code(), Code::InvalidArgument | Code::ResourceExhausted),
        "{err:?}"
    );
    let listed = operator
        .clone()
        .list_plugins(apb::ListPluginsRequest {})
        .await
        .unwrap()
        .into_inner();
    assert!(listed.plugins.is_empty(), "{listed:?}");

    // The provider's push is stored under the plugin's own name and becomes available to
    // every project without a restart.
    let pushed = operator
        .clone()
        .push_plugin(push(apb::PluginKind::Addon, noop.clone()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(pushed.name, "addon.noop-addon");
    assert_eq!(pushed.kind, i32::from(apb::PluginKind::Addon));
    assert_eq!(pushed.size, noop.len() as u64);
    assert_eq!(pushed.digest.len(), 64);
    let listed = operator
        .clone()
        .list_plugins(apb::ListPluginsRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.plugins, vec![pushed.clone()]);
    let policy = operator
        .clone()
        .push_plugin(push(
            apb::PluginKind::RemediationPolicy,
            component("gpu_remediation.wasm"),
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(policy.name, "policy.gpu-remediation");

    wait_for("the pushed add-on in the catalogue", || async {
        manager
            .catalog()
            .addon("noop-addon")
            .map(|p| p.digest().to_owned())
            .map_err(|e| e.to_string())
    })
    .await
    .map(|digest| assert_eq!(digest, pushed.digest))
    .unwrap();
    let available = env
        .addons(&env.admin_token)
        .unwrap()
        .list_available_addons(apb::ListAvailableAddonsRequest {})
        .await
        .unwrap()
        .into_inner()
        .addons;
    assert!(
        available.iter().any(|a| a.name == "noop-addon"),
        "{available:?}"
    );
}
