# The shipped gpu-remediation policy (plugins/policies/gpu-remediation/src/logic.rs) written in
# Rego, for the benchmark that compares the WASM component with regorus (Rust OPA). Same
# catalogue, same ladder, same safety rules in the same order; it answers the action, the
# responsibility and the rule that fired (the start of the component's reason). The bench
# checks that both answer the same action and responsibility for every input before timing.
#
# input: {"finding": {kind, xid, gpu, port, state, minutes, temp_c, signal, severity},
#         "context": {remediation_allowed, xid_count_24h, remediations_7d, in_flight_in_pool,
#                     max_in_flight_per_pool, unhealthy_in_cluster, cluster_size,
#                     max_unhealthy_percent, mig, in_maintenance_window, ...}}
# Absent optional fields are null.
package accord.gpu_remediation

import rego.v1

escalate_app_xid_repeats := 3

repeat_xid_occurrences := 2

repeat_node_remediations := 1

escalate_xid_repeats := 5

escalate_node_remediations := 5

not_ready_grace_minutes := 10

# The XIDs the policy knows; any other XID is escalated.
catalogue := {
	13: {"meaning": "graphics engine exception", "class": "application", "escalate_on_repeat": true},
	31: {"meaning": "GPU memory page fault", "class": "application", "escalate_on_repeat": true},
	43: {"meaning": "GPU stopped processing", "class": "application", "escalate_on_repeat": false},
	45: {"meaning": "preemptive cleanup", "class": "follow-other"},
	46: {"meaning": "GPU timeout", "class": "reset"},
	48: {"meaning": "double-bit ECC error", "class": "reset-then-replace"},
	62: {"meaning": "internal micro-controller halt", "class": "reset"},
	63: {"meaning": "row remap recorded", "class": "reset-in-window", "now": "none", "now_responsibility": "supported"},
	64: {"meaning": "row remap failure", "class": "reset-then-replace"},
	74: {"meaning": "NVLink error", "class": "reset-then-replace"},
	79: {"meaning": "GPU fell off the bus", "class": "power-cycle"},
	92: {"meaning": "high single-bit ECC rate", "class": "monitor"},
	94: {"meaning": "contained ECC error", "class": "reset-in-window", "now": "notify-customer", "now_responsibility": "customer-owned"},
	95: {"meaning": "uncontained ECC error", "class": "uncontained-ecc"},
	109: {"meaning": "context-switch timeout", "class": "reset"},
	119: {"meaning": "GSP RPC timeout", "class": "driver-reset"},
	120: {"meaning": "GSP error", "class": "driver-reset"},
	136: {"meaning": "link training failure", "class": "reset"},
	140: {"meaning": "unrecoverable ECC escape", "class": "reset"},
	143: {"meaning": "GPU initialization failure", "class": "reset"},
	155: {"meaning": "NVLink software error", "class": "reset"},
}

touches_node := {"reset-gpu", "reboot-node", "replace-node"}

counted_per_gpu := {"gpu-xid", "gpu-ecc", "gpu-row-remap", "gpu-nvlink", "gpu-pcie"}

f := input.finding

ctx := input.context

repeated if ctx.xid_count_24h >= repeat_xid_occurrences

# A plan acts now; a plan with a window waits for the next maintenance window and meanwhile
# answers the window's action.
plan_now(action, responsibility, rule) := {"action": action, "responsibility": responsibility, "rule": rule, "window": null}

plan_window(action, responsibility, rule, now, now_responsibility) := {
	"action": action, "responsibility": responsibility, "rule": rule,
	"window": {"action": now, "responsibility": now_responsibility},
}

gpu_suffix := sprintf(" on GPU %v", [f.gpu]) if {
	is_number(f.gpu)
} else := ""

gpu_name := sprintf("GPU %v", [f.gpu]) if {
	is_number(f.gpu)
} else := "a GPU"

# --- XIDs -------------------------------------------------------------------------------------

xid_entry := catalogue[f.xid]

xid_rule := sprintf("XID %v (%v)%v", [f.xid, xid_entry.meaning, gpu_suffix])

xid_plan := plan_now("escalate", "supported", sprintf("XID finding without an XID code%v", [gpu_suffix])) if {
	not is_number(f.xid)
} else := plan_now("escalate", "supported", sprintf("XID %v (not in the catalogue)%v", [f.xid, gpu_suffix])) if {
	not xid_entry
} else := plan_now("escalate", "supported", xid_rule) if {
	xid_entry.class == "application"
	xid_entry.escalate_on_repeat
	ctx.xid_count_24h >= escalate_app_xid_repeats
} else := plan_now("notify-customer", "customer-owned", xid_rule) if {
	xid_entry.class == "application"
} else := plan_now("none", "supported", xid_rule) if {
	xid_entry.class in {"follow-other", "monitor"}
} else := plan_now("reboot-node", "supported", xid_rule) if {
	xid_entry.class in {"reset", "driver-reset"}
	repeated
} else := plan_now("reset-gpu", "supported", xid_rule) if {
	xid_entry.class in {"reset", "driver-reset"}
} else := plan_now("replace-node", "supported", xid_rule) if {
	xid_entry.class == "reset-then-replace"
	repeated
} else := plan_now("reset-gpu", "supported", xid_rule) if {
	xid_entry.class == "reset-then-replace"
} else := plan_now("reset-gpu", "supported", xid_rule) if {
	xid_entry.class == "uncontained-ecc"
	ctx.mig
} else := plan_now("reboot-node", "supported", xid_rule) if {
	xid_entry.class == "uncontained-ecc"
} else := plan_now("replace-node", "supported", xid_rule) if {
	xid_entry.class == "power-cycle"
	repeated
} else := plan_now("reboot-node", "supported", xid_rule) if {
	xid_entry.class == "power-cycle"
} else := plan_window("reset-gpu", "supported", xid_rule, xid_entry.now, xid_entry.now_responsibility) if {
	xid_entry.class == "reset-in-window"
}

# --- Node-level faults ------------------------------------------------------------------------

node_fault_plan(rule) := plan_now("replace-node", "supported", rule) if {
	ctx.remediations_7d >= repeat_node_remediations
} else := plan_now("reboot-node", "supported", rule)

ib_port := sprintf("port %v", [f.port]) if {
	is_string(f.port)
} else := "a port"

ib_state := f.state if {
	is_string(f.state)
} else := "unknown"

ib_rule := sprintf("InfiniBand %v is %v", [ib_port, ib_state]) if {
	lower(ib_state) in {"down", "disabled"}
} else := sprintf("InfiniBand %v counted link errors (state %v)", [ib_port, ib_state])

not_ready_minutes := f.minutes if {
	is_number(f.minutes)
} else := 0

not_ready_plan := plan_now("none", "supported", sprintf("Node NotReady for %v min", [not_ready_minutes])) if {
	not_ready_minutes < not_ready_grace_minutes
} else := node_fault_plan(sprintf("Node NotReady for %v min (grace period %v min)", [not_ready_minutes, not_ready_grace_minutes]))

# --- GPU counters (each follows the XID it stands for) ----------------------------------------

reset_then_replace(rule) := plan_now("replace-node", "supported", rule) if {
	repeated
} else := plan_now("reset-gpu", "supported", rule)

row_remap_failed if f.signal == "row_remap_failure"

row_remap_failed if {
	not is_string(f.signal)
	f.severity == "critical"
}

remapped_rule := sprintf("Rows remapped for uncorrectable errors on %v (as XID 63)", [gpu_name])

row_remap_plan := reset_then_replace(sprintf("Row remap failure on %v (as XID 64)", [gpu_name])) if {
	row_remap_failed
} else := plan_window("replace-node", "supported", remapped_rule, "none", "supported") if {
	repeated
} else := plan_window("reset-gpu", "supported", remapped_rule, "none", "supported")

pcie_rule := sprintf("PCIe replays over the limit on %v", [gpu_name])

pcie_plan := plan_window("reboot-node", "supported", pcie_rule, "notify-customer", "supported") if {
	repeated
} else := plan_now("notify-customer", "supported", pcie_rule)

thermal_rule := sprintf("Thermal or power violation (%v at %v °C)", [gpu_name, f.temp_c]) if {
	is_number(f.temp_c)
} else := sprintf("Thermal or power violation (%v)", [gpu_name])

# --- The catalogue's plan for the finding ------------------------------------------------------

plan := xid_plan if {
	f.kind == "gpu-xid"
} else := node_fault_plan(ib_rule) if {
	f.kind == "ib-link"
} else := not_ready_plan if {
	f.kind == "node-not-ready"
} else := plan_now("notify-customer", "supported", thermal_rule) if {
	f.kind == "gpu-thermal"
} else := reset_then_replace(sprintf("Double-bit ECC errors on %v (as XID 48)", [gpu_name])) if {
	f.kind == "gpu-ecc"
} else := row_remap_plan if {
	f.kind == "gpu-row-remap"
} else := reset_then_replace(sprintf("NVLink CRC errors over the limit on %v (as XID 74)", [gpu_name])) if {
	f.kind == "gpu-nvlink"
} else := pcie_plan if {
	f.kind == "gpu-pcie"
}

# --- Safety rules, only for actions on the node; the first that applies wins ------------------

repeat_rule if {
	f.kind in counted_per_gpu
	ctx.xid_count_24h >= escalate_xid_repeats
}

repeat_rule if ctx.remediations_7d >= escalate_node_remediations

# A lone unhealthy node never opens the breaker.
breaker_open if {
	ctx.unhealthy_in_cluster > 1
	ctx.unhealthy_in_cluster * 100 > ctx.max_unhealthy_percent * ctx.cluster_size
}

outcome := [plan.action, plan.responsibility] if {
	not plan.action in touches_node
} else := ["notify-customer", plan.responsibility] if {
	not ctx.remediation_allowed
} else := ["escalate", "supported"] if {
	repeat_rule
} else := [plan.window.action, plan.window.responsibility] if {
	plan.window != null
	not ctx.in_maintenance_window
} else := ["hold", plan.responsibility] if {
	ctx.in_flight_in_pool >= ctx.max_in_flight_per_pool
} else := ["hold", plan.responsibility] if {
	breaker_open
} else := [plan.action, plan.responsibility]

decision := {"action": outcome[0], "responsibility": outcome[1], "rule": plan.rule}
