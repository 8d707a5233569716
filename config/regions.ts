/**
 * Regions botfleet accepts, by cloud. A region outside these lists is almost always a typo
 * (`eastus-2`, `us-central`), and Terraform would only say so at plan time, after a round trip.
 */
export const AZURE_REGIONS = [
  "australiacentral", "australiaeast", "australiasoutheast", "brazilsouth", "canadacentral",
  "canadaeast", "centralindia", "centralus", "eastasia", "eastus", "eastus2", "francecentral",
  "germanywestcentral", "israelcentral", "italynorth", "japaneast", "japanwest", "koreacentral",
  "koreasouth", "mexicocentral", "northcentralus", "northeurope", "norwayeast", "polandcentral",
  "qatarcentral", "southafricanorth", "southcentralus", "southeastasia", "southindia",
  "spaincentral", "swedencentral", "switzerlandnorth", "uaenorth", "uksouth", "ukwest",
  "westcentralus", "westeurope", "westindia", "westus", "westus2", "westus3",
] as const;

export const GCP_REGIONS = [
  "africa-south1", "asia-east1", "asia-east2", "asia-northeast1", "asia-northeast2",
  "asia-northeast3", "asia-south1", "asia-south2", "asia-southeast1", "asia-southeast2",
  "australia-southeast1", "australia-southeast2", "europe-central2", "europe-north1",
  "europe-southwest1", "europe-west1", "europe-west2", "europe-west3", "europe-west4",
  "europe-west6", "europe-west8", "europe-west9", "europe-west10", "europe-west12",
  "me-central1", "me-central2", "me-west1", "northamerica-northeast1", "northamerica-northeast2",
  "southamerica-east1", "southamerica-west1", "us-central1", "us-east1", "us-east4", "us-east5",
  "us-south1", "us-west1", "us-west2", "us-west3", "us-west4",
] as const;
