import type { Construct } from "constructs";
import { MonitorActivityLogAlert } from "@cdktf/provider-azurerm/lib/monitor-activity-log-alert";
import { runbookOf } from "../../bootstrap/alarms";

/**
 * The scale set's automatic repairs changed state, which Azure says in the activity log as the
 * operation "Sets the state of an orchestration service" (Microsoft Learn, virtual-machine-scale-sets/
 * alert-rules-automatic-repairs-service-state.md, which shows this very alert): most often
 * Suspended, because the VM stayed unhealthy after repeated repairs and the platform stopped
 * repairing it, so nothing brings the bot back by itself.
 */
export const REPAIRS_STATE_ALARM = {
  id: "vm-repairs-state",
  title: "automatic repairs state changed",
  description: "Azure changed the state of the scale set's automatic repairs: Suspended (the VM stayed unhealthy after repeated repairs, and nothing repairs it now) or running again",
  operation: "Microsoft.Compute/virtualMachineScaleSets/setOrchestrationServiceState/action",
} as const;

export interface RepairsStateAlertProps {
  readonly botName: string;
  readonly resourceGroupName: string;
  readonly scaleSetId: string;
  readonly actionGroupId: string;
  readonly tags: Record<string, string>;
}

/** An activity log alert on one bot's scale set: its automatic repairs changed state (REPAIRS_STATE_ALARM). */
export class RepairsStateAlert extends MonitorActivityLogAlert {
  constructor(scope: Construct, props: RepairsStateAlertProps) {
    super(scope, REPAIRS_STATE_ALARM.id, {
      name: `${props.botName} ${REPAIRS_STATE_ALARM.title}`,
      resourceGroupName: props.resourceGroupName,
      // Activity log alerts live in "global" (or a few European regions): azurerm v4.55.0's
      // CustomizeDiff refuses any other location at plan (monitor_activity_log_alert_resource.go:400-417).
      location: "global",
      scopes: [props.scaleSetId],
      description: `${REPAIRS_STATE_ALARM.description}. Runbook: ${runbookOf(REPAIRS_STATE_ALARM)}`,
      // As the Learn page sets it: Informational, Succeeded. The scope alone names the scale set (a
      // resource_id criterion too would be one more ID for Azure to echo in its own form).
      criteria: { category: "Administrative", operationName: REPAIRS_STATE_ALARM.operation, level: "Informational", status: "Succeeded" },
      action: [{ actionGroupId: props.actionGroupId }],
      tags: props.tags,
    });
  }
}
