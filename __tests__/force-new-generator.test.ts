import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { buildTable } from "../scripts/force-new-table";

/**
 * The generator of review/force-new.json on a provider repository small enough to read: CI has no
 * provider source, so this clone is written here, in the forms the real azurerm source uses (a
 * registration's SupportedResources map, a schema map with ForceNew, a CustomizeDiff that forces
 * new on a condition, a map, a set of blocks, a JSON string).
 */
const REGISTRATION = `package thing

func (r Registration) SupportedDataSources() map[string]*pluginsdk.Resource {
	return map[string]*pluginsdk.Resource{
		"azurerm_thing": dataSourceThing(),
	}
}

func (r Registration) SupportedResources() map[string]*pluginsdk.Resource {
	return map[string]*pluginsdk.Resource{
		"azurerm_thing": resourceThing(),
	}
}
`;

const RESOURCE = `package thing

import (
	"github.com/hashicorp/terraform-provider-azurerm/internal/tf/pluginsdk"
)

func resourceThing() *pluginsdk.Resource {
	return &pluginsdk.Resource{
		CustomizeDiff: pluginsdk.CustomizeDiffShim(pluginsdk.ForceNewIfChange("size", func(ctx context.Context, old, new, meta interface{}) bool {
			return old.(string) == "big"
		})),

		Schema: map[string]*pluginsdk.Schema{
			"name": {
				Type:     pluginsdk.TypeString,
				Required: true,
				ForceNew: true,
			},

			"size": {
				Type:     pluginsdk.TypeString,
				Optional: true,
			},

			"tags": {
				Type:     pluginsdk.TypeMap,
				Optional: true,
			},

			"settings": {
				Type:         pluginsdk.TypeString,
				Optional:     true,
				ValidateFunc: validation.StringIsJSON,
			},

			"rule": {
				Type:     pluginsdk.TypeSet,
				Optional: true,
				Elem: &pluginsdk.Resource{
					Schema: map[string]*pluginsdk.Schema{
						"port": {Type: pluginsdk.TypeInt, Optional: true},
					},
				},
			},
		},
	}
}
`;

/** A plugin-framework resource, as random's: its schema from a function, RequiresReplace as a plan modifier. */
const PASSWORD = `package provider

import (
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64planmodifier"
)

func (r *passwordResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_password"
}

func (r *passwordResource) Schema(ctx context.Context, req resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = passwordSchemaV3()
}

func passwordSchemaV3() schema.Schema {
	return schema.Schema{
		Attributes: map[string]schema.Attribute{
			"length": schema.Int64Attribute{
				Required: true,
				PlanModifiers: []planmodifier.Int64{
					int64planmodifier.RequiresReplace(),
				},
			},
			"override_special": schema.StringAttribute{
				Optional: true,
			},
		},
	}
}
`;

/** Clones of "terraform-provider-azurerm" and "-random" at their pinned tags, holding the files above. */
function providerClone(): string {
  const sources = mkdtempSync(join(tmpdir(), "botfleet-provider-"));
  clone(join(sources, "terraform-provider-azurerm"), "v4.55.0", { "internal/services/thing/registration.go": REGISTRATION, "internal/services/thing/thing_resource.go": RESOURCE });
  clone(join(sources, "terraform-provider-random"), "v3.7.2", { "internal/provider/resource_password.go": PASSWORD });
  return sources;
}

function clone(repo: string, tag: string, files: Record<string, string>): void {
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(repo, path)), { recursive: true });
    writeFileSync(join(repo, path), text);
  }
  const git = (...args: string[]) => execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@example.com", ...args], { cwd: repo, stdio: "pipe" });
  git("init", "-q");
  git("add", ".");
  git("commit", "-q", "-m", "provider");
  git("tag", tag);
}

const sources = providerClone();
const emitted = (paths: string[]) => new Map([["azurerm_thing", new Set(paths)]]);

test("classifies each attribute with the line that decides it", () => {
  const table = buildTable(sources, emitted(["name", "size", "tags.bot", "settings", "rule.port"]));
  expect(table.providers.azurerm).toBe("v4.55.0");
  const file = "internal/services/thing/thing_resource.go";
  expect(table.resources.azurerm_thing).toEqual({
    provider: "azurerm",
    attributes: {
      name: { change: "replace", why: "ForceNew", source: `${file}:17` },
      "rule.port": { change: "update", why: "no ForceNew", source: `${file}:41`, set: true },
      settings: { change: "update", why: "no ForceNew", source: `${file}:30`, json: true },
      size: { change: "replace-if", why: 'CustomizeDiff ForceNewIfChange("size")', source: `${file}:9` },
      tags: { change: "update", why: "no ForceNew", source: `${file}:25`, map: true },
    },
  });
});

test("reads a plugin-framework schema (random, time, tfe): RequiresReplace replaces", () => {
  const table = buildTable(sources, new Map([["random_password", new Set(["length", "override_special"])]]));
  const file = "internal/provider/resource_password.go";
  expect(table.resources.random_password.attributes).toEqual({
    length: { change: "replace", why: "RequiresReplace", source: `${file}:23` },
    override_special: { change: "update", why: "no ForceNew", source: `${file}:26` },
  });
});

test("stops, naming the attribute, on one the schema does not have: the table never guesses", () => {
  expect(() => buildTable(sources, emitted(["colour"]))).toThrow("azurerm v4.55.0: azurerm_thing has no attribute colour in its schema (botfleet sets colour)");
  expect(() => buildTable(sources, new Map([["azurerm_other", new Set(["name"])]]))).toThrow("azurerm: no resource azurerm_other");
});
