/**
 * Resource types a bot stack may hold that no policy rule examines, each with why none applies.
 * A bot stack's resource whose type no rule examines, that is no target's compute and is not
 * listed here fails synth: the policy does not pass what it does not know.
 */
export const NOT_EXAMINED: Readonly<Record<string, string>> = {
  azurerm_resource_group: "holds the bot's resources; grants on it are role assignments (BF-IAM-1, BF-ISO-1)",
  azurerm_user_assigned_identity: "grants nothing by itself; what it reaches are its role assignments (BF-ISO-1)",
  azurerm_storage_container: "public access to it is its storage account's allow_nested_items_to_be_public (BF-STO-1)",
  // A secret never goes into it (BF-SEC-1 checks the files it is rendered from: the VM's custom data).
  azurerm_storage_blob: "the VM bot's desired release, in its own private state container (BF-STO-1); the same files as its custom data",
  azurerm_monitor_data_collection_rule_association: "links the bot's VM to the region's syslog rule; grants nothing",
  azurerm_monitor_activity_log_alert: "reads the scale set's activity log and mails the fleet's address",
  azurerm_monitor_metric_alert: "reads metrics and mails the fleet's address",
  azurerm_monitor_scheduled_query_rules_alert_v2: "reads logs and mails the fleet's address",
  google_monitoring_notification_channel: "an e-mail address alerts go to",
  google_monitoring_alert_policy: "reads logs and mails the channel's address",
  google_secret_manager_secret: "holds no value; its versions do (BF-SEC-1), and who reads it are its IAM members (BF-ISO-1)",
  random_password: "its value stays in state; where it goes is examined (BF-SEC-1)",
  time_sleep: "waits; creates nothing",
};
